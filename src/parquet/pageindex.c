/*
 * pageindex.c - loading a chunk's OffsetIndex (where each data page starts,
 * its size and first row) and, for INT64/TIMESTAMP columns, its ColumnIndex
 * (per-page min/max and boundary order), on first use.
 *
 * Validation: the index bytes lie inside the file; page locations are in
 * increasing order, inside the chunk, the first starts at row 0 and rows
 * strictly increase below the row group's row count; the ColumnIndex has
 * one 8-byte min and max per page. A chunk without an index reads its pages
 * sequentially instead (state -1).
 */
#include <stdlib.h>
#include <string.h>

#include "parquet/pq_file.h"

static int range_ok(const agt_pq_file *f, int64_t off, int32_t len)
{
    return off >= 4 && len > 0 && (uint64_t)off <= f->meta_end &&
           (uint64_t)len <= f->meta_end - (uint64_t)off;
}

agt_status pq_load_offset_index(agt_pq_file *f, int col, size_t rg, agt_error *err)
{
    pq_chunk *c = PQ_CHUNK(f, rg, col);
    if (c->oi_state) return AGT_OK;
    c->oi_state = -1;
    if (!c->oi_off && !c->oi_len) return AGT_OK;
    const char *name = f->cols[col].name;
    if (!range_ok(f, c->oi_off, c->oi_len))
        return agt_err(err, AGT_ECORRUPT, "offset index of column '%s' lies outside the file", name);
    pq_tr r;
    pq_tr_init(&r, f->data + c->oi_off, (size_t)c->oi_len);
    int16_t last = 0, fid;
    int t, seen = 0;
    while (pq_tr_field(&r, &last, &fid, &t)) {
        if (fid != 1 || seen) {
            pq_tr_skip(&r, t);
            continue;
        }
        seen = 1;
        int et;
        uint32_t n = pq_tr_list(&r, t, &et);
        if (r.bad) break;
        if (et != TT_STRUCT || n == 0) {
            pq_tr_fail(&r, "empty page list");
            break;
        }
        c->pg_off = malloc(n * sizeof *c->pg_off);
        c->pg_row = malloc((n + 1) * sizeof *c->pg_row);
        c->pg_size = malloc(n * sizeof *c->pg_size);
        if (!c->pg_off || !c->pg_row || !c->pg_size)
            return agt_err(err, AGT_ENOMEM, "out of memory reading the offset index");
        c->npages = n;
        for (uint32_t i = 0; i < n && !r.bad; i++) {
            if (!pq_tr_enter(&r, TT_STRUCT)) break;
            int16_t l2 = 0, f2;
            int t2, got = 0;
            while (pq_tr_field(&r, &l2, &f2, &t2)) {
                if (f2 == 1) c->pg_off[i] = pq_tr_i64(&r, t2), got |= 1;
                else if (f2 == 2) c->pg_size[i] = pq_tr_i32(&r, t2), got |= 2;
                else if (f2 == 3) c->pg_row[i] = pq_tr_i64(&r, t2), got |= 4;
                else pq_tr_skip(&r, t2);
            }
            pq_tr_leave(&r);
            if (!r.bad && got != 7) pq_tr_fail(&r, "incomplete page location");
        }
    }
    if (!r.bad && !seen) pq_tr_fail(&r, "no page locations");
    if (r.bad)
        return agt_err(err, AGT_ECORRUPT, "corrupt offset index of column '%s': %s", name, r.why);
    int64_t rows = f->rg_rows[rg];
    c->pg_row[c->npages] = rows;
    for (size_t i = 0; i < c->npages; i++) {
        int ok = c->pg_off[i] >= c->data_off && c->pg_size[i] > 0 &&
                 c->pg_off[i] <= c->end - c->pg_size[i] &&
                 (i == 0 ? c->pg_row[0] == 0 : c->pg_row[i] > c->pg_row[i - 1] &&
                                                   c->pg_off[i] >= c->pg_off[i - 1] + c->pg_size[i - 1]) &&
                 c->pg_row[i] < rows;
        if (!ok)
            return agt_err(err, AGT_ECORRUPT, "offset index of column '%s' has a bad page %zu",
                           name, i);
    }
    c->oi_state = 1;
    return AGT_OK;
}

agt_status pq_load_column_index(agt_pq_file *f, int col, size_t rg, agt_error *err)
{
    pq_chunk *c = PQ_CHUNK(f, rg, col);
    if (c->ci_state) return AGT_OK;
    AGT_TRY(pq_load_offset_index(f, col, rg, err));
    c->ci_state = -1;
    agt_pq_type ty = f->cols[col].type;
    if (c->oi_state != 1 || (!c->ci_off && !c->ci_len) ||
        (ty != AGT_PQ_INT64 && ty != AGT_PQ_TIMESTAMP_US))
        return AGT_OK;
    const char *name = f->cols[col].name;
    if (!range_ok(f, c->ci_off, c->ci_len))
        return agt_err(err, AGT_ECORRUPT, "column index of column '%s' lies outside the file", name);
    c->pg_min = malloc(c->npages * sizeof *c->pg_min);
    c->pg_max = malloc(c->npages * sizeof *c->pg_max);
    if (!c->pg_min || !c->pg_max) return agt_err(err, AGT_ENOMEM, "out of memory");
    pq_tr r;
    pq_tr_init(&r, f->data + c->ci_off, (size_t)c->ci_len);
    int16_t last = 0, fid;
    int t, got = 0;
    while (pq_tr_field(&r, &last, &fid, &t)) {
        int bit = fid == 2 ? 1 : 2;
        if ((fid == 2 || fid == 3) && !(got & bit)) {
            int et;
            uint32_t n = pq_tr_list(&r, t, &et);
            if (r.bad) break;
            if (n != c->npages || et != TT_BINARY) {
                pq_tr_fail(&r, "page count differs from the offset index");
                break;
            }
            int64_t *dst = fid == 2 ? c->pg_min : c->pg_max;
            for (uint32_t i = 0; i < n && !r.bad; i++) {
                uint32_t l;
                const uint8_t *p = pq_tr_bin(&r, TT_BINARY, &l);
                if (r.bad) break;
                if (l != 8) {
                    pq_tr_fail(&r, "page min/max is not 8 bytes");
                    break;
                }
                memcpy(&dst[i], p, 8);
            }
            got |= bit;
        } else if (fid == 4) {
            c->ci_order = pq_tr_i32(&r, t);
        } else {
            pq_tr_skip(&r, t);
        }
    }
    if (!r.bad && got != 3) pq_tr_fail(&r, "no page min/max");
    if (r.bad)
        return agt_err(err, AGT_ECORRUPT, "corrupt column index of column '%s': %s", name, r.why);
    c->ci_state = 1;
    return AGT_OK;
}
