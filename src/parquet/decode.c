/*
 * decode.c - value decoders used by the reader. Each takes the exact byte
 * range of its input and the number of values wanted, checks every header
 * field (block sizes, bit widths, run lengths) and every byte count before
 * touching memory, and reports problems as a short static message.
 *
 * Bit-packed values (DELTA miniblocks, RLE/bit-packed runs) are unpacked a
 * group of 8 at a time by loops specialised for each bit width: a group of
 * 8 values at width w is exactly w bytes, and with w a compile-time constant
 * every value is one unaligned 8-byte load, a constant shift and a constant
 * mask (w <= 56 keeps a value inside one load). The fast path needs 8
 * readable bytes past the group's start; near the end of the input the
 * remaining bytes are first copied into a zero-padded local buffer. Widths
 * 57..64 (DELTA only, random 64-bit deltas) take the bit-at-a-time path.
 */
#include <string.h>

#include "parquet/pq_int.h"

static inline uint64_t getbits(const uint8_t *p, size_t len, size_t bitpos, int w)
{
    size_t by = bitpos >> 3;
    int sh = (int)(bitpos & 7);
    uint64_t x;
    if (by + 16 <= len) {
        memcpy(&x, p + by, 8);
        x >>= sh;
        if (sh + w > 64) x |= (uint64_t)p[by + 8] << (64 - sh);
    } else {
        x = 0;
        int got = 0;
        size_t bp = bitpos;
        while (got < w) {
            size_t b = bp >> 3;
            int off = (int)(bp & 7);
            int take = 8 - off < w - got ? 8 - off : w - got;
            uint64_t bits = b < len ? (uint64_t)(p[b] >> off) & ((1u << take) - 1) : 0;
            x |= bits << got;
            got += take;
            bp += (size_t)take;
        }
    }
    return w >= 64 ? x : x & ((UINT64_C(1) << w) - 1);
}

typedef struct cur {
    const uint8_t *p;
    size_t len, pos;
    int bad;
} cur;

static uint64_t uvar(cur *c)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (c->pos >= c->len) break;
        uint8_t b = c->p[c->pos++];
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return v;
    }
    c->bad = 1;
    return 0;
}

static int64_t unzz(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

#define FAIL(msg)                                                                        \
    do {                                                                                 \
        *why = (msg);                                                                    \
        return -1;                                                                       \
    } while (0)

/* ---- bit unpacking ------------------------------------------------------ */

#if defined(__GNUC__)
#define PQ_INLINE static inline __attribute__((always_inline))
#define PQ_UNROLL8 _Pragma("GCC unroll 8")
#else
#define PQ_INLINE static inline
#define PQ_UNROLL8
#endif

/* `groups` groups of 8 values at width W from p (which has groups * W + 8 readable bytes). */
#define UNPACK_BODY(T)                                                                   \
    const uint64_t mask = W >= 64 ? UINT64_MAX : (UINT64_C(1) << W) - 1;                \
    for (size_t g = 0; g < groups; g++, p += W, out += 8) {                              \
        PQ_UNROLL8                                                                       \
        for (int k = 0; k < 8; k++) {                                                    \
            uint64_t x;                                                                  \
            memcpy(&x, p + ((unsigned)k * W >> 3), 8);                                   \
            out[k] = (T)((x >> ((unsigned)k * W & 7)) & mask);                           \
        }                                                                                \
    }

PQ_INLINE void unpack64_w(const uint8_t *p, size_t groups, uint64_t *out, const unsigned W)
{
    UNPACK_BODY(uint64_t)
}

PQ_INLINE void unpack32_w(const uint8_t *p, size_t groups, uint32_t *out, const unsigned W)
{
    UNPACK_BODY(uint32_t)
}

#define C8(b) C(b + 1) C(b + 2) C(b + 3) C(b + 4) C(b + 5) C(b + 6) C(b + 7) C(b + 8)

/* Width 1..56; p holds groups * w + 8 readable bytes. */
static void unpack64(const uint8_t *p, size_t groups, int w, uint64_t *out)
{
    switch (w) {
#define C(W)                                                                             \
    case W: unpack64_w(p, groups, out, W); break;
        C8(0) C8(8) C8(16) C8(24) C8(32) C8(40) C8(48)
#undef C
    default: break;
    }
}

/* Width 1..32; p holds groups * w + 8 readable bytes. */
static void unpack32(const uint8_t *p, size_t groups, int w, uint32_t *out)
{
    switch (w) {
#define C(W)                                                                             \
    case W: unpack32_w(p, groups, out, W); break;
        C8(0) C8(8) C8(16) C8(24)
#undef C
    default: break;
    }
}

/*
 * Values j0 .. j0 + 8 * groups - 1 of a bit-packed run at width w (1..56)
 * whose bytes are q[0 .. qlen): fast in place when 8 bytes of slack follow
 * (`slack`: readable bytes after q + qlen, e.g. the rest of the page), else
 * from a zero-padded copy (bits past qlen read as 0). groups <= 8.
 */
static void unpack64_at(const uint8_t *q, size_t qlen, size_t slack, size_t j0, size_t groups,
                        int w, uint64_t *out)
{
    size_t off = j0 * (size_t)w / 8, need = groups * (size_t)w + 8;
    if (off <= qlen && need <= qlen - off + slack) {
        unpack64(q + off, groups, w, out);
        return;
    }
    uint8_t tmp[8 * 56 + 8];
    size_t have = off < qlen ? qlen - off : 0;
    if (have > groups * (size_t)w) have = groups * (size_t)w;
    memset(tmp, 0, sizeof tmp);
    if (have) memcpy(tmp, q + off, have);
    unpack64(tmp, groups, w, out);
}

static void unpack32_at(const uint8_t *q, size_t qlen, size_t slack, size_t j0, size_t groups,
                        int w, uint32_t *out)
{
    size_t off = j0 * (size_t)w / 8, need = groups * (size_t)w + 8;
    if (off <= qlen && need <= qlen - off + slack) {
        unpack32(q + off, groups, w, out);
        return;
    }
    uint8_t tmp[8 * 32 + 8];
    size_t have = off < qlen ? qlen - off : 0;
    if (have > groups * (size_t)w) have = groups * (size_t)w;
    memset(tmp, 0, sizeof tmp);
    if (have) memcpy(tmp, q + off, have);
    unpack32(tmp, groups, w, out);
}

/* ---- DELTA_BINARY_PACKED ------------------------------------------------- */

static int delta_core(const uint8_t *p, size_t len, size_t n, int bits, int64_t *o64,
                      int32_t *o32, const char **why)
{
    cur c = {p, len, 0, 0};
    uint64_t bs = uvar(&c), mb = uvar(&c), total = uvar(&c);
    int64_t first = unzz(uvar(&c));
    if (c.bad) FAIL("truncated delta header");
    if (bs == 0 || bs % 128 || bs > 65536 || mb == 0 || bs % mb || (bs / mb) % 32)
        FAIL("bad delta block size");
    if (total != n) FAIL("delta value count does not match the page");
    if (n == 0) return 0;
    uint64_t mask = bits == 64 ? UINT64_MAX : UINT32_MAX;
    uint64_t last = (uint64_t)first & mask;
    if (o64) o64[0] = first;
    else o32[0] = (int32_t)(uint32_t)last;
    size_t vpm = (size_t)(bs / mb), i = 1;
    uint64_t d[64];
    while (i < n) {
        uint64_t mind = (uint64_t)unzz(uvar(&c));
        if (c.bad) FAIL("truncated delta block");
        if (mb > c.len - c.pos) FAIL("truncated delta bit widths");
        const uint8_t *widths = c.p + c.pos;
        c.pos += (size_t)mb;
        for (size_t k = 0; k < mb && i < n; k++) {
            int w = widths[k];
            if (w > bits) FAIL("delta bit width larger than the integer");
            size_t need = n - i < vpm ? n - i : vpm;
            size_t full = vpm * (size_t)w / 8;
            size_t have = c.len - c.pos;
            if ((need * (size_t)w + 7) / 8 > have) FAIL("truncated delta miniblock");
            const uint8_t *mp = c.p + c.pos;
            size_t mlen = full < have ? full : have;
            size_t slack = have - mlen;
            if (w == 0) { /* every delta is the block minimum */
                if (o64)
                    for (size_t j = 0; j < need; j++) o64[i + j] = (int64_t)(last += mind);
                else
                    for (size_t j = 0; j < need; j++)
                        o32[i + j] = (int32_t)(uint32_t)(last = (last + mind) & mask);
            } else if (w > 56) {
                for (size_t j = 0; j < need; j++) {
                    last = (last + mind + getbits(mp, mlen, j * (size_t)w, w)) & mask;
                    o64[i + j] = (int64_t)last;
                }
            } else {
                for (size_t j = 0; j < need; j += 64) {
                    size_t cnt = need - j < 64 ? need - j : 64;
                    unpack64_at(mp, mlen, slack, j, (cnt + 7) / 8, w, d);
                    if (o64) {
                        int64_t *o = o64 + i + j;
                        for (size_t t = 0; t < cnt; t++) o[t] = (int64_t)(last += mind + d[t]);
                    } else {
                        int32_t *o = o32 + i + j;
                        uint32_t l32 = (uint32_t)last, m32 = (uint32_t)mind;
                        for (size_t t = 0; t < cnt; t++) o[t] = (int32_t)(l32 += m32 + (uint32_t)d[t]);
                        last = l32;
                    }
                }
            }
            c.pos += mlen;
            i += need;
        }
    }
    return 0;
}

int pq_delta_decode(const uint8_t *p, size_t len, size_t n, int64_t *out, const char **why)
{
    return delta_core(p, len, n, 64, out, NULL, why);
}

int pq_delta_decode32(const uint8_t *p, size_t len, size_t n, int32_t *out, const char **why)
{
    return delta_core(p, len, n, 32, NULL, out, why);
}

/* ---- RLE / bit-packed hybrid ---------------------------------------------- */

int pq_rle_decode(const uint8_t *p, size_t len, int width, size_t n, uint32_t *out,
                  size_t *used, const char **why)
{
    if (width < 0 || width > 32) FAIL("bit width above 32");
    cur c = {p, len, 0, 0};
    size_t filled = 0, vbytes = ((size_t)width + 7) / 8;
    while (filled < n) {
        uint64_t h = uvar(&c);
        if (c.bad) FAIL("truncated rle run header");
        if (h & 1) {
            uint64_t groups = h >> 1;
            if (groups > (UINT64_C(1) << 28)) FAIL("bit-packed run too long");
            size_t cnt = (size_t)groups * 8;
            size_t need = n - filled < cnt ? n - filled : cnt;
            size_t have = c.len - c.pos;
            size_t full = (size_t)groups * (size_t)width;
            if ((need * (size_t)width + 7) / 8 > have) FAIL("truncated bit-packed run");
            const uint8_t *q = c.p + c.pos;
            size_t qlen = full < have ? full : have, slack = have - qlen;
            if (width == 0) {
                memset(out + filled, 0, need * sizeof *out);
            } else {
                uint32_t *o = out + filled;
                size_t whole = need / 8 * 8, j = 0;
                /* whole groups straight into the output, 64 values at a time */
                while (j < whole) {
                    size_t g = whole - j < 64 ? (whole - j) / 8 : 8;
                    unpack32_at(q, qlen, slack, j, g, width, o + j);
                    j += g * 8;
                }
                if (j < need) { /* a last partial group */
                    uint32_t t[8];
                    unpack32_at(q, qlen, slack, j, 1, width, t);
                    memcpy(o + j, t, (need - j) * sizeof *t);
                }
            }
            filled += need;
            c.pos += qlen;
        } else {
            uint64_t cnt = h >> 1;
            if (cnt == 0) FAIL("empty rle run");
            if (vbytes > c.len - c.pos) FAIL("truncated rle run");
            uint32_t v = 0;
            for (size_t b = 0; b < vbytes; b++) v |= (uint32_t)c.p[c.pos + b] << (8 * b);
            c.pos += vbytes;
            if (width < 32 && v >> width) FAIL("rle value wider than its bit width");
            size_t k = n - filled < cnt ? n - filled : (size_t)cnt;
            uint32_t *o = out + filled;
            for (size_t j = 0; j < k; j++) o[j] = v;
            filled += k;
        }
    }
    if (used) *used = c.pos;
    return 0;
}

/* Eight booleans per byte: bit k of byte b goes to out[8 b + k] as 0 or 1. */
int pq_bool_decode(const uint8_t *p, size_t len, size_t n, uint8_t *out, const char **why)
{
    if ((n + 7) / 8 > len) FAIL("truncated boolean values");
    size_t whole = n / 8;
    for (size_t b = 0; b < whole; b++) {
        /* copy the byte to all 8 lanes, keep bit k in lane k, then map nonzero lanes to 1 */
        uint64_t x = (uint64_t)p[b] * UINT64_C(0x0101010101010101) & UINT64_C(0x8040201008040201);
        x = ((x + UINT64_C(0x7f7f7f7f7f7f7f7f)) >> 7) & UINT64_C(0x0101010101010101);
        memcpy(out + 8 * b, &x, 8);
    }
    for (size_t i = whole * 8; i < n; i++) out[i] = (uint8_t)(p[i >> 3] >> (i & 7) & 1);
    return 0;
}

int pq_bss_decode(const uint8_t *p, size_t len, size_t n, size_t width, void *out,
                  const char **why)
{
    if (len / width != n || len % width) FAIL("byte-stream-split size does not match the page");
    uint8_t *o = out;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < width; k++) o[i * width + k] = p[k * n + i];
    return 0;
}
