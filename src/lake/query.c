/*
 * query.c - reading the lake: time-range scans, aggregates, lookups by
 * trade id, completeness walks and "what is the newest data".
 *
 * Planning reads only the statistics index (stats.c): the days a range
 * covers, opened by name without listing any directory (agt_stats_each_day:
 * the cost of a plan does not grow with the days stored), then the hours
 * whose [min_ts, max_ts] overlap it. Files are read
 * in hour order, which is timestamp order (hours are disjoint); inside a
 * file the Parquet reader decodes only the pages its page index selects.
 * Aggregates answer files lying wholly inside the range from the statistics
 * alone. A lookup by id binary-searches the days (ids grow with time), then
 * asks the one file's bloom filter, then decodes one page.
 *
 * Each file is read at the version its statistics entry names: while a
 * merge of the hour is in flight, its previous version, kept under its
 * "prev" name (agt_lake_open_committed; the protocol is in commit.c), so
 * readers never see uncommitted rows and never wait for the writer.
 *
 * A damaged data file gives AGT_ECORRUPT naming its path; so does a damaged
 * statistics file of a day the range covers, or a missing one while the day
 * has data files (a range is never answered with fewer rows than stored).
 * Nothing crashes.
 *
 * Lookups by id and agt_lake_newest still take the sorted names of the
 * symbol's statistics files (agt_stats_list_days: one readdir, no file
 * opened), because neither knows its days beforehand: the binary search
 * needs the set of stored days, newest the last one. The listing costs
 * ~0.4 µs a stored day (~155 µs for a year, measured as planning's growth
 * before it stopped listing) next to the ~9 day loads of a year's binary
 * search (~50 µs each), and newest runs once per `update`.
 * A per-symbol summary file (stored days, or an id -> day index) would
 * remove it, but must then be rewritten by every commit (a fourth atomic
 * write next to change, data and statistics files) and kept consistent as
 * derived data through crashes and rebuilds; not worth it at these sizes.
 * scan_hours needs no listing (it walks its range day by day); verify
 * lists, as it re-reads every file of its range anyway.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lake/lake_int.h"
#include "parquet/parquet.h"

/* The planned files, grown by plan_day. */
typedef struct plan_acc {
    agt_file_stats *v;
    size_t len, cap;
    int64_t start, end;
} plan_acc;

static agt_status plan_day(void *user, const agt_day_stats *d, agt_error *err)
{
    plan_acc *a = user;
    for (size_t k = 0; k < d->n; k++) {
        const agt_file_stats *f = &d->h[k];
        if (f->rows <= 0 || f->max_ts_us < a->start || f->min_ts_us > a->end) continue;
        if (a->len == a->cap) {
            size_t nc = a->cap ? a->cap * 2 : 32;
            agt_file_stats *nv = realloc(a->v, nc * sizeof *nv);
            if (!nv) return agt_err(err, AGT_ENOMEM, "out of memory");
            a->v = nv;
            a->cap = nc;
        }
        a->v[a->len++] = *f;
    }
    return AGT_OK;
}

/*
 * Collect the non-empty files of [start, end] from the statistics, in hour
 * order. Only the days of the range are opened (agt_stats_each_day): the
 * cost does not grow with the days stored.
 */
static agt_status plan(agt_lake *l, const char *symbol, int64_t start, int64_t end,
                       agt_file_stats **files, size_t *n, agt_error *err)
{
    *files = NULL;
    *n = 0;
    plan_acc a = {NULL, 0, 0, start, end};
    agt_status s = agt_stats_each_day(l, symbol, start, end, plan_day, &a, err);
    if (s != AGT_OK) {
        free(a.v);
        return s;
    }
    *files = a.v;
    *n = a.len;
    return AGT_OK;
}

agt_status agt_lake_query_open(agt_lake *lake, const char *symbol, int64_t start_us,
                               int64_t end_us, unsigned cols, agt_query **q, agt_error *err)
{
    if (q) *q = NULL;
    if (!lake || !q) return agt_err(err, AGT_EINVAL, "invalid argument");
    AGT_TRY(agt_lake_check_symbol(symbol, err));
    if (end_us < start_us) return agt_err(err, AGT_EINVAL, "query end is before its start");
    agt_query *x = calloc(1, sizeof *x);
    if (!x) return agt_err(err, AGT_ENOMEM, "out of memory");
    x->l = lake;
    snprintf(x->symbol, sizeof x->symbol, "%s", symbol);
    x->start = start_us;
    x->end = end_us;
    x->cols = ((cols & AGT_LAKE_COL_ALL) ? (cols & AGT_LAKE_COL_ALL) : AGT_LAKE_COL_ALL) |
              (cols & AGT_LAKE_TS_NS);
    agt_status s = plan(lake, symbol, start_us, end_us, &x->files, &x->n, err);
    if (s != AGT_OK) {
        free(x);
        return s;
    }
    *q = x;
    return AGT_OK;
}

size_t agt_query_files_planned(const agt_query *q) { return q ? q->n : 0; }

void agt_query_close(agt_query *q)
{
    if (!q) return;
    agt_query_unpin(q);
    free(q->files);
    free(q);
}

/*
 * Read the rows of one planned file inside [start, end]: of the version its
 * entry names (agt_lake_open_committed; *f is updated if a writer completed
 * a commit of the hour since the plan was made).
 */
static agt_status read_file_range(agt_lake *l, const char *symbol, agt_file_stats *f, int64_t start,
                                  int64_t end, unsigned cols, agt_trades *out, agt_error *err)
{
    char path[AGT_LAKE_PATH_MAX + 8];
    agt_pq_file *pf = NULL;
    AGT_TRY(agt_lake_open_hour(l, symbol, f, &pf, path, sizeof path, err));
    agt_status s = agt_lake_decode_range(pf, path, start, end, cols, out, err);
    agt_pq_close(pf);
    return s;
}

agt_status agt_query_next(agt_query *q, agt_trades *batch, int *done, agt_error *err)
{
    if (!q || !batch || !done) return agt_err(err, AGT_EINVAL, "invalid argument");
    agt_trades_clear(batch);
    *done = 0;
    while (q->next < q->n) {
        agt_file_stats *f = &q->files[q->next++];
        AGT_TRY(read_file_range(q->l, q->symbol, f, q->start, q->end, q->cols, batch, err));
        if (batch->len > 0) return AGT_OK;
    }
    *done = 1;
    return AGT_OK;
}

agt_status agt_lake_read_range(agt_lake *lake, const char *symbol, int64_t start_us, int64_t end_us,
                               unsigned cols, agt_trades *out, agt_error *err)
{
    if (!out) return agt_err(err, AGT_EINVAL, "invalid argument");
    agt_query *q = NULL;
    AGT_TRY(agt_lake_query_open(lake, symbol, start_us, end_us, cols, &q, err));
    agt_trades b;
    agt_trades_init(&b);
    agt_status s = AGT_OK;
    int done = 0;
    while (s == AGT_OK && !done) {
        s = agt_query_next(q, &b, &done, err);
        if (s == AGT_OK && b.len) s = agt_trades_append(out, &b);
    }
    agt_trades_release(&b);
    agt_query_close(q);
    return s;
}

/* ---- aggregates ------------------------------------------------------------ */

/*
 * 1 if the file the entry names is on disk with its recorded size: "<file>",
 * or its "prev" name while a merge of the hour is in flight. One stat, no read:
 * an answer from the statistics alone must not outlive the file it describes
 * (a file deleted by hand); a damaged file of the right size is verify's to
 * find.
 */
static int file_present(const agt_lake *l, const agt_file_stats *f)
{
    char path[AGT_LAKE_PATH_MAX], prev[AGT_LAKE_PATH_MAX + 8];
    struct stat st;
    if (agt_lake_path(l, path, sizeof path, f->path, NULL) != AGT_OK ||
        agt_lake_aside(l, path, AGT_LAKE_PREV, prev, sizeof prev, NULL) != AGT_OK)
        return 0;
    return (stat(path, &st) == 0 && st.st_size == f->size) ||
           (stat(prev, &st) == 0 && st.st_size == f->size);
}

/* Add the statistics of a whole file, or of the rows of a file inside the range. */
static void add_stats(agt_range_stats *o, agt_exact_sum *x, const agt_file_stats *f)
{
    if (f->rows <= 0) return;
    if (o->count == 0 || f->min_ts_us < o->first_ts_us) o->first_ts_us = f->min_ts_us;
    if (o->count == 0 || f->max_ts_us > o->last_ts_us) o->last_ts_us = f->max_ts_us;
    if (o->count == 0 || f->first_id < o->first_id) o->first_id = f->first_id;
    if (o->count == 0 || f->last_id > o->last_id) o->last_id = f->last_id;
    o->count += f->rows;
    o->sum_qty += f->sum_qty;
    o->quote_volume += f->quote_volume;
    o->buyer_maker += f->buyer_maker;
    agt_exact_sum fx;
    agt_exact_set(&fx, f->sums_exact, f->qty_e8_lo, f->qty_e8_hi, f->quote_e16_lo, f->quote_e16_hi);
    agt_exact_add(x, &fx);
}

agt_status agt_lake_query_stats(agt_lake *lake, const char *symbol, int64_t start_us,
                                int64_t end_us, agt_range_stats *out, agt_error *err)
{
    if (!lake || !out) return agt_err(err, AGT_EINVAL, "invalid argument");
    memset(out, 0, sizeof *out);
    out->first_id = out->last_id = -1;
    AGT_TRY(agt_lake_check_symbol(symbol, err));
    if (end_us < start_us) return agt_err(err, AGT_EINVAL, "query end is before its start");
    agt_file_stats *files = NULL;
    size_t n = 0;
    AGT_TRY(plan(lake, symbol, start_us, end_us, &files, &n, err));
    agt_exact_sum x;
    agt_exact_init(&x);
    agt_trades t;
    agt_trades_init(&t);
    agt_status s = AGT_OK;
    for (size_t i = 0; i < n && s == AGT_OK; i++) {
        agt_file_stats *f = &files[i];
        /*
         * A whole file is answered from its entry (if the file is there:
         * else reading it says what is wrong), unless the entry has no
         * exact sums: written before they existed (its rows give them), or
         * holding a value off the 1e-8 grid (its rows say so again: the
         * result is then inexact either way, but this stays one rule).
         */
        if (f->min_ts_us >= start_us && f->max_ts_us <= end_us && f->sums_exact &&
            file_present(lake, f)) {
            add_stats(out, &x, f);
            out->files_from_stats++;
            continue;
        }
        agt_trades_clear(&t);
        s = read_file_range(lake, symbol, f, start_us, end_us, AGT_LAKE_COL_ALL, &t, err);
        if (s != AGT_OK) break;
        out->files_read++;
        agt_file_stats part;
        memset(&part, 0, sizeof part);
        agt_stats_from_rows(&t, &part);
        add_stats(out, &x, &part);
    }
    agt_trades_release(&t);
    free(files);
    if (s != AGT_OK) return s;
    agt_exact_get(&x, &out->sums_exact, &out->qty_e8_lo, &out->qty_e8_hi, &out->quote_e16_lo,
                  &out->quote_e16_hi);
    out->vwap = x.exact ? agt_exact_vwap(&x) : out->sum_qty > 0 ? out->quote_volume / out->sum_qty : 0;
    return AGT_OK;
}

/* ---- lookup by trade id ----------------------------------------------------- */

/* Id range of the non-empty hours of a day; 0 if the day has none. */
static int day_id_range(const agt_day_stats *d, int64_t *lo, int64_t *hi)
{
    int any = 0;
    for (size_t k = 0; k < d->n; k++) {
        if (d->h[k].rows <= 0) continue;
        if (!any || d->h[k].first_id < *lo) *lo = d->h[k].first_id;
        if (!any || d->h[k].last_id > *hi) *hi = d->h[k].last_id;
        any = 1;
    }
    return any;
}

agt_status agt_lake_find_trade(agt_lake *lake, const char *symbol, int64_t trade_id, int use_bloom,
                               agt_trades *out, int *found, agt_lookup_info *info, agt_error *err)
{
    agt_lookup_info dummy;
    if (!info) info = &dummy;
    memset(info, 0, sizeof *info);
    info->hour_start_us = -1;
    if (!lake || !out || !found) return agt_err(err, AGT_EINVAL, "invalid argument");
    *found = 0;
    AGT_TRY(agt_lake_check_symbol(symbol, err));
    int64_t *days = NULL;
    size_t nd = 0;
    AGT_TRY(agt_stats_list_days(lake, symbol, &days, &nd, err));
    agt_status s = AGT_OK;
    agt_file_stats hit;
    int have = 0;
    size_t lo = 0, hi = nd; /* search [lo, hi) */
    while (lo < hi && s == AGT_OK && !have) {
        size_t mid = lo + (hi - lo) / 2, probe = mid;
        agt_day_stats d;
        int64_t a = 0, b = 0;
        int any = 0;
        /* skip days without trades, moving right inside [mid, hi) */
        while (probe < hi) {
            if ((s = agt_stats_load(lake, symbol, days[probe], &d, err)) != AGT_OK) break;
            info->stats_days_read++;
            if ((any = day_id_range(&d, &a, &b))) break;
            probe++;
        }
        if (s != AGT_OK) break;
        if (!any) {
            hi = mid;
            continue;
        }
        if (trade_id < a) {
            hi = mid;
        } else if (trade_id > b) {
            lo = probe + 1;
        } else {
            for (size_t k = 0; k < d.n; k++)
                if (d.h[k].rows > 0 && d.h[k].first_id <= trade_id && trade_id <= d.h[k].last_id) {
                    hit = d.h[k];
                    have = 1;
                }
            break; /* inside the day's range but between its hours: a gap */
        }
    }
    free(days);
    if (s != AGT_OK || !have) return s;
    info->hour_start_us = hit.hour_start_us;
    char path[AGT_LAKE_PATH_MAX + 8];
    agt_pq_file *pf = NULL;
    AGT_TRY(agt_lake_open_hour(lake, symbol, &hit, &pf, path, sizeof path, err));
    info->files_opened = 1;
    agt_error e2;
    agt_error_clear(&e2);
    int maybe = 1;
    if (use_bloom) {
        int col = agt_pq_column_index(pf, "trade_id");
        agt_status bs = col < 0 ? AGT_ENOTFOUND : agt_pq_bloom_check(pf, col, trade_id, &maybe, &e2);
        if (bs == AGT_OK) {
            info->bloom_checked = 1;
            info->bloom_negative = !maybe;
        } else if (bs != AGT_ENOTFOUND) {
            s = bs;
        }
    }
    if (s == AGT_OK && maybe) {
        int pages = 0;
        s = agt_pq_find_trade(pf, trade_id, 0, out, found, &pages, &e2);
        info->pages_read = pages;
    }
    agt_pq_close(pf);
    if (s == AGT_ENOMEM) return agt_err(err, s, "out of memory reading '%s'", path);
    if (s != AGT_OK) return agt_err(err, AGT_ECORRUPT, "data file '%s' is damaged: %s", path, e2.message);
    return AGT_OK;
}

/* ---- completeness ------------------------------------------------------------ */

/* A small cache of one loaded day. */
typedef struct day_cache {
    int64_t day;
    int loaded;
    agt_day_stats d;
} day_cache;

static agt_status cached_hour(agt_lake *l, const char *symbol, day_cache *c, int64_t hour,
                              const agt_file_stats **out, agt_error *err)
{
    int64_t day = agt_day_floor(hour);
    if (!c->loaded || c->day != day) {
        AGT_TRY(agt_stats_load(l, symbol, day, &c->d, err));
        c->day = day;
        c->loaded = 1;
    }
    *out = agt_stats_find(&c->d, hour);
    return AGT_OK;
}

#define CHAIN_LOOKBACK_HOURS (24 * 366)

agt_status agt_lake_scan_hours(agt_lake *lake, const char *symbol, int64_t start_us, int64_t end_us,
                               agt_lake_hour_fn fn, void *user, agt_error *err)
{
    if (!lake || !fn) return agt_err(err, AGT_EINVAL, "invalid argument");
    AGT_TRY(agt_lake_check_symbol(symbol, err));
    if (start_us < 0) start_us = 0;
    int64_t h0 = start_us + (AGT_US_PER_HOUR - start_us % AGT_US_PER_HOUR) % AGT_US_PER_HOUR;
    day_cache c;
    memset(&c, 0, sizeof c);
    /* The chain state before h0: last id of the nearest earlier non-empty stored hour. */
    int chain_ok = 0;
    int64_t chain_last = -1;
    for (int64_t h = h0 - AGT_US_PER_HOUR, k = 0; h >= 0 && k < CHAIN_LOOKBACK_HOURS;
         h -= AGT_US_PER_HOUR, k++) {
        const agt_file_stats *f;
        AGT_TRY(cached_hour(lake, symbol, &c, h, &f, err));
        if (!f || (f->rows > 0 && !file_present(lake, f)) || (f->rows == 0 && !f->complete)) break;
        if (f->rows > 0) {
            chain_ok = 1;
            chain_last = f->last_id;
            break;
        }
    }
    for (int64_t h = h0; h <= end_us; h += AGT_US_PER_HOUR) {
        const agt_file_stats *f;
        AGT_TRY(cached_hour(lake, symbol, &c, h, &f, err));
        agt_hour_status st;
        if (!f || (f->rows > 0 && !file_present(lake, f))) { /* never stored, or its file gone */
            st = AGT_HOUR_MISSING;
            chain_ok = 0;
        } else {
            int contiguous = f->rows == 0 || f->last_id - f->first_id + 1 == f->rows;
            if (!f->complete || !contiguous) st = AGT_HOUR_INCOMPLETE;
            else if (chain_ok && f->prev_id != AGT_LAKE_ID_UNKNOWN && f->prev_id != chain_last)
                st = AGT_HOUR_GAP;
            else st = AGT_HOUR_COMPLETE;
            if (f->rows > 0) {
                chain_ok = 1;
                chain_last = f->last_id;
            } else if (!f->complete) {
                chain_ok = 0; /* what it holds is not known (lost data, an unproven fetch) */
            }
        }
        if (fn(user, h, st, f) != 0) return agt_err(err, AGT_ECANCELLED, "stopped by the caller");
    }
    return AGT_OK;
}

/*
 * The newest (oldest = 0) or oldest stored data of `symbol` from the
 * statistics: the last (first) committed hour, and the newest (oldest)
 * stored trade's timestamp and id (-1 both if none).
 */
static agt_status stored_edge(agt_lake *lake, const char *symbol, int oldest, int64_t *hour_start_us,
                              int64_t *ts_us, int64_t *id_out, agt_error *err)
{
    if (!lake) return agt_err(err, AGT_EINVAL, "invalid argument");
    AGT_TRY(agt_lake_check_symbol(symbol, err));
    int64_t *days = NULL;
    size_t nd = 0;
    AGT_TRY(agt_stats_list_days(lake, symbol, &days, &nd, err));
    int64_t hour = -1, ts = -1, id = -1;
    agt_status s = AGT_OK;
    for (size_t i = 0; i < nd && s == AGT_OK && id < 0; i++) {
        agt_day_stats d;
        if ((s = agt_stats_load(lake, symbol, days[oldest ? i : nd - 1 - i], &d, err)) != AGT_OK) break;
        for (size_t k = 0; k < d.n && id < 0; k++) {
            const agt_file_stats *f = &d.h[oldest ? k : d.n - 1 - k];
            if (hour < 0) hour = f->hour_start_us;
            if (f->rows > 0) {
                ts = oldest ? f->min_ts_us : f->max_ts_us;
                id = oldest ? f->first_id : f->last_id;
            }
        }
    }
    free(days);
    if (s != AGT_OK) return s;
    if (hour < 0) return agt_err(err, AGT_ENOTFOUND, "no data for '%s' in lake '%s'", symbol, lake->root);
    if (hour_start_us) *hour_start_us = hour;
    if (ts_us) *ts_us = ts;
    if (id_out) *id_out = id;
    return AGT_OK;
}

agt_status agt_lake_newest(agt_lake *lake, const char *symbol, int64_t *hour_start_us,
                           int64_t *last_ts_us, int64_t *last_id, agt_error *err)
{
    return stored_edge(lake, symbol, 0, hour_start_us, last_ts_us, last_id, err);
}

agt_status agt_lake_oldest(agt_lake *lake, const char *symbol, int64_t *hour_start_us,
                           int64_t *first_ts_us, int64_t *first_id, agt_error *err)
{
    return stored_edge(lake, symbol, 1, hour_start_us, first_ts_us, first_id, err);
}
