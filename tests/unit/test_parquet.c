/*
 * test_parquet.c - unit tests of the Parquet module: Thrift compact codec,
 * DELTA_BINARY_PACKED and RLE/bit-packed edge cases, the bloom filter hash
 * and probe, property-style round trips of random tables through our writer
 * and reader, time-range reads at page boundaries, id look-ups, and corrupt
 * files (every truncation, bit flips) that must fail cleanly.
 */
#include <pthread.h>
#include <stdint.h>
#include <xxhash.h>

#include "harness.h"
#include "parquet/pq_file.h"
#include "trades_util.h"

/* ---- seeded PRNG (splitmix64) ----------------------------------------- */

static uint64_t rng_state = 42;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* ---- thrift ----------------------------------------------------------- */

TEST(thrift_roundtrip)
{
    agt_buf b;
    agt_buf_init(&b, 0);
    pq_tw w;
    pq_tw_init(&w, &b);
    pq_tw_i32(&w, 1, -5);
    pq_tw_i64(&w, 2, INT64_MIN);
    pq_tw_bool(&w, 3, 1);
    pq_tw_struct(&w, 40); /* long-form field id (delta > 15) */
    pq_tw_i64(&w, 1, INT64_MAX);
    pq_tw_str(&w, 2, "hello");
    pq_tw_end(&w);
    pq_tw_list(&w, 41, TT_I32, 20); /* long-form list header */
    for (int i = 0; i < 20; i++) pq_tw_elem_i32(&w, i * 1000 - 7);
    pq_tw_list(&w, 42, TT_TRUE, 3);
    pq_tw_elem_bool(&w, 1);
    pq_tw_elem_bool(&w, 0);
    pq_tw_elem_bool(&w, 1);
    pq_tw_i32(&w, 43, 77);
    pq_tw_end(&w);
    ASSERT_OK(w.st);
    /* field 1 i32 -5: header 0x15, zigzag 9 */
    ASSERT_EQ_INT(b.data[0], 0x15);
    ASSERT_EQ_INT(b.data[1], 9);

    pq_tr r;
    pq_tr_init(&r, b.data, b.len);
    int16_t last = 0, fid;
    int t, seen = 0;
    while (pq_tr_field(&r, &last, &fid, &t)) {
        switch (fid) {
        case 1: ASSERT_EQ_INT(pq_tr_i32(&r, t), -5); seen |= 1; break;
        case 2: ASSERT(pq_tr_i64(&r, t) == INT64_MIN); seen |= 2; break;
        case 3: ASSERT_EQ_INT(pq_tr_bool(&r, t), 1); seen |= 4; break;
        case 40: {
            ASSERT(pq_tr_enter(&r, t));
            int16_t l2 = 0, f2;
            int t2;
            while (pq_tr_field(&r, &l2, &f2, &t2)) {
                if (f2 == 1) ASSERT(pq_tr_i64(&r, t2) == INT64_MAX);
                else {
                    uint32_t n;
                    const uint8_t *p = pq_tr_bin(&r, t2, &n);
                    ASSERT_EQ_INT(n, 5);
                    ASSERT(memcmp(p, "hello", 5) == 0);
                }
            }
            pq_tr_leave(&r);
            seen |= 8;
            break;
        }
        case 41: {
            int et;
            uint32_t n = pq_tr_list(&r, t, &et);
            ASSERT_EQ_INT(n, 20);
            for (uint32_t i = 0; i < n; i++) {
                int64_t v = pq_tr_uvarint(&r);
                ASSERT_EQ_INT((v >> 1) ^ -(v & 1), (int64_t)i * 1000 - 7);
            }
            seen |= 16;
            break;
        }
        default: pq_tr_skip(&r, t); /* 42 (bool list) skipped as unknown */
        }
    }
    ASSERT(!r.bad);
    ASSERT_EQ_INT(seen, 31);
    ASSERT(r.p == b.data + b.len);
    /* every truncation fails cleanly */
    for (size_t cut = 0; cut < b.len; cut++) {
        pq_tr_init(&r, b.data, cut);
        last = 0;
        while (pq_tr_field(&r, &last, &fid, &t)) pq_tr_skip(&r, t);
        ASSERT(r.bad);
    }
    /* nesting bomb: 1000 nested struct headers */
    uint8_t bomb[1001];
    memset(bomb, 0x1c, 1000);
    bomb[1000] = 0;
    pq_tr_init(&r, bomb, sizeof bomb);
    last = 0;
    while (pq_tr_field(&r, &last, &fid, &t)) pq_tr_skip(&r, t);
    ASSERT(r.bad);
    /* a list claiming more elements than bytes */
    uint8_t big[] = {0x19, 0xF5, 0xff, 0xff, 0xff, 0x0f, 0x00};
    pq_tr_init(&r, big, sizeof big);
    last = 0;
    while (pq_tr_field(&r, &last, &fid, &t)) pq_tr_skip(&r, t);
    ASSERT(r.bad);
    agt_buf_release(&b);
}

/* ---- delta ------------------------------------------------------------ */

static int delta_rt(const int64_t *v, size_t n)
{
    uint8_t *buf = malloc(pq_delta_bound(n));
    int64_t *out = malloc((n + 1) * sizeof *out);
    size_t len = pq_delta_encode(v, n, buf);
    const char *why = NULL;
    uint8_t *exact = malloc(len); /* decode from an exact-size copy: over-reads show under ASan */
    memcpy(exact, buf, len);
    int ok = pq_delta_decode(exact, len, n, out, &why) == 0 && memcmp(v, out, n * 8) == 0;
    free(exact);
    /* truncations must fail, never read out of bounds */
    for (size_t cut = 0; ok && cut < len && n > 1; cut += 1 + cut / 8) {
        uint8_t *t = malloc(cut + 1);
        memcpy(t, buf, cut);
        /* padding of the last miniblock may be cut: then the values must still be right */
        if (pq_delta_decode(t, cut, n, out, &why) == 0 && memcmp(v, out, n * 8) != 0) ok = 0;
        free(t);
    }
    free(buf);
    free(out);
    return ok;
}

TEST(delta_edges)
{
    int64_t one[1] = {INT64_MIN};
    ASSERT(delta_rt(one, 1));
    int64_t ext[6] = {INT64_MIN, INT64_MAX, INT64_MIN, 0, INT64_MAX, -1}; /* wrapping deltas */
    ASSERT(delta_rt(ext, 6));
    int64_t seq[600];
    for (size_t n = 1; n <= 600; n = n < 140 ? n + 1 : n + 37) {
        for (size_t i = 0; i < n; i++) seq[i] = 1000 + (int64_t)i;
        ASSERT(delta_rt(seq, n));
        for (size_t i = 0; i < n; i++) seq[i] = (int64_t)rnd();
        ASSERT(delta_rt(seq, n));
        for (size_t i = 0; i < n; i++) seq[i] = (int64_t)(rnd() % 1000) - 500;
        ASSERT(delta_rt(seq, n));
    }
    int64_t v129[129];
    for (int i = 0; i < 129; i++) v129[i] = i % 2 ? INT64_MAX : INT64_MIN;
    ASSERT(delta_rt(v129, 129));
    /* known bytes: [1, 2, 3]: header 80 01 04 03 02, block: min delta 1 (zz 2), widths 0 0 0 0 */
    int64_t s3[3] = {1, 2, 3};
    uint8_t buf[2048];
    size_t len = pq_delta_encode(s3, 3, buf);
    uint8_t want[] = {0x80, 0x01, 0x04, 0x03, 0x02, 0x02, 0, 0, 0, 0};
    ASSERT_EQ_INT(len, sizeof want);
    ASSERT(memcmp(buf, want, sizeof want) == 0);
    /* int32 wraps in 32 bits: widths never exceed 32 (decode32 rejects wider) */
    int32_t i32[5] = {INT32_MIN, INT32_MAX, INT32_MIN, 0, -1}, o32[5];
    len = pq_delta_encode32(i32, 5, buf);
    const char *why;
    ASSERT_OK(pq_delta_decode32(buf, len, 5, o32, &why));
    ASSERT(memcmp(i32, o32, sizeof i32) == 0);
    /* a width above 64 is rejected */
    uint8_t badw[] = {0x80, 0x01, 0x04, 0x02, 0x00, 0x00, 65, 0, 0, 0};
    int64_t o2[2];
    ASSERT(pq_delta_decode(badw, sizeof badw, 2, o2, &why) != 0);
}

/* Every bit width of the specialised unpackers (DELTA 0..64, RLE 0..32), at
   lengths that end on and off group and miniblock boundaries, decoded from
   exact-size buffers; also odd block layouts (256 values, 8 miniblocks of 32,
   and 4 of 64) written by hand, and booleans at every tail length. */
TEST(bitpack_widths)
{
    static const size_t lens[] = {1, 2, 8, 9, 33, 64, 65, 127, 128, 129, 200, 257, 1000, 4096};
    int64_t *v = malloc(4096 * sizeof *v), *o = malloc(4096 * sizeof *o);
    for (int w = 0; w <= 64; w++) {
        for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
            size_t n = lens[li];
            uint64_t m = w == 64 ? UINT64_MAX : (UINT64_C(1) << w) - 1;
            v[0] = (int64_t)rnd();
            for (size_t i = 1; i < n; i++) /* deltas of exactly w bits above the minimum */
                v[i] = (int64_t)((uint64_t)v[i - 1] + (i % 7 == 3 ? m : rnd() & m));
            ASSERT(delta_rt(v, n));
        }
    }
    /* a block of 256 values in 8 miniblocks of 32, and one in 4 miniblocks of 64 */
    for (int layout = 0; layout < 2; layout++) {
        size_t nmb = layout ? 4 : 8, vpm = 256 / nmb, n = 1 + 256;
        uint8_t buf[4096], *q = buf;
        *q++ = 0x80, *q++ = 0x02; /* block size 256 */
        *q++ = (uint8_t)nmb;
        *q++ = (uint8_t)(n & 0x7f) | 0x80, *q++ = (uint8_t)(n >> 7);
        *q++ = 0x0a; /* first value 5 */
        *q++ = 0x02; /* min delta 1 */
        for (size_t k = 0; k < nmb; k++) *q++ = (uint8_t)(k + 3);
        int64_t want[257];
        want[0] = 5;
        size_t i = 1;
        for (size_t k = 0; k < nmb; k++) {
            int w = (int)k + 3;
            uint64_t acc = 0;
            int nb = 0;
            for (size_t j = 0; j < vpm; j++, i++) {
                uint64_t d = (j * 5 + k) & ((UINT64_C(1) << w) - 1);
                want[i] = want[i - 1] + 1 + (int64_t)d;
                acc |= d << nb;
                nb += w;
                while (nb >= 8) *q++ = (uint8_t)acc, acc >>= 8, nb -= 8;
            }
        }
        size_t len = (size_t)(q - buf);
        uint8_t *exact = malloc(len);
        memcpy(exact, buf, len);
        const char *why = NULL;
        ASSERT_OK(pq_delta_decode(exact, len, n, o, &why));
        ASSERT(memcmp(o, want, n * 8) == 0);
        free(exact);
    }
    /* RLE/bit-packed at every width, exact-size input */
    uint32_t *u = malloc(4096 * sizeof *u), *uo = malloc(4096 * sizeof *uo);
    uint8_t *rb = malloc(pq_rle_bound(4096, 32));
    for (int w = 0; w <= 32; w++)
        for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
            size_t n = lens[li];
            uint64_t m = w == 32 ? UINT32_MAX : (UINT64_C(1) << w) - 1;
            for (size_t i = 0; i < n; i++) u[i] = (uint32_t)(i % 5 == 0 ? m : rnd() & m);
            size_t len = pq_rle_encode(u, n, w, rb);
            uint8_t *exact = malloc(len + 1);
            memcpy(exact, rb, len);
            size_t used = 0;
            const char *why = NULL;
            ASSERT_OK(pq_rle_decode(exact, len, w, n, uo, &used, &why));
            ASSERT(memcmp(u, uo, n * 4) == 0);
            ASSERT_EQ_INT(used, len);
            free(exact);
        }
    /* booleans */
    uint8_t bv[1000], bo[1000], bp[125];
    for (size_t n = 0; n <= 1000; n += n < 20 ? 1 : 61) {
        for (size_t i = 0; i < n; i++) bv[i] = (uint8_t)(rnd() & 1);
        size_t len = pq_bool_encode(bv, n, bp);
        const char *why = NULL;
        ASSERT_OK(pq_bool_decode(bp, len, n, bo, &why));
        ASSERT(n == 0 || memcmp(bv, bo, n) == 0);
    }
    free(u);
    free(uo);
    free(rb);
    free(v);
    free(o);
}

/* ---- rle / bit-packed ---------------------------------------------- */

TEST(rle_roundtrip)
{
    uint32_t v[3000], o[3000];
    uint8_t *buf = malloc(pq_rle_bound(3000, 32));
    for (int width = 0; width <= 32; width++) {
        uint64_t lim = width == 32 ? UINT32_MAX : (UINT64_C(1) << width) - 1;
        for (int shape = 0; shape < 3; shape++) {
            size_t n = 1 + rnd() % 3000;
            for (size_t i = 0; i < n; i++) {
                uint64_t x = rnd();
                if (shape == 1 && i > 0 && x % 4) x = v[i - 1]; /* runs */
                v[i] = (uint32_t)(lim ? x % (lim + 1 == 0 ? UINT64_MAX : lim + 1) : 0);
                if (shape == 2) v[i] = (uint32_t)((i / 100) % (lim + 1));
            }
            size_t len = pq_rle_encode(v, n, width, buf);
            ASSERT(len <= pq_rle_bound(n, width));
            size_t used = 0;
            const char *why;
            ASSERT_OK(pq_rle_decode(buf, len, width, n, o, &used, &why));
            ASSERT(memcmp(v, o, n * 4) == 0);
            ASSERT_EQ_INT(used, len);
        }
    }
    /* known bytes: 10 x value 5 at width 3 -> RLE run: 0x14 0x05 */
    for (int i = 0; i < 10; i++) v[i] = 5;
    size_t len = pq_rle_encode(v, 10, 3, buf);
    ASSERT_EQ_INT(len, 2);
    ASSERT_EQ_INT(buf[0], 0x14);
    ASSERT_EQ_INT(buf[1], 5);
    /* 8 values 0..7 at width 3: one bit-packed group: 03 88 c6 fa (spec example) */
    for (uint32_t i = 0; i < 8; i++) v[i] = i;
    len = pq_rle_encode(v, 8, 3, buf);
    uint8_t want[] = {0x03, 0x88, 0xc6, 0xfa};
    ASSERT_EQ_INT(len, 4);
    ASSERT(memcmp(buf, want, 4) == 0);
    const char *why;
    ASSERT(pq_rle_decode(buf, 2, 3, 8, o, NULL, &why) != 0); /* truncated */
    uint8_t wide[] = {0x02, 0x09}; /* value 9 at width 3 */
    ASSERT(pq_rle_decode(wide, 2, 3, 1, o, NULL, &why) != 0);
    ASSERT(pq_rle_decode(wide, 2, 33, 1, o, NULL, &why) != 0);
    free(buf);
}

/* ---- bloom ----------------------------------------------------------- */

/* Independent XXH64 of one 8-byte little-endian lane, seed 0 (xxHash spec). */
static uint64_t rotl(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}
static uint64_t xxh64_8(uint64_t lane)
{
    const uint64_t P1 = UINT64_C(0x9E3779B185EBCA87), P2 = UINT64_C(0xC2B2AE3D27D4EB4F),
                   P3 = UINT64_C(0x165667B19E3779F9), P4 = UINT64_C(0x85EBCA77C2B2AE63),
                   P5 = UINT64_C(0x27D4EB2F165667C5);
    uint64_t h = P5 + 8;
    uint64_t k = rotl(lane * P2, 31) * P1;
    h ^= k;
    h = rotl(h, 27) * P1 + P4;
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    h ^= h >> 32;
    return h;
}

TEST(bloom_filter)
{
    ASSERT(XXH64("", 0, 0) == UINT64_C(0xEF46DB3751D8E999)); /* published value */
    int64_t probes[] = {0, 1, -1, INT64_MIN, INT64_MAX, 3800397495};
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++)
        ASSERT(pq_bloom_hash_i64(probes[i]) == xxh64_8((uint64_t)probes[i]));
    /* nearest power of two in log space, within 3x the requested rate */
    ASSERT_EQ_INT(pq_bloom_bytes(500000, 0.01), 512 << 10);    /* ideal 605 KB */
    ASSERT_EQ_INT(pq_bloom_bytes(1000000, 0.01), 1 << 20);     /* ideal 1.21 MB */
    ASSERT_EQ_INT(pq_bloom_bytes(60000, 0.01), 64 << 10);      /* ideal 72.6 KB */
    ASSERT_EQ_INT(pq_bloom_bytes(100000, 0.01), 128 << 10);    /* ideal 121 KB: up */
    /* ideal 1.44 MB is nearer 1 MiB in log space, but 1 MiB would give 4.6 %: up */
    ASSERT_EQ_INT(pq_bloom_bytes(1190000, 0.01), 2 << 20);
    ASSERT(pq_bloom_fpp(1190000, 1 << 20) > 0.03);
    ASSERT_EQ_INT(pq_bloom_bytes(1, 0.01), 32);
    ASSERT_EQ_INT(pq_bloom_bytes(UINT64_C(1) << 40, 0.01), 128 << 20);
    ASSERT(pq_bloom_fpp(1000000, 1 << 20) < 0.03 && pq_bloom_fpp(1000000, 1 << 20) > 0.02);
    ASSERT(pq_bloom_fpp(0, 32) == 0.0);
    /* the exact model agrees with a measurement on consecutive ids (the trade case) */
    {
        size_t mb = pq_bloom_bytes(60000, 0.01);
        uint8_t *m = calloc(1, mb);
        for (int64_t i = 0; i < 60000; i++) pq_bloom_insert(m, mb, pq_bloom_hash_i64(3800000000 + i));
        long hits = 0;
        for (int64_t i = 0; i < 400000; i++) hits += pq_bloom_check(m, mb, pq_bloom_hash_i64(-1 - i));
        double model = pq_bloom_fpp(60000, mb), got = (double)hits / 400000;
        ASSERT(got > model * 0.9 && got < model * 1.1);
        ASSERT(got < 0.03);
        free(m);
    }
    size_t nb = pq_bloom_bytes(20000, 0.01);
    uint8_t *bits = calloc(1, nb);
    for (int64_t i = 0; i < 20000; i++) pq_bloom_insert(bits, nb, pq_bloom_hash_i64(i * 7));
    for (int64_t i = 0; i < 20000; i++) ASSERT(pq_bloom_check(bits, nb, pq_bloom_hash_i64(i * 7)));
    int fp = 0;
    for (int64_t i = 0; i < 100000; i++) fp += pq_bloom_check(bits, nb, pq_bloom_hash_i64(-1 - i));
    ASSERT(fp < 2000); /* under 2 % for a 1 % filter */
    /* the batch insert of the writer sets the same bits as one insert per hashed value */
    int64_t v64[300];
    int32_t v32[300];
    for (int i = 0; i < 300; i++) v64[i] = (int64_t)rnd(), v32[i] = (int32_t)rnd();
    uint8_t *one = calloc(1, 1024), *batch = calloc(1, 1024);
    for (int i = 0; i < 300; i++) pq_bloom_insert(one, 1024, pq_bloom_hash_i64(v64[i]));
    pq_bloom_insert_ints(batch, 1024, v64, 300, 8);
    ASSERT(memcmp(one, batch, 1024) == 0);
    memset(one, 0, 1024), memset(batch, 0, 1024);
    for (int i = 0; i < 300; i++) pq_bloom_insert(one, 1024, XXH64(&v32[i], 4, 0));
    pq_bloom_insert_ints(batch, 1024, v32, 300, 4);
    ASSERT(memcmp(one, batch, 1024) == 0);
    free(one), free(batch);
    free(bits);
}

/* ---- dictionary ------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Build and sort the dictionary of v[0..n) in d; check it against a sorted copy of v. */
static void check_dict(int *agt_failed_, pq_dict *d, const uint64_t *v, size_t n)
{
    uint32_t *idx = malloc(n * sizeof *idx);
    uint64_t *sorted = malloc(n * sizeof *sorted);
    memcpy(sorted, v, n * sizeof *v);
    qsort(sorted, n, sizeof *sorted, cmp_u64);
    size_t ndv = n ? 1 : 0;
    for (size_t i = 1; i < n; i++) ndv += sorted[i] != sorted[i - 1];
    if (ndv > 1) ASSERT_EQ_INT(pq_dict_build(d, v, n, ndv - 1, idx), 0); /* one too many */
    ASSERT_EQ_INT(pq_dict_build(d, v, n, ndv, idx), 1);
    ASSERT_EQ_INT(d->n, ndv);
    for (size_t i = 0; i < n; i++) ASSERT(d->ent[idx[i]] == v[i]);
    ASSERT_OK(pq_dict_sort(d, idx, n));
    ASSERT_EQ_INT(d->n, ndv);
    for (size_t e = 1; e < d->n; e++) ASSERT(d->ent[e - 1] < d->ent[e]);
    for (size_t i = 0; i < n; i++) ASSERT(d->ent[idx[i]] == v[i]);
    free(idx);
    free(sorted);
}

TEST(dictionary)
{
    pq_dict d;
    pq_dict_init(&d);
    static const size_t sizes[] = {1, 2, 3, 700, 5000, 70000, 10, 200000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        uint64_t *v = malloc(n * sizeof *v);
        /* distinct values: few (a price walk), many (quantities), any bit pattern, runs of
           repeats; the same pq_dict reused from one table to the next, larger and smaller */
        uint64_t span = k % 3 == 0 ? 50 : k % 3 == 1 ? 3 * n : UINT64_MAX;
        for (size_t i = 0; i < n; i++) {
            double x = (double)(rnd() % span) / 100.0 + 30000.0;
            memcpy(&v[i], &x, 8);
            if (span == UINT64_MAX) v[i] = rnd();
            if (i && rnd() % 4 == 0) v[i] = v[i - 1];
        }
        check_dict(agt_failed_, &d, v, n);
        free(v);
    }
    pq_dict_free(&d);
}

/* ---- round trips ------------------------------------------------------ */

static double rnd_double(void)
{
    static const double special[] = {0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308,
                                     1.7976931348623157e308, -1.7976931348623157e308,
                                     1e300, 87648.21, 0.00013};
    uint64_t r = rnd();
    switch (r % 8) {
    case 0: return special[(r >> 8) % 10];
    case 1: return NAN;
    case 2: {
        double d;
        uint64_t bits = rnd();
        memcpy(&d, &bits, 8);
        return d; /* any bit pattern, NaN payloads included */
    }
    default: return (double)((r >> 8) % 5000) / 100.0 + 30000.0;
    }
}

static agt_buf write_trades(const agt_trades *t, size_t page_rows, agt_pq_write_opts *o_out)
{
    agt_pq_write_opts o;
    agt_pq_write_opts_default(&o);
    if (page_rows) o.page_rows = page_rows;
    static const agt_pq_kv kv[] = {{"symbol", "BTCUSDT"}, {"hour", "2026-01-01T00"}};
    o.kv = kv;
    o.n_kv = 2;
    if (o_out) *o_out = o;
    agt_buf b;
    agt_buf_init(&b, 0);
    agt_error e;
    if (agt_pq_write_trades(t, &o, &b, &e) != AGT_OK) fprintf(stderr, "write: %s\n", e.message);
    return b;
}

static void make_trades(agt_trades *t, size_t n, int sorted)
{
    agt_trades_init(t);
    int64_t id = (int64_t)(rnd() % 1000000), ts = 1767225600000000 + (int64_t)(rnd() % 1000);
    for (size_t i = 0; i < n; i++) {
        if (sorted) {
            id += 1;
            ts += (int64_t)(rnd() % 3000);
        } else {
            id = (int64_t)rnd();
            ts = (int64_t)rnd();
        }
        agt_trades_push(t, id, ts, rnd_double(), rnd_double(), (int)(rnd() & 1));
    }
}

TEST(roundtrip_random_trades)
{
    static const size_t sizes[] = {1, 2, 7, 8, 127, 128, 129, 4095, 4096, 4097, 10000, 33333};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0] + 6; k++) {
        size_t n = k < sizeof sizes / sizeof sizes[0] ? sizes[k] : 1 + rnd() % 20000;
        agt_trades t, r;
        make_trades(&t, n, (int)(k % 3 != 2));
        size_t pr = k % 2 ? 1000 : 0;
        agt_buf b = write_trades(&t, pr, NULL);
        ASSERT(b.len > 0);
        agt_pq_file *f;
        agt_error e;
        ASSERT_OK(agt_pq_open_mem(b.data, b.len, &f, &e));
        ASSERT_EQ_INT(agt_pq_num_rows(f), n);
        ASSERT_EQ_INT(agt_pq_num_columns(f), 5);
        ASSERT_EQ_STR(agt_pq_kv_get(f, "symbol"), "BTCUSDT");
        ASSERT(agt_pq_kv_get(f, "nope") == NULL);
        ASSERT_EQ_INT(agt_pq_column_type(f, 1), AGT_PQ_TIMESTAMP_US);
        agt_trades_init(&r);
        ASSERT_OK(agt_pq_read_trades(f, INT64_MIN, INT64_MAX, AGT_COL_ALL, &r, &e));
        ASSERT_EQ_INT(r.len, n);
        ASSERT(trades_rows_equal(&t, 0, &r, n));
        /* a random slice through read_column */
        int64_t a = (int64_t)(rnd() % n), cnt = (int64_t)(rnd() % (n - (size_t)a)) + 1;
        double *px = malloc((size_t)cnt * 8);
        ASSERT_OK(agt_pq_read_column(f, 2, a, cnt, px, &e));
        ASSERT(memcmp(px, t.price + a, (size_t)cnt * 8) == 0);
        free(px);
        int64_t mn, mx;
        ASSERT_OK(agt_pq_int64_stats(f, 0, &mn, &mx));
        if (k % 3 != 2) ASSERT(mn == t.trade_id[0] && mx == t.trade_id[n - 1]);
        /* every id is found; bloom says maybe for every present id */
        for (int q = 0; q < 5; q++) {
            size_t i = rnd() % n;
            int found = 0, pages = 0, maybe = 0;
            agt_trades one;
            agt_trades_init(&one);
            ASSERT_OK(agt_pq_find_trade(f, t.trade_id[i], 1, &one, &found, &pages, &e));
            ASSERT(found);
            ASSERT(trades_rows_equal(&t, i, &one, 1) || t.trade_id[i] != one.trade_id[0] ||
                   k % 3 == 2); /* random ids may repeat */
            ASSERT_OK(agt_pq_bloom_check(f, 0, t.trade_id[i], &maybe, &e));
            ASSERT(maybe);
            agt_trades_release(&one);
        }
        agt_pq_close(f);
        agt_trades_release(&r);
        agt_trades_release(&t);
        agt_buf_release(&b);
    }
}

/* Writers in several threads at once (each has its own scratch memory) write the same bytes as
   one thread writing the same tables. */
typedef struct thread_job {
    const agt_trades *t;
    agt_buf out;
} thread_job;

static void *write_in_thread(void *p)
{
    thread_job *j = p;
    for (int r = 0; r < 3; r++) {
        agt_buf_release(&j->out);
        j->out = write_trades(j->t, 0, NULL);
    }
    return NULL;
}

TEST(writers_in_threads)
{
    enum { NT = 3 };
    agt_trades t[NT];
    thread_job jobs[NT];
    pthread_t th[NT];
    for (int i = 0; i < NT; i++) {
        make_trades(&t[i], 5000 + 20000 * (size_t)i, 1);
        jobs[i].t = &t[i];
        agt_buf_init(&jobs[i].out, 0);
    }
    for (int i = 0; i < NT; i++) ASSERT(pthread_create(&th[i], NULL, write_in_thread, &jobs[i]) == 0);
    for (int i = 0; i < NT; i++) pthread_join(th[i], NULL);
    for (int i = NT - 1; i >= 0; i--) {
        agt_buf b = write_trades(&t[i], 0, NULL);
        ASSERT(b.len > 0 && b.len == jobs[i].out.len);
        ASSERT(memcmp(b.data, jobs[i].out.data, b.len) == 0);
        agt_buf_release(&b);
        agt_buf_release(&jobs[i].out);
        agt_trades_release(&t[i]);
    }
}

TEST(roundtrip_general_columns)
{
    for (int k = 0; k < 8; k++) {
        size_t n = k == 0 ? 1 : 1 + rnd() % 9000;
        int32_t *i32 = malloc(n * 4);
        int64_t *i64 = malloc(n * 8);
        double *d = malloc(n * 8);
        uint8_t *bo = malloc(n);
        char **s = malloc(n * sizeof *s);
        for (size_t i = 0; i < n; i++) {
            i32[i] = (int32_t)rnd();
            i64[i] = k % 2 ? (int64_t)rnd() : (int64_t)i * 3;
            d[i] = rnd_double();
            bo[i] = (uint8_t)(rnd() & 1);
            size_t l = rnd() % 12;
            s[i] = malloc(l + 1);
            for (size_t j = 0; j < l; j++) s[i][j] = (char)('a' + rnd() % 26);
            s[i][l] = 0;
        }
        agt_pq_column cols[] = {
            {"seq", AGT_PQ_INT32, AGT_PQ_BLOOM, i32},
            {"v", AGT_PQ_INT64, 0, i64},
            {"d", AGT_PQ_DOUBLE, k % 3 == 0 ? AGT_PQ_BSS : k % 3 == 1 ? AGT_PQ_NO_DICT : 0, d},
            {"b", AGT_PQ_BOOL, 0, bo},
            {"name", AGT_PQ_STRING, 0, s},
        };
        agt_buf b;
        agt_buf_init(&b, 0);
        agt_error e;
        agt_pq_write_opts o;
        agt_pq_write_opts_default(&o);
        o.page_rows = 1 + rnd() % 3000;
        ASSERT_OK(agt_pq_write(cols, 5, n, &o, &b, &e));
        agt_pq_file *f;
        ASSERT_OK(agt_pq_open_mem(b.data, b.len, &f, &e));
        ASSERT_EQ_INT(agt_pq_column_type(f, 4), AGT_PQ_STRING);
        ASSERT_EQ_INT(agt_pq_column_index(f, "name"), 4);
        int32_t *r32 = malloc(n * 4);
        int64_t *r64 = malloc(n * 8);
        double *rd = malloc(n * 8);
        uint8_t *rb = malloc(n);
        size_t *offs = malloc(n * sizeof *offs);
        agt_buf sb;
        agt_buf_init(&sb, 0);
        ASSERT_OK(agt_pq_read_column(f, 0, 0, (int64_t)n, r32, &e));
        ASSERT_OK(agt_pq_read_column(f, 1, 0, (int64_t)n, r64, &e));
        ASSERT_OK(agt_pq_read_column(f, 2, 0, (int64_t)n, rd, &e));
        ASSERT_OK(agt_pq_read_column(f, 3, 0, (int64_t)n, rb, &e));
        ASSERT_OK(agt_pq_read_strings(f, 4, 0, (int64_t)n, &sb, offs, &e));
        ASSERT(memcmp(r32, i32, n * 4) == 0);
        ASSERT(memcmp(r64, i64, n * 8) == 0);
        ASSERT(memcmp(rd, d, n * 8) == 0);
        ASSERT(memcmp(rb, bo, n) == 0);
        for (size_t i = 0; i < n; i++) ASSERT_EQ_STR((const char *)sb.data + offs[i], s[i]);
        int maybe;
        ASSERT_OK(agt_pq_bloom_check(f, 0, i32[n / 2], &maybe, &e));
        ASSERT(maybe);
        ASSERT_EQ_INT(agt_pq_bloom_check(f, 1, 5, &maybe, &e), AGT_ENOTFOUND);
        agt_pq_close(f);
        for (size_t i = 0; i < n; i++) free(s[i]);
        free(s), free(i32), free(i64), free(d), free(bo);
        free(r32), free(r64), free(rd), free(rb), free(offs);
        agt_buf_release(&sb);
        agt_buf_release(&b);
    }
}

TEST(time_range_page_boundaries)
{
    agt_trades t;
    make_trades(&t, 10000, 1);
    agt_buf b = write_trades(&t, 1000, NULL);
    agt_pq_file *f;
    agt_error e;
    ASSERT_OK(agt_pq_open_mem(b.data, b.len, &f, &e));
    size_t probes[] = {0, 1, 999, 1000, 1001, 1999, 2000, 5000, 9998, 9999};
    for (size_t i = 0; i < 10; i++)
        for (size_t j = i; j < 10; j++) {
            int64_t lo = t.ts_us[probes[i]], hi = t.ts_us[probes[j]];
            for (int adj = 0; adj < 3; adj++) {
                int64_t a = lo - (adj == 1), z = hi + (adj == 2);
                size_t first = 0, last = t.len;
                while (first < t.len && t.ts_us[first] < a) first++;
                while (last > first && t.ts_us[last - 1] > z) last--;
                agt_trades r;
                agt_trades_init(&r);
                unsigned cols = adj == 2 ? (AGT_COL_PRICE | AGT_COL_TIMESTAMP) : AGT_COL_ALL;
                long before = f->pages_decoded;
                ASSERT_OK(agt_pq_read_trades(f, a, z, cols, &r, &e));
                ASSERT_EQ_INT(r.len, last - first);
                if (cols == AGT_COL_ALL) ASSERT(trades_rows_equal(&t, first, &r, r.len));
                else
                    for (size_t q = 0; q < r.len; q++) {
                        ASSERT(r.trade_id[q] == 0 && r.quantity[q] == 0);
                        ASSERT(memcmp(&r.price[q], &t.price[first + q], 8) == 0);
                    }
                /* a one-page query decodes at most 2 pages per requested column */
                if (probes[j] - probes[i] < 10 && probes[i] % 1000 > 5 && probes[i] % 1000 < 990 && adj == 0)
                    ASSERT(f->pages_decoded - before <= 5);
                agt_trades_release(&r);
            }
        }
    /* outside the file */
    agt_trades r;
    agt_trades_init(&r);
    ASSERT_OK(agt_pq_read_trades(f, 0, t.ts_us[0] - 1, AGT_COL_ALL, &r, &e));
    ASSERT_EQ_INT(r.len, 0);
    /* id look-up decodes one trade_id page plus one page of each other column */
    int found, pages;
    ASSERT_OK(agt_pq_find_trade(f, t.trade_id[4321], 1, &r, &found, &pages, &e));
    ASSERT(found);
    ASSERT_EQ_INT(pages, 5);
    ASSERT(trades_rows_equal(&t, 4321, &r, 1));
    ASSERT_OK(agt_pq_find_trade(f, t.trade_id[9999] + 5, 1, &r, &found, &pages, &e));
    ASSERT(!found);
    ASSERT_EQ_INT(pages, 0);
    agt_trades_release(&r);
    agt_pq_close(f);
    agt_buf_release(&b);
    agt_trades_release(&t);
}

TEST(empty_table)
{
    agt_trades t;
    agt_trades_init(&t);
    agt_buf b = write_trades(&t, 0, NULL);
    agt_pq_file *f;
    agt_error e;
    ASSERT_OK(agt_pq_open_mem(b.data, b.len, &f, &e));
    ASSERT_EQ_INT(agt_pq_num_rows(f), 0);
    agt_trades r;
    agt_trades_init(&r);
    ASSERT_OK(agt_pq_read_trades(f, INT64_MIN, INT64_MAX, AGT_COL_ALL, &r, &e));
    ASSERT_EQ_INT(r.len, 0);
    agt_pq_close(f);
    agt_buf_release(&b);
}

/* Open and read everything; any status is fine, crashes are not (sanitizers watch). */
static agt_status read_all(const uint8_t *p, size_t n)
{
    agt_pq_file *f;
    agt_error e;
    agt_status st = agt_pq_open_mem(p, n, &f, &e);
    if (st != AGT_OK) {
        if (e.message[0] == 0 || strchr(e.message, '\n')) return AGT_EINVAL; /* need one line */
        return st;
    }
    agt_trades r;
    agt_trades_init(&r);
    st = agt_pq_read_trades(f, INT64_MIN, INT64_MAX, AGT_COL_ALL, &r, &e);
    int found;
    if (st == AGT_OK) st = agt_pq_find_trade(f, 77, 1, &r, &found, NULL, &e);
    agt_trades_release(&r);
    agt_pq_close(f);
    return st;
}

TEST(corrupt_files)
{
    agt_trades t;
    make_trades(&t, 300, 1);
    agt_buf b = write_trades(&t, 100, NULL);
    ASSERT_OK(read_all(b.data, b.len));
    for (size_t cut = 0; cut < b.len; cut++) {
        uint8_t *c = malloc(cut + 1);
        memcpy(c, b.data, cut);
        agt_status st = read_all(c, cut);
        if (st == AGT_OK) FAIL_("truncation to %zu bytes was accepted", cut);
        free(c);
    }
    /* bit flips anywhere: never crash; flips in the footer's length or magic must fail */
    uint8_t *c = malloc(b.len);
    for (int k = 0; k < 3000; k++) {
        memcpy(c, b.data, b.len);
        size_t at = rnd() % b.len;
        c[at] ^= (uint8_t)(1u << (rnd() % 8));
        read_all(c, b.len);
    }
    memcpy(c, b.data, b.len);
    c[b.len - 1] ^= 1;
    ASSERT_EQ_INT(read_all(c, b.len), AGT_ECORRUPT);
    free(c);
    agt_buf_release(&b);
    agt_trades_release(&t);
}

TEST_MAIN(TEST_REF(thrift_roundtrip), TEST_REF(delta_edges), TEST_REF(bitpack_widths),
          TEST_REF(rle_roundtrip),
          TEST_REF(bloom_filter), TEST_REF(dictionary), TEST_REF(roundtrip_random_trades), TEST_REF(writers_in_threads),
          TEST_REF(roundtrip_general_columns), TEST_REF(time_range_page_boundaries),
          TEST_REF(empty_table), TEST_REF(corrupt_files))
