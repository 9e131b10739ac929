/*
 * thrift.c - the Thrift compact protocol, just what Parquet metadata needs.
 *
 * Writing: a struct is a run of fields, each with a header byte
 * (delta<<4 | type) relative to the previous field id of the same struct
 * (so each open struct keeps its own "last id" on a small stack), ended by
 * a 0x00 stop byte. Integers are zigzag varints, binaries a varint length
 * then bytes, lists a (size<<4 | elem type) byte or 0xF? + varint size.
 *
 * Reading is a cursor that never reads past `end`: every length is checked
 * against the bytes left, lists cannot claim more elements than bytes
 * remain, nesting is limited to PQ_TR_DEPTH, and unknown fields are skipped
 * by their type. The first problem sets `bad` and every later call returns
 * zeros, so parsers can check once at the end of a struct.
 */
#include <string.h>

#include "parquet/pq_int.h"

/* ---- writer ------------------------------------------------------------ */

void pq_tw_init(pq_tw *w, agt_buf *b)
{
    w->b = b;
    w->st = AGT_OK;
    w->depth = 0;
    w->last[0] = 0;
}

static void put(pq_tw *w, const void *p, size_t n)
{
    if (w->st == AGT_OK) w->st = agt_buf_append(w->b, p, n);
}

void pq_put_uvarint(pq_tw *w, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    put(w, tmp, n);
}

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

void pq_tw_field(pq_tw *w, int fid, int type)
{
    int16_t *last = &w->last[w->depth];
    int delta = fid - *last;
    if (delta > 0 && delta <= 15) {
        uint8_t c = (uint8_t)(delta << 4 | type);
        put(w, &c, 1);
    } else {
        uint8_t c = (uint8_t)type;
        put(w, &c, 1);
        pq_put_uvarint(w, zigzag(fid));
    }
    *last = (int16_t)fid;
}

void pq_tw_i32(pq_tw *w, int fid, int32_t v)
{
    pq_tw_field(w, fid, TT_I32);
    pq_put_uvarint(w, zigzag(v));
}

void pq_tw_i64(pq_tw *w, int fid, int64_t v)
{
    pq_tw_field(w, fid, TT_I64);
    pq_put_uvarint(w, zigzag(v));
}

void pq_tw_bool(pq_tw *w, int fid, int v)
{
    pq_tw_field(w, fid, v ? TT_TRUE : TT_FALSE);
}

void pq_tw_bin(pq_tw *w, int fid, const void *p, size_t n)
{
    pq_tw_field(w, fid, TT_BINARY);
    pq_tw_elem_bin(w, p, n);
}

void pq_tw_str(pq_tw *w, int fid, const char *s)
{
    pq_tw_bin(w, fid, s, strlen(s));
}

static void push(pq_tw *w)
{
    if (w->depth + 1 >= PQ_TW_DEPTH) {
        w->st = AGT_EINVAL; /* internal misuse; never reached by our writer */
        return;
    }
    w->last[++w->depth] = 0;
}

void pq_tw_struct(pq_tw *w, int fid)
{
    pq_tw_field(w, fid, TT_STRUCT);
    push(w);
}

void pq_tw_end(pq_tw *w)
{
    uint8_t c = 0;
    put(w, &c, 1);
    if (w->depth > 0) w->depth--;
}

void pq_tw_list(pq_tw *w, int fid, int elem_type, size_t n)
{
    pq_tw_field(w, fid, TT_LIST);
    if (n < 15) {
        uint8_t c = (uint8_t)(n << 4 | (size_t)elem_type);
        put(w, &c, 1);
    } else {
        uint8_t c = (uint8_t)(0xF0 | elem_type);
        put(w, &c, 1);
        pq_put_uvarint(w, n);
    }
}

void pq_tw_elem_struct(pq_tw *w)
{
    push(w);
}

void pq_tw_elem_i32(pq_tw *w, int32_t v)
{
    pq_put_uvarint(w, zigzag(v));
}

void pq_tw_elem_i64(pq_tw *w, int64_t v)
{
    pq_put_uvarint(w, zigzag(v));
}

void pq_tw_elem_bin(pq_tw *w, const void *p, size_t n)
{
    pq_put_uvarint(w, n);
    put(w, p, n);
}

void pq_tw_elem_bool(pq_tw *w, int v)
{
    uint8_t c = v ? 1 : 2;
    put(w, &c, 1);
}

void pq_tw_empty(pq_tw *w, int fid)
{
    pq_tw_struct(w, fid);
    pq_tw_end(w);
}

/* ---- reader ------------------------------------------------------------ */

void pq_tr_init(pq_tr *r, const uint8_t *p, size_t n)
{
    r->p = p;
    r->end = p + n;
    r->depth = 0;
    r->bad = 0;
    r->why = NULL;
}

void pq_tr_fail(pq_tr *r, const char *why)
{
    if (!r->bad) {
        r->bad = 1;
        r->why = why;
    }
    r->p = r->end;
}

uint64_t pq_tr_uvarint(pq_tr *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (r->p >= r->end) {
            pq_tr_fail(r, "truncated varint");
            return 0;
        }
        uint8_t c = *r->p++;
        if (shift == 63 && c > 1) {
            pq_tr_fail(r, "varint too long");
            return 0;
        }
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) return v;
    }
    pq_tr_fail(r, "varint too long");
    return 0;
}

static int64_t unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

int pq_tr_field(pq_tr *r, int16_t *last, int16_t *fid, int *type)
{
    if (r->bad) return 0;
    if (r->p >= r->end) {
        pq_tr_fail(r, "truncated struct");
        return 0;
    }
    uint8_t c = *r->p++;
    if (c == 0) return 0;
    *type = c & 0x0f;
    if (*type == 0 || *type > TT_STRUCT) {
        pq_tr_fail(r, "bad field type");
        return 0;
    }
    int delta = c >> 4;
    if (delta) {
        int id = *last + delta;
        if (id > INT16_MAX) {
            pq_tr_fail(r, "bad field id");
            return 0;
        }
        *fid = (int16_t)id;
    } else {
        int64_t id = unzigzag(pq_tr_uvarint(r));
        if (id < INT16_MIN || id > INT16_MAX) {
            pq_tr_fail(r, "bad field id");
            return 0;
        }
        *fid = (int16_t)id;
    }
    *last = *fid;
    return !r->bad;
}

int32_t pq_tr_i32(pq_tr *r, int type)
{
    if (type != TT_I32 && type != TT_I16 && type != TT_I8) {
        pq_tr_fail(r, "field has wrong type");
        return 0;
    }
    if (type == TT_I8) {
        if (r->p >= r->end) {
            pq_tr_fail(r, "truncated i8");
            return 0;
        }
        return (int8_t)*r->p++;
    }
    int64_t v = unzigzag(pq_tr_uvarint(r));
    if (v < INT32_MIN || v > INT32_MAX) {
        pq_tr_fail(r, "i32 out of range");
        return 0;
    }
    return (int32_t)v;
}

int64_t pq_tr_i64(pq_tr *r, int type)
{
    if (type != TT_I64) return pq_tr_i32(r, type);
    return unzigzag(pq_tr_uvarint(r));
}

int pq_tr_bool(pq_tr *r, int type)
{
    if (type != TT_TRUE && type != TT_FALSE) {
        pq_tr_fail(r, "field has wrong type");
        return 0;
    }
    return type == TT_TRUE;
}

const uint8_t *pq_tr_bin(pq_tr *r, int type, uint32_t *len)
{
    *len = 0;
    if (type != TT_BINARY) {
        pq_tr_fail(r, "field has wrong type");
        return NULL;
    }
    uint64_t n = pq_tr_uvarint(r);
    if (r->bad) return NULL;
    if (n > (uint64_t)(r->end - r->p)) {
        pq_tr_fail(r, "binary longer than the bytes left");
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    *len = (uint32_t)n;
    return p;
}

uint32_t pq_tr_list(pq_tr *r, int type, int *elem_type)
{
    *elem_type = 0;
    if (type != TT_LIST && type != TT_SET) {
        pq_tr_fail(r, "field has wrong type");
        return 0;
    }
    if (r->p >= r->end) {
        pq_tr_fail(r, "truncated list");
        return 0;
    }
    uint8_t c = *r->p++;
    uint64_t n = c >> 4;
    *elem_type = c & 0x0f;
    if (n == 15) n = pq_tr_uvarint(r);
    if (r->bad) return 0;
    /* every element takes at least one byte */
    if (n > (uint64_t)(r->end - r->p)) {
        pq_tr_fail(r, "list longer than the bytes left");
        return 0;
    }
    if (*elem_type == 0 || *elem_type > TT_STRUCT) {
        pq_tr_fail(r, "bad list element type");
        return 0;
    }
    return (uint32_t)n;
}

int pq_tr_enter(pq_tr *r, int type)
{
    if (r->bad) return 0;
    if (type != TT_STRUCT) {
        pq_tr_fail(r, "field has wrong type");
        return 0;
    }
    if (++r->depth > PQ_TR_DEPTH) {
        pq_tr_fail(r, "structs nested too deep");
        return 0;
    }
    return 1;
}

void pq_tr_leave(pq_tr *r)
{
    r->depth--;
}

static void skip_n(pq_tr *r, size_t n)
{
    if (n > (size_t)(r->end - r->p)) {
        pq_tr_fail(r, "truncated value");
        return;
    }
    r->p += n;
}

/* Skip a value of `type`; `in_list` tells bool elements (one byte) from bool fields (none). */
static void skip_value(pq_tr *r, int type, int in_list)
{
    if (r->bad) return;
    switch (type) {
    case TT_TRUE:
    case TT_FALSE:
        if (in_list) skip_n(r, 1);
        break;
    case TT_I8:
        skip_n(r, 1);
        break;
    case TT_I16:
    case TT_I32:
    case TT_I64:
        pq_tr_uvarint(r);
        break;
    case TT_DOUBLE:
        skip_n(r, 8);
        break;
    case TT_BINARY: {
        uint32_t len;
        pq_tr_bin(r, type, &len);
        break;
    }
    case TT_LIST:
    case TT_SET: {
        int et;
        uint32_t n = pq_tr_list(r, type, &et);
        if (++r->depth > PQ_TR_DEPTH) {
            pq_tr_fail(r, "structs nested too deep");
            return;
        }
        for (uint32_t i = 0; i < n && !r->bad; i++) skip_value(r, et, 1);
        r->depth--;
        break;
    }
    case TT_MAP: {
        uint64_t n = pq_tr_uvarint(r);
        if (r->bad || n == 0) break;
        if (r->p >= r->end) {
            pq_tr_fail(r, "truncated map");
            return;
        }
        uint8_t kv = *r->p++;
        if (n > (uint64_t)(r->end - r->p)) {
            pq_tr_fail(r, "map longer than the bytes left");
            return;
        }
        if (++r->depth > PQ_TR_DEPTH) {
            pq_tr_fail(r, "structs nested too deep");
            return;
        }
        for (uint64_t i = 0; i < n && !r->bad; i++) {
            skip_value(r, kv >> 4, 1);
            skip_value(r, kv & 0x0f, 1);
        }
        r->depth--;
        break;
    }
    case TT_STRUCT: {
        if (!pq_tr_enter(r, TT_STRUCT)) return;
        int16_t last = 0, fid;
        int t;
        while (pq_tr_field(r, &last, &fid, &t)) skip_value(r, t, 0);
        pq_tr_leave(r);
        break;
    }
    default:
        pq_tr_fail(r, "bad value type");
    }
}

void pq_tr_skip(pq_tr *r, int type)
{
    skip_value(r, type, 0);
}
