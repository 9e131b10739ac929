/*
 * bloom.c - the Parquet split-block bloom filter (BloomFilter.md).
 *
 * The bitset is z blocks of 32 bytes (eight little-endian uint32 words).
 * A value's hash is XXH64 of its PLAIN bytes with seed 0; the upper 32 bits
 * pick the block ((h >> 32) * z >> 32) and the lower 32 bits, multiplied by
 * eight fixed odd salts, set one bit in each word (top 5 bits of the
 * product). A value may be present only if all eight bits are set.
 *
 * Sizing: m = -8 ndv / ln(1 - fpp^(1/8)) bits, rounded up to a power of two
 * bytes within [32 B, 128 MiB] (Arrow rejects any other size).
 */
#include <math.h>
#include <string.h>
#include <xxhash.h>

#include "parquet/pq_int.h"

static const uint32_t salt[8] = {0x47b6137bu, 0x44974d91u, 0x8824ad5bu, 0xa2b7289du,
                                 0x705495c7u, 0x2df1424bu, 0x9efc4947u, 0x5c6bfb31u};

size_t pq_bloom_bytes(uint64_t ndv, double fpp)
{
    if (!(fpp > 0.0 && fpp < 1.0)) fpp = 0.01;
    if (ndv == 0) ndv = 1;
    double bits = -8.0 * (double)ndv / log(1.0 - pow(fpp, 1.0 / 8.0));
    double bytes = bits / 8.0;
    size_t n = 32;
    while (n < ((size_t)128 << 20) && (double)n < bytes) n <<= 1;
    return n;
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

int pq_bloom_check(const uint8_t *bits, size_t nbytes, uint64_t h)
{
    uint32_t w[8];
    block_of(bits, nbytes, h, w);
    uint32_t key = (uint32_t)h;
    for (int i = 0; i < 8; i++)
        if (!(w[i] & (1u << ((uint32_t)(key * salt[i]) >> 27)))) return 0;
    return 1;
}
