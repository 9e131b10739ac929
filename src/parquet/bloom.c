/*
 * bloom.c - the Parquet split-block bloom filter (BloomFilter.md).
 *
 * The bitset is z blocks of 32 bytes (eight little-endian uint32 words).
 * A value's hash is XXH64 of its PLAIN bytes with seed 0; the upper 32 bits
 * pick the block ((h >> 32) * z >> 32) and the lower 32 bits, multiplied by
 * eight fixed odd salts, set one bit in each word (top 5 bits of the
 * product). A value may be present only if all eight bits are set.
 *
 * Sizing (pq_bloom_bytes): the bitset must be a power of two bytes within
 * [32 B, 128 MiB] (Arrow rejects any other size). The ideal size for the
 * requested rate is m = -8 ndv / ln(1 - fpp^(1/8)) bits (the formula of
 * parquet-java and Arrow). Always rounding m UP, as they do, costs up to 2x
 * the ideal size: 1M ids at 1 % need 1.2 MB and got 2 MiB, 2.1 bytes per
 * id, more than the whole trade_id column plus the timestamps. We round to
 * the NEAREST power of two in log space instead (never more than sqrt(2)
 * times too big or too small), and take the smaller one only if its actual
 * rate, computed by pq_bloom_fpp(), stays within PQ_BLOOM_FPP_SLACK times
 * the request (3 % for the default 1 %). Examples at 1 % (exact rates,
 * matching measurements to 0.1 %):
 *
 *     ndv    60,000 (a typical hour) ->  64 KiB, 8.7 bits/id, fpp 2.3 %
 *     ndv   500,000 (a busy hour)    -> 512 KiB, 8.4 bits/id, fpp 2.7 %
 *     ndv 1,000,000 (stress)         ->   1 MiB, 8.4 bits/id, fpp 2.7 %
 *
 * where rounding up gave 128 KiB / 1 MiB / 2 MiB at 0.1 %, ten times better
 * than asked for at twice the size. Trade ids within an hour are
 * consecutive, so the trade_id column itself costs ~0.01 byte per row and
 * the filter is by far its largest part; for consecutive ids the chunk
 * min/max already answer every probe exactly and readers consult min/max
 * before the filter, so the extra bits bought nothing there.
 * A filter is still written (other engines probe it directly).
 *
 * pq_bloom_fpp() is the exact false-positive rate of a split-block filter:
 * values land in z blocks as Poisson(ndv / z); with k values in a block each
 * of its 8 words has a given bit set with probability 1 - (31/32)^k, so
 * fpp = sum_k Poisson(k) (1 - (31/32)^k)^8. It is ~35 % above what the
 * textbook formula predicts (it ignores the uneven block load): the formula's
 * "1 %" size really gives 1.5 %.
 */
#include <math.h>
#include <string.h>
/* XXH64 compiled into this file (libxxhash's header-only mode): hashing 8 bytes per id is then
   a few instructions instead of a library call */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "parquet/pq_int.h"

static const uint32_t salt[8] = {0x47b6137bu, 0x44974d91u, 0x8824ad5bu, 0xa2b7289du,
                                 0x705495c7u, 0x2df1424bu, 0x9efc4947u, 0x5c6bfb31u};

double pq_bloom_fpp(uint64_t ndv, size_t nbytes)
{
    if (nbytes < 32) return 1.0;
    if (ndv == 0) return 0.0;
    double lambda = (double)ndv / (double)(nbytes / 32);
    /* sum the Poisson terms outward from the mode until they vanish */
    double mode = floor(lambda), sum = 0;
    double lp0 = mode * log(lambda > 0 ? lambda : 1) - lambda - lgamma(mode + 1);
    for (int dir = 0; dir < 2; dir++) {
        for (double k = dir ? mode - 1 : mode; k >= 0; k += dir ? -1 : 1) {
            double lp = k * log(lambda > 0 ? lambda : 1) - lambda - lgamma(k + 1);
            double term = exp(lp) * pow(1.0 - pow(31.0 / 32.0, k), 8);
            sum += term;
            if (lp < lp0 - 40) break; /* e^-40 of the peak: negligible */
        }
    }
    return sum < 1.0 ? sum : 1.0;
}

size_t pq_bloom_bytes(uint64_t ndv, double fpp)
{
    if (!(fpp > 0.0 && fpp < 1.0)) fpp = 0.01;
    if (ndv == 0) ndv = 1;
    double bits = -8.0 * (double)ndv / log(1.0 - pow(fpp, 1.0 / 8.0));
    double bytes = bits / 8.0;
    const size_t lo_lim = 32, hi_lim = (size_t)128 << 20;
    if (bytes <= (double)lo_lim) return lo_lim;
    if (bytes >= (double)hi_lim) return hi_lim;
    size_t lo = lo_lim; /* largest power of two <= bytes; 2 lo is the next one up */
    while ((double)(lo * 2) <= bytes) lo <<= 1;
    if ((double)lo == bytes) return lo;
    /* nearest in log space: lo when bytes / lo <= sqrt(2), if its rate is acceptable */
    if (bytes / (double)lo <= 1.4142135623730951 &&
        pq_bloom_fpp(ndv, lo) <= PQ_BLOOM_FPP_SLACK * fpp)
        return lo;
    return lo * 2;
}

uint64_t pq_bloom_hash_i64(int64_t v)
{
    uint8_t b[8];
    memcpy(b, &v, 8); /* little-endian host: these are the PLAIN bytes */
    return XXH64(b, 8, 0);
}

static uint32_t *block_of(const uint8_t *bits, size_t nbytes, uint64_t h, uint32_t w[8])
{
    uint64_t z = nbytes / 32;
    size_t blk = (size_t)(((h >> 32) * z) >> 32);
    memcpy(w, bits + blk * 32, 32);
    return (uint32_t *)(uintptr_t)(bits + blk * 32);
}

void pq_bloom_insert(uint8_t *bits, size_t nbytes, uint64_t h)
{
    uint32_t w[8];
    uint8_t *dst = (uint8_t *)block_of(bits, nbytes, h, w);
    uint32_t key = (uint32_t)h;
    for (int i = 0; i < 8; i++) w[i] |= 1u << ((uint32_t)(key * salt[i]) >> 27);
    memcpy(dst, w, 32);
}

void pq_bloom_insert_ints(uint8_t *bits, size_t nbytes, const void *v, size_t n, size_t width)
{
    const uint8_t *p = v;
    if (width == 8)
        for (size_t i = 0; i < n; i++) pq_bloom_insert(bits, nbytes, XXH64(p + 8 * i, 8, 0));
    else
        for (size_t i = 0; i < n; i++) pq_bloom_insert(bits, nbytes, XXH64(p + width * i, width, 0));
}

int pq_bloom_check(const uint8_t *bits, size_t nbytes, uint64_t h)
{
    uint32_t w[8];
    block_of(bits, nbytes, h, w);
    uint32_t key = (uint32_t)h;
    for (int i = 0; i < 8; i++)
        if (!(w[i] & (1u << ((uint32_t)(key * salt[i]) >> 27)))) return 0;
    return 1;
}
