/*
 * writer.c - encode an in-memory table as one Parquet file in a single pass.
 *
 * File layout we write (offsets relative to the first byte of the file):
 *
 *   "PAR1"
 *   row group 0: for each column, its chunk
 *       [dictionary page: PageHeader + ZSTD(PLAIN entries)]   doubles, when it pays
 *       data pages: PageHeader + ZSTD(values), page_rows rows each (V1)
 *   bloom filters   BloomFilterHeader + bitset, for columns flagged AGT_PQ_BLOOM
 *   ColumnIndex of every column (page min/max, boundary order)
 *   OffsetIndex of every column (page offset, size, first row)
 *   FileMetaData (Thrift compact) | uint32 LE footer length | "PAR1"
 *
 * Encodings: INT64/TIMESTAMP/INT32 DELTA_BINARY_PACKED; DOUBLE dictionary
 * (RLE_DICTIONARY pages + one PLAIN dictionary page, entries in ascending
 * bit-pattern order, index width chosen by choose_index_width()) when the
 * whole chunk's dictionary has at most 131,072 entries and indices +
 * dictionary are smaller than PLAIN (docs/parquet.md), else PLAIN for
 * the whole chunk; BYTE_STREAM_SPLIT on request; BOOLEAN and STRING PLAIN.
 *
 * Size choices, measured on 1M synthetic trades (bench/parquet.py; bytes
 * per trade of the whole file, 5.26 with the defaults):
 *   - dictionary vs PLAIN for doubles: price (701 distinct) 0.44 dictionary
 *     vs 0.59 PLAIN, quantity (13,642 distinct) 1.78 vs 4.62; BSS is worse
 *     for both (1.40, 7.03). The size estimate above picks correctly.
 *   - DELTA blocks of 128 values in 4 miniblocks (Arrow's layout) vs 256 in
 *     8: 0.004 byte per trade, not worth departing from the common layout.
 *   - the ZSTD level of each kind of page: see page_level().
 *   - page size: see below.
 *   - the bloom filter on trade_id is sized by pq_bloom_bytes() (bloom.c):
 *     nearest power of two to the ideal size, actual false-positive rate
 *     at most 3x the requested one (2.3-2.7 % for the default 1 %); the
 *     rate is a pure function of (ndv, bytes), pq_bloom_fpp().
 *
 * Page size: AGT_PQ_PAGE_ROWS rows. Measured on 500k synthetic trades
 * (bench/parquet.py): 4096 rows per page costs under 1 % in file size
 * against 20,000 (page headers + index entries ~60 bytes per page per
 * column, ZSTD still sees 4-30 KB per page) while a millisecond query
 * decodes 5x fewer values; 1024 rows cost ~4 %. An hour of 500k rows gives
 * ~122 pages per column. Re-measured with the smaller bloom filter: 8192
 * rows save 1.1-1.4 % of the file but make an id look-up 20 % slower (184
 * vs 222 µs, open + find + close, 500k rows) and a 1 ms range read 22 %
 * slower (59 vs 72 µs); 16384 rows save 2.2 % for +50 % / +84 %. Kept.
 *
 * Statistics follow docs/parquet.md, "Rules the readers impose": min/max as PLAIN bytes, legacy
 * min/max too (not for strings), null_count 0, nan_count for doubles, NaN
 * never in min/max, -0.0 as a zero min and +0.0 as a zero max; TYPE_ORDER
 * column orders for every leaf.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "parquet/pq_int.h"

#ifndef AGT_VERSION
#define AGT_VERSION "0.0.0"
#endif
#ifndef AGT_BUILD_HASH
#define AGT_BUILD_HASH "unknown"
#endif

#define AGT_PQ_PAGE_ROWS 4096
#define DICT_MAX_ENTRIES 131072
#define STAT_MAX_STRING 64

void agt_pq_write_opts_default(agt_pq_write_opts *o)
{
    memset(o, 0, sizeof *o);
    o->zstd_level = 0; /* a level per kind of page: page_level() */
    o->bloom_fpp = 0.01;
    o->page_rows = AGT_PQ_PAGE_ROWS;
}

typedef struct mm {      /* a min/max pair as PLAIN bytes */
    int has;
    uint8_t mn[8], mx[8];
    const uint8_t *smn, *smx; /* strings: point into caller data */
    size_t lmn, lmx;
} mm;

typedef struct page {
    int64_t offset, first_row;
    int32_t size;
    mm st;
} page;

typedef struct chunk {
    int ptype, enc, has_dict, ci_ok, order;
    int64_t dict_off, data_off, tcs, tus, nan_count;
    size_t npages, dict_entries;
    int idx_width; /* bit width of the dictionary indices in data pages */
    page *pages;
    mm st;
    int64_t bloom_off, ci_off, oi_off;
    int32_t bloom_len, ci_len, oi_len;
} chunk;

/*
 * Memory a thread's writes reuse from one file to the next: the ZSTD context
 * (its tables sized once for the largest page), the page buffers, the
 * dictionary and its indices. Allocating them for every file cost page
 * faults: the tool fixes glibc's mmap threshold at 1 MiB, so every larger
 * block was mapped, zeroed by the kernel and unmapped again per column
 * (keeping them took the kernel's share of the writer's CPU from ~8 % to
 * ~4 %, perf on the 24 hours of a simulator day). One per
 * thread (thread_scratch()), freed when the thread ends (so the library is
 * not to be unloaded while a thread that wrote still runs); it holds ~4 bytes
 * per row of the largest chunk written plus the dictionary (at most
 * DICT_MAX_ENTRIES entries: 4 MiB with its table) and ZSTD's tables (a few MiB).
 */
/* A page of dictionary indices compressed at both widths by choose_index_width(): the one
   at the width chosen is written as it is. */
#define DICT_PROBE_PAGES 4
typedef struct probe {
    size_t page;
    size_t raw_len[2]; /* [0] narrow width, [1] whole bytes */
    agt_buf z[2];
} probe;

typedef struct scratch {
    ZSTD_CCtx *cctx;      /* data and index pages: a few KB to ~32 KB each */
    ZSTD_CCtx *dict_cctx; /* dictionary pages, up to MBs: see compress_page() */
    agt_buf raw, z;    /* a page before and after compression */
    uint32_t *idx;     /* dictionary indices of the current column */
    size_t idx_cap;
    pq_dict dict;
    int64_t *ids;      /* bloom filter: sorted copy of ids that are not increasing */
    size_t ids_cap;
    probe probes[DICT_PROBE_PAGES];
    size_t nprobes;    /* probes of the current chunk */
} scratch;

typedef struct wctx {
    const agt_pq_column *cols;
    size_t ncols, nrows, page_rows;
    const agt_pq_write_opts *o;
    agt_buf *out;
    size_t base;
    scratch *s;
    ZSTD_CCtx *cctx, *dict_cctx;
    agt_buf *raw, *z;
    chunk *ch;
    agt_error *err;
} wctx;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static int scratch_key_ok;
static _Thread_local scratch *thread_s;

static void scratch_free(void *p)
{
    scratch *s = p;
    if (!s) return;
    ZSTD_freeCCtx(s->cctx);
    ZSTD_freeCCtx(s->dict_cctx);
    agt_buf_release(&s->raw);
    agt_buf_release(&s->z);
    free(s->idx);
    pq_dict_free(&s->dict);
    free(s->ids);
    for (int k = 0; k < DICT_PROBE_PAGES; k++)
        agt_buf_release(&s->probes[k].z[0]), agt_buf_release(&s->probes[k].z[1]);
    free(s);
}

static void scratch_key_init(void)
{
    scratch_key_ok = pthread_key_create(&scratch_key, scratch_free) == 0;
}

/* This thread's scratch, created on first use; NULL when out of memory. */
static scratch *thread_scratch(void)
{
    if (thread_s) return thread_s;
    pthread_once(&scratch_once, scratch_key_init);
    scratch *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->cctx = ZSTD_createCCtx();
    s->dict_cctx = ZSTD_createCCtx();
    if (!s->cctx || !s->dict_cctx || !scratch_key_ok || pthread_setspecific(scratch_key, s) != 0) {
        scratch_free(s);
        return NULL;
    }
    agt_buf_init(&s->raw, 0);
    agt_buf_init(&s->z, 0);
    pq_dict_init(&s->dict);
    for (int k = 0; k < DICT_PROBE_PAGES; k++)
        agt_buf_init(&s->probes[k].z[0], 0), agt_buf_init(&s->probes[k].z[1], 0);
    return thread_s = s;
}

static int64_t pos(const wctx *w)
{
    return (int64_t)(w->out->len - w->base);
}

static int phys_type(agt_pq_type t)
{
    switch (t) {
    case AGT_PQ_INT64:
    case AGT_PQ_TIMESTAMP_US: return PQ_INT64;
    case AGT_PQ_DOUBLE: return PQ_DOUBLE;
    case AGT_PQ_BOOL: return PQ_BOOLEAN;
    case AGT_PQ_INT32: return PQ_INT32;
    case AGT_PQ_STRING: return PQ_BYTE_ARRAY;
    }
    return -1;
}

/* ---- statistics --------------------------------------------------------- */

static void page_stats(const agt_pq_column *c, size_t r0, size_t r1, mm *s, int64_t *nans)
{
    s->has = 0;
    switch (c->type) {
    case AGT_PQ_INT64:
    case AGT_PQ_TIMESTAMP_US: {
        const int64_t *v = c->values;
        int64_t mn = v[r0], mx = v[r0];
        for (size_t i = r0 + 1; i < r1; i++) {
            if (v[i] < mn) mn = v[i];
            if (v[i] > mx) mx = v[i];
        }
        memcpy(s->mn, &mn, 8);
        memcpy(s->mx, &mx, 8);
        s->has = 1;
        break;
    }
    case AGT_PQ_INT32: {
        const int32_t *v = c->values;
        int32_t mn = v[r0], mx = v[r0];
        for (size_t i = r0 + 1; i < r1; i++) {
            if (v[i] < mn) mn = v[i];
            if (v[i] > mx) mx = v[i];
        }
        memcpy(s->mn, &mn, 4);
        memcpy(s->mx, &mx, 4);
        s->has = 1;
        break;
    }
    case AGT_PQ_DOUBLE: {
        const double *v = c->values;
        double mn = 0, mx = 0;
        for (size_t i = r0; i < r1; i++) {
            double x = v[i];
            if (isnan(x)) {
                (*nans)++;
                continue;
            }
            if (!s->has) {
                mn = mx = x;
                s->has = 1;
            } else {
                if (x < mn) mn = x;
                if (x > mx) mx = x;
            }
        }
        if (s->has) {
            if (mn == 0) mn = -0.0;
            if (mx == 0) mx = 0.0;
            memcpy(s->mn, &mn, 8);
            memcpy(s->mx, &mx, 8);
        }
        break;
    }
    case AGT_PQ_BOOL: {
        const uint8_t *v = c->values;
        uint8_t mn = 1, mx = 0;
        for (size_t i = r0; i < r1; i++) {
            uint8_t b = v[i] & 1;
            if (b < mn) mn = b;
            if (b > mx) mx = b;
        }
        s->mn[0] = mn;
        s->mx[0] = mx;
        s->has = 1;
        break;
    }
    case AGT_PQ_STRING: {
        const char *const *v = c->values;
        const uint8_t *mn = (const uint8_t *)v[r0], *mx = mn;
        size_t lmn = strlen(v[r0]), lmx = lmn;
        for (size_t i = r0 + 1; i < r1; i++) {
            const uint8_t *x = (const uint8_t *)v[i];
            size_t l = strlen(v[i]);
            size_t k = l < lmn ? l : lmn;
            int c1 = memcmp(x, mn, k);
            if (c1 < 0 || (c1 == 0 && l < lmn)) mn = x, lmn = l;
            k = l < lmx ? l : lmx;
            c1 = memcmp(x, mx, k);
            if (c1 > 0 || (c1 == 0 && l > lmx)) mx = x, lmx = l;
        }
        s->smn = mn, s->lmn = lmn, s->smx = mx, s->lmx = lmx;
        s->has = lmn <= STAT_MAX_STRING && lmx <= STAT_MAX_STRING;
        break;
    }
    }
}

/* Compare the PLAIN bytes a and b of a value of type t: <0, 0, >0. */
static int cmp_plain(agt_pq_type t, const uint8_t *a, size_t la, const uint8_t *b, size_t lb)
{
    switch (t) {
    case AGT_PQ_INT64:
    case AGT_PQ_TIMESTAMP_US: {
        int64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        return (x > y) - (x < y);
    }
    case AGT_PQ_INT32: {
        int32_t x, y;
        memcpy(&x, a, 4);
        memcpy(&y, b, 4);
        return (x > y) - (x < y);
    }
    case AGT_PQ_DOUBLE: {
        double x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        return (x > y) - (x < y);
    }
    case AGT_PQ_BOOL: return (a[0] > b[0]) - (a[0] < b[0]);
    case AGT_PQ_STRING: {
        size_t k = la < lb ? la : lb;
        int c = memcmp(a, b, k);
        return c ? c : (la > lb) - (la < lb);
    }
    }
    return 0;
}

static size_t plain_width(agt_pq_type t)
{
    return t == AGT_PQ_BOOL ? 1 : t == AGT_PQ_INT32 ? 4 : 8;
}

static const uint8_t *mn_ptr(agt_pq_type t, const mm *s, size_t *l)
{
    if (t == AGT_PQ_STRING) return *l = s->lmn, s->smn;
    return *l = plain_width(t), s->mn;
}

static const uint8_t *mx_ptr(agt_pq_type t, const mm *s, size_t *l)
{
    if (t == AGT_PQ_STRING) return *l = s->lmx, s->smx;
    return *l = plain_width(t), s->mx;
}

/* Fold page stats into the chunk stats and decide the boundary order. */
static void chunk_stats(const agt_pq_column *c, chunk *ch)
{
    ch->ci_ok = 1;
    ch->st.has = 0;
    int asc = 1, desc = 1;
    for (size_t p = 0; p < ch->npages; p++) {
        const mm *s = &ch->pages[p].st;
        if (!s->has) {
            ch->ci_ok = 0;
            continue;
        }
        size_t la, lb;
        const uint8_t *a, *b;
        if (!ch->st.has) {
            ch->st = *s;
        } else {
            a = mn_ptr(c->type, s, &la);
            b = mn_ptr(c->type, &ch->st, &lb);
            if (cmp_plain(c->type, a, la, b, lb) < 0) {
                memcpy(ch->st.mn, s->mn, 8);
                ch->st.smn = s->smn, ch->st.lmn = s->lmn;
            }
            a = mx_ptr(c->type, s, &la);
            b = mx_ptr(c->type, &ch->st, &lb);
            if (cmp_plain(c->type, a, la, b, lb) > 0) {
                memcpy(ch->st.mx, s->mx, 8);
                ch->st.smx = s->smx, ch->st.lmx = s->lmx;
            }
        }
        if (p > 0 && ch->pages[p - 1].st.has) {
            const mm *q = &ch->pages[p - 1].st;
            a = mn_ptr(c->type, q, &la);
            b = mn_ptr(c->type, s, &lb);
            int cmn = cmp_plain(c->type, a, la, b, lb);
            a = mx_ptr(c->type, q, &la);
            b = mx_ptr(c->type, s, &lb);
            int cmx = cmp_plain(c->type, a, la, b, lb);
            if (cmn > 0 || cmx > 0) asc = 0;
            if (cmn < 0 || cmx < 0) desc = 0;
        }
    }
    /* chunk min/max of doubles: a zero min is -0.0 and a zero max +0.0 (already per page) */
    ch->order = asc ? 1 : desc ? 2 : 0;
}

/* ---- dictionary for doubles -------------------------------------------- */

/*
 * Build the dictionary of a DOUBLE column; 1 if it should be used. Entries
 * are renumbered in ascending order of their bit patterns (value order for
 * non-negative doubles, which prices and quantities are; dict.c). Index i
 * then tends to be small for small values: quantities, exponentially
 * distributed, get small indices for the frequent small lots and ZSTD
 * squeezes the index pages ~2 % more; the sorted dictionary page itself
 * compresses ~10 % better. It also makes the file independent of row order
 * within a page's dictionary.
 */
static int build_dict(wctx *w, const agt_pq_column *c, chunk *ch, agt_status *st)
{
    size_t n = w->nrows;
    scratch *s = w->s;
    if (n > s->idx_cap) {
        uint32_t *idx = realloc(s->idx, n * sizeof *idx);
        if (!idx) {
            *st = AGT_ENOMEM;
            return 0;
        }
        s->idx = idx;
        s->idx_cap = n;
    }
    int r = pq_dict_build(&s->dict, c->values, n, DICT_MAX_ENTRIES, s->idx);
    if (r <= 0) {
        if (r < 0) *st = AGT_ENOMEM;
        return 0;
    }
    size_t ne = s->dict.n;
    int width = pq_bit_width(ne > 1 ? ne - 1 : 1);
    uint64_t est = (uint64_t)n * (uint64_t)width / 8 + 8 * (uint64_t)ne;
    if (est >= 8 * (uint64_t)n) return 0;
    *st = pq_dict_sort(&s->dict, s->idx, n);
    if (*st != AGT_OK) return 0;
    ch->dict_entries = ne;
    return 1;
}

/* ---- pages ------------------------------------------------------------- */

/*
 * The ZSTD level of a page. A caller's zstd_level > 0 applies to every page;
 * the default (0) picks a level per kind of page, measured page by page with
 * libzstd 1.5.4 on the pages of bench/size.py's 192 synthetic hours (3.6 M
 * trades) and of a simulator day of 1.7 M trades (BTCUSDT 2024-02-20, scale
 * 75), bytes a trade of the whole set and CPU of compressing that kind:
 *
 *   - dictionary pages (sorted 8-byte doubles): level 5 (greedy parsing,
 *     4-byte matches) takes the quantity dictionary from 1.112 to 0.985 byte
 *     a trade (synthetic; both dictionaries of the simulator day: 1.43 ->
 *     1.33) for ~1.8x the time of level 3 on these pages (10-17 ns a
 *     trade); level 4 gets 1.009, level 9 0.985 for 3.5x, level 15 0.954
 *     for 12x.
 *   - dictionary indices at a whole-byte width (choose_index_width() picks
 *     it when index sequences repeat, e.g. a price walking up and down a few
 *     ticks): level 4, smaller than level 9 on both sets (0.603 vs 0.605
 *     synthetic, 2.158 vs 2.163 simulator) at a half to a quarter of its
 *     time; level 3 is 1-5 % larger.
 *   - indices at a narrow width (few repeats, every bit phase) and DELTA
 *     pages (bit-packed deltas): level 1. Narrow indices come out the same
 *     at 1, 3 or 9; DELTA pages 0.6 % smaller at 1 than at 3 on the
 *     synthetic hours, 0.9 % larger on the simulator day, for half the time.
 *   - other pages (booleans, PLAIN and BYTE_STREAM_SPLIT doubles, strings):
 *     level 3.
 *
 * Measured and not taken: level 15 on dictionary pages (the quantity
 * dictionary at 0.954 byte a trade) made `download --source archive` of a
 * 573,000-trade simulator day take 1.21 s CPU against 0.56 s.
 */
enum { LEVEL_DICT_PAGE = 5, LEVEL_WIDE_INDEX = 4, LEVEL_NARROW_INDEX = 1, LEVEL_DELTA = 1,
       LEVEL_OTHER = 3 };

/* The level of dictionary index pages of bit width `width`. */
static int index_level(const wctx *w, int width)
{
    if (w->o->zstd_level > 0) return w->o->zstd_level;
    return width % 8 == 0 ? LEVEL_WIDE_INDEX : LEVEL_NARROW_INDEX;
}

static int page_level(const wctx *w, const chunk *ch, int type)
{
    if (w->o->zstd_level > 0) return w->o->zstd_level;
    if (type == PQ_PAGE_DICT) return LEVEL_DICT_PAGE;
    if (ch->enc == PQ_ENC_RLE_DICT) return index_level(w, ch->idx_width);
    return ch->enc == PQ_ENC_DELTA ? LEVEL_DELTA : LEVEL_OTHER;
}

/*
 * Compress src[0..len) of a page of kind `type` into dst at ZSTD level
 * `level`; returns status, *zn the compressed size. Dictionary pages have a
 * context of their own: ZSTD sizes its tables to the level and the input, and
 * one context serving both a dictionary page of MBs at level 5 and the small
 * pages at levels 1-4 grew its tables for the one and, after enough of the
 * others, shrank them again - a block above the tool's 1 MiB mmap threshold
 * mapped, faulted in and zeroed anew each time (half of a busy day's ingest's
 * page faults, perf). Each context now keeps the size its pages need.
 */
static agt_status compress_page(wctx *w, agt_buf *dst, int type, const uint8_t *src, size_t len,
                                int level, size_t *zn)
{
    size_t bound = ZSTD_compressBound(len);
    dst->len = 0;
    AGT_TRY(agt_buf_reserve(dst, bound));
    *zn = ZSTD_compressCCtx(type == PQ_PAGE_DICT ? w->dict_cctx : w->cctx, dst->data, bound, src,
                            len, level);
    if (ZSTD_isError(*zn))
        return agt_err(w->err, AGT_ENOMEM, "zstd compression failed: %s", ZSTD_getErrorName(*zn));
    dst->len = *zn;
    return AGT_OK;
}

/* Append PageHeader + body z[0..zn), the compressed form of `len` bytes; returns status. */
static agt_status append_page(wctx *w, chunk *ch, int type, int32_t nvals, int enc, size_t len,
                              const uint8_t *z, size_t zn)
{
    if (len > INT32_MAX || zn > INT32_MAX)
        return agt_err(w->err, AGT_EINVAL, "parquet page too large (%zu bytes)", len);
    size_t h0 = w->out->len;
    pq_tw t;
    pq_tw_init(&t, w->out);
    pq_tw_i32(&t, 1, type);
    pq_tw_i32(&t, 2, (int32_t)len);
    pq_tw_i32(&t, 3, (int32_t)zn);
    if (type == PQ_PAGE_DICT) {
        pq_tw_struct(&t, 7);
        pq_tw_i32(&t, 1, nvals);
        pq_tw_i32(&t, 2, PQ_ENC_PLAIN);
        pq_tw_end(&t);
    } else {
        pq_tw_struct(&t, 5);
        pq_tw_i32(&t, 1, nvals);
        pq_tw_i32(&t, 2, enc);
        pq_tw_i32(&t, 3, PQ_ENC_RLE);
        pq_tw_i32(&t, 4, PQ_ENC_RLE);
        pq_tw_end(&t);
    }
    pq_tw_end(&t);
    AGT_TRY(t.st);
    size_t hl = w->out->len - h0;
    AGT_TRY(agt_buf_append(w->out, z, zn));
    ch->tcs += (int64_t)(hl + zn);
    ch->tus += (int64_t)(hl + len);
    return AGT_OK;
}

/* Compress raw[0..len) and append PageHeader + body; returns status. */
static agt_status emit_page(wctx *w, chunk *ch, int type, int32_t nvals, int enc, const uint8_t *raw,
                            size_t len)
{
    size_t zn;
    AGT_TRY(compress_page(w, w->z, type, raw, len, page_level(w, ch, type), &zn));
    return append_page(w, ch, type, nvals, enc, len, w->z->data, zn);
}

static agt_status encode_page(wctx *w, const agt_pq_column *c, chunk *ch, size_t r0, size_t r1)
{
    size_t n = r1 - r0;
    size_t need;
    switch (ch->enc) {
    case PQ_ENC_DELTA: need = pq_delta_bound(n); break;
    case PQ_ENC_RLE_DICT: need = 1 + pq_rle_bound(n, 32); break;
    case PQ_ENC_PLAIN:
        need = n * 8;
        if (c->type == AGT_PQ_STRING) {
            const char *const *v = c->values;
            need = 0;
            for (size_t i = r0; i < r1; i++) {
                if (!v[i]) return agt_err(w->err, AGT_EINVAL, "null string in column '%s'", c->name);
                size_t l = strlen(v[i]);
                if (l > INT32_MAX) return agt_err(w->err, AGT_EINVAL, "string too long");
                need += 4 + l;
            }
        }
        break;
    default: need = n * 8; break;
    }
    w->raw->len = 0;
    AGT_TRY(agt_buf_reserve(w->raw, need));
    uint8_t *o = w->raw->data;
    size_t len = 0;
    switch (ch->enc) {
    case PQ_ENC_DELTA:
        if (c->type == AGT_PQ_INT32)
            len = pq_delta_encode32((const int32_t *)c->values + r0, n, o);
        else
            len = pq_delta_encode((const int64_t *)c->values + r0, n, o);
        break;
    case PQ_ENC_RLE_DICT:
        o[0] = (uint8_t)ch->idx_width;
        len = 1 + pq_rle_encode(w->s->idx + r0, n, ch->idx_width, o + 1);
        break;
    case PQ_ENC_BSS: pq_bss_encode((const double *)c->values + r0, n, 8, o), len = n * 8; break;
    case PQ_ENC_PLAIN:
        if (c->type == AGT_PQ_BOOL) {
            len = pq_bool_encode((const uint8_t *)c->values + r0, n, o);
        } else if (c->type == AGT_PQ_STRING) {
            const char *const *v = c->values;
            for (size_t i = r0; i < r1; i++) {
                size_t l = strlen(v[i]);
                pq_wr32(o + len, (uint32_t)l);
                memcpy(o + len + 4, v[i], l);
                len += 4 + l;
            }
        } else {
            size_t wd = plain_width(c->type);
            memcpy(o, (const uint8_t *)c->values + r0 * wd, n * wd);
            len = n * wd;
        }
        break;
    }
    return emit_page(w, ch, PQ_PAGE_DATA, (int32_t)n, ch->enc, o, len);
}

/*
 * Bit width of the dictionary indices. The narrowest width (ceil log2 of the
 * dictionary size) is the smallest before compression, but it puts the
 * indices at every bit phase, so ZSTD only finds a repeat of a short index
 * sequence when its phase matches. Rounded up to whole bytes, every index
 * sits on a byte boundary and repeats become plain byte matches: on a price
 * random walk (701 distinct prices, 10 bits) the index pages shrink from
 * 0.55 to 0.41 bytes per row at 16 bits, while on quantities (13,642
 * values, 14 bits, few repeats) the narrow width wins. Any width up to 32 is
 * valid (the page states it). We compress up to DICT_PROBE_PAGES pages spread
 * over the chunk both ways and keep the smaller; those pages are then written
 * as compressed at the width chosen, so the probe costs one compression of
 * up to DICT_PROBE_PAGES pages at the other width, and nothing at read time
 * (both widths decode at the same speed).
 */

/* Encode rows [r0, r1) of the dictionary indices at `width` and compress them into `dst`;
   *raw_len gets the size before compression. */
static agt_status index_page(wctx *w, size_t r0, size_t r1, int width, agt_buf *dst, size_t *raw_len)
{
    size_t n = r1 - r0, zn;
    w->raw->len = 0;
    AGT_TRY(agt_buf_reserve(w->raw, 1 + pq_rle_bound(n, 32)));
    w->raw->data[0] = (uint8_t)width;
    *raw_len = 1 + pq_rle_encode(w->s->idx + r0, n, width, w->raw->data + 1);
    return compress_page(w, dst, PQ_PAGE_DATA, w->raw->data, *raw_len, index_level(w, width), &zn);
}

static agt_status choose_index_width(wctx *w, chunk *ch)
{
    int narrow = pq_bit_width(ch->dict_entries > 1 ? ch->dict_entries - 1 : 1);
    int wide = (narrow + 7) / 8 * 8;
    ch->idx_width = narrow;
    if (wide == narrow) return AGT_OK;
    size_t np = ch->npages, probes = np < DICT_PROBE_PAGES ? np : DICT_PROBE_PAGES;
    size_t sz[2] = {0, 0};
    for (size_t k = 0; k < probes; k++) {
        probe *pr = &w->s->probes[k];
        pr->page = probes > 1 ? k * (np - 1) / (probes - 1) : 0;
        size_t r0 = pr->page * w->page_rows, r1 = r0 + w->page_rows;
        if (r1 > w->nrows) r1 = w->nrows;
        for (int j = 0; j < 2; j++) {
            AGT_TRY(index_page(w, r0, r1, j ? wide : narrow, &pr->z[j], &pr->raw_len[j]));
            sz[j] += pr->z[j].len;
        }
    }
    w->s->nprobes = probes;
    if (sz[1] < sz[0]) ch->idx_width = wide;
    return AGT_OK;
}

/* The probe of page p of the current chunk, compressed at the chunk's index width, if any. */
static const probe *probed_page(const wctx *w, size_t p)
{
    for (size_t k = 0; k < w->s->nprobes; k++)
        if (w->s->probes[k].page == p) return &w->s->probes[k];
    return NULL;
}

static agt_status write_chunk(wctx *w, size_t ci)
{
    const agt_pq_column *c = &w->cols[ci];
    chunk *ch = &w->ch[ci];
    ch->ptype = phys_type(c->type);
    ch->npages = (w->nrows + w->page_rows - 1) / w->page_rows;
    w->s->nprobes = 0;
    ch->pages = calloc(ch->npages, sizeof *ch->pages);
    if (!ch->pages) return AGT_ENOMEM;
    int bss = (c->flags & AGT_PQ_BSS) || w->o->byte_stream_split;
    switch (c->type) {
    case AGT_PQ_INT64:
    case AGT_PQ_TIMESTAMP_US:
    case AGT_PQ_INT32: ch->enc = PQ_ENC_DELTA; break;
    case AGT_PQ_DOUBLE: {
        ch->enc = bss ? PQ_ENC_BSS : PQ_ENC_PLAIN;
        if (!bss && !(c->flags & AGT_PQ_NO_DICT)) {
            agt_status st = AGT_OK;
            if (build_dict(w, c, ch, &st)) ch->enc = PQ_ENC_RLE_DICT;
            AGT_TRY(st);
        }
        break;
    }
    default: ch->enc = PQ_ENC_PLAIN; break;
    }
    if (ch->enc == PQ_ENC_RLE_DICT) {
        AGT_TRY(choose_index_width(w, ch));
        ch->has_dict = 1;
        ch->dict_off = pos(w);
        AGT_TRY(emit_page(w, ch, PQ_PAGE_DICT, (int32_t)ch->dict_entries, PQ_ENC_PLAIN,
                          (const uint8_t *)w->s->dict.ent, ch->dict_entries * 8));
    }
    ch->data_off = pos(w);
    for (size_t p = 0; p < ch->npages; p++) {
        size_t r0 = p * w->page_rows, r1 = r0 + w->page_rows;
        if (r1 > w->nrows) r1 = w->nrows;
        page *pg = &ch->pages[p];
        pg->offset = pos(w);
        pg->first_row = (int64_t)r0;
        if (c->type == AGT_PQ_STRING) {
            const char *const *v = c->values;
            for (size_t i = r0; i < r1; i++)
                if (!v[i]) return agt_err(w->err, AGT_EINVAL, "null string in column '%s'", c->name);
        }
        page_stats(c, r0, r1, &pg->st, &ch->nan_count);
        const probe *pr = probed_page(w, p);
        int j = ch->idx_width % 8 == 0;
        if (pr)
            AGT_TRY(append_page(w, ch, PQ_PAGE_DATA, (int32_t)(r1 - r0), ch->enc, pr->raw_len[j],
                                pr->z[j].data, pr->z[j].len));
        else
            AGT_TRY(encode_page(w, c, ch, r0, r1));
        pg->size = (int32_t)(pos(w) - pg->offset);
    }
    chunk_stats(c, ch);
    return AGT_OK;
}

/* ---- bloom filter ------------------------------------------------------ */

/* Distinct values of an integer column: ids usually arrive strictly increasing, else count them
   in a sorted copy. */
static agt_status count_distinct(wctx *w, const agt_pq_column *c, size_t *ndv)
{
    size_t n = w->nrows, i = 1;
    if (c->type == AGT_PQ_INT32) {
        const int32_t *v = c->values;
        while (i < n && v[i] > v[i - 1]) i++;
    } else {
        const int64_t *v = c->values;
        while (i < n && v[i] > v[i - 1]) i++;
    }
    *ndv = n;
    if (i >= n) return AGT_OK;
    scratch *s = w->s;
    if (n > s->ids_cap) {
        int64_t *ids = realloc(s->ids, n * sizeof *ids);
        if (!ids) return AGT_ENOMEM;
        s->ids = ids;
        s->ids_cap = n;
    }
    for (i = 0; i < n; i++)
        s->ids[i] = c->type == AGT_PQ_INT32 ? ((const int32_t *)c->values)[i]
                                            : ((const int64_t *)c->values)[i];
    qsort(s->ids, n, sizeof *s->ids, agt_cmp_i64);
    *ndv = 1;
    for (i = 1; i < n; i++) *ndv += s->ids[i] != s->ids[i - 1];
    return AGT_OK;
}

static agt_status write_bloom(wctx *w, size_t ci)
{
    const agt_pq_column *c = &w->cols[ci];
    chunk *ch = &w->ch[ci];
    size_t ndv;
    AGT_TRY(count_distinct(w, c, &ndv));
    size_t nb = pq_bloom_bytes(ndv, w->o->bloom_fpp);
    ch->bloom_off = pos(w);
    pq_tw t;
    pq_tw_init(&t, w->out);
    pq_tw_i32(&t, 1, (int32_t)nb);
    pq_tw_struct(&t, 2);
    pq_tw_empty(&t, 1);
    pq_tw_end(&t);
    pq_tw_struct(&t, 3);
    pq_tw_empty(&t, 1);
    pq_tw_end(&t);
    pq_tw_struct(&t, 4);
    pq_tw_empty(&t, 1);
    pq_tw_end(&t);
    pq_tw_end(&t);
    AGT_TRY(t.st);
    AGT_TRY(agt_buf_reserve(w->out, nb));
    uint8_t *bits = w->out->data + w->out->len;
    memset(bits, 0, nb);
    pq_bloom_insert_ints(bits, nb, c->values, w->nrows, c->type == AGT_PQ_INT32 ? 4 : 8);
    w->out->len += nb;
    ch->bloom_len = (int32_t)(pos(w) - ch->bloom_off);
    return AGT_OK;
}

/* ---- page index ------------------------------------------------------- */

static agt_status write_column_index(wctx *w, size_t ci)
{
    const agt_pq_column *c = &w->cols[ci];
    chunk *ch = &w->ch[ci];
    ch->ci_off = pos(w);
    pq_tw t;
    pq_tw_init(&t, w->out);
    pq_tw_list(&t, 1, TT_TRUE, ch->npages);
    for (size_t p = 0; p < ch->npages; p++) pq_tw_elem_bool(&t, 0);
    size_t l;
    const uint8_t *v;
    pq_tw_list(&t, 2, TT_BINARY, ch->npages);
    for (size_t p = 0; p < ch->npages; p++) {
        v = mn_ptr(c->type, &ch->pages[p].st, &l);
        pq_tw_elem_bin(&t, v, l);
    }
    pq_tw_list(&t, 3, TT_BINARY, ch->npages);
    for (size_t p = 0; p < ch->npages; p++) {
        v = mx_ptr(c->type, &ch->pages[p].st, &l);
        pq_tw_elem_bin(&t, v, l);
    }
    pq_tw_i32(&t, 4, ch->order);
    pq_tw_list(&t, 5, TT_I64, ch->npages);
    for (size_t p = 0; p < ch->npages; p++) pq_tw_elem_i64(&t, 0);
    pq_tw_end(&t);
    ch->ci_len = (int32_t)(pos(w) - ch->ci_off);
    return t.st;
}

static agt_status write_offset_index(wctx *w, size_t ci)
{
    chunk *ch = &w->ch[ci];
    ch->oi_off = pos(w);
    pq_tw t;
    pq_tw_init(&t, w->out);
    pq_tw_list(&t, 1, TT_STRUCT, ch->npages);
    for (size_t p = 0; p < ch->npages; p++) {
        pq_tw_elem_struct(&t);
        pq_tw_i64(&t, 1, ch->pages[p].offset);
        pq_tw_i32(&t, 2, ch->pages[p].size);
        pq_tw_i64(&t, 3, ch->pages[p].first_row);
        pq_tw_end(&t);
    }
    pq_tw_end(&t);
    ch->oi_len = (int32_t)(pos(w) - ch->oi_off);
    return t.st;
}

/* ---- footer ------------------------------------------------------------ */

static void write_schema(pq_tw *t, const wctx *w)
{
    pq_tw_list(t, 2, TT_STRUCT, w->ncols + 1);
    pq_tw_elem_struct(t);
    pq_tw_str(t, 4, "schema");
    pq_tw_i32(t, 5, (int32_t)w->ncols);
    pq_tw_end(t);
    for (size_t i = 0; i < w->ncols; i++) {
        const agt_pq_column *c = &w->cols[i];
        pq_tw_elem_struct(t);
        pq_tw_i32(t, 1, phys_type(c->type));
        pq_tw_i32(t, 3, 0); /* REQUIRED */
        pq_tw_str(t, 4, c->name);
        if (c->type == AGT_PQ_TIMESTAMP_US) {
            pq_tw_i32(t, 6, PQ_CT_TIMESTAMP_MICROS);
            pq_tw_struct(t, 10);
            pq_tw_struct(t, 8);
            pq_tw_bool(t, 1, 1);
            pq_tw_struct(t, 2);
            pq_tw_empty(t, 2);
            pq_tw_end(t);
            pq_tw_end(t);
            pq_tw_end(t);
        } else if (c->type == AGT_PQ_STRING) {
            pq_tw_i32(t, 6, PQ_CT_UTF8);
            pq_tw_struct(t, 10);
            pq_tw_empty(t, 1);
            pq_tw_end(t);
        }
        pq_tw_end(t);
    }
}

static void write_stats(pq_tw *t, const agt_pq_column *c, const chunk *ch)
{
    pq_tw_struct(t, 12);
    size_t lmn, lmx;
    const uint8_t *mn = mn_ptr(c->type, &ch->st, &lmn), *mx = mx_ptr(c->type, &ch->st, &lmx);
    if (ch->st.has && c->type != AGT_PQ_STRING) {
        pq_tw_bin(t, 1, mx, lmx);
        pq_tw_bin(t, 2, mn, lmn);
    }
    pq_tw_i64(t, 3, 0);
    if (ch->st.has) {
        pq_tw_bin(t, 5, mx, lmx);
        pq_tw_bin(t, 6, mn, lmn);
    }
    if (c->type == AGT_PQ_DOUBLE) pq_tw_i64(t, 9, ch->nan_count);
    pq_tw_end(t);
}

static void write_chunk_meta(pq_tw *t, const wctx *w, size_t i)
{
    const agt_pq_column *c = &w->cols[i];
    const chunk *ch = &w->ch[i];
    pq_tw_elem_struct(t);
    pq_tw_i64(t, 2, 0);
    pq_tw_struct(t, 3);
    pq_tw_i32(t, 1, ch->ptype);
    if (ch->has_dict) {
        pq_tw_list(t, 2, TT_I32, 3);
        pq_tw_elem_i32(t, PQ_ENC_PLAIN);
        pq_tw_elem_i32(t, PQ_ENC_RLE);
        pq_tw_elem_i32(t, PQ_ENC_RLE_DICT);
    } else if (ch->enc == PQ_ENC_PLAIN) {
        pq_tw_list(t, 2, TT_I32, 2);
        pq_tw_elem_i32(t, PQ_ENC_PLAIN);
        pq_tw_elem_i32(t, PQ_ENC_RLE);
    } else {
        pq_tw_list(t, 2, TT_I32, 2);
        pq_tw_elem_i32(t, PQ_ENC_RLE);
        pq_tw_elem_i32(t, ch->enc);
    }
    pq_tw_list(t, 3, TT_BINARY, 1);
    pq_tw_elem_bin(t, c->name, strlen(c->name));
    pq_tw_i32(t, 4, PQ_CODEC_ZSTD);
    pq_tw_i64(t, 5, (int64_t)w->nrows);
    pq_tw_i64(t, 6, ch->tus);
    pq_tw_i64(t, 7, ch->tcs);
    pq_tw_i64(t, 9, ch->data_off);
    if (ch->has_dict) pq_tw_i64(t, 11, ch->dict_off);
    write_stats(t, c, ch);
    pq_tw_list(t, 13, TT_STRUCT, ch->has_dict ? 2 : 1);
    if (ch->has_dict) {
        pq_tw_elem_struct(t);
        pq_tw_i32(t, 1, PQ_PAGE_DICT);
        pq_tw_i32(t, 2, PQ_ENC_PLAIN);
        pq_tw_i32(t, 3, 1);
        pq_tw_end(t);
    }
    pq_tw_elem_struct(t);
    pq_tw_i32(t, 1, PQ_PAGE_DATA);
    pq_tw_i32(t, 2, ch->enc);
    pq_tw_i32(t, 3, (int32_t)ch->npages);
    pq_tw_end(t);
    if (ch->bloom_len) {
        pq_tw_i64(t, 14, ch->bloom_off);
        pq_tw_i32(t, 15, ch->bloom_len);
    }
    pq_tw_end(t); /* ColumnMetaData */
    pq_tw_i64(t, 4, ch->oi_off);
    pq_tw_i32(t, 5, ch->oi_len);
    if (ch->ci_ok) {
        pq_tw_i64(t, 6, ch->ci_off);
        pq_tw_i32(t, 7, ch->ci_len);
    }
    pq_tw_end(t); /* ColumnChunk */
}

static agt_status write_footer(wctx *w)
{
    size_t f0 = w->out->len;
    pq_tw t;
    pq_tw_init(&t, w->out);
    pq_tw_i32(&t, 1, 1);
    write_schema(&t, w);
    pq_tw_i64(&t, 3, (int64_t)w->nrows);
    pq_tw_list(&t, 4, TT_STRUCT, w->nrows ? 1 : 0);
    if (w->nrows) {
        pq_tw_elem_struct(&t);
        pq_tw_list(&t, 1, TT_STRUCT, w->ncols);
        int64_t tus = 0, tcs = 0;
        for (size_t i = 0; i < w->ncols; i++) {
            write_chunk_meta(&t, w, i);
            tus += w->ch[i].tus;
            tcs += w->ch[i].tcs;
        }
        pq_tw_i64(&t, 2, tus);
        pq_tw_i64(&t, 3, (int64_t)w->nrows);
        const chunk *c0 = &w->ch[0];
        pq_tw_i64(&t, 5, c0->has_dict ? c0->dict_off : c0->data_off);
        pq_tw_i64(&t, 6, tcs);
        pq_tw_field(&t, 7, TT_I16);
        pq_put_uvarint(&t, 0);
        pq_tw_end(&t);
    }
    size_t nkv = w->o->kv ? w->o->n_kv : 0;
    if (nkv) {
        pq_tw_list(&t, 5, TT_STRUCT, nkv);
        for (size_t i = 0; i < nkv; i++) {
            pq_tw_elem_struct(&t);
            pq_tw_str(&t, 1, w->o->kv[i].key);
            if (w->o->kv[i].value) pq_tw_str(&t, 2, w->o->kv[i].value);
            pq_tw_end(&t);
        }
    }
    pq_tw_str(&t, 6, "aggtrades version " AGT_VERSION " (build " AGT_BUILD_HASH ")");
    pq_tw_list(&t, 7, TT_STRUCT, w->ncols);
    for (size_t i = 0; i < w->ncols; i++) {
        pq_tw_elem_struct(&t);
        pq_tw_empty(&t, 1);
        pq_tw_end(&t);
    }
    pq_tw_end(&t);
    AGT_TRY(t.st);
    uint8_t tail[8];
    size_t flen = w->out->len - f0;
    if (flen > UINT32_MAX) return agt_err(w->err, AGT_EINVAL, "parquet footer too large");
    pq_wr32(tail, (uint32_t)flen);
    memcpy(tail + 4, "PAR1", 4);
    return agt_buf_append(w->out, tail, 8);
}

/* ---- entry points ------------------------------------------------------ */

static agt_status check_args(const agt_pq_column *cols, size_t ncols, size_t nrows, agt_error *err)
{
    if (!cols || ncols == 0) return agt_err(err, AGT_EINVAL, "parquet table has no columns");
    if (nrows > (size_t)INT32_MAX * 64)
        return agt_err(err, AGT_EINVAL, "parquet table too large (%zu rows)", nrows);
    for (size_t i = 0; i < ncols; i++) {
        if (!cols[i].name || !cols[i].name[0])
            return agt_err(err, AGT_EINVAL, "parquet column %zu has no name", i);
        if (phys_type(cols[i].type) < 0)
            return agt_err(err, AGT_EINVAL, "column '%s' has an unknown type", cols[i].name);
        if (nrows && !cols[i].values)
            return agt_err(err, AGT_EINVAL, "column '%s' has no values", cols[i].name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(cols[i].name, cols[j].name) == 0)
                return agt_err(err, AGT_EINVAL, "duplicate column name '%s'", cols[i].name);
    }
    return AGT_OK;
}

agt_status agt_pq_write(const agt_pq_column *cols, size_t ncols, size_t nrows,
                        const agt_pq_write_opts *o, agt_buf *out, agt_error *err)
{
    AGT_TRY(check_args(cols, ncols, nrows, err));
    agt_pq_write_opts def;
    if (!o) {
        agt_pq_write_opts_default(&def);
        o = &def;
    }
    wctx w;
    memset(&w, 0, sizeof w);
    w.cols = cols;
    w.ncols = ncols;
    w.nrows = nrows;
    w.page_rows = o->page_rows ? o->page_rows : AGT_PQ_PAGE_ROWS;
    if (w.page_rows > INT32_MAX) w.page_rows = INT32_MAX;
    w.o = o;
    w.out = out;
    w.base = out->len;
    w.err = err;
    w.s = thread_scratch();
    if (w.s) {
        w.cctx = w.s->cctx;
        w.dict_cctx = w.s->dict_cctx;
        w.raw = &w.s->raw;
        w.z = &w.s->z;
    }
    w.ch = calloc(ncols, sizeof *w.ch);
    agt_status st = w.s && w.ch ? AGT_OK : AGT_ENOMEM;
    if (st == AGT_OK) st = agt_buf_append(out, "PAR1", 4);
    for (size_t i = 0; st == AGT_OK && nrows && i < ncols; i++) st = write_chunk(&w, i);
    for (size_t i = 0; st == AGT_OK && nrows && i < ncols; i++)
        if ((cols[i].flags & AGT_PQ_BLOOM) &&
            (cols[i].type == AGT_PQ_INT64 || cols[i].type == AGT_PQ_TIMESTAMP_US ||
             cols[i].type == AGT_PQ_INT32))
            st = write_bloom(&w, i);
    for (size_t i = 0; st == AGT_OK && nrows && i < ncols; i++)
        if (w.ch[i].ci_ok) st = write_column_index(&w, i);
    for (size_t i = 0; st == AGT_OK && nrows && i < ncols; i++) st = write_offset_index(&w, i);
    if (st == AGT_OK) st = write_footer(&w);
    if (st == AGT_ENOMEM && err && err->status != AGT_ENOMEM)
        agt_err(err, AGT_ENOMEM, "out of memory writing parquet");
    if (st != AGT_OK) out->len = w.base;
    for (size_t i = 0; w.ch && i < ncols; i++) free(w.ch[i].pages);
    free(w.ch);
    return st;
}

agt_status agt_pq_write_trades(const agt_trades *t, const agt_pq_write_opts *o, agt_buf *out,
                               agt_error *err)
{
    agt_pq_column cols[5] = {
        {"trade_id", AGT_PQ_INT64, AGT_PQ_BLOOM, t->trade_id},
        {"timestamp", AGT_PQ_TIMESTAMP_US, 0, t->ts_us},
        {"price", AGT_PQ_DOUBLE, 0, t->price},
        {"quantity", AGT_PQ_DOUBLE, 0, t->quantity},
        {"is_buyer_maker", AGT_PQ_BOOL, 0, t->is_buyer_maker},
    };
    return agt_pq_write(cols, 5, t->len, o, out, err);
}
