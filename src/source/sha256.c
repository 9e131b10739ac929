/*
 * sha256.c - SHA-256 as specified in FIPS 180-4 (sections 4.1.2, 4.2.2,
 * 5.1.1, 5.3.3 and 6.2), used to verify archive zips against their
 * published .CHECKSUM. Written from the standard; tested against its
 * example vectors ("", "abc", one million 'a').
 *
 * The message is processed in 512-bit blocks. Each block is expanded into a
 * 64-word schedule W, and eight working variables a..h go through 64 rounds
 * mixing in the constants K (the first 32 bits of the fractional parts of
 * the cube roots of the first 64 primes). Padding appends a 1 bit, zeros,
 * and the message length in bits as a 64-bit big-endian number so that the
 * total is a multiple of 512 bits.
 *
 * On x86-64 CPUs with the SHA extensions (SHA-NI: sha256rnds2, sha256msg1,
 * sha256msg2; Intel SDM vol. 2, "SHA256RNDS2") blocks go through them
 * instead: the same rounds in hardware, about five times the speed of the
 * portable code, which matters because every archive zip (tens of MB for a
 * busy day) is hashed before it is read. The CPU is asked once per hash
 * (cpuid); both paths give the same bits (tests/unit run the vectors
 * through each).
 */
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#define SHA_NI 1
#else
#define SHA_NI 0
#endif

#include "source/archive_int.h"

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

/* Section 5.3.3: the first 32 bits of the fractional parts of the square
 * roots of the first 8 primes. */
static const uint32_t H0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

static inline uint32_t rotr(uint32_t x, unsigned n) { return (x >> n) | (x << (32 - n)); }

/* Section 4.1.2. */
#define CH(x, y, z) (((x) & (y)) ^ (~(x) & (z)))
#define MAJ(x, y, z) (((x) & (y)) ^ ((x) & (z)) ^ ((y) & (z)))
#define BSIG0(x) (rotr(x, 2) ^ rotr(x, 13) ^ rotr(x, 22))
#define BSIG1(x) (rotr(x, 6) ^ rotr(x, 11) ^ rotr(x, 25))
#define SSIG0(x) (rotr(x, 7) ^ rotr(x, 18) ^ ((x) >> 3))
#define SSIG1(x) (rotr(x, 17) ^ rotr(x, 19) ^ ((x) >> 10))

/* Section 6.2.2: one 64-byte block into the hash state. */
static void compress(uint32_t h[8], const uint8_t *p)
{
    uint32_t w[64];
    for (int t = 0; t < 16; t++)
        w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 |
               (uint32_t)p[4 * t + 2] << 8 | (uint32_t)p[4 * t + 3];
    for (int t = 16; t < 64; t++)
        w[t] = SSIG1(w[t - 2]) + w[t - 7] + SSIG0(w[t - 15]) + w[t - 16];

    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (int t = 0; t < 64; t++) {
        uint32_t t1 = k + BSIG1(e) + CH(e, f, g) + K[t] + w[t];
        uint32_t t2 = BSIG0(a) + MAJ(a, b, c);
        k = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += k;
}

#if SHA_NI
/*
 * The SHA-NI form of compress() over `blocks` 64-byte blocks. The
 * instructions keep the state as two vectors, ABEF and CDGH (a in the top
 * lane), and do two rounds per sha256rnds2 with W[t] + K[t] given in the
 * low 64 bits; four rounds take one vector of the schedule. Schedule words
 * 16..63: sha256msg1 adds SSIG0 of the next four words to the four before
 * them, adding W[t-7] (an alignr of the two latest vectors) and sha256msg2
 * (SSIG1 of the words two back) complete them.
 */
/* Rounds 4g .. 4g+3 with the schedule vector `w` (words 4g .. 4g+3). */
#define NI_ROUNDS(g, w)                                                                 \
    wk = _mm_add_epi32(w, _mm_loadu_si128((const __m128i *)&K[4 * (g)]));             \
    cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);                                       \
    abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk, 0x0E))
/* w = the next four words from the four before (w, started by sha256msg1),
 * the latest four (cur) and the four before those (prev). */
#define NI_NEXT(w, cur, prev) \
    w = _mm_sha256msg2_epu32(_mm_add_epi32(w, _mm_alignr_epi8(cur, prev, 4)), cur)
#define NI_LOAD(i) _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * (i))), swap)

__attribute__((target("sha,sse4.1"))) static void compress_ni(uint32_t h[8], const uint8_t *p,
                                                              size_t blocks)
{
    const __m128i swap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    __m128i dcba = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[0]), 0xB1); /* CDAB */
    __m128i efgh = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[4]), 0x1B);
    __m128i abef = _mm_alignr_epi8(dcba, efgh, 8);
    __m128i cdgh = _mm_blend_epi16(efgh, dcba, 0xF0);
    for (; blocks; blocks--, p += 64) {
        __m128i abef0 = abef, cdgh0 = cdgh, wk;
        __m128i w0 = NI_LOAD(0), w1 = NI_LOAD(1), w2 = NI_LOAD(2), w3 = NI_LOAD(3);
        NI_ROUNDS(0, w0);
        NI_ROUNDS(1, w1);
        w0 = _mm_sha256msg1_epu32(w0, w1);
        NI_ROUNDS(2, w2);
        w1 = _mm_sha256msg1_epu32(w1, w2);
        /* groups 3..14: each completes the next vector and starts the one after */
        NI_ROUNDS(3, w3);  NI_NEXT(w0, w3, w2); w2 = _mm_sha256msg1_epu32(w2, w3);
        NI_ROUNDS(4, w0);  NI_NEXT(w1, w0, w3); w3 = _mm_sha256msg1_epu32(w3, w0);
        NI_ROUNDS(5, w1);  NI_NEXT(w2, w1, w0); w0 = _mm_sha256msg1_epu32(w0, w1);
        NI_ROUNDS(6, w2);  NI_NEXT(w3, w2, w1); w1 = _mm_sha256msg1_epu32(w1, w2);
        NI_ROUNDS(7, w3);  NI_NEXT(w0, w3, w2); w2 = _mm_sha256msg1_epu32(w2, w3);
        NI_ROUNDS(8, w0);  NI_NEXT(w1, w0, w3); w3 = _mm_sha256msg1_epu32(w3, w0);
        NI_ROUNDS(9, w1);  NI_NEXT(w2, w1, w0); w0 = _mm_sha256msg1_epu32(w0, w1);
        NI_ROUNDS(10, w2); NI_NEXT(w3, w2, w1); w1 = _mm_sha256msg1_epu32(w1, w2);
        NI_ROUNDS(11, w3); NI_NEXT(w0, w3, w2); w2 = _mm_sha256msg1_epu32(w2, w3);
        NI_ROUNDS(12, w0); NI_NEXT(w1, w0, w3); w3 = _mm_sha256msg1_epu32(w3, w0);
        NI_ROUNDS(13, w1); NI_NEXT(w2, w1, w0);
        NI_ROUNDS(14, w2); NI_NEXT(w3, w2, w1);
        NI_ROUNDS(15, w3);
        abef = _mm_add_epi32(abef, abef0);
        cdgh = _mm_add_epi32(cdgh, cdgh0);
    }
    __m128i feba = _mm_shuffle_epi32(abef, 0x1B);
    __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
    _mm_storeu_si128((__m128i *)&h[0], _mm_blend_epi16(feba, dchg, 0xF0));
    _mm_storeu_si128((__m128i *)&h[4], _mm_alignr_epi8(dchg, feba, 8));
}

static int portable_only; /* tests: agt_sha256_portable */

/* cpuid: SHA (leaf 7 ebx bit 29), SSE4.1 and SSSE3 (leaf 1 ecx bits 19, 9). */
static int cpu_has_sha_ni(void)
{
    unsigned a, b, c, d;
    if (portable_only || !__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 19)) || !(c & (1u << 9)))
        return 0;
    return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 29));
}
#endif

int agt_sha256_portable(int on)
{
#if SHA_NI
    portable_only = on;
    return !cpu_has_sha_ni();
#else
    (void)on;
    return 1;
#endif
}

/* `blocks` whole blocks at p into the state. */
static void compress_blocks(agt_sha256_ctx *s, const uint8_t *p, size_t blocks)
{
#if SHA_NI
    if (s->ni) {
        compress_ni(s->h, p, blocks);
        return;
    }
#endif
    for (; blocks; blocks--, p += 64) compress(s->h, p);
}

void agt_sha256_init(agt_sha256_ctx *s)
{
#if SHA_NI
    s->ni = cpu_has_sha_ni();
#else
    s->ni = 0;
#endif
    memcpy(s->h, H0, sizeof H0);
    s->total = 0;
    s->fill = 0;
}

void agt_sha256_update(agt_sha256_ctx *s, const void *data, size_t n)
{
    const uint8_t *p = data;
    s->total += n;
    if (s->fill) {
        size_t take = 64 - s->fill < n ? 64 - s->fill : n;
        memcpy(s->block + s->fill, p, take);
        s->fill += take;
        p += take;
        n -= take;
        if (s->fill < 64) return;
        compress_blocks(s, s->block, 1);
        s->fill = 0;
    }
    compress_blocks(s, p, n / 64);
    p += n / 64 * 64;
    n %= 64;
    if (n) {
        memcpy(s->block, p, n);
        s->fill = n;
    }
}

/* Section 5.1.1 padding, then the digest big-endian. */
void agt_sha256_final(agt_sha256_ctx *s, uint8_t digest[32])
{
    uint64_t bits = s->total * 8;
    s->block[s->fill++] = 0x80;
    if (s->fill > 56) {
        memset(s->block + s->fill, 0, 64 - s->fill);
        compress_blocks(s, s->block, 1);
        s->fill = 0;
    }
    memset(s->block + s->fill, 0, 56 - s->fill);
    for (int i = 0; i < 8; i++) s->block[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
    compress_blocks(s, s->block, 1);
    for (int i = 0; i < 8; i++) {
        digest[4 * i] = (uint8_t)(s->h[i] >> 24);
        digest[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
        digest[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
        digest[4 * i + 3] = (uint8_t)s->h[i];
    }
    memset(s, 0, sizeof *s);
}

void agt_sha256(const void *data, size_t n, uint8_t digest[32])
{
    agt_sha256_ctx s;
    agt_sha256_init(&s);
    agt_sha256_update(&s, data, n);
    agt_sha256_final(&s, digest);
}

void agt_sha256_hex(const uint8_t digest[32], char hex[65])
{
    static const char xd[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = xd[digest[i] >> 4];
        hex[2 * i + 1] = xd[digest[i] & 15];
    }
    hex[64] = 0;
}
