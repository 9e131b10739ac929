/*
 * decimal.c - exact conversion of the exchange's decimal strings ("p", "q",
 * e.g. "45083.19000000") to double.
 *
 * The result must be the double nearest to the decimal's exact value, the
 * same bits strtod gives, so that a price read from REST equals the same
 * price read from the archive CSV or by pandas. Most inputs take Clinger's
 * fast path: when the significant digits form an integer m <= 2^53 and the
 * decimal exponent e has |e| <= 22, both m and 10^|e| are exactly
 * representable doubles, and IEEE 754 division (or multiplication) of two
 * exact values is correctly rounded - so m / 10^-e is the answer in one
 * rounding. Spot prices and quantities have 8 decimals and rarely more than
 * 15 significant digits, so strtod is almost never needed.
 *
 * The fast path needs double arithmetic without extended precision
 * (FLT_EVAL_METHOD == 0, as on x86-64 SSE2 and AArch64); elsewhere every
 * input goes to strtod. strtod reads '.' as the decimal point only in the C
 * locale: the library never calls setlocale, and a program that does (to a
 * locale with ',' decimals) would make the fallback reject inputs rather
 * than misread them, because we require strtod to consume every character.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "source/source_int.h"

#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
#define FAST_PATH 1
#else
#define FAST_PATH 0
#endif

#define MAX_DECIMAL_LEN 100

static const double pow10_exact[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static int slow(const char *s, size_t n, double *out)
{
    char buf[MAX_DECIMAL_LEN + 1];
    memcpy(buf, s, n);
    buf[n] = 0;
    char *end = NULL;
    double v = strtod(buf, &end);
    if (end != buf + n || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

/* m * 10^exp10 (m < 2^64): Clinger's fast path, else strtod on s[0..n). */
static int finish(uint64_t m, int exp10, const char *s, size_t n, double *out)
{
    if (!FAST_PATH) return slow(s, n, out);
    if (m == 0) {
        *out = 0.0;
        return 0;
    }
    /* Trailing zeros ("0.00200000") only matter when they push m or the
     * exponent out of the fast range; stripping them is exact. */
    while ((m > (UINT64_C(1) << 53) || exp10 < -22) && exp10 < 0 && m % 10 == 0) {
        m /= 10;
        exp10++;
    }
    if (m <= (UINT64_C(1) << 53) && exp10 >= -22 && exp10 <= 22) {
        double v = (double)m;
        *out = exp10 < 0 ? v / pow10_exact[-exp10] : v * pow10_exact[exp10];
        return 0;
    }
    return slow(s, n, out);
}

/* A well-formed decimal s[0..n) of more than 19 digits: the first 19
 * significant ones (leading zeros skipped) go to m, and with more than that
 * the answer is strtod's. */
static int many_digits(const char *s, size_t n, double *out)
{
    uint64_t m = 0;
    int sig = 0, exp10 = 0, in_fraction = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.') {
            in_fraction = 1;
            continue;
        }
        unsigned d = (unsigned)(s[i] - '0');
        if (m == 0 && d == 0) {
            exp10 -= in_fraction; /* a leading zero */
        } else if (sig < 19) {
            m = m * 10 + d;
            sig++;
            exp10 -= in_fraction;
        } else {
            return slow(s, n, out);
        }
    }
    return finish(m, exp10, s, n, out);
}

size_t agt_decimal_prefix(const char *s, size_t n, double *out)
{
    /* Every digit goes into m: leading zeros add nothing, and up to 19
     * digits cannot overflow 64 bits (more take many_digits). */
    uint64_t m = 0;
    size_t i = agt_digit_run(s, n, &m);
    if (i == 0) return 0; /* no integer digits (".5" is not accepted) */
    size_t digits = i, frac = 0;
    if (i < n && s[i] == '.') {
        i++;
        frac = agt_digit_run(s + i, n - i, &m);
        if (frac == 0) return 0; /* "1." */
        i += frac;
        digits += frac;
    }
    if (i > MAX_DECIMAL_LEN) return 0;
    if (FAST_PATH && digits <= 15) { /* the usual case, finish's first answer: m < 2^53 */
        *out = (double)m / pow10_exact[frac];
        return i;
    }
    int r = digits <= 19 ? finish(m, -(int)frac, s, i, out) : many_digits(s, i, out);
    return r == 0 ? i : 0;
}

int agt_decimal_to_double(const char *s, size_t n, double *out)
{
    return n > 0 && agt_decimal_prefix(s, n, out) == n ? 0 : -1;
}

/* ---- runs of digits, eight at a time ----------------------------------------------- */

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && \
    (defined(__GNUC__) || defined(__clang__))
#define ONES UINT64_C(0x0101010101010101)

/* How many of the 8 bytes of w (first byte lowest) are digits before the first that is not. */
static inline unsigned leading_digits(uint64_t w)
{
    uint64_t x = w ^ (0x30 * ONES); /* a digit's byte becomes 0..9 */
    /* per byte, the top bit set iff the byte is 10 or more (x & 0x7f plus 118
     * cannot carry into the next byte; x itself brings bytes of 128 up) */
    uint64_t not_digit = (((x & (0x7f * ONES)) + 0x76 * ONES) | x) & (0x80 * ONES);
    return not_digit ? (unsigned)__builtin_ctzll(not_digit) >> 3 : 8;
}

/* The value of the first k (1..8) bytes of w, all digits, the first the most significant. */
static inline uint64_t digits_value(uint64_t w, unsigned k)
{
    /* the digits to the top (a borrow from a later byte only reaches later
     * bytes, which the shift drops), then pairs, fours and eights combined:
     * no partial sum outgrows its lane */
    w = (w - 0x30 * ONES) << (8 * (8 - k));
    w = (w * 10 + (w >> 8)) & UINT64_C(0x00ff00ff00ff00ff);
    w = (w * 100 + (w >> 16)) & UINT64_C(0x0000ffff0000ffff);
    return (w * 10000 + (w >> 32)) & UINT64_C(0xffffffff);
}

size_t agt_digit_run(const char *s, size_t n, uint64_t *m)
{
    static const uint64_t pow10[9] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};
    size_t i = 0;
    while (n - i >= 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        unsigned k = leading_digits(w);
        if (k) *m = *m * pow10[k] + digits_value(w, k);
        i += k;
        if (k < 8) return i;
    }
    for (; i < n && (unsigned)(s[i] - '0') <= 9; i++) *m = *m * 10 + (unsigned)(s[i] - '0');
    return i;
}
#else
size_t agt_digit_run(const char *s, size_t n, uint64_t *m)
{
    size_t i = 0;
    for (; i < n && (unsigned)(s[i] - '0') <= 9; i++) *m = *m * 10 + (unsigned)(s[i] - '0');
    return i;
}
#endif
