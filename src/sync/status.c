/*
 * status.c - agt_lake_status: what a lake holds per symbol, from the
 * statistics index, the failure ledger and the change feed's file names
 * (aggtrades/status.h defines every figure and the four classes of hours).
 *
 * Per symbol: one pass over its statistics days (agt_stats_each_day, which
 * also refuses a day whose statistics are damaged or lost), counting each
 * entry that the ledger does not list as complete or open; the span is
 * widened by the ledger's hours, which are all counted failed; what is left
 * of the span is missing. Then one listing of its change-feed directory
 * and a stat of each change file for their bytes. No data file is touched.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "aggtrades/status.h"
#include "lake/lake_int.h"
#include "sync/sync_int.h"

/* The hours of one symbol the ledger lists, sorted and unique. */
typedef struct failed_hours {
    int64_t *v;
    size_t n;
} failed_hours;

static agt_status failed_of(const retry_list *ledger, const char *symbol, failed_hours *out,
                            agt_error *err)
{
    out->v = NULL;
    out->n = 0;
    for (size_t i = 0; i < ledger->n; i++) {
        if (strcmp(ledger->v[i].symbol, symbol) != 0) continue;
        if (!out->v && !(out->v = malloc(ledger->n * sizeof *out->v)))
            return agt_err(err, AGT_ENOMEM, "out of memory");
        out->v[out->n++] = ledger->v[i].hour_us;
    }
    if (out->n) qsort(out->v, out->n, sizeof *out->v, agt_cmp_i64); /* unique: retry_put */
    return AGT_OK;
}

/* What the statistics say, gathered day by day. */
typedef struct walk {
    agt_symbol_status *st;
    const failed_hours *failed;
    int64_t first, last; /* committed hours; -1 none */
} walk;

static agt_status on_day(void *user, const agt_day_stats *d, agt_error *err)
{
    (void)err;
    walk *w = user;
    for (size_t i = 0; i < d->n; i++) {
        const agt_file_stats *f = &d->h[i];
        if (w->first < 0 || f->hour_start_us < w->first) w->first = f->hour_start_us;
        if (f->hour_start_us > w->last) w->last = f->hour_start_us;
        w->st->trades += f->rows;
        if (f->path[0]) {
            w->st->data_files++;
            w->st->data_bytes += (uint64_t)(f->size > 0 ? f->size : 0);
        }
        if (bsearch(&f->hour_start_us, w->failed->v, w->failed->n, sizeof(int64_t), agt_cmp_i64))
            continue; /* failed, whatever is stored */
        if (f->complete) w->st->complete++;
        else if (job_fetched_open(f->hour_start_us, f->fetched_at_us)) w->st->open++;
    }
    return AGT_OK;
}

/* The change feed of the symbol: files, latest version, bytes. */
static agt_status feed_of(agt_lake *l, agt_symbol_status *st, agt_error *err)
{
    int64_t *v = NULL;
    size_t n = 0;
    AGT_TRY(agt_cdc_versions(l, st->symbol, 0, &v, &n, err));
    agt_status s = AGT_OK;
    for (size_t i = 0; i < n && s == AGT_OK; i++) {
        char rel[160], path[AGT_LAKE_PATH_MAX];
        struct stat sb;
        agt_lake_change_rel(l, st->symbol, v[i], rel, sizeof rel);
        if ((s = agt_lake_path(l, path, sizeof path, rel, err)) != AGT_OK) break;
        if (stat(path, &sb) == 0) {
            st->change_versions++;
            st->change_bytes += (uint64_t)sb.st_size;
            if (v[i] > st->latest_version) st->latest_version = v[i];
        } else if (errno != ENOENT) { /* ENOENT: checkpointed away since the listing */
            s = agt_err_sys(err, errno, "cannot stat '%s'", path);
        }
    }
    free(v);
    return s;
}

/* Fill *st for `symbol`; *held = 0 if the lake neither stores it nor lists it in the ledger. */
static agt_status symbol_status(agt_lake *l, const char *symbol, const retry_list *ledger,
                                agt_symbol_status *st, int *held, agt_error *err)
{
    memset(st, 0, sizeof *st);
    agt_strlcpy(st->symbol, sizeof st->symbol, symbol);
    st->first_hour_us = st->last_hour_us = -1;
    failed_hours fh;
    AGT_TRY(failed_of(ledger, symbol, &fh, err));
    walk w = { st, &fh, -1, -1 };
    agt_status s = agt_stats_each_day(l, symbol, 0, INT64_MAX, on_day, &w, err);
    if (s == AGT_OK) s = feed_of(l, st, err);
    if (s == AGT_OK) {
        int64_t first = w.first, last = w.last;
        if (fh.n && (first < 0 || fh.v[0] < first)) first = fh.v[0];
        if (fh.n && fh.v[fh.n - 1] > last) last = fh.v[fh.n - 1];
        *held = first >= 0;
        if (*held) {
            st->first_hour_us = first;
            st->last_hour_us = last;
            st->hours = (last - first) / AGT_US_PER_HOUR + 1;
            st->failed = (int64_t)fh.n;
            st->missing = st->hours - st->complete - st->open - st->failed;
        }
    }
    free(fh.v);
    return s;
}

/* ---- which symbols ----------------------------------------------------------------- */

typedef struct names {
    char (*v)[24];
    size_t n, cap;
} names;

static agt_status names_add(names *a, const char *s, agt_error *err)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        char (*v)[24] = realloc(a->v, cap * sizeof *v);
        if (!v) return agt_err(err, AGT_ENOMEM, "out of memory");
        a->v = v;
        a->cap = cap;
    }
    agt_strlcpy(a->v[a->n++], 24, s);
    return AGT_OK;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* The symbols of the statistics directory ("symbol=S" entries). */
static agt_status stats_symbols(agt_lake *l, names *a, agt_error *err)
{
    char dir[AGT_LAKE_PATH_MAX];
    AGT_TRY(agt_lake_path(l, dir, sizeof dir, "metadata/stats", err));
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? AGT_OK : agt_err_sys(err, errno, "cannot list '%s'", dir);
    struct dirent *e;
    agt_status s = AGT_OK;
    while (s == AGT_OK && (e = readdir(d)) != NULL)
        if (!strncmp(e->d_name, "symbol=", 7) && agt_symbol_valid(e->d_name + 7))
            s = names_add(a, e->d_name + 7, err);
    closedir(d);
    return s;
}

/* Every symbol the lake knows of: data directories, statistics, ledger; sorted. */
static agt_status all_symbols(agt_lake *l, const retry_list *ledger, names *a, agt_error *err)
{
    char **v = NULL;
    size_t n = 0;
    AGT_TRY(agt_lake_symbols(l, &v, &n, err));
    agt_status s = AGT_OK;
    for (size_t i = 0; i < n && s == AGT_OK; i++) s = names_add(a, v[i], err);
    agt_lake_symbols_free(v, n);
    if (s == AGT_OK) s = stats_symbols(l, a, err);
    for (size_t i = 0; i < ledger->n && s == AGT_OK; i++) s = names_add(a, ledger->v[i].symbol, err);
    if (s != AGT_OK || a->n == 0) return s;
    qsort(a->v, a->n, sizeof a->v[0], cmp_name);
    size_t k = 1; /* each once */
    for (size_t i = 1; i < a->n; i++)
        if (strcmp(a->v[i], a->v[k - 1]) != 0) memmove(a->v[k++], a->v[i], sizeof a->v[0]);
    a->n = k;
    return AGT_OK;
}

static agt_status asked_symbols(const char *const *symbols, size_t n, names *a, agt_error *err)
{
    for (size_t i = 0; i < n; i++) {
        char sym[24];
        AGT_TRY(agt_symbol_normalize(symbols[i], sym, err));
        int seen = 0; /* a repeat counts once, in the place first asked */
        for (size_t k = 0; k < a->n && !seen; k++) seen = !strcmp(a->v[k], sym);
        if (!seen) AGT_TRY(names_add(a, sym, err));
    }
    return AGT_OK;
}

/* ---- public ---------------------------------------------------------------------- */

agt_status agt_lake_status(agt_lake *lake, const char *const *symbols, size_t n,
                           agt_symbol_status **out, size_t *n_out, agt_error *err)
{
    if (!lake || !out || !n_out || (n && !symbols))
        return agt_err(err, AGT_EINVAL, "invalid argument");
    *out = NULL;
    *n_out = 0;
    names want = { NULL, 0, 0 };
    retry_list ledger;
    memset(&ledger, 0, sizeof ledger);
    agt_status s = asked_symbols(symbols, n, &want, err);
    if (s == AGT_OK) s = retry_read(lake, &ledger, NULL, NULL, err);
    if (s == AGT_OK && n == 0) s = all_symbols(lake, &ledger, &want, err);
    agt_symbol_status *v = NULL;
    size_t k = 0;
    if (s == AGT_OK && want.n && !(v = calloc(want.n, sizeof *v)))
        s = agt_err(err, AGT_ENOMEM, "out of memory");
    for (size_t i = 0; i < want.n && s == AGT_OK; i++) {
        int held = 0;
        s = symbol_status(lake, want.v[i], &ledger, &v[k], &held, err);
        if (s == AGT_OK && held) k++;
        else if (s == AGT_OK && n) /* asked for by name */
            s = agt_err(err, AGT_ENOTFOUND, "nothing stored for '%s' in '%s'", want.v[i],
                        agt_lake_root(lake));
    }
    free(want.v);
    retry_list_release(&ledger);
    if (s != AGT_OK || k == 0) {
        free(v);
        return s;
    }
    *out = v;
    *n_out = k;
    return AGT_OK;
}

void agt_symbol_status_free(agt_symbol_status *v)
{
    free(v);
}
