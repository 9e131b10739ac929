/*
 * decode.c - value decoders used by the reader. Each takes the exact byte
 * range of its input and the number of values wanted, checks every header
 * field (block sizes, bit widths, run lengths) and every byte count before
 * touching memory, and reports problems as a short static message.
 *
 * Bits are fetched with getbits(): an unaligned 8-byte load when at least 16
 * bytes remain, a byte-at-a-time path near the end of the input.
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
            for (size_t j = 0; j < need; j++) {
                uint64_t d = w ? getbits(mp, mlen, j * (size_t)w, w) : 0;
                last = (last + mind + d) & mask;
                if (o64) o64[i + j] = (int64_t)last;
                else o32[i + j] = (int32_t)(uint32_t)last;
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
            size_t qlen = full < have ? full : have;
            if (width == 0)
                memset(out + filled, 0, need * sizeof *out);
            else
                for (size_t j = 0; j < need; j++)
                    out[filled + j] = (uint32_t)getbits(q, qlen, j * (size_t)width, width);
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
            for (size_t j = 0; j < k; j++) out[filled + j] = v;
            filled += k;
        }
    }
    if (used) *used = c.pos;
    return 0;
}

int pq_bool_decode(const uint8_t *p, size_t len, size_t n, uint8_t *out, const char **why)
{
    if ((n + 7) / 8 > len) FAIL("truncated boolean values");
    for (size_t i = 0; i < n; i++) out[i] = (uint8_t)(p[i >> 3] >> (i & 7) & 1);
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
