/*
 * layout.c - where everything lives in a lake: the names and paths of the
 * layout, and the directory listings that read them back (opening and
 * closing a lake: open.c).
 *
 *   <root>/symbol=SYM/year=YYYY/month=M/day=D/SYM_YYYYMMDD_HH.parquet
 *   <root>/metadata/_lock                               (lock.c)
 *   <root>/metadata/wal/_wal.log                        (wal.c)
 *   <root>/metadata/schema_version=1/_trades.avsc       (open.c)
 *   <root>/metadata/stats/symbol=SYM/_YYYY-MM-DD.json   (stats.c)
 *   <root>/metadata/_changes/symbol=SYM/vNNNNNNNNNNNNNNNNNNNN.pq (cdc.c)
 *   a file being written or replaced: ".<name>.tmp", ".<name>.prev" beside it
 *
 * A futures market's lake (<root>/_futures/um, .../cm) has the same layout,
 * but its data files end in ".parq" and metadata/_market names its market
 * (futures.c says why: the spot glob below must not reach them).
 *
 * month and day are not zero-padded in directory names; the hour in the
 * file name has two digits. Symbols are checked with agt_symbol_valid
 * ([A-Z0-9]{2,20}) before any path is built, so no path leaves the root.
 *
 * Why these names: users point their engine at the root and must see each
 * trade exactly once, with symbol, year, month and day as partition columns.
 * The engines look for data in two ways, and every name above is chosen to
 * pass both (each checked by tests/integration/test_engines.py):
 *   - pyarrow (so pandas) and Spark list the root recursively and read every
 *     file they find, except names starting with '_' or '.' (pyarrow skips a
 *     path with any such component; Spark skips such a file or directory,
 *     but not a '_' name holding '=' nor one starting "_metadata" or
 *     "_common_metadata"). Spark also fails on leaf files whose directories
 *     do not share one partition structure (metadata/stats/symbol=S against
 *     symbol=S/year=Y/...). So every file below metadata/ has a hidden name:
 *     the directories metadata/wal/, metadata/schema_version=1/ and
 *     metadata/stats/ keep the names the specification gives them, their
 *     files start with '_'; the change feed's directory is itself hidden.
 *   - DuckDB and polars expand a glob (every name ending in ".parquet" at
 *     any depth below the root) and skip nothing, hidden or not: so no file
 *     but the data files ends in ".parquet". The change files
 *     are Parquet named ".pq", temporaries end in ".tmp" or ".prev" (and
 *     start with '.', for pyarrow and Spark).
 * The change feed thus has its own root, "ROOT/metadata/_changes": a hive
 * partitioned Parquet dataset (symbol=SYM), which pyarrow opens as a
 * directory and DuckDB and polars through a glob of its ".pq" files (the
 * exact lines are in docs/lake-format.md).
 *
 * The first layout (up to 0.1.0) named these metadata/lock, metadata/wal/
 * wal.log, metadata/schema_version=1/trades.avsc, metadata/stats/symbol=SYM/
 * YYYY-MM-DD.json, metadata/changes/symbol=SYM/v<20 digits>.parquet,
 * "<name>.tmp" and "<name>.prev". A reader opens such a lake as it is
 * (l->legacy selects those names); the first writer migrates it (migrate.c).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lake/lake_int.h"

agt_status agt_lake_check_symbol(const char *symbol, agt_error *err)
{
    if (!symbol || !agt_symbol_valid(symbol))
        return agt_err(err, AGT_EINVAL, "invalid symbol '%s'", symbol ? symbol : "(null)");
    return AGT_OK;
}

#define MIN_US INT64_C(0)
#define MAX_US INT64_C(253402300799999999) /* 9999-12-31 23:59:59.999999 */

agt_status agt_lake_check_hour(const char *symbol, int64_t hour_start_us, agt_error *err)
{
    AGT_TRY(agt_lake_check_symbol(symbol, err));
    if (hour_start_us < MIN_US || hour_start_us > MAX_US || hour_start_us % AGT_US_PER_HOUR != 0)
        return agt_err(err, AGT_EINVAL, "invalid hour start %lld (must be a whole utc hour)",
                       (long long)hour_start_us);
    return AGT_OK;
}

agt_status agt_lake_path(const agt_lake *l, char *buf, size_t n, const char *rel, agt_error *err)
{
    if ((size_t)snprintf(buf, n, "%s/%s", l->root, rel) >= n)
        return agt_err(err, AGT_EINVAL, "path too long under '%s'", l->root);
    return AGT_OK;
}

const char *agt_lake_data_ext(const agt_lake *l)
{
    return l->market[0] ? AGT_LAKE_FUTURES_EXT : AGT_LAKE_SPOT_EXT;
}

agt_status agt_lake_hour_rel(const char *symbol, int64_t hour_start_us, const char *ext,
                             char *buf, size_t n, agt_error *err)
{
    AGT_TRY(agt_lake_check_hour(symbol, hour_start_us, err));
    agt_tm tm;
    agt_tm_from_us(hour_start_us, &tm);
    if ((size_t)snprintf(buf, n, "symbol=%s/year=%04d/month=%d/day=%d/%s_%04d%02d%02d_%02d%s",
                         symbol, tm.year, tm.month, tm.day, symbol, tm.year, tm.month, tm.day,
                         tm.hour, ext) >= n)
        return agt_err(err, AGT_EINVAL, "path too long");
    return AGT_OK;
}

agt_status agt_lake_data_rel(const agt_lake *l, const char *symbol, int64_t hour_start_us,
                             char *buf, size_t n, agt_error *err)
{
    return agt_lake_hour_rel(symbol, hour_start_us, agt_lake_data_ext(l), buf, n, err);
}

/* The names that differ between the first layout (l->legacy) and this one. */
#define HIDE(l) ((l)->legacy ? "" : "_")

void agt_lake_stats_dir_rel(const agt_lake *l, const char *symbol, char *buf, size_t n)
{
    (void)l; /* the same in both layouts */
    snprintf(buf, n, "metadata/stats/symbol=%s", symbol);
}

void agt_lake_stats_rel(const agt_lake *l, const char *symbol, int64_t us, char *buf, size_t n)
{
    agt_tm tm;
    agt_tm_from_us(us, &tm);
    snprintf(buf, n, "metadata/stats/symbol=%s/%s%04d-%02d-%02d.json", symbol, HIDE(l), tm.year,
             tm.month, tm.day);
}

const char *agt_lake_changes_root(const agt_lake *l)
{
    return l->legacy ? AGT_LAKE_LEGACY_CHANGES : AGT_LAKE_CHANGES;
}

void agt_lake_changes_dir_rel(const agt_lake *l, const char *symbol, char *buf, size_t n)
{
    snprintf(buf, n, "%s/symbol=%s", agt_lake_changes_root(l), symbol);
}

static const char *change_ext(const agt_lake *l) { return l->legacy ? ".parquet" : ".pq"; }

void agt_lake_change_rel(const agt_lake *l, const char *symbol, int64_t version, char *buf,
                         size_t n)
{
    char dir[96];
    agt_lake_changes_dir_rel(l, symbol, dir, sizeof dir);
    snprintf(buf, n, "%s/v%020lld%s", dir, (long long)version, change_ext(l));
}

const char *agt_lake_wal_rel(const agt_lake *l)
{
    return l->legacy ? AGT_LAKE_LEGACY_WAL : AGT_LAKE_WAL;
}

agt_status agt_lake_aside_in(int legacy, const char *path, const char *kind, char *buf, size_t n,
                             agt_error *err)
{
    const char *slash = strrchr(path, '/');
    size_t dir = slash ? (size_t)(slash - path) + 1 : 0;
    int w = legacy ? snprintf(buf, n, "%s.%s", path, kind)
                   : snprintf(buf, n, "%.*s.%s.%s", (int)dir, path, path + dir, kind);
    if (w < 0 || (size_t)w >= n) return agt_err(err, AGT_EINVAL, "path too long '%s'", path);
    return AGT_OK;
}

agt_status agt_lake_aside(const agt_lake *l, const char *path, const char *kind, char *buf,
                          size_t n, agt_error *err)
{
    return agt_lake_aside_in(l->legacy, path, kind, buf, n, err);
}

const char *agt_lake_root(const agt_lake *lake) { return lake ? lake->root : ""; }

/* ---- symbols ------------------------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

agt_status agt_lake_symbols(agt_lake *lake, char ***names, size_t *n, agt_error *err)
{
    if (!lake || !names || !n) return agt_err(err, AGT_EINVAL, "invalid argument");
    *names = NULL;
    *n = 0;
    DIR *d = opendir(lake->root);
    if (!d) return agt_err_sys(err, errno, "cannot list '%s'", lake->root);
    char **v = NULL;
    size_t len = 0, cap = 0;
    struct dirent *e;
    agt_status s = AGT_OK;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "symbol=", 7) != 0 || !agt_symbol_valid(e->d_name + 7)) continue;
        if (len == cap) {
            size_t nc = cap ? cap * 2 : 8;
            char **nv = realloc(v, nc * sizeof *nv);
            if (!nv) { s = agt_err(err, AGT_ENOMEM, "out of memory"); break; }
            v = nv;
            cap = nc;
        }
        v[len] = strdup(e->d_name + 7);
        if (!v[len]) { s = agt_err(err, AGT_ENOMEM, "out of memory"); break; }
        len++;
    }
    closedir(d);
    if (s != AGT_OK) {
        agt_lake_symbols_free(v, len);
        return s;
    }
    if (len) qsort(v, len, sizeof *v, cmp_str);
    *names = v;
    *n = len;
    return AGT_OK;
}

void agt_lake_symbols_free(char **names, size_t n)
{
    if (!names) return;
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

/* ---- names read back from directory listings ------------------------------ */

/* A whole UTC day in 1970..9999 from its year, month, day; -1 if not a date. */
static int64_t day_us_of(int64_t y, int64_t m, int64_t d)
{
    if (y < 1970 || y > 9999 || m < 1 || d < 1 || !agt_date_valid(y, (unsigned)m, (unsigned)d))
        return -1;
    return agt_days_from_civil(y, (unsigned)m, (unsigned)d) * AGT_US_PER_DAY;
}

int agt_lake_dir_name_value(const char *name, int level, long *v)
{
    static const char *const prefix[] = {"year=", "month=", "day="};
    static const long max[] = {9999, 12, 31};
    if (level < 0 || level > 2) return 0;
    size_t k = strlen(prefix[level]);
    if (strncmp(name, prefix[level], k) != 0) return 0;
    const char *p = name + k;
    size_t n = strlen(p);
    /* year: four digits; month and day: not zero-padded */
    if (level == 0 ? n != 4 : (n < 1 || n > 2 || p[0] == '0')) return 0;
    long x = (long)agt_digits_value(p, n);
    if (x < (level == 0 ? 1970 : 1) || x > max[level]) return 0;
    *v = x;
    return 1;
}

int agt_lake_stats_name_day(const agt_lake *l, const char *name, int64_t *day_us)
{
    size_t k = strlen(HIDE(l));
    if (strncmp(name, HIDE(l), k) != 0) return 0;
    name += k;
    if (strlen(name) != 15 || name[4] != '-' || name[7] != '-' || strcmp(name + 10, ".json") != 0)
        return 0;
    int64_t d = day_us_of(agt_digits_value(name, 4), agt_digits_value(name + 5, 2),
                          agt_digits_value(name + 8, 2));
    if (d < 0) return 0;
    *day_us = d;
    return 1;
}

int agt_lake_change_name_version(const agt_lake *l, const char *name, int64_t *version)
{
    /* 20 digits, at most INT64_MAX's (same-length digit strings compare as numbers) */
    if (strlen(name) != 21 + strlen(change_ext(l)) || name[0] != 'v' ||
        strcmp(name + 21, change_ext(l)) != 0 ||
        strspn(name + 1, "0123456789") != 20 || strncmp(name + 1, "09223372036854775807", 20) > 0)
        return 0;
    int64_t v = 0;
    for (int i = 1; i <= 20; i++) v = v * 10 + (name[i] - '0');
    *version = v;
    return 1;
}

int agt_lake_hour_name(const agt_lake *l, const char *name, char symbol[24], int64_t *hour_us)
{
    const char *ext = agt_lake_data_ext(l);
    size_t n = strlen(name), e = strlen(ext);
    if (n < 14 + e || n > 32 + e) return 0; /* "<2..20 chars>_YYYYMMDD_HH<ext>" */
    size_t k = n - 12 - e;
    const char *t = name + k;
    if (t[0] != '_' || t[9] != '_' || strcmp(t + 12, ext) != 0) return 0;
    memcpy(symbol, name, k);
    symbol[k] = 0;
    int64_t hh = agt_digits_value(t + 10, 2);
    int64_t d = day_us_of(agt_digits_value(t + 1, 4), agt_digits_value(t + 5, 2),
                          agt_digits_value(t + 7, 2));
    if (!agt_symbol_valid(symbol) || d < 0 || hh < 0 || hh > 23) return 0;
    *hour_us = d + hh * AGT_US_PER_HOUR;
    return 1;
}

/* ---- data directories ------------------------------------------------------ */

typedef struct day_list {
    int64_t *v;
    size_t n, cap;
} day_list;

static agt_status walk_level(agt_lake *l, const char *dir, int level, unsigned y, unsigned m,
                             int64_t lo, int64_t hi, day_list *out, agt_error *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT || errno == ENOTDIR) return AGT_OK;
        return agt_err_sys(err, errno, "cannot list '%s'", dir);
    }
    agt_status s = AGT_OK;
    struct dirent *e;
    while (s == AGT_OK && (e = readdir(d)) != NULL) {
        l->day_entries++;
        long x;
        if (!agt_lake_dir_name_value(e->d_name, level, &x)) continue;
        /* the first and last day the entry can hold, to prune by range */
        int64_t first, last;
        if (level == 0) {
            first = agt_days_from_civil((unsigned)x, 1, 1);
            last = agt_days_from_civil((unsigned)x, 12, 31);
        } else if (level == 1) {
            first = agt_days_from_civil(y, (unsigned)x, 1);
            last = (x == 12 ? agt_days_from_civil(y + 1, 1, 1) : agt_days_from_civil(y, (unsigned)x + 1, 1)) - 1;
        } else {
            if (!agt_date_valid(y, m, (unsigned)x)) continue;
            first = last = agt_days_from_civil(y, m, (unsigned)x);
        }
        if ((last + 1) * AGT_US_PER_DAY - 1 < lo || first * AGT_US_PER_DAY > hi) continue;
        if (level == 2) {
            if (out->n == out->cap) {
                size_t nc = out->cap ? out->cap * 2 : 32;
                int64_t *nv = realloc(out->v, nc * sizeof *nv);
                if (!nv) {
                    s = agt_err(err, AGT_ENOMEM, "out of memory");
                    break;
                }
                out->v = nv;
                out->cap = nc;
            }
            out->v[out->n++] = first * AGT_US_PER_DAY;
            continue;
        }
        char sub[AGT_LAKE_PATH_MAX];
        if ((size_t)snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name) >= sizeof sub) continue;
        s = walk_level(l, sub, level + 1, level == 0 ? (unsigned)x : y, (unsigned)x, lo, hi, out, err);
    }
    closedir(d);
    return s;
}

static int cmp_day(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

agt_status agt_lake_data_days(agt_lake *l, const char *symbol, int64_t lo_us, int64_t hi_us,
                              int64_t **days, size_t *n, agt_error *err)
{
    *days = NULL;
    *n = 0;
    AGT_TRY(agt_lake_check_symbol(symbol, err));
    char rel[64], dir[AGT_LAKE_PATH_MAX];
    snprintf(rel, sizeof rel, "symbol=%s", symbol);
    AGT_TRY(agt_lake_path(l, dir, sizeof dir, rel, err));
    day_list out = {NULL, 0, 0};
    agt_status s = walk_level(l, dir, 0, 0, 0, lo_us, hi_us, &out, err);
    if (s != AGT_OK) {
        free(out.v);
        return s;
    }
    if (out.n) qsort(out.v, out.n, sizeof *out.v, cmp_day);
    *days = out.v;
    *n = out.n;
    return AGT_OK;
}

int agt_lake_day_has_data(agt_lake *l, const char *symbol, int64_t day_us)
{
    char rel[160], dir[AGT_LAKE_PATH_MAX];
    if (agt_lake_data_rel(l, symbol, day_us, rel, sizeof rel, NULL) != AGT_OK) return 0;
    *strrchr(rel, '/') = '\0';
    if (agt_lake_path(l, dir, sizeof dir, rel, NULL) != AGT_OK) return 0;
    DIR *d = opendir(dir);
    if (!d) return 0;
    int found = 0;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL) {
        l->day_entries++;
        char sym[24];
        int64_t hour;
        found = agt_lake_hour_name(l, e->d_name, sym, &hour) && strcmp(sym, symbol) == 0 &&
                hour - hour % AGT_US_PER_DAY == day_us;
    }
    closedir(d);
    return found;
}

/* ---- size on disk ------------------------------------------------------- */

static uint64_t walk_bytes(const char *dir, int depth)
{
    if (depth > 16) return 0;
    DIR *d = opendir(dir);
    if (!d) return 0;
    uint64_t total = 0;
    struct dirent *e;
    char p[AGT_LAKE_PATH_MAX];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        if ((size_t)snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= sizeof p) continue;
        struct stat st;
        if (lstat(p, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) total += walk_bytes(p, depth + 1);
        else if (S_ISREG(st.st_mode)) total += (uint64_t)st.st_size;
    }
    closedir(d);
    return total;
}

void agt_lake_disk_add(agt_lake *l, int64_t delta)
{
    if (!l->disk_known) return;
    if (delta < 0 && (uint64_t)(-delta) > l->disk_bytes) l->disk_bytes = 0;
    else l->disk_bytes = (uint64_t)((int64_t)l->disk_bytes + delta);
}

agt_status agt_lake_disk_bytes(agt_lake *lake, uint64_t *bytes, agt_error *err)
{
    if (!lake || !bytes) return agt_err(err, AGT_EINVAL, "invalid argument");
    if (!lake->disk_known) {
        lake->disk_bytes = walk_bytes(lake->root, 0);
        lake->disk_known = 1;
    }
    *bytes = lake->disk_bytes;
    return AGT_OK;
}
