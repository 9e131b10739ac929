/*
 * reader.c - pages and values: reading rows of a column chunk, time-range
 * reads of the trade schema, bloom probes and id look-ups.
 *
 * A read of rows [lo, hi) of a chunk visits only the data pages that hold
 * those rows: through the OffsetIndex when the chunk has one, else by
 * walking page headers from the chunk start (skipping bodies of pages
 * before lo without decompressing them). Each page header is parsed within
 * the chunk's bounds; the body is decompressed into a reused buffer and
 * must come out exactly uncompressed_page_size bytes; values are decoded
 * straight into the caller's array when the page lies wholly inside the
 * range, else into scratch and the overlap copied.
 *
 * read_trades uses the timestamp chunk statistics to skip row groups and
 * the timestamp ColumnIndex to pick candidate pages, then reads the other
 * requested columns only for the rows that matched.
 */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "parquet/pq_file.h"

size_t pq_elem_size(agt_pq_type t)
{
    switch (t) {
    case AGT_PQ_BOOL: return 1;
    case AGT_PQ_INT32: return 4;
    case AGT_PQ_STRING: return sizeof(pq_sv);
    default: return 8;
    }
}

typedef struct pghdr {
    int type, enc, has_data, has_dict;
    int32_t usize, csize, nvals;
    size_t hlen;
} pghdr;

static agt_status read_header(agt_pq_file *f, int col, const pq_chunk *c, int64_t off, pghdr *h,
                              agt_error *err)
{
    const char *name = f->cols[col].name;
    memset(h, 0, sizeof *h);
    h->type = -1;
    h->usize = h->csize = h->nvals = -1;
    if (off < c->start || off >= c->end)
        return agt_err(err, AGT_ECORRUPT, "page of column '%s' lies outside its chunk", name);
    pq_tr r;
    pq_tr_init(&r, f->data + off, (size_t)(c->end - off));
    int16_t last = 0, fid;
    int t;
    while (pq_tr_field(&r, &last, &fid, &t)) {
        switch (fid) {
        case 1: h->type = pq_tr_i32(&r, t); break;
        case 2: h->usize = pq_tr_i32(&r, t); break;
        case 3: h->csize = pq_tr_i32(&r, t); break;
        case 5:
        case 7:
            if (pq_tr_enter(&r, t)) {
                int16_t l2 = 0, f2;
                int t2;
                if (fid == 5) h->has_data = 1;
                else h->has_dict = 1;
                while (pq_tr_field(&r, &l2, &f2, &t2)) {
                    if (f2 == 1) h->nvals = pq_tr_i32(&r, t2);
                    else if (f2 == 2) h->enc = pq_tr_i32(&r, t2);
                    else pq_tr_skip(&r, t2);
                }
                pq_tr_leave(&r);
            }
            break;
        default: pq_tr_skip(&r, t);
        }
    }
    if (r.bad)
        return agt_err(err, AGT_ECORRUPT, "corrupt page header in column '%s': %s", name, r.why);
    h->hlen = (size_t)(r.p - (f->data + off));
    if (h->usize < 0 || h->csize < 0 || (uint64_t)h->csize > (uint64_t)(c->end - off) - h->hlen)
        return agt_err(err, AGT_ECORRUPT, "page of column '%s' has a bad size", name);
    if (h->type == PQ_PAGE_DATA_V2)
        return agt_err(err, AGT_EUNSUPPORTED, "column '%s' uses data page v2, not supported", name);
    if ((h->type == PQ_PAGE_DATA && (!h->has_data || h->nvals < 0)) ||
        (h->type == PQ_PAGE_DICT && (!h->has_dict || h->nvals < 0)))
        return agt_err(err, AGT_ECORRUPT, "page header of column '%s' lacks its page details", name);
    return AGT_OK;
}

static agt_status page_body(agt_pq_file *f, int col, const pq_chunk *c, int64_t off,
                            const pghdr *h, const uint8_t **body, size_t *blen, agt_error *err)
{
    const char *name = f->cols[col].name;
    const uint8_t *src = f->data + off + h->hlen;
    if (c->codec == PQ_CODEC_NONE) {
        if (h->csize != h->usize)
            return agt_err(err, AGT_ECORRUPT, "uncompressed page of column '%s' has two sizes", name);
        *body = src;
        *blen = (size_t)h->csize;
        return AGT_OK;
    }
    if (c->codec != PQ_CODEC_ZSTD) {
        static const char *names[] = {"uncompressed", "snappy", "gzip", "lzo", "brotli", "lz4", "zstd", "lz4_raw"};
        const char *cn = c->codec >= 0 && c->codec < 8 ? names[c->codec] : "unknown";
        return agt_err(err, AGT_EUNSUPPORTED,
                       "column '%s' uses %s compression (codec %d); only zstd and uncompressed are supported",
                       name, cn, c->codec);
    }
    if ((size_t)h->usize > PQ_SCRATCH_MAX)
        return agt_err(err, AGT_ECORRUPT, "page of column '%s' is too large (%d bytes)", name, h->usize);
    if (!f->dctx && !(f->dctx = ZSTD_createDCtx()))
        return agt_err(err, AGT_ENOMEM, "out of memory");
    f->page.len = 0;
    if (agt_buf_reserve(&f->page, (size_t)h->usize) != AGT_OK)
        return agt_err(err, AGT_ENOMEM, "out of memory decompressing a page");
    size_t n = ZSTD_decompressDCtx(f->dctx, f->page.data, (size_t)h->usize, src, (size_t)h->csize);
    if (ZSTD_isError(n) || n != (size_t)h->usize)
        return agt_err(err, AGT_ECORRUPT, "page of column '%s' does not decompress to its size (%s)",
                       name, ZSTD_isError(n) ? ZSTD_getErrorName(n) : "wrong length");
    *body = f->page.data;
    *blen = n;
    return AGT_OK;
}

/* PLAIN values of the column type; n values into out. */
static int plain_decode(agt_pq_type t, const uint8_t *p, size_t len, size_t n, void *out,
                        const char **why)
{
    if (t == AGT_PQ_BOOL) return pq_bool_decode(p, len, n, out, why);
    if (t == AGT_PQ_STRING) {
        pq_sv *o = out;
        size_t pos = 0;
        for (size_t i = 0; i < n; i++) {
            if (len - pos < 4) return *why = "truncated string length", -1;
            uint32_t l = pq_rd32(p + pos);
            pos += 4;
            if (l > len - pos) return *why = "string longer than its page", -1;
            o[i].p = p + pos;
            o[i].n = l;
            pos += l;
        }
        return 0;
    }
    size_t w = pq_elem_size(t);
    if (len / w < n) return *why = "truncated plain values", -1;
    memcpy(out, p, n * w);
    return 0;
}

static agt_status load_dict(agt_pq_file *f, int col, pq_chunk *c, int64_t off, const pghdr *h,
                            agt_error *err)
{
    const char *name = f->cols[col].name;
    agt_pq_type t = f->cols[col].type;
    if (c->dict_state == 1)
        return agt_err(err, AGT_ECORRUPT, "column '%s' has two dictionary pages", name);
    if (h->enc != PQ_ENC_PLAIN && h->enc != PQ_ENC_PLAIN_DICT)
        return agt_err(err, AGT_EUNSUPPORTED, "dictionary of column '%s' uses encoding %d", name, h->enc);
    if (t == AGT_PQ_BOOL)
        return agt_err(err, AGT_EUNSUPPORTED, "boolean dictionaries are not supported");
    const uint8_t *body = NULL;
    size_t blen = 0;
    AGT_TRY(page_body(f, col, c, off, h, &body, &blen, err));
    size_t es = pq_elem_size(t), n = (size_t)h->nvals;
    size_t minw = t == AGT_PQ_STRING ? 4 : es;
    if (n > blen / minw)
        return agt_err(err, AGT_ECORRUPT, "dictionary of column '%s' is truncated", name);
    free(c->dict);
    free(c->dict_raw);
    c->dict_raw = NULL;
    c->dict = malloc(n * es + 1);
    if (!c->dict) return agt_err(err, AGT_ENOMEM, "out of memory reading a dictionary");
    if (t == AGT_PQ_STRING) {
        c->dict_raw = malloc(blen + 1);
        if (!c->dict_raw) return agt_err(err, AGT_ENOMEM, "out of memory reading a dictionary");
        memcpy(c->dict_raw, body, blen);
        body = c->dict_raw;
    }
    const char *why = NULL;
    if (plain_decode(t, body, blen, n, c->dict, &why) != 0)
        return agt_err(err, AGT_ECORRUPT, "dictionary of column '%s': %s", name, why);
    c->dict_n = n;
    c->dict_state = 1;
    return AGT_OK;
}

/*
 * An optional column's definition levels, at the start of a data page:
 * accepted only when every value is present; *p and *len step over them.
 */
static agt_status skip_definition_levels(agt_pq_file *f, const char *name, size_t n,
                                         const uint8_t **p, size_t *len, agt_error *err)
{
    const char *why = NULL;
    if (*len < 4 || pq_rd32(*p) > *len - 4)
        return agt_err(err, AGT_ECORRUPT, "truncated definition levels in column '%s'", name);
    size_t dl = pq_rd32(*p);
    f->idx.len = 0;
    if (agt_buf_reserve(&f->idx, n * 4) != AGT_OK) return agt_err(err, AGT_ENOMEM, "out of memory");
    uint32_t *lv = (uint32_t *)(void *)f->idx.data;
    if (pq_rle_decode(*p + 4, dl, 1, n, lv, NULL, &why) != 0)
        return agt_err(err, AGT_ECORRUPT, "definition levels of column '%s': %s", name, why);
    for (size_t i = 0; i < n; i++)
        if (lv[i] != 1)
            return agt_err(err, AGT_EUNSUPPORTED, "column '%s' holds nulls, not supported", name);
    *p += 4 + dl;
    *len -= 4 + dl;
    return AGT_OK;
}

/*
 * The n values of a dictionary-encoded page (elements of es bytes): its
 * indices (bit width, then RLE/bit-packed runs) looked up in the chunk's
 * dictionary.
 */
static agt_status gather_dict(agt_pq_file *f, const char *name, const pq_chunk *c,
                              const uint8_t *p, size_t len, size_t n, size_t es, void *dst,
                              agt_error *err)
{
    const char *why = NULL;
    if (c->dict_state != 1)
        return agt_err(err, AGT_ECORRUPT, "column '%s' has dictionary pages but no dictionary", name);
    if (len < 1) return agt_err(err, AGT_ECORRUPT, "empty dictionary page in column '%s'", name);
    f->idx.len = 0;
    if (agt_buf_reserve(&f->idx, n * 4) != AGT_OK) return agt_err(err, AGT_ENOMEM, "out of memory");
    uint32_t *ix = (uint32_t *)(void *)f->idx.data;
    if (pq_rle_decode(p + 1, len - 1, p[0], n, ix, NULL, &why) != 0)
        return agt_err(err, AGT_ECORRUPT, "bad page in column '%s': %s", name, why);
    /* check all indices first (a max the compiler vectorises), then gather without branches */
    const uint8_t *d = c->dict;
    uint8_t *o = dst;
    uint32_t top = 0;
    for (size_t i = 0; i < n; i++) top = ix[i] > top ? ix[i] : top;
    if (n && top >= c->dict_n)
        return agt_err(err, AGT_ECORRUPT, "dictionary index out of range in column '%s'", name);
    if (es == 8) {
        const uint64_t *d8 = c->dict;
        uint64_t *o8 = dst;
        for (size_t i = 0; i < n; i++) o8[i] = d8[ix[i]];
    } else if (es == 4) {
        const uint32_t *d4 = c->dict;
        uint32_t *o4 = dst;
        for (size_t i = 0; i < n; i++) o4[i] = d4[ix[i]];
    } else {
        for (size_t i = 0; i < n; i++) memcpy(o + i * es, d + (size_t)ix[i] * es, es);
    }
    return AGT_OK;
}

static agt_status decode_page(agt_pq_file *f, int col, pq_chunk *c, int64_t off, const pghdr *h,
                              void *dst, agt_error *err)
{
    const pq_colinfo *ci = &f->cols[col];
    const char *name = ci->name;
    const uint8_t *p = NULL;
    size_t len = 0, n = (size_t)h->nvals;
    AGT_TRY(page_body(f, col, c, off, h, &p, &len, err));
    f->pages_decoded++;
    if (ci->optional) AGT_TRY(skip_definition_levels(f, name, n, &p, &len, err));
    const char *why = NULL;
    int rc = 0;
    agt_pq_type t = ci->type;
    size_t es = pq_elem_size(t);
    switch (h->enc) {
    case PQ_ENC_PLAIN: rc = plain_decode(t, p, len, n, dst, &why); break;
    case PQ_ENC_PLAIN_DICT:
    case PQ_ENC_RLE_DICT: return gather_dict(f, name, c, p, len, n, es, dst, err);
    case PQ_ENC_DELTA:
        if (t == AGT_PQ_INT64 || t == AGT_PQ_TIMESTAMP_US) rc = pq_delta_decode(p, len, n, dst, &why);
        else if (t == AGT_PQ_INT32) rc = pq_delta_decode32(p, len, n, dst, &why);
        else rc = -1, why = "delta encoding on a non-integer column";
        break;
    case PQ_ENC_BSS:
        if (t == AGT_PQ_STRING || t == AGT_PQ_BOOL) rc = -1, why = "byte-stream-split on a bad type";
        else rc = pq_bss_decode(p, len, n, es, dst, &why);
        break;
    case PQ_ENC_RLE:
        if (t != AGT_PQ_BOOL) {
            rc = -1, why = "rle values on a non-boolean column";
            break;
        }
        if (len < 4 || pq_rd32(p) > len - 4) {
            rc = -1, why = "truncated rle booleans";
            break;
        }
        f->idx.len = 0;
        if (agt_buf_reserve(&f->idx, n * 4) != AGT_OK) return agt_err(err, AGT_ENOMEM, "out of memory");
        rc = pq_rle_decode(p + 4, pq_rd32(p), 1, n, (uint32_t *)(void *)f->idx.data, NULL, &why);
        for (size_t i = 0; rc == 0 && i < n; i++) ((uint8_t *)dst)[i] = (uint8_t)((uint32_t *)(void *)f->idx.data)[i];
        break;
    default:
        return agt_err(err, AGT_EUNSUPPORTED, "column '%s' uses encoding %d, which is not supported",
                       name, h->enc);
    }
    if (rc) return agt_err(err, AGT_ECORRUPT, "bad page in column '%s': %s", name, why);
    return AGT_OK;
}

/* Decode one data page holding rows [prow, prow + nvals) and copy the part inside [lo, hi).
   Strings are appended to f->sbytes and `out` holds their offsets. */
static agt_status take_page(agt_pq_file *f, int col, pq_chunk *c, int64_t off, const pghdr *h,
                            int64_t prow, int64_t lo, int64_t hi, uint8_t *out, agt_error *err)
{
    agt_pq_type t = f->cols[col].type;
    size_t es = pq_elem_size(t);
    int64_t n = h->nvals;
    if (t != AGT_PQ_STRING && prow >= lo && prow + n <= hi)
        return decode_page(f, col, c, off, h, out + (size_t)(prow - lo) * es, err);
    f->tmp.len = 0;
    if (agt_buf_reserve(&f->tmp, (size_t)n * es) != AGT_OK)
        return agt_err(err, AGT_ENOMEM, "out of memory decoding a page");
    AGT_TRY(decode_page(f, col, c, off, h, f->tmp.data, err));
    int64_t a = prow > lo ? prow : lo, b = prow + n < hi ? prow + n : hi;
    if (t == AGT_PQ_STRING) {
        size_t *offs = (size_t *)(void *)out;
        const pq_sv *sv = (const pq_sv *)(void *)f->tmp.data;
        for (int64_t r = a; r < b; r++) {
            const pq_sv *v = &sv[r - prow];
            offs[r - lo] = f->sbytes->len;
            if (agt_buf_append(f->sbytes, v->p, v->n) != AGT_OK || agt_buf_putc(f->sbytes, 0) != AGT_OK)
                return agt_err(err, AGT_ENOMEM, "out of memory reading strings");
        }
        return AGT_OK;
    }
    memcpy(out + (size_t)(a - lo) * es, f->tmp.data + (size_t)(a - prow) * es, (size_t)(b - a) * es);
    return AGT_OK;
}

agt_status pq_read_rows(agt_pq_file *f, int col, size_t rg, int64_t lo, int64_t hi, void *out,
                        agt_error *err)
{
    pq_chunk *c = PQ_CHUNK(f, rg, col);
    const char *name = f->cols[col].name;
    int64_t rows = f->rg_rows[rg];
    if (lo >= hi) return AGT_OK;
    pghdr h;
    if (c->dict_off && c->dict_state == 0) {
        AGT_TRY(read_header(f, col, c, c->dict_off, &h, err));
        if (h.type != PQ_PAGE_DICT)
            return agt_err(err, AGT_ECORRUPT, "dictionary page offset of column '%s' holds no dictionary", name);
        AGT_TRY(load_dict(f, col, c, c->dict_off, &h, err));
    }
    AGT_TRY(pq_load_offset_index(f, col, rg, err));
    if (c->oi_state == 1) {
        size_t p = 0, np = c->npages;
        size_t a = 0, b = np; /* binary search: last page starting at or before lo */
        while (b - a > 1) {
            size_t m = (a + b) / 2;
            if (c->pg_row[m] <= lo) a = m;
            else b = m;
        }
        for (p = a; p < np && c->pg_row[p] < hi; p++) {
            AGT_TRY(read_header(f, col, c, c->pg_off[p], &h, err));
            int64_t want = c->pg_row[p + 1] - c->pg_row[p];
            if (h.type != PQ_PAGE_DATA || h.nvals != want ||
                (int64_t)h.hlen + h.csize != c->pg_size[p])
                return agt_err(err, AGT_ECORRUPT, "page %zu of column '%s' does not match its offset index", p, name);
            AGT_TRY(take_page(f, col, c, c->pg_off[p], &h, c->pg_row[p], lo, hi, out, err));
        }
        return AGT_OK;
    }
    int64_t off = c->start, row = 0;
    while (row < hi) {
        if (off >= c->end)
            return agt_err(err, AGT_ECORRUPT, "column '%s' has fewer values than rows", name);
        AGT_TRY(read_header(f, col, c, off, &h, err));
        if (h.type == PQ_PAGE_DICT) {
            if (c->dict_state == 0) AGT_TRY(load_dict(f, col, c, off, &h, err));
            else if (off != c->dict_off)
                return agt_err(err, AGT_ECORRUPT, "column '%s' has two dictionary pages", name);
        } else if (h.type == PQ_PAGE_DATA) {
            if (h.nvals > rows - row)
                return agt_err(err, AGT_ECORRUPT, "column '%s' has more values than rows", name);
            if (row + h.nvals > lo) AGT_TRY(take_page(f, col, c, off, &h, row, lo, hi, out, err));
            row += h.nvals;
        } else if (h.type != PQ_PAGE_INDEX) {
            return agt_err(err, AGT_ECORRUPT, "column '%s' has a page of unknown type %d", name, h.type);
        }
        off += (int64_t)h.hlen + h.csize;
    }
    return AGT_OK;
}

static agt_status check_range(const agt_pq_file *f, int col, int64_t row_start, int64_t nrows,
                              agt_error *err)
{
    if (col < 0 || (size_t)col >= f->ncols)
        return agt_err(err, AGT_EINVAL, "no column %d in parquet file", col);
    if (row_start < 0 || nrows < 0 || row_start > f->nrows || nrows > f->nrows - row_start)
        return agt_err(err, AGT_EINVAL, "rows %lld+%lld outside the file's %lld rows",
                       (long long)row_start, (long long)nrows, (long long)f->nrows);
    return AGT_OK;
}

/* Call pq_read_rows for each row group overlapping [row_start, row_start + nrows). */
static agt_status read_span(agt_pq_file *f, int col, int64_t row_start, int64_t nrows, uint8_t *out,
                            agt_error *err)
{
    agt_pq_type t = f->cols[col].type;
    size_t es = t == AGT_PQ_STRING ? sizeof(size_t) : pq_elem_size(t);
    int64_t end = row_start + nrows;
    for (size_t rg = 0; rg < f->nrg; rg++) {
        int64_t a = f->rg_first[rg], b = a + f->rg_rows[rg];
        if (b <= row_start || a >= end) continue;
        int64_t lo = row_start > a ? row_start : a, hi = end < b ? end : b;
        AGT_TRY(pq_read_rows(f, col, rg, lo - a, hi - a, out + (size_t)(lo - row_start) * es, err));
    }
    return AGT_OK;
}

agt_status agt_pq_read_column(agt_pq_file *f, int col, int64_t row_start, int64_t nrows, void *out,
                              agt_error *err)
{
    AGT_TRY(check_range(f, col, row_start, nrows, err));
    if (f->cols[col].type == AGT_PQ_STRING)
        return agt_err(err, AGT_EINVAL, "column '%s' holds strings: use agt_pq_read_strings", f->cols[col].name);
    return read_span(f, col, row_start, nrows, out, err);
}

agt_status agt_pq_read_strings(agt_pq_file *f, int col, int64_t row_start, int64_t nrows,
                               agt_buf *bytes, size_t *offsets, agt_error *err)
{
    AGT_TRY(check_range(f, col, row_start, nrows, err));
    if (f->cols[col].type != AGT_PQ_STRING)
        return agt_err(err, AGT_EINVAL, "column '%s' does not hold strings", f->cols[col].name);
    f->sbytes = bytes;
    agt_status st = read_span(f, col, row_start, nrows, (uint8_t *)offsets, err);
    f->sbytes = NULL;
    return st;
}
