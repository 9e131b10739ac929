/*
 * verify.c - prove that what the lake says about itself is true.
 *
 * For every symbol-day in range: the statistics file must parse; every
 * data file it lists must exist (AGT_VERIFY_MISSING_FILE if it does not: a
 * deleted file is not a damaged one), hash to its recorded XXH64, decode, and
 * give back exactly the recorded statistics; an hour marked complete must
 * have contiguous ids and chain with the previous stored hour; and every
 * .parquet file in the day's directory must be listed, every .tmp or .prev
 * gone (else it is an orphan), unless a commit of its hour is in flight.
 * A file is checked at the version its entry names: while a merge of its
 * hour is in flight that is "<file>.prev", as for every reader (commit.c). A day whose statistics file is damaged (AGT_VERIFY_INDEX), or
 * missing while its directory holds hour files (AGT_VERIFY_STATS_MISSING),
 * is reported once; agt_lake_rebuild_stats (rebuild.c) repairs both. A
 * damaged file is one problem, the most telling of what is wrong with it
 * (unreadable, ids not contiguous, statistics, bytes), and a write-ahead log
 * that does not replay is one more (the next writer sets it aside, wal.c).
 * Problems are reported one by one through the callback; damage is data,
 * never a crash.
 */
#include <dirent.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "lake/lake_int.h"
#include "parquet/parquet.h"

typedef struct vctx {
    agt_lake_verify_fn fn;
    void *user;
    size_t problems;
    int stop;
    int index_only; /* agt_lake_verify_index: statistics files only */
} vctx;

static void report(vctx *v, agt_verify_kind k, const char *path, int64_t hour, const char *fmt, ...)
    AGT_PRINTF(5, 6);

static void report(vctx *v, agt_verify_kind k, const char *path, int64_t hour, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    v->problems++;
    if (v->fn && v->fn(v->user, k, path, hour, msg) != 0) v->stop = 1;
}

/*
 * Exact sums recomputed from the rows equal the entry's. An entry without
 * them is not damaged: it predates them (or its values are off the grid,
 * and then the rows give none either); readers sum its rows instead.
 */
static int same_exact(const agt_file_stats *r, const agt_file_stats *f)
{
    return r->sums_exact && r->qty_e8_lo == f->qty_e8_lo && r->qty_e8_hi == f->qty_e8_hi &&
           r->quote_e16_lo == f->quote_e16_lo && r->quote_e16_hi == f->quote_e16_hi;
}

/*
 * One hour's file, at the version its entry names: "<path>", or its
 * "<path>.prev" while a merge of the hour is in flight (commit.c). The
 * checksum and the statistics are those of the version chosen.
 */
static void check_file(agt_lake *l, vctx *v, const char *symbol, const agt_file_stats *entry)
{
    agt_file_stats g = *entry; /* replaced if a writer completes the hour's commit meanwhile */
    const agt_file_stats *f = &g;
    char path[AGT_LAKE_PATH_MAX + 8];
    agt_buf b;
    agt_buf_init(&b, 0);
    agt_error e;
    agt_error_clear(&e);
    agt_pq_file *pf = NULL;
    agt_status rs = agt_lake_open_committed(l, symbol, &g, &b, &pf, path, sizeof path, &e);
    if (rs == AGT_ENOTFOUND) { /* gone, not damaged: the hour is simply to be fetched again */
        report(v, AGT_VERIFY_MISSING_FILE, f->path, f->hour_start_us,
               "'%s' is in the statistics index but does not exist", f->path);
        agt_buf_release(&b);
        return;
    }
    if (rs != AGT_OK) { /* one file, one problem: its bytes cannot match either */
        report(v, AGT_VERIFY_UNREADABLE, f->path, f->hour_start_us, "%s", e.message);
        agt_buf_release(&b);
        return;
    }
    const char *chosen = path + strlen(l->root) + 1;
    uint64_t h = XXH64(b.data, b.len, 0);
    int64_t size = (int64_t)b.len;
    agt_trades t;
    agt_trades_init(&t);
    rs = agt_lake_rows_of(pf, path, &t, &e);
    agt_pq_close(pf);
    agt_buf_release(&b);
    agt_file_stats r;
    memset(&r, 0, sizeof r);
    agt_stats_from_rows(&t, &r);
    /* one file, one problem: the most telling one */
    if (rs != AGT_OK)
        report(v, AGT_VERIFY_UNREADABLE, f->path, f->hour_start_us, "%s", e.message);
    else if (f->complete && !agt_trades_contiguous(&t))
        report(v, AGT_VERIFY_NOT_CONTIGUOUS, f->path, f->hour_start_us,
               "'%s' is marked complete but its ids are not contiguous", f->path);
    else if (r.rows != f->rows || r.min_ts_us != f->min_ts_us || r.max_ts_us != f->max_ts_us ||
             r.first_id != f->first_id || r.last_id != f->last_id || r.buyer_maker != f->buyer_maker ||
             memcmp(&r.sum_qty, &f->sum_qty, sizeof r.sum_qty) != 0 ||
             memcmp(&r.quote_volume, &f->quote_volume, sizeof r.quote_volume) != 0 ||
             (f->sums_exact && !same_exact(&r, f)))
        report(v, AGT_VERIFY_STATS, f->path, f->hour_start_us,
               "'%s' holds %" PRId64 " rows (ids %" PRId64 "..%" PRId64 "), the index says %" PRId64
               " (ids %" PRId64 "..%" PRId64 ") or other sums",
               chosen, r.rows, r.first_id, r.last_id, f->rows, f->first_id, f->last_id);
    else if (h != f->checksum || size != f->size)
        report(v, AGT_VERIFY_CHECKSUM, f->path, f->hour_start_us,
               "'%s' has xxh64 %016" PRIx64 " and %" PRId64 " bytes, the index says %016" PRIx64
               " and %" PRId64,
               chosen, h, size, f->checksum, f->size);
    agt_trades_release(&t);
}

static int cmp_day(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/*
 * 1 if `name` (a file of the day's data directory) is an hour file of the
 * layout or one of its second names (tmp, prev: agt_lake_aside, in either
 * layout), and a commit of that hour is in the WAL without its COMMIT: the
 * files of a commit in flight (its writer busy, failed or dead between the
 * rename of the data file and the statistics update) are not damage. Readers do not
 * see them (a new hour is not indexed yet, a merged one is read from its
 * prev name), and the next writer to open the lake completes that commit
 * and removes the second names.
 */
static int in_flight_file(agt_lake *l, const char *symbol, int64_t day, const char *frel)
{
    static const char *const kinds[] = {AGT_LAKE_TMP, AGT_LAKE_PREV};
    for (int64_t h = day; h < day + AGT_US_PER_DAY; h += AGT_US_PER_HOUR) {
        char hrel[160], name[200];
        if (agt_lake_data_rel(l, symbol, h, hrel, sizeof hrel, NULL) != AGT_OK) return 0;
        int match = 0; /* second names of either layout: a migration may be under way */
        for (size_t k = 0; k < 5 && !match; k++) {
            if (!k) snprintf(name, sizeof name, "%s", hrel);
            else if (agt_lake_aside_in(k > 2, hrel, kinds[k % 2], name, sizeof name, NULL) != AGT_OK)
                return 0;
            match = strcmp(frel, name) == 0;
        }
        if (!match) continue;
        int yes = 0;
        return agt_wal_in_flight(l, symbol, h, h + AGT_US_PER_HOUR - 1, &yes, NULL) == AGT_OK && yes;
    }
    return 0;
}

static int has_suffix(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n > k && strcmp(s + n - k, suffix) == 0;
}

static void check_orphans(agt_lake *l, vctx *v, const char *symbol, const agt_day_stats *d)
{
    char rel[160], dir[AGT_LAKE_PATH_MAX];
    if (agt_lake_data_rel(l, symbol, d->day_start_us, rel, sizeof rel, NULL) != AGT_OK) return;
    char *slash = strrchr(rel, '/');
    if (!slash) return;
    *slash = '\0';
    if (agt_lake_path(l, dir, sizeof dir, rel, NULL) != AGT_OK) return;
    DIR *dh = opendir(dir);
    if (!dh) return;
    struct dirent *e;
    while ((e = readdir(dh)) != NULL && !v->stop) {
        size_t n = strlen(e->d_name);
        /* a futures lake's data files end in AGT_LAKE_FUTURES_EXT: a ".parquet" there is foreign */
        if (!has_suffix(e->d_name, n, agt_lake_data_ext(l)) &&
            !has_suffix(e->d_name, n, AGT_LAKE_SPOT_EXT) &&
            !has_suffix(e->d_name, n, "." AGT_LAKE_TMP) && !has_suffix(e->d_name, n, "." AGT_LAKE_PREV))
            continue;
        char frel[480];
        if ((size_t)snprintf(frel, sizeof frel, "%s/%s", rel, e->d_name) >= sizeof frel) continue;
        int listed = 0;
        for (size_t k = 0; k < d->n && !listed; k++) listed = strcmp(d->h[k].path, frel) == 0;
        /* the WAL is read only for a file not listed: rare, so cheap */
        if (!listed && !in_flight_file(l, symbol, d->day_start_us, frel))
            report(v, AGT_VERIFY_ORPHAN, frel, -1, "'%s' is not in the statistics index", frel);
    }
    closedir(dh);
}

/* Days of [start, end] whose data directory holds hour files but that have no statistics file. */
static void missing_stats(agt_lake *l, vctx *v, const char *symbol, int64_t start, int64_t end,
                          const int64_t *days, size_t nd)
{
    int64_t *dd = NULL;
    size_t ndd = 0;
    agt_error e;
    agt_error_clear(&e);
    int64_t lo = agt_day_floor(start);
    if (agt_lake_data_days(l, symbol, lo, end, &dd, &ndd, &e) != AGT_OK) {
        report(v, AGT_VERIFY_INDEX, "", -1, "%s", e.message);
        return;
    }
    for (size_t i = 0; i < ndd && !v->stop; i++) {
        int appeared = 0;
        if ((nd && bsearch(&dd[i], days, nd, sizeof *days, cmp_day)) ||
            !agt_lake_day_has_data(l, symbol, dd[i]) ||
            agt_stats_missing(l, symbol, dd[i], &appeared, &e) == AGT_OK)
            continue;
        char rel[160];
        agt_lake_stats_rel(l, symbol, dd[i], rel, sizeof rel);
        report(v, AGT_VERIFY_STATS_MISSING, rel, -1, "%s", e.message);
    }
    free(dd);
}

typedef struct chain_ctx {
    vctx *v;
} chain_ctx;

static int chain_cb(void *user, int64_t hour, agt_hour_status st, const agt_file_stats *f)
{
    chain_ctx *c = user;
    if (st == AGT_HOUR_GAP)
        report(c->v, AGT_VERIFY_CHAIN, f ? f->path : "", hour,
               "hour's prev_id %" PRId64 " does not follow the previous stored hour", f ? f->prev_id : -1);
    return c->v->stop;
}

static agt_status verify_symbol(agt_lake *l, vctx *v, const char *symbol, int64_t start,
                                int64_t end, agt_error *err)
{
    int64_t *days = NULL;
    size_t nd = 0;
    AGT_TRY(agt_stats_list_days(l, symbol, &days, &nd, err));
    missing_stats(l, v, symbol, start, end, days, nd);
    int index_reported = 0;
    for (size_t i = 0; i < nd && !v->stop; i++) {
        if (days[i] + AGT_US_PER_DAY - 1 < start || days[i] > end) continue;
        agt_day_stats d;
        agt_error e;
        agt_error_clear(&e);
        if (agt_stats_load(l, symbol, days[i], &d, &e) != AGT_OK) {
            char rel[160];
            agt_lake_stats_rel(l, symbol, days[i], rel, sizeof rel);
            report(v, AGT_VERIFY_INDEX, rel, -1, "%s", e.message);
            index_reported = 1;
            continue;
        }
        if (v->index_only) continue;
        for (size_t k = 0; k < d.n && !v->stop; k++) {
            const agt_file_stats *f = &d.h[k];
            if (f->hour_start_us + AGT_US_PER_HOUR - 1 < start || f->hour_start_us > end) continue;
            if (f->rows > 0) check_file(l, v, symbol, f);
        }
        check_orphans(l, v, symbol, &d);
    }
    chain_ctx c = {v};
    if (!v->stop && !v->index_only && nd > 0) {
        int64_t a = start > days[0] ? start : days[0];
        int64_t b = end < days[nd - 1] + AGT_US_PER_DAY - 1 ? end : days[nd - 1] + AGT_US_PER_DAY - 1;
        agt_error e;
        agt_error_clear(&e);
        agt_status s = a <= b ? agt_lake_scan_hours(l, symbol, a, b, chain_cb, &c, &e) : AGT_OK;
        if (s != AGT_OK && s != AGT_ECANCELLED && !index_reported) /* else: the same damage */
            report(v, AGT_VERIFY_INDEX, "", -1, "%s", e.message);
    }
    free(days);
    return AGT_OK;
}

static agt_status verify_run(agt_lake *lake, const char *symbol, int64_t start_us, int64_t end_us,
                             int index_only, agt_lake_verify_fn fn, void *user, size_t *problems,
                             agt_error *err)
{
    if (problems) *problems = 0;
    if (!lake) return agt_err(err, AGT_EINVAL, "invalid argument");
    vctx v = {fn, user, 0, 0, index_only};
    agt_status s = AGT_OK;
    char why[sizeof ((agt_error *)0)->message];
    if (!index_only && agt_wal_damaged(lake, why, sizeof why) != AGT_OK)
        report(&v, AGT_VERIFY_WAL, agt_lake_wal_rel(lake), -1, "%s", why);
    if (symbol) {
        AGT_TRY(agt_lake_check_symbol(symbol, err));
        s = verify_symbol(lake, &v, symbol, start_us, end_us, err);
    } else {
        char **names = NULL;
        size_t n = 0;
        AGT_TRY(agt_lake_symbols(lake, &names, &n, err));
        for (size_t i = 0; i < n && s == AGT_OK && !v.stop; i++)
            s = verify_symbol(lake, &v, names[i], start_us, end_us, err);
        agt_lake_symbols_free(names, n);
    }
    if (problems) *problems = v.problems;
    if (s == AGT_OK && v.stop) s = agt_err(err, AGT_ECANCELLED, "stopped by the caller");
    return s;
}

agt_status agt_lake_verify(agt_lake *lake, const char *symbol, int64_t start_us, int64_t end_us,
                           agt_lake_verify_fn fn, void *user, size_t *problems, agt_error *err)
{
    return verify_run(lake, symbol, start_us, end_us, 0, fn, user, problems, err);
}

agt_status agt_lake_verify_index(agt_lake *lake, const char *symbol, int64_t start_us,
                                 int64_t end_us, agt_lake_verify_fn fn, void *user,
                                 size_t *problems, agt_error *err)
{
    return verify_run(lake, symbol, start_us, end_us, 1, fn, user, problems, err);
}
