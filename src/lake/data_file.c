/*
 * data_file.c - reading an hour's data file: its rows, the commit version
 * its footer records (key-value "aggtrades.commit_version"), the version a
 * reader must open while a merge of the hour is in flight (the protocol is
 * in commit.c), and the rows of a time range in timestamp order.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lake/lake_int.h"
#include "parquet/parquet.h"

int64_t agt_lake_file_version(const agt_pq_file *f)
{
    const char *v = agt_pq_kv_get(f, "aggtrades.commit_version");
    return v ? strtoll(v, NULL, 10) : -1;
}

agt_status agt_lake_rows_of(agt_pq_file *f, const char *path, agt_trades *out, agt_error *err)
{
    agt_error e2;
    agt_error_clear(&e2);
    agt_status s = agt_pq_read_trades(f, INT64_MIN, INT64_MAX, AGT_COL_ALL, out, &e2);
    if (s == AGT_ENOMEM) return agt_err(err, s, "out of memory reading '%s'", path);
    if (s != AGT_OK) return agt_err(err, AGT_ECORRUPT, "data file '%s' is damaged: %s", path, e2.message);
    if (!agt_trades_is_sorted(out)) AGT_TRY(agt_trades_sort_unique(out, NULL));
    return AGT_OK;
}

agt_status agt_lake_load_file(const char *path, agt_trades *out, int64_t *version, agt_error *err)
{
    if (version) *version = -1;
    if (!agt_lake_exists(path)) return agt_err(err, AGT_ENOTFOUND, "no such file '%s'", path);
    agt_error e2;
    agt_error_clear(&e2);
    agt_pq_file *f = NULL;
    agt_status s = agt_pq_open(path, &f, &e2);
    if (s == AGT_ENOMEM) return agt_err(err, s, "out of memory reading '%s'", path);
    if (s != AGT_OK) return agt_err(err, AGT_ECORRUPT, "data file '%s' is damaged: %s", path, e2.message);
    if (version) *version = agt_lake_file_version(f);
    s = agt_lake_rows_of(f, path, out, err);
    agt_pq_close(f);
    return s;
}

/*
 * Open `path` (mapped, or read whole into `bytes` if not NULL) and give its
 * footer's commit version. AGT_ENOTFOUND if it does not exist.
 */
static agt_status open_version(agt_lake *l, const char *path, agt_buf *bytes, agt_pq_file **pf,
                               int64_t *version, agt_error *err)
{
    *pf = NULL;
    agt_error e2;
    agt_error_clear(&e2);
    agt_status s;
    if (bytes) {
        bytes->len = 0;
        s = agt_lake_read_file(l, path, bytes, SIZE_MAX / 4, err);
        if (s != AGT_OK) return s;
        s = agt_pq_open_mem(bytes->data, bytes->len, pf, &e2);
    } else {
        if (!agt_lake_exists(path)) return agt_err(err, AGT_ENOTFOUND, "no such file '%s'", path);
        s = agt_pq_open(path, pf, &e2);
    }
    if (s == AGT_ENOMEM) return agt_err(err, s, "out of memory reading '%s'", path);
    if (s != AGT_OK) return agt_err(err, AGT_ECORRUPT, "data file '%s' is damaged: %s", path, e2.message);
    *version = agt_lake_file_version(*pf);
    return AGT_OK;
}

agt_status agt_lake_open_committed(agt_lake *l, const char *symbol, agt_file_stats *f,
                                   agt_buf *bytes, agt_pq_file **pf, char *path, size_t n,
                                   agt_error *err)
{
    *pf = NULL;
    int64_t seen = -1;
    for (int attempt = 0; attempt < 2; attempt++) {
        for (int prev = 0; prev < 2; prev++) {
            if ((size_t)snprintf(path, n, "%s/%s", l->root, f->path) >= n)
                return agt_err(err, AGT_EINVAL, "path too long '%s'", f->path);
            char prev_path[AGT_LAKE_PATH_MAX + 8];
            if (prev) {
                AGT_TRY(agt_lake_aside(l, path, AGT_LAKE_PREV, prev_path, sizeof prev_path, err));
                if ((size_t)snprintf(path, n, "%s", prev_path) >= n)
                    return agt_err(err, AGT_EINVAL, "path too long '%s'", prev_path);
            }
            int64_t v = -1;
            agt_status s = open_version(l, path, bytes, pf, &v, err);
            /* no F.prev: no merge of the hour is in flight (or it just completed) */
            if (s == AGT_ENOTFOUND && prev) break;
            if (s != AGT_OK) return s;
            /* a file without the key predates it: it is the only version there is */
            if (v == f->version || v < 0) return AGT_OK;
            if (!prev) seen = v;
            agt_pq_close(*pf);
            *pf = NULL;
        }
        if (attempt) break;
        /* Neither names the entry's version: a writer completed the commit
           (and maybe began the next) after the index was read. Read it again. */
        agt_day_stats d;
        AGT_TRY(agt_stats_load(l, symbol, f->hour_start_us, &d, err));
        const agt_file_stats *g = agt_stats_find(&d, f->hour_start_us);
        if (!g || g->version == f->version) break;
        *f = *g;
    }
    snprintf(path, n, "%s/%s", l->root, f->path);
    return agt_err(err, AGT_ECORRUPT,
                   "data file '%s' is version %" PRId64 ", the statistics index says %" PRId64
                   " and no previous version kept beside it holds it",
                   path, seen, f->version);
}

/* Put the n values of a column of 8-byte (es 8) or 1-byte values in the order ix gives, through tmp. */
static void permute(void *col, size_t es, const size_t *ix, size_t n, void *tmp)
{
    if (!col) return; /* a column the view leaves out */
    memcpy(tmp, col, n * es);
    if (es == 8) {
        const uint64_t *from = tmp;
        uint64_t *to = col;
        for (size_t i = 0; i < n; i++) to[i] = from[ix[i]];
    } else {
        const uint8_t *from = tmp;
        uint8_t *to = col;
        for (size_t i = 0; i < n; i++) to[i] = from[ix[i]];
    }
}

/*
 * Stable sort by (timestamp, trade id) when the file is not already in that
 * order. Both of those columns must be there; any other may be left out.
 */
static agt_status order_by_time(agt_trades *t)
{
    const int64_t *ts = t->ts_us, *id = t->trade_id;
    size_t n = t->len;
    int sorted = 1;
    for (size_t i = 1; i < n && sorted; i++)
        if (ts[i] < ts[i - 1] || (ts[i] == ts[i - 1] && id[i] < id[i - 1])) sorted = 0;
    if (sorted) return AGT_OK;
    size_t *ix = malloc(n * sizeof *ix);
    uint64_t *tmp = malloc(n * sizeof *tmp);
    if (!ix || !tmp) {
        free(ix);
        free(tmp);
        return AGT_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) ix[i] = i;
    /* insertion sort of the index: files are nearly sorted already */
    for (size_t i = 1; i < n; i++) {
        size_t v = ix[i], j = i;
        while (j > 0 && (ts[ix[j - 1]] > ts[v] || (ts[ix[j - 1]] == ts[v] && id[ix[j - 1]] > id[v]))) {
            ix[j] = ix[j - 1];
            j--;
        }
        ix[j] = v;
    }
    permute(t->price, 8, ix, n, tmp);
    permute(t->quantity, 8, ix, n, tmp);
    permute(t->is_buyer_maker, 1, ix, n, tmp);
    permute(t->trade_id, 8, ix, n, tmp); /* the keys last: the sort above read them */
    permute(t->ts_us, 8, ix, n, tmp);
    free(ix);
    free(tmp);
    return AGT_OK;
}

agt_status agt_lake_open_hour(agt_lake *l, const char *symbol, agt_file_stats *f, agt_pq_file **pf,
                              char *path, size_t n, agt_error *err)
{
    agt_status s = agt_lake_open_committed(l, symbol, f, NULL, pf, path, n, err);
    if (s == AGT_ENOTFOUND)
        return agt_err(err, AGT_ECORRUPT, "data file '%s' is missing", path);
    return s;
}

agt_status agt_lake_decode_range(agt_pq_file *pf, const char *path, int64_t start, int64_t end,
                                 unsigned cols, agt_trades *out, agt_error *err)
{
    agt_error e2;
    agt_error_clear(&e2);
    size_t base = out->len;
    unsigned c = cols | AGT_COL_TIMESTAMP | AGT_COL_TRADE_ID; /* needed for ordering */
    agt_status s = agt_pq_read_trades(pf, start, end, c, out, &e2);
    if (s == AGT_ENOMEM) return agt_err(err, s, "out of memory reading '%s'", path);
    if (s != AGT_OK) return agt_err(err, AGT_ECORRUPT, "data file '%s' is damaged: %s", path, e2.message);
    agt_trades got = {out->trade_id + base, out->ts_us + base,
                      out->price ? out->price + base : NULL,
                      out->quantity ? out->quantity + base : NULL,
                      out->is_buyer_maker ? out->is_buyer_maker + base : NULL, out->len - base,
                      out->len - base};
    if (order_by_time(&got) != AGT_OK) return agt_err(err, AGT_ENOMEM, "out of memory");
    agt_lake_zero_unwanted(cols, out, base, out->len);
    if (cols & AGT_LAKE_TS_NS) /* after the order and the range: they are in microseconds */
        for (size_t i = 0; i < got.len; i++) got.ts_us[i] = (int64_t)((uint64_t)got.ts_us[i] * 1000u);
    return AGT_OK;
}

void agt_lake_zero_unwanted(unsigned cols, agt_trades *t, size_t from, size_t to)
{
    if (!(cols & AGT_LAKE_COL_TRADE_ID) && t->trade_id)
        memset(t->trade_id + from, 0, (to - from) * sizeof *t->trade_id);
    if (!(cols & AGT_LAKE_COL_TIMESTAMP) && t->ts_us)
        memset(t->ts_us + from, 0, (to - from) * sizeof *t->ts_us);
}
