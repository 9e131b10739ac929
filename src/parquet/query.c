/*
 * query.c - trade-schema reads that use the file's indexes: time-range reads
 * (chunk statistics, then the timestamp ColumnIndex picks candidate pages,
 * then only the matching rows of the other columns are decoded), bloom
 * filter probes, and id look-ups (statistics, bloom, ColumnIndex, one page).
 */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "parquet/pq_file.h"

static const char *const trade_cols[5] = {"trade_id", "timestamp", "price", "quantity",
                                          "is_buyer_maker"};

/* Resolve the five trade columns; idx[k] = -1 if not wanted. */
static agt_status trade_columns(const agt_pq_file *f, unsigned want, int idx[5], agt_error *err)
{
    for (int k = 0; k < 5; k++) {
        idx[k] = -1;
        if (!(want & (1u << k))) continue;
        int c = agt_pq_column_index(f, trade_cols[k]);
        if (c < 0) return agt_err(err, AGT_EINVAL, "not a trade file: no column '%s'", trade_cols[k]);
        agt_pq_type t = f->cols[c].type;
        int ok = k <= 1 ? (t == AGT_PQ_INT64 || t == AGT_PQ_TIMESTAMP_US)
                 : k <= 3 ? t == AGT_PQ_DOUBLE
                          : t == AGT_PQ_BOOL;
        if (!ok) return agt_err(err, AGT_EINVAL, "not a trade file: column '%s' has the wrong type", trade_cols[k]);
        idx[k] = c;
    }
    return AGT_OK;
}

/* Column k of `t` from `row` on; NULL if the table has no such column (a view leaving it out). */
static void *col_ptr(agt_trades *t, int k, size_t row)
{
    switch (k) {
    case 0: return t->trade_id ? t->trade_id + row : NULL;
    case 1: return t->ts_us ? t->ts_us + row : NULL;
    case 2: return t->price ? t->price + row : NULL;
    case 3: return t->quantity ? t->quantity + row : NULL;
    default: return t->is_buyer_maker ? t->is_buyer_maker + row : NULL;
    }
}

static int chunk_i64_minmax(const pq_chunk *c, int64_t *mn, int64_t *mx)
{
    if (!c->min_p || c->min_l != 8 || c->max_l != 8) return 0;
    memcpy(mn, c->min_p, 8);
    memcpy(mx, c->max_p, 8);
    return 1;
}

/* Rows [a, b) of row group rg matched by the range read: append the wanted columns. */
static agt_status emit_rows(agt_pq_file *f, size_t rg, const int idx[5], const int64_t *ts,
                            int64_t a, int64_t b, int64_t ts_min, int64_t ts_max, agt_trades *out,
                            agt_error *err)
{
    /* ts holds timestamps of rows [a, b); find matches. Sorted: one sub-range. */
    int64_t n = b - a, lo = 0, hi = n;
    int sorted = 1;
    for (int64_t i = 1; i < n && sorted; i++) sorted = ts[i] >= ts[i - 1];
    if (sorted) {
        while (lo < n && ts[lo] < ts_min) lo++;
        while (hi > lo && ts[hi - 1] > ts_max) hi--;
        size_t k = (size_t)(hi - lo), base = out->len;
        if (!k) return AGT_OK;
        if (agt_trades_reserve(out, base + k) != AGT_OK) return agt_err(err, AGT_ENOMEM, "out of memory");
        for (int c = 0; c < 5; c++) {
            void *dst = col_ptr(out, c, base);
            if (!dst) continue;
            if (c == 1) memcpy(dst, ts + lo, k * 8);
            else if (idx[c] < 0) memset(dst, 0, k * (c == 4 ? 1 : 8));
            else AGT_TRY(pq_read_rows(f, idx[c], rg, a + lo, a + hi, dst, err));
        }
        out->len = base + k;
        return AGT_OK;
    }
    /* unsorted timestamps: read the whole span and filter row by row */
    size_t cnt = 0;
    for (int64_t i = 0; i < n; i++) cnt += ts[i] >= ts_min && ts[i] <= ts_max;
    if (!cnt) return AGT_OK;
    size_t base = out->len;
    if (agt_trades_reserve(out, base + cnt) != AGT_OK) return agt_err(err, AGT_ENOMEM, "out of memory");
    uint8_t *tmp = malloc((size_t)n * 8);
    if (!tmp) return agt_err(err, AGT_ENOMEM, "out of memory");
    agt_status st = AGT_OK;
    for (int c = 0; c < 5 && st == AGT_OK; c++) {
        size_t es = c == 4 ? 1 : 8;
        uint8_t *dst = col_ptr(out, c, base);
        if (!dst) continue;
        if (c == 1) memcpy(tmp, ts, (size_t)n * 8);
        else if (idx[c] >= 0) st = pq_read_rows(f, idx[c], rg, a, b, tmp, err);
        else memset(tmp, 0, (size_t)n * es);
        for (int64_t i = 0; st == AGT_OK && i < n; i++)
            if (ts[i] >= ts_min && ts[i] <= ts_max) {
                memcpy(dst, tmp + (size_t)i * es, es);
                dst += es;
            }
    }
    free(tmp);
    if (st == AGT_OK) out->len = base + cnt;
    return st;
}

/* Rows [a, b) of row group rg all match: decode every wanted column into `out`. */
static agt_status read_all_rows(agt_pq_file *f, size_t rg, const int idx[5], int64_t a, int64_t b,
                                agt_trades *out, agt_error *err)
{
    size_t k = (size_t)(b - a), base = out->len;
    if (agt_trades_reserve(out, base + k) != AGT_OK) return agt_err(err, AGT_ENOMEM, "out of memory");
    for (int c = 0; c < 5; c++) {
        void *dst = col_ptr(out, c, base);
        if (!dst) continue;
        if (idx[c] < 0) memset(dst, 0, k * (c == 4 ? 1 : 8));
        else AGT_TRY(pq_read_rows(f, idx[c], rg, a, b, dst, err));
    }
    out->len = base + k;
    return AGT_OK;
}

agt_status agt_pq_read_trades(agt_pq_file *f, int64_t ts_min, int64_t ts_max, unsigned cols,
                              agt_trades *out, agt_error *err)
{
    int idx[5];
    AGT_TRY(trade_columns(f, cols | AGT_COL_TIMESTAMP, idx, err));
    if (ts_min > ts_max) return AGT_OK;
    int tc = idx[1];
    int64_t *ts = NULL;
    size_t ts_cap = 0;
    agt_status st = AGT_OK;
    for (size_t rg = 0; rg < f->nrg && st == AGT_OK; rg++) {
        int64_t rows = f->rg_rows[rg];
        pq_chunk *c = PQ_CHUNK(f, rg, tc);
        int64_t mn, mx;
        if (rows == 0 || (chunk_i64_minmax(c, &mn, &mx) && (mx < ts_min || mn > ts_max))) continue;
        st = pq_load_column_index(f, tc, rg, err);
        if (st != AGT_OK) break;
        size_t np = c->ci_state == 1 ? c->npages : 1;
        for (size_t p = 0; p < np && st == AGT_OK; p++) {
            int64_t a = 0, b = rows;
            int inside = chunk_i64_minmax(c, &mn, &mx) && mn >= ts_min && mx <= ts_max;
            if (c->ci_state == 1) {
                if (c->pg_max[p] < ts_min || c->pg_min[p] > ts_max) continue;
                a = c->pg_row[p];
                inside = c->pg_min[p] >= ts_min && c->pg_max[p] <= ts_max;
                /* merge the following candidate pages into one span */
                while (p + 1 < np && !(c->pg_max[p + 1] < ts_min || c->pg_min[p + 1] > ts_max)) {
                    p++;
                    inside = inside && c->pg_min[p] >= ts_min && c->pg_max[p] <= ts_max;
                }
                b = c->pg_row[p + 1];
            }
            if (inside) { /* every row matches: decode straight into the output */
                st = read_all_rows(f, rg, idx, a, b, out, err);
                continue;
            }
            size_t n = (size_t)(b - a);
            if (n > ts_cap) {
                free(ts);
                ts = malloc(n * sizeof *ts);
                ts_cap = ts ? n : 0;
                if (!ts) {
                    st = agt_err(err, AGT_ENOMEM, "out of memory");
                    break;
                }
            }
            st = pq_read_rows(f, tc, rg, a, b, ts, err);
            if (st == AGT_OK) st = emit_rows(f, rg, idx, ts, a, b, ts_min, ts_max, out, err);
        }
    }
    free(ts);
    return st;
}

/* ---- bloom filter ------------------------------------------------------ */

static agt_status bloom_probe(agt_pq_file *f, int col, size_t rg, uint64_t h, int *maybe,
                              agt_error *err)
{
    const pq_chunk *c = PQ_CHUNK(f, rg, col);
    const char *name = f->cols[col].name;
    size_t avail = f->meta_end - (size_t)c->bloom_off;
    if (c->bloom_len > 0 && (size_t)c->bloom_len < avail) avail = (size_t)c->bloom_len;
    pq_tr r;
    pq_tr_init(&r, f->data + c->bloom_off, avail);
    int16_t last = 0, fid;
    int t, unsupported = 0;
    int32_t nbytes = -1;
    while (pq_tr_field(&r, &last, &fid, &t)) {
        if (fid == 1) {
            nbytes = pq_tr_i32(&r, t);
        } else if (fid >= 2 && fid <= 4 && pq_tr_enter(&r, t)) {
            int16_t l2 = 0, f2;
            int t2;
            while (pq_tr_field(&r, &l2, &f2, &t2)) {
                if (f2 != 1) unsupported = 1;
                pq_tr_skip(&r, t2);
            }
            pq_tr_leave(&r);
        } else {
            pq_tr_skip(&r, t);
        }
    }
    if (r.bad) return agt_err(err, AGT_ECORRUPT, "corrupt bloom filter header in column '%s': %s", name, r.why);
    if (unsupported)
        return agt_err(err, AGT_EUNSUPPORTED, "bloom filter of column '%s' uses an unknown algorithm", name);
    size_t hl = (size_t)(r.p - (f->data + c->bloom_off));
    if (nbytes < 32 || (nbytes & (nbytes - 1)) || (size_t)nbytes > ((size_t)128 << 20) ||
        (size_t)nbytes > avail - hl)
        return agt_err(err, AGT_ECORRUPT, "bloom filter of column '%s' has a bad size", name);
    *maybe = pq_bloom_check(r.p, (size_t)nbytes, h);
    return AGT_OK;
}

static uint64_t hash_value(agt_pq_type t, int64_t v)
{
    if (t == AGT_PQ_INT32) {
        int32_t x = (int32_t)v;
        return XXH64(&x, 4, 0);
    }
    return pq_bloom_hash_i64(v);
}

agt_status agt_pq_bloom_check(agt_pq_file *f, int col, int64_t value, int *maybe, agt_error *err)
{
    *maybe = 1;
    if (col < 0 || (size_t)col >= f->ncols) return agt_err(err, AGT_EINVAL, "no column %d", col);
    agt_pq_type t = f->cols[col].type;
    if (t != AGT_PQ_INT64 && t != AGT_PQ_TIMESTAMP_US && t != AGT_PQ_INT32)
        return agt_err(err, AGT_EINVAL, "column '%s' is not an integer column", f->cols[col].name);
    uint64_t h = hash_value(t, value);
    int any = 0, m = 0;
    for (size_t rg = 0; rg < f->nrg; rg++) {
        if (!PQ_CHUNK(f, rg, col)->bloom_off) continue;
        any = 1;
        int one = 0;
        AGT_TRY(bloom_probe(f, col, rg, h, &one, err));
        m |= one;
    }
    if (!any) return agt_err(err, AGT_ENOTFOUND, "column '%s' has no bloom filter", f->cols[col].name);
    *maybe = m;
    return AGT_OK;
}

/* ---- id look-up -------------------------------------------------------- */

static agt_status found_row(agt_pq_file *f, size_t rg, const int idx[5], int64_t row, int64_t id,
                            agt_trades *out, agt_error *err)
{
    int64_t ts = 0;
    double price = 0, qty = 0;
    uint8_t m = 0;
    AGT_TRY(pq_read_rows(f, idx[1], rg, row, row + 1, &ts, err));
    AGT_TRY(pq_read_rows(f, idx[2], rg, row, row + 1, &price, err));
    AGT_TRY(pq_read_rows(f, idx[3], rg, row, row + 1, &qty, err));
    AGT_TRY(pq_read_rows(f, idx[4], rg, row, row + 1, &m, err));
    if (agt_trades_push(out, id, ts, price, qty, m) != AGT_OK)
        return agt_err(err, AGT_ENOMEM, "out of memory");
    return AGT_OK;
}

/* Search rows [a, b) of trade_id in row group rg. */
static agt_status search_span(agt_pq_file *f, size_t rg, const int idx[5], int64_t a, int64_t b,
                              int64_t id, agt_trades *out, int *found, agt_error *err)
{
    int64_t *v = malloc((size_t)(b - a) * sizeof *v + 1);
    if (!v) return agt_err(err, AGT_ENOMEM, "out of memory");
    agt_status st = pq_read_rows(f, idx[0], rg, a, b, v, err);
    for (int64_t i = 0; st == AGT_OK && i < b - a; i++)
        if (v[i] == id) {
            st = found_row(f, rg, idx, a + i, id, out, err);
            *found = st == AGT_OK;
            break;
        }
    free(v);
    return st;
}

agt_status agt_pq_find_trade(agt_pq_file *f, int64_t id, int use_bloom, agt_trades *out, int *found,
                             int *pages_read, agt_error *err)
{
    int idx[5];
    *found = 0;
    long before = f->pages_decoded;
    agt_status st = trade_columns(f, AGT_COL_ALL, idx, err);
    int tc = idx[0];
    uint64_t h = pq_bloom_hash_i64(id);
    for (size_t rg = 0; st == AGT_OK && rg < f->nrg && !*found; rg++) {
        pq_chunk *c = PQ_CHUNK(f, rg, tc);
        int64_t mn, mx, rows = f->rg_rows[rg];
        if (rows == 0 || (chunk_i64_minmax(c, &mn, &mx) && (id < mn || id > mx))) continue;
        if (use_bloom && c->bloom_off) {
            int maybe = 1;
            st = bloom_probe(f, tc, rg, h, &maybe, err);
            if (st != AGT_OK || !maybe) continue;
        }
        st = pq_load_column_index(f, tc, rg, err);
        if (st != AGT_OK) break;
        if (c->ci_state != 1) {
            st = search_span(f, rg, idx, 0, rows, id, out, found, err);
            continue;
        }
        for (size_t p = 0; p < c->npages && st == AGT_OK && !*found; p++) {
            if (id < c->pg_min[p] || id > c->pg_max[p]) continue;
            st = search_span(f, rg, idx, c->pg_row[p], c->pg_row[p + 1], id, out, found, err);
        }
    }
    if (pages_read) *pages_read = (int)(f->pages_decoded - before);
    return st;
}
