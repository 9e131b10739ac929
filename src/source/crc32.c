/*
 * crc32.c - the CRC-32 of zip members (ISO-HDLC: polynomial 0x04C11DB7,
 * reflected, initial and final value 0xFFFFFFFF), as zlib's crc32() computes
 * it, so a piece-by-piece CRC continues from the last value.
 *
 * Every byte of a day's CSV (~140 MB for a busy day) goes through it, so on
 * x86-64 CPUs with carry-less multiplication it folds 64 bytes at a time
 * with PCLMULQDQ (the method of Intel's white paper "Fast CRC Computation
 * for Generic Polynomials Using PCLMULQDQ Instruction", 2009): four 128-bit
 * lanes are each multiplied by x^(512+32) and x^(512-32) mod P and added to
 * the next 64 bytes, the lanes are folded into one, then 128 bits are
 * reduced to the 32-bit remainder with a Barrett reduction. The constants
 * are those powers of x mod P, bit-reflected, and floor(x^64 / P). Other CPUs,
 * and the pieces shorter than 64 bytes, use a byte-wise table.
 */
#include <pthread.h>

#include "source/archive_int.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#define AGT_CRC_CLMUL 1
#endif

static uint32_t table[256];
static int use_clmul;  /* the CPU has PCLMULQDQ and SSE4.1 */
static int clmul_off;  /* tests: agt_crc32_portable */
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init(void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[n] = c;
    }
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    unsigned a, b, c, d;
    /* CPUID.1:ECX bit 1 PCLMULQDQ, bit 19 SSE4.1 */
    use_clmul = __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 1)) && (c & (1u << 19));
#endif
}

/* c: the running (inverted) value */
static uint32_t bytewise(uint32_t c, const uint8_t *p, size_t n)
{
    while (n--) c = table[(c ^ *p++) & 0xff] ^ (c >> 8);
    return c;
}

#ifdef AGT_CRC_CLMUL
/* n >= 64, a multiple of 16 */
__attribute__((target("pclmul,sse4.1"))) static uint32_t folded(uint32_t c, const uint8_t *p, size_t n)
{
    const __m128i k1k2 = _mm_set_epi64x(0x1c6e41596LL, 0x154442bd4LL);
    const __m128i k3k4 = _mm_set_epi64x(0x0ccaa009eLL, 0x1751997d0LL);
    const __m128i k5 = _mm_set_epi64x(0, 0x163cd6124LL);
    const __m128i poly_mu = _mm_set_epi64x(0x1f7011641LL, 0x1db710641LL);
    const __m128i low32 = _mm_set_epi32(0, 0, 0, -1);
#define LOAD(i) _mm_loadu_si128((const __m128i *)(p + 16 * (i)))
#define FOLD(x, k, next) \
    _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11)), next)
    __m128i x1 = _mm_xor_si128(LOAD(0), _mm_cvtsi32_si128((int)c));
    __m128i x2 = LOAD(1), x3 = LOAD(2), x4 = LOAD(3);
    for (p += 64, n -= 64; n >= 64; p += 64, n -= 64) {
        x1 = FOLD(x1, k1k2, LOAD(0));
        x2 = FOLD(x2, k1k2, LOAD(1));
        x3 = FOLD(x3, k1k2, LOAD(2));
        x4 = FOLD(x4, k1k2, LOAD(3));
    }
    x1 = FOLD(x1, k3k4, x2);
    x1 = FOLD(x1, k3k4, x3);
    x1 = FOLD(x1, k3k4, x4);
    for (; n >= 16; p += 16, n -= 16) x1 = FOLD(x1, k3k4, LOAD(0));
#undef FOLD
#undef LOAD
    /* 128 bits to 64 */
    __m128i x2b = _mm_srli_si128(x1, 8);
    x1 = _mm_xor_si128(_mm_clmulepi64_si128(x1, k3k4, 0x10), x2b);
    /* 96 bits to 64 */
    x2b = _mm_srli_si128(x1, 4);
    x1 = _mm_xor_si128(_mm_clmulepi64_si128(_mm_and_si128(x1, low32), k5, 0x00), x2b);
    /* Barrett reduction to 32 */
    x2b = x1;
    x1 = _mm_clmulepi64_si128(_mm_and_si128(x1, low32), poly_mu, 0x10);
    x1 = _mm_clmulepi64_si128(_mm_and_si128(x1, low32), poly_mu, 0x00);
    x1 = _mm_xor_si128(x1, x2b);
    return (uint32_t)_mm_extract_epi32(x1, 1);
}
#endif

uint32_t agt_crc32(uint32_t crc, const void *data, size_t n)
{
    const uint8_t *p = data;
    uint32_t c = ~crc;
    pthread_once(&init_once, init);
#ifdef AGT_CRC_CLMUL
    if (n >= 64 && use_clmul && !clmul_off) {
        size_t whole = n & ~(size_t)15;
        c = folded(c, p, whole);
        p += whole;
        n -= whole;
    }
#endif
    return ~bytewise(c, p, n);
}

int agt_crc32_portable(int on)
{
    pthread_once(&init_once, init);
    clmul_off = on;
    return !use_clmul || clmul_off;
}
