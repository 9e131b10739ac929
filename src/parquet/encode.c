/*
 * encode.c - value encoders used by the writer. Each writes into a buffer
 * the caller sized with the matching *_bound function, so the hot loops
 * never check for room and never allocate.
 *
 * DELTA_BINARY_PACKED: header <block 128><4 miniblocks><count><zigzag first>,
 * then per block of 128 deltas: zigzag min delta, 4 width bytes, and 4
 * miniblocks of 32 (delta - min) values bit-packed LSB first. Deltas wrap
 * (uint64 for INT64, uint32 for INT32 so widths never exceed 32).
 *
 * RLE/bit-packed hybrid: at each group-of-8 boundary, a run of >= 8 equal
 * values becomes an RLE run; otherwise the group joins a bit-packed run
 * (at most 63 groups, so its header is one byte).
 */
#include <string.h>

#include "parquet/pq_int.h"

int pq_bit_width(uint64_t max)
{
    int w = 0;
    while (max) {
        w++;
        max >>= 1;
    }
    return w;
}

static size_t uvar(uint8_t *o, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        o[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    o[n++] = (uint8_t)v;
    return n;
}

static uint64_t zz(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

/* Bit-pack `n` values (n * w a multiple of 8) at width w (0..64), LSB first. */
static uint8_t *pack(const uint64_t *v, size_t n, int w, uint8_t *o)
{
    if (w == 0) return o;
    uint64_t acc = 0;
    int nb = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t x = v[i];
        acc |= x << nb;
        int total = nb + w;
        if (total >= 64) {
            memcpy(o, &acc, 8);
            o += 8;
            total -= 64;
            acc = nb ? x >> (64 - nb) : 0;
        } else {
            while (total >= 8) {
                *o++ = (uint8_t)acc;
                acc >>= 8;
                total -= 8;
            }
        }
        nb = total;
    }
    if (nb) *o++ = (uint8_t)acc;
    return o;
}

size_t pq_delta_bound(size_t n)
{
    return 48 + (n / 128 + 1) * (10 + 4 + 128 * 8);
}

/* One block: d[0..m) are wrapped deltas, `mask` keeps 32 or 64 bits. */
static uint8_t *delta_block(uint64_t *d, size_t m, uint64_t mask, uint8_t *o)
{
    int64_t mind;
    if (mask == UINT64_MAX) {
        mind = (int64_t)d[0];
        for (size_t j = 1; j < m; j++)
            if ((int64_t)d[j] < mind) mind = (int64_t)d[j];
    } else {
        int32_t m32 = (int32_t)(uint32_t)d[0];
        for (size_t j = 1; j < m; j++)
            if ((int32_t)(uint32_t)d[j] < m32) m32 = (int32_t)(uint32_t)d[j];
        mind = m32;
    }
    o += uvar(o, zz(mind));
    uint8_t *wb = o;
    o += 4;
    for (size_t j = 0; j < m; j++) d[j] = (d[j] - (uint64_t)mind) & mask;
    for (size_t j = m; j < 128; j++) d[j] = 0;
    for (int mb = 0; mb < 4; mb++) {
        size_t s = (size_t)mb * 32;
        if (s >= m) {
            wb[mb] = 0;
            continue;
        }
        uint64_t all = 0;
        for (size_t j = s; j < s + 32; j++) all |= d[j];
        int w = pq_bit_width(all);
        wb[mb] = (uint8_t)w;
        o = pack(d + s, 32, w, o);
    }
    return o;
}

static size_t delta_header(size_t n, int64_t first, uint8_t *out)
{
    size_t k = uvar(out, 128);
    k += uvar(out + k, 4);
    k += uvar(out + k, n);
    k += uvar(out + k, zz(first));
    return k;
}

size_t pq_delta_encode(const int64_t *v, size_t n, uint8_t *out)
{
    uint8_t *o = out + delta_header(n, n ? v[0] : 0, out);
    uint64_t d[128];
    for (size_t i = 1; i < n; i += 128) {
        size_t m = n - i < 128 ? n - i : 128;
        for (size_t j = 0; j < m; j++) d[j] = (uint64_t)v[i + j] - (uint64_t)v[i + j - 1];
        o = delta_block(d, m, UINT64_MAX, o);
    }
    return (size_t)(o - out);
}

size_t pq_delta_encode32(const int32_t *v, size_t n, uint8_t *out)
{
    uint8_t *o = out + delta_header(n, n ? v[0] : 0, out);
    uint64_t d[128];
    for (size_t i = 1; i < n; i += 128) {
        size_t m = n - i < 128 ? n - i : 128;
        for (size_t j = 0; j < m; j++)
            d[j] = (uint32_t)((uint32_t)v[i + j] - (uint32_t)v[i + j - 1]);
        o = delta_block(d, m, UINT32_MAX, o);
    }
    return (size_t)(o - out);
}

/* ---- RLE / bit-packed hybrid ------------------------------------------ */

size_t pq_rle_bound(size_t n, int width)
{
    return (n / 8 + 2) * (size_t)(10 + width) + 16;
}

static uint8_t *flush_packed(const uint32_t *v, size_t n, size_t avail, int width, uint8_t *o)
{
    /* n values starting at v, of which `avail` are real (the rest pad with 0) */
    size_t groups = (n + 7) / 8;
    o += uvar(o, groups << 1 | 1);
    uint64_t tmp[8];
    for (size_t g = 0; g < groups; g++) {
        for (size_t k = 0; k < 8; k++) {
            size_t i = g * 8 + k;
            tmp[k] = i < avail ? v[i] : 0;
        }
        o = pack(tmp, 8, width, o);
    }
    return o;
}

size_t pq_rle_encode(const uint32_t *v, size_t n, int width, uint8_t *out)
{
    uint8_t *o = out;
    size_t ps = 0, i = 0; /* pending bit-packed values are [ps, i) */
    size_t vbytes = ((size_t)width + 7) / 8;
    while (i < n) {
        size_t r = 1;
        while (i + r < n && v[i + r] == v[i]) r++;
        if (r >= 8) {
            if (i > ps) o = flush_packed(v + ps, i - ps, i - ps, width, o);
            o += uvar(o, (uint64_t)r << 1);
            uint32_t x = v[i];
            for (size_t b = 0; b < vbytes; b++) *o++ = (uint8_t)(x >> (8 * b));
            i += r;
            ps = i;
            continue;
        }
        i = i + 8 < n ? i + 8 : n;
        if (i - ps >= 63 * 8 || i == n) {
            o = flush_packed(v + ps, i - ps, i - ps, width, o);
            ps = i;
        }
    }
    return (size_t)(o - out);
}

size_t pq_bool_encode(const uint8_t *v, size_t n, uint8_t *out)
{
    size_t nb = (n + 7) / 8;
    memset(out, 0, nb);
    for (size_t i = 0; i < n; i++) out[i >> 3] |= (uint8_t)((v[i] & 1) << (i & 7));
    return nb;
}

void pq_bss_encode(const void *v, size_t n, size_t width, uint8_t *out)
{
    const uint8_t *b = v;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < width; k++) out[k * n + i] = b[i * width + k];
}
