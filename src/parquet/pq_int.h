/*
 * pq_int.h - pieces shared inside the Parquet module: the Thrift compact
 * protocol writer and reader, the value encoders and decoders, and the
 * split-block bloom filter. Unit tests include it to test each piece alone.
 *
 * Everything here assumes a little-endian host (checked at compile time):
 * PLAIN values are then plain memcpy.
 */
#ifndef AGT_PQ_INT_H
#define AGT_PQ_INT_H

#include <stddef.h>
#include <stdint.h>

#include "parquet/parquet.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the parquet module assumes a little-endian host"
#endif

/* ---- Parquet enum values (parquet.thrift) ------------------------------ */

enum { PQ_BOOLEAN = 0, PQ_INT32 = 1, PQ_INT64 = 2, PQ_INT96 = 3, PQ_FLOAT = 4, PQ_DOUBLE = 5,
       PQ_BYTE_ARRAY = 6, PQ_FLBA = 7 };
enum { PQ_ENC_PLAIN = 0, PQ_ENC_PLAIN_DICT = 2, PQ_ENC_RLE = 3, PQ_ENC_BIT_PACKED = 4,
       PQ_ENC_DELTA = 5, PQ_ENC_RLE_DICT = 8, PQ_ENC_BSS = 9 };
enum { PQ_CODEC_NONE = 0, PQ_CODEC_SNAPPY = 1, PQ_CODEC_GZIP = 2, PQ_CODEC_ZSTD = 6 };
enum { PQ_PAGE_DATA = 0, PQ_PAGE_INDEX = 1, PQ_PAGE_DICT = 2, PQ_PAGE_DATA_V2 = 3 };
enum { PQ_CT_UTF8 = 0, PQ_CT_TIMESTAMP_MILLIS = 9, PQ_CT_TIMESTAMP_MICROS = 10 };

/* ---- Thrift compact protocol ------------------------------------------ */

enum { TT_STOP = 0, TT_TRUE = 1, TT_FALSE = 2, TT_I8 = 3, TT_I16 = 4, TT_I32 = 5, TT_I64 = 6,
       TT_DOUBLE = 7, TT_BINARY = 8, TT_LIST = 9, TT_SET = 10, TT_MAP = 11, TT_STRUCT = 12 };

#define PQ_TW_DEPTH 16

/* Writer: appends to `b`; the first failure sticks in `st` and later calls do nothing. */
typedef struct pq_tw {
    agt_buf *b;
    agt_status st;
    int depth;
    int16_t last[PQ_TW_DEPTH];
} pq_tw;

void pq_tw_init(pq_tw *w, agt_buf *b);
void pq_tw_field(pq_tw *w, int fid, int type);
void pq_tw_i32(pq_tw *w, int fid, int32_t v);
void pq_tw_i64(pq_tw *w, int fid, int64_t v);
void pq_tw_bool(pq_tw *w, int fid, int v);
void pq_tw_bin(pq_tw *w, int fid, const void *p, size_t n);
void pq_tw_str(pq_tw *w, int fid, const char *s);
void pq_tw_struct(pq_tw *w, int fid);   /* field header + push */
void pq_tw_end(pq_tw *w);               /* stop byte + pop */
void pq_tw_list(pq_tw *w, int fid, int elem_type, size_t n);
void pq_tw_elem_struct(pq_tw *w);       /* begin a struct element of a list */
void pq_tw_elem_i32(pq_tw *w, int32_t v);
void pq_tw_elem_i64(pq_tw *w, int64_t v);
void pq_tw_elem_bin(pq_tw *w, const void *p, size_t n);
void pq_tw_elem_bool(pq_tw *w, int v);
void pq_tw_empty(pq_tw *w, int fid);    /* a field holding an empty struct */
void pq_put_uvarint(pq_tw *w, uint64_t v);

/* Reader over [p, end). Errors are sticky in `bad` (1 = corrupt). */
#define PQ_TR_DEPTH 32
typedef struct pq_tr {
    const uint8_t *p, *end;
    int depth;
    int bad;
    const char *why;
} pq_tr;

void pq_tr_init(pq_tr *r, const uint8_t *p, size_t n);
/* Next field of the current struct: returns 0 at the stop byte (or on error). */
int pq_tr_field(pq_tr *r, int16_t *last, int16_t *fid, int *type);
int32_t pq_tr_i32(pq_tr *r, int type);
int64_t pq_tr_i64(pq_tr *r, int type);
int pq_tr_bool(pq_tr *r, int type); /* value of a bool field (type nibble) */
const uint8_t *pq_tr_bin(pq_tr *r, int type, uint32_t *len);
/* List header: element type and count (count checked against the bytes left). */
uint32_t pq_tr_list(pq_tr *r, int type, int *elem_type);
void pq_tr_skip(pq_tr *r, int type);
int pq_tr_enter(pq_tr *r, int type); /* check struct type, depth++; 0 on error */
void pq_tr_leave(pq_tr *r);
void pq_tr_fail(pq_tr *r, const char *why);
uint64_t pq_tr_uvarint(pq_tr *r);

/* ---- encoders (encode.c) ---------------------------------------------- */

/* Bytes the encoders below may need for n values (worst case). */
size_t pq_delta_bound(size_t n);
/* DELTA_BINARY_PACKED, 128 values per block, 4 miniblocks; returns bytes written. */
size_t pq_delta_encode(const int64_t *v, size_t n, uint8_t *out);
size_t pq_delta_encode32(const int32_t *v, size_t n, uint8_t *out);
/* RLE/bit-packed hybrid runs (no length prefix); returns bytes written. */
size_t pq_rle_bound(size_t n, int width);
size_t pq_rle_encode(const uint32_t *v, size_t n, int width, uint8_t *out);
/* PLAIN booleans, bit-packed LSB first. */
size_t pq_bool_encode(const uint8_t *v, size_t n, uint8_t *out);
void pq_bss_encode(const void *v, size_t n, size_t width, uint8_t *out);
int pq_bit_width(uint64_t max);

/* ---- dictionary of a DOUBLE chunk (dict.c) ---------------------------- */

typedef struct pq_dict {
    uint64_t *ent;       /* n distinct bit patterns */
    size_t n, ent_cap;
    uint32_t *slot;      /* hash table of entry numbers, 1 << bits in use */
    size_t slot_cap;
    int bits;
    uint64_t *tmp_ent;   /* radix sort arrays, sort_cap each */
    uint32_t *ord, *tmp_ord;
    size_t sort_cap;
} pq_dict;

void pq_dict_init(pq_dict *d);
void pq_dict_free(pq_dict *d);
/* The distinct values of v[0..n) into d (kept arrays reused) and each row's entry number into
   idx[0..n): 1, or 0 if there are more than `max`, or -1 when out of memory. */
int pq_dict_build(pq_dict *d, const uint64_t *v, size_t n, size_t max, uint32_t *idx);
/* Renumber the entries in ascending order and idx[0..n) with them. */
agt_status pq_dict_sort(pq_dict *d, uint32_t *idx, size_t n);

/* ---- decoders (decode.c) ---------------------------------------------- */
/* All return 0 on success, or -1 with *why set to a static message. */

int pq_delta_decode(const uint8_t *p, size_t len, size_t n, int64_t *out, const char **why);
int pq_delta_decode32(const uint8_t *p, size_t len, size_t n, int32_t *out, const char **why);
/* Hybrid runs at `width` (0..32) into n indices; *used (may be NULL) gets the bytes consumed. */
int pq_rle_decode(const uint8_t *p, size_t len, int width, size_t n, uint32_t *out,
                  size_t *used, const char **why);
int pq_bool_decode(const uint8_t *p, size_t len, size_t n, uint8_t *out, const char **why);
int pq_bss_decode(const uint8_t *p, size_t len, size_t n, size_t width, void *out,
                  const char **why);

/* ---- split-block bloom filter (bloom.c) ------------------------------- */

/* Bitset bytes for `ndv` distinct values at false-positive rate `fpp`: a power of two in
   [32, 128 MiB], the nearest one (in log space) to the ideal size whose actual rate is at
   most PQ_BLOOM_FPP_SLACK * fpp (bloom.c explains). */
#define PQ_BLOOM_FPP_SLACK 3.0
size_t pq_bloom_bytes(uint64_t ndv, double fpp);
/* Exact false-positive rate of a split-block filter of `nbytes` holding `ndv` values. */
double pq_bloom_fpp(uint64_t ndv, size_t nbytes);
uint64_t pq_bloom_hash_i64(int64_t v);
void pq_bloom_insert(uint8_t *bits, size_t nbytes, uint64_t h);
/* Insert n integers of `width` bytes (4 or 8) at v, each hashed from its PLAIN bytes. */
void pq_bloom_insert_ints(uint8_t *bits, size_t nbytes, const void *v, size_t n, size_t width);
int pq_bloom_check(const uint8_t *bits, size_t nbytes, uint64_t h);

/* ---- little helpers --------------------------------------------------- */

static inline uint32_t pq_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void pq_wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

#endif
