/*
 * exact.c - exact sums of prices and quantities.
 *
 * The exchange sends prices and quantities as decimal strings with at most
 * 8 fraction digits; the lake stores the nearest doubles. Summing doubles
 * rounds at every step (a month of BTCUSDT is ~10^8 additions), and the
 * rounding depends on the order, so the statistics index could never agree
 * to the last digit with a row-by-row sum or with Python's decimal. Each
 * value is instead recovered as the integer count of 1e-8 its double stands
 * for, and the sums are kept as integers: quantity in units of 1e-8, quote
 * volume (price x quantity) in units of 1e-16. Integer sums are exact and
 * associative, so a file's sum in the index, the sum of a few files and a
 * row-by-row sum over the same rows are the same number.
 *
 * Recovering the decimal. A double x "stands for" the integer c if c * 1e-8
 * rounds to x (round to nearest, ties to even: what strtod and our decimal
 * parser give). That c must exist and be unique, else x is not a value of
 * the grid (or, for x >= ~6.7e7, where doubles are wider apart than 1e-8,
 * two decimals could have given it) and the sums are marked inexact: callers
 * then fall back to doubles, never to a guess.
 *
 *  - 0 <= x < 2^25 (every price and nearly every quantity): c = llround(x *
 *    1e8) checked by (double)c / 1e8 == x. Exact because the true c is
 *    within 1e8 * ulp(x) / 2 <= 0.19 of x * 1e8, whose rounding adds at most
 *    0.25 (x * 1e8 < 2^52), so llround finds it; c < 2^53 converts exactly
 *    and one IEEE division gives the correctly rounded double of c / 1e8
 *    (FLT_EVAL_METHOD 0); and no other integer can round to x, as two would
 *    be within 1e8 * ulp(x) < 1 of each other.
 *  - 2^25 <= x < 2^63 / 1e8 (large quantities of cheap coins): the integers
 *    whose c * 1e-8 rounds to x are those of the interval (x -+ ulp/2) * 1e8,
 *    computed exactly in 128 bits from x = m * 2^e; exactly one is required.
 *  - otherwise (negative, NaN, infinite, >= 2^63 / 1e8): not on the grid.
 *
 * Bounds: a unit count is below 2^63 and a product below 2^126, so a file's
 * sums cannot overflow; adding sums checks for overflow and marks the result
 * inexact rather than wrap.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lake/lake_int.h"

#define E8 100000000.0
#define EXACT_FAST_MAX 33554432.0         /* 2^25: see above */
#define EXACT_MAX 92233720368.54775807    /* 2^63 / 1e8 (rounded down as a double) */

/* Count of integers c with c * 2^t in [lo, hi] (or (lo, hi) if !closed); sets *c to the first. */
static int ints_between(agt_u128 lo, agt_u128 hi, int t, int closed, uint64_t *c)
{
    agt_u128 one = (agt_u128)1 << t, mask = one - 1;
    agt_u128 a = lo >> t, b = hi >> t;   /* floor */
    if ((lo & mask) != 0) a++;           /* ceil(lo / 2^t) */
    else if (!closed) a++;               /* lo itself excluded */
    if ((hi & mask) == 0 && !closed) {   /* hi itself excluded */
        if (b == 0) return 0;
        b--;
    }
    if (a > b) return 0;
    *c = (uint64_t)a;
    return b - a == 0 ? 1 : 2;
}

int agt_exact_units(double x, uint64_t *units)
{
    if (x == 0) { /* also -0.0 */
        *units = 0;
        return 1;
    }
    if (!(x > 0) || !(x < EXACT_MAX)) return 0;
    if (x < EXACT_FAST_MAX) {
        /* llround(y) without the call: y = x * 1e8 < 2^52, so its integer
         * part and what is left (y minus it) are exact */
        double y = x * E8;
        uint64_t whole = (uint64_t)y;
        double c = (double)(whole + (y - (double)whole >= 0.5));
        if (c / E8 != x) return 0;
        *units = (uint64_t)c;
        return 1;
    }
    /*
     * x = m * 2^e with m an integer of 53 bits; the doubles next to x are
     * x -+ 2^e (the one below is x - 2^(e-1) when m = 2^52: a binade starts;
     * x >= 2^25 is never subnormal). c * 1e-8 rounds to x iff c * 1e-8 lies
     * between the midpoints, which (times 2^(2-e)) read
     *     (4m - 2) * 1e8  <=  c * 2^(2-e)  <=  (4m + 2) * 1e8
     * ((4m - 1) * 1e8 below for m = 2^52), ends included iff m is even (a tie
     * rounds to the even neighbour). Here e is in [-27, -16], so 2 - e is at
     * most 29 and (4m + 2) * 1e8 < 2^83: all exact in 128 bits.
     */
    int k;
    double f = frexp(x, &k); /* x = f * 2^k, f in [0.5, 1) */
    uint64_t m = (uint64_t)ldexp(f, 53);
    int e = k - 53, t = 2 - e;
    agt_u128 lo = ((agt_u128)(4 * m - (m == (UINT64_C(1) << 52) ? 1 : 2))) * 100000000u;
    agt_u128 hi = ((agt_u128)(4 * m + 2)) * 100000000u;
    uint64_t c = 0;
    if (ints_between(lo, hi, t, (m & 1) == 0, &c) != 1) return 0;
    *units = c;
    return 1;
}

void agt_exact_init(agt_exact_sum *s)
{
    memset(s, 0, sizeof *s);
    s->exact = 1;
}

/* *acc += v; 0 on overflow (acc unchanged). */
static int add_u128(agt_u128 *acc, agt_u128 v)
{
    agt_u128 r = *acc + v;
    if (r < v) return 0;
    *acc = r;
    return 1;
}

void agt_exact_add_row(agt_exact_sum *s, double price, double qty)
{
    uint64_t p, q;
    if (!s->exact) return;
    if (!agt_exact_units(price, &p) || !agt_exact_units(qty, &q) ||
        !add_u128(&s->qty_e8, q) || !add_u128(&s->quote_e16, (agt_u128)p * q))
        s->exact = 0;
}

void agt_exact_add(agt_exact_sum *s, const agt_exact_sum *v)
{
    if (!s->exact) return;
    if (!v->exact || !add_u128(&s->qty_e8, v->qty_e8) || !add_u128(&s->quote_e16, v->quote_e16))
        s->exact = 0;
}

void agt_exact_get(const agt_exact_sum *s, int *exact, uint64_t *qty_lo, uint64_t *qty_hi,
                   uint64_t *quote_lo, uint64_t *quote_hi)
{
    *exact = s->exact;
    *qty_lo = s->exact ? (uint64_t)s->qty_e8 : 0;
    *qty_hi = s->exact ? (uint64_t)(s->qty_e8 >> 64) : 0;
    *quote_lo = s->exact ? (uint64_t)s->quote_e16 : 0;
    *quote_hi = s->exact ? (uint64_t)(s->quote_e16 >> 64) : 0;
}

void agt_exact_set(agt_exact_sum *s, int exact, uint64_t qty_lo, uint64_t qty_hi,
                   uint64_t quote_lo, uint64_t quote_hi)
{
    s->exact = exact != 0;
    s->qty_e8 = exact ? ((agt_u128)qty_hi << 64) | qty_lo : 0;
    s->quote_e16 = exact ? ((agt_u128)quote_hi << 64) | quote_lo : 0;
}

/* ---- text and ratios ------------------------------------------------------ */

size_t agt_u128_digits(agt_u128 v, char *out)
{
    char d[40];
    size_t k = 0;
    do {
        d[k++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v > 0);
    for (size_t i = 0; i < k; i++) out[i] = d[k - 1 - i];
    out[k] = '\0';
    return k;
}

int agt_u128_parse(const char *s, agt_u128 *out)
{
    agt_u128 v = 0, max = ~(agt_u128)0;
    size_t n = strlen(s);
    if (n == 0 || n > 39 || (n > 1 && s[0] == '0')) return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (max - d) / 10) return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

char *agt_lake_units_decimal(uint64_t lo, uint64_t hi, int scale, char *buf, size_t n)
{
    char d[48];
    size_t k = agt_u128_digits(((agt_u128)hi << 64) | lo, d), o = 0;
    if (scale < 0) scale = 0;
    if (scale > 38) scale = 38;
    size_t sc = (size_t)scale, ip = k > sc ? k - sc : 0; /* integer digits */
    size_t last = k;                                     /* end of the kept digits */
    while (last > ip && d[last - 1] == '0') last--;
    if (!buf || n == 0) return buf;
    if (ip == 0) {
        if (o + 1 < n) buf[o++] = '0';
    } else {
        for (size_t i = 0; i < ip && o + 1 < n; i++) buf[o++] = d[i];
    }
    if (last > ip) {
        if (o + 1 < n) buf[o++] = '.';
        for (size_t i = k; i < sc && o + 1 < n; i++) buf[o++] = '0'; /* leading fraction zeros */
        for (size_t i = ip; i < last && o + 1 < n; i++) buf[o++] = d[i];
    }
    buf[o] = '\0';
    return buf;
}

/*
 * The double nearest to num / (den * 2^-exp2) with ties to even, by long
 * division: 64 significant bits of the quotient and a sticky bit for the
 * rest, rounded once to 53. Needs den < 2^127 (the remainder is doubled).
 */
static double ratio(agt_u128 num, agt_u128 den, int exp2)
{
    if (num == 0) return 0;
    agt_u128 q = num / den, r = num % den;
    uint64_t m;
    int e = 0, sticky;
    if (q >> 64) {
        int b = 64;
        while (q >> b) b++;
        int sh = b - 64;
        m = (uint64_t)(q >> sh);
        sticky = (q & ((((agt_u128)1) << sh) - 1)) != 0 || r != 0;
        e = sh;
    } else {
        m = (uint64_t)q;
        while (!(m >> 63)) {
            r <<= 1;
            m = (m << 1) | (r >= den);
            if (r >= den) r -= den;
            e--;
        }
        sticky = r != 0;
    }
    /* the value is (m + sticky fraction) * 2^e, m in [2^63, 2^64): keep 53 bits */
    uint64_t keep = m >> 11, rest = m & 0x7ff;
    if (rest > 0x400 || (rest == 0x400 && (sticky || (keep & 1)))) keep++;
    return ldexp((double)keep, e + 11 + exp2);
}

double agt_exact_vwap(const agt_exact_sum *s)
{
    /*
     * vwap = (quote_e16 / 1e16) / (qty_e8 / 1e8) = quote_e16 / (qty_e8 * 5^8) * 2^-8:
     * 1e8 = 2^8 * 5^8, and the power of two is applied exactly by the rounding.
     * qty_e8 < 2^108 keeps the divisor below 2^127 (sums of quantity beyond
     * 3e24 units: not a real market, so the double quotient is good enough).
     */
    if (!s->exact || s->qty_e8 == 0) return 0;
    if (s->qty_e8 >> 108) return ((double)s->quote_e16 / 1e16) / ((double)s->qty_e8 / 1e8);
    return ratio(s->quote_e16, s->qty_e8 * 390625u, -8);
}
