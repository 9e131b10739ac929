/*
 * test_lake_exact.c - exact sums of quantity and quote volume.
 *
 * 1. Recovering the 1e-8 count of a double: every decimal with up to 8
 *    fraction digits comes back (prices, small and huge quantities), values
 *    off the grid and ambiguous ones are refused, never guessed.
 * 2. Printing unit counts as decimals and the once-rounded VWAP, against a
 *    long-division reference read by strtod.
 * 3. query_stats over random data and random ranges equals an integer sum
 *    row by row of the units the test generated (not recovered); whole
 *    files are answered from statistics (files_read counts only the edges).
 * 4. Entries written before exact sums (keys stripped) and files holding a
 *    value off the grid are read row by row; verify does not call the old
 *    entries damaged; rebuilding adds the sums back.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "lake/lake_int.h"
#include "test_lake_util.h"

static const char SYM[] = "XRPUSDT";

/* A small deterministic generator (tests must not depend on libc's rand). */
static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t next64(void)
{
    return test_xorshift64(&rng);
}

/* The double the exchange's decimal text for units * 1e-8 parses to (strtod: correctly rounded). */
static double from_units(uint64_t units)
{
    char s[48];
    snprintf(s, sizeof s, "%llu.%08llu", (unsigned long long)(units / 100000000u),
             (unsigned long long)(units % 100000000u));
    return strtod(s, NULL);
}

TEST(units_recovered_or_refused)
{
    uint64_t u;
    /* small values, prices, the fast path's edge */
    for (int i = 0; i < 200000; i++) {
        uint64_t k = next64() % (i & 1 ? UINT64_C(3355443200000000) : UINT64_C(100000000000));
        ASSERT(agt_exact_units(from_units(k), &u));
        ASSERT_EQ_INT(u, k);
    }
    /*
     * large quantities: recovered when only one decimal gives the double,
     * refused when a neighbour gives it too (checked here by strtod). Up to
     * 2^27 coins whole coins are unique (doubles are < 1.5e-8 apart there);
     * beyond, every double stands for several decimals.
     */
    int refused = 0, whole = 0;
    const uint64_t lo = UINT64_C(3355443200000000), mid = UINT64_C(13421772800000000);
    for (int i = 0; i < 200000; i++) {
        uint64_t k = lo + next64() % (i % 2 ? mid - lo : UINT64_C(9000000000000000000));
        if (i % 3 == 0) k -= k % 100000000u; /* whole coins */
        double x = from_units(k);
        if (i % 3 == 0 && k < mid) {
            ASSERT(agt_exact_units(x, &u) && u == k);
            whole++;
        }
        if (agt_exact_units(x, &u)) {
            ASSERT_EQ_INT(u, k);
            for (int d = -3; d <= 3; d++)
                if (d) ASSERT(from_units(k + (uint64_t)(int64_t)d) != x);
        } else {
            int twin = 0;
            for (int d = -3; d <= 3; d++)
                if (d && from_units(k + (uint64_t)(int64_t)d) == x) twin = 1;
            ASSERT(twin);
            refused++;
        }
    }
    ASSERT(refused > 1000 && whole > 1000);
    ASSERT(agt_exact_units(1e8, &u) && u == UINT64_C(10000000000000000));
    ASSERT(!agt_exact_units(1e9, &u)); /* 1e9 +- 5.9e-8: a dozen decimals give this double */
    ASSERT(agt_exact_units(0x1p25, &u) && u == UINT64_C(3355443200000000));
    ASSERT(agt_exact_units(-0.0, &u) && u == 0);
    /* off the grid */
    ASSERT(!agt_exact_units(0.1 + 0.2, &u));
    ASSERT(!agt_exact_units(1e-9, &u));
    ASSERT(!agt_exact_units(1.0 / 3.0, &u));
    ASSERT(!agt_exact_units(-1.0, &u));
    ASSERT(!agt_exact_units(NAN, &u));
    ASSERT(!agt_exact_units(INFINITY, &u));
    ASSERT(!agt_exact_units(1e11, &u)); /* beyond 2^63 units */
}

TEST(decimal_text)
{
    char b[48];
    ASSERT_EQ_STR(agt_lake_units_decimal(0, 0, 8, b, sizeof b), "0");
    ASSERT_EQ_STR(agt_lake_units_decimal(1, 0, 8, b, sizeof b), "0.00000001");
    ASSERT_EQ_STR(agt_lake_units_decimal(93750708000, 0, 8, b, sizeof b), "937.50708");
    ASSERT_EQ_STR(agt_lake_units_decimal(100000000, 0, 8, b, sizeof b), "1");
    ASSERT_EQ_STR(agt_lake_units_decimal(123, 0, 0, b, sizeof b), "123");
    ASSERT_EQ_STR(agt_lake_units_decimal(10, 0, 16, b, sizeof b), "0.000000000000001");
    ASSERT_EQ_STR(agt_lake_units_decimal(UINT64_MAX, UINT64_MAX, 16, b, sizeof b),
                  "34028236692093846346337.4607431768211455");
    ASSERT_EQ_STR(agt_lake_units_decimal(0, 1, 0, b, sizeof b), "18446744073709551616");
    ASSERT_EQ_STR(agt_lake_units_decimal(5, 0, 38, b, sizeof b),
                  "0.00000000000000000000000000000000000005");
    char small[6];
    ASSERT_EQ_STR(agt_lake_units_decimal(93750708000, 0, 8, small, sizeof small), "937.5");
}

/* num / den as a decimal with 90 fraction digits, then strtod: the reference VWAP. */
static double ref_ratio(agt_u128 num, agt_u128 den)
{
    char s[200], d[48];
    size_t k = agt_u128_digits(num / den, d);
    memcpy(s, d, k);
    s[k++] = '.';
    agt_u128 r = num % den;
    for (int i = 0; i < 90; i++) {
        r *= 10;
        s[k++] = (char)('0' + (int)(r / den));
        r %= den;
    }
    s[k] = '\0';
    return strtod(s, NULL);
}

TEST(vwap_rounded_once)
{
    for (int i = 0; i < 20000; i++) {
        agt_exact_sum x;
        agt_exact_init(&x);
        int n = 1 + (int)(next64() % 20);
        /* prices from 1e-8 (tiny coins) to 1e6; quantities 1e-8 .. 1e9 */
        for (int j = 0; j < n; j++) {
            uint64_t p = 1 + next64() % (i % 2 ? UINT64_C(100000000000000) : UINT64_C(1000));
            uint64_t q = 1 + next64() % (i % 3 ? UINT64_C(100000000000) : UINT64_C(100000000000000000));
            x.qty_e8 += q;
            x.quote_e16 += (agt_u128)p * q;
        }
        double want = ref_ratio(x.quote_e16, x.qty_e8 * 100000000u);
        ASSERT_EQ_DBL_BITS(agt_exact_vwap(&x), want);
    }
    agt_exact_sum z;
    agt_exact_init(&z);
    ASSERT(agt_exact_vwap(&z) == 0);
}

/* ---- the lake --------------------------------------------------------------- */

#define DAYS 6
#define HOURS (DAYS * 24)

/* What the test generated: rows of every hour and their integer units. */
typedef struct truth {
    agt_trades rows;
    uint64_t *p, *q;
} truth;

/* A fresh lake at a new `root` with DAYS days of random trades from *day0; *tr what it holds. */
static agt_lake *make_lake(char *root, size_t root_n, truth *tr, int64_t *day0_out)
{
    lt_tmpdir(root, root_n, "lake");
    agt_lake *l = NULL;
    agt_error e;
    if (agt_lake_open(root, AGT_LAKE_WRITE, &l, &e) != AGT_OK) abort();
    int64_t day0 = *day0_out = lt_hour(2024, 2, 27, 0);
    agt_trades_init(&tr->rows);
    size_t cap = HOURS * 400;
    tr->p = malloc(cap * sizeof *tr->p);
    tr->q = malloc(cap * sizeof *tr->q);
    int64_t id = 1000;
    agt_trades hr;
    agt_trades_init(&hr);
    for (int h = 0; h < HOURS; h++) {
        int64_t hour = day0 + h * AGT_US_PER_HOUR;
        if (h % 17 == 5) continue; /* some hours never stored */
        agt_trades_clear(&hr);
        size_t n = h % 23 == 3 ? 0 : 1 + (size_t)(next64() % 399);
        for (size_t i = 0; i < n; i++) {
            /* BTC-like prices, and quantities up to 1.3e8 (cheap coins) now and then */
            uint64_t p = UINT64_C(2000000000000) + next64() % UINT64_C(8000000000000);
            uint64_t q = 1 + next64() % (i % 50 ? UINT64_C(10000000000) : UINT64_C(13000000000000000));
            if (i % 50 == 0) q -= q % 100000000u; /* whole coins: unique doubles */
            int64_t ts = hour + (int64_t)(next64() % (uint64_t)AGT_US_PER_HOUR);
            agt_trades_push(&hr, id, ts, from_units(p), from_units(q), (int)(next64() & 1));
            tr->p[tr->rows.len] = p;
            tr->q[tr->rows.len] = q;
            agt_trades_push(&tr->rows, id, ts, from_units(p), from_units(q), 0);
            id++;
        }
        agt_hour_meta m = {AGT_LAKE_ID_UNKNOWN, 1, "rest", 0};
        if (agt_lake_commit_hour(l, SYM, hour, &hr, &m, NULL, &e) != AGT_OK) abort();
    }
    agt_trades_release(&hr);
    return l;
}

static void drop_lake(agt_lake *l, truth *tr, const char *root)
{
    agt_trades_release(&tr->rows);
    free(tr->p);
    free(tr->q);
    agt_lake_close(l);
    lt_cleanup(root);
}

/* Row-by-row integer sums over [a, b] of the units generated; returns the row count. */
static int64_t truth_sums(const truth *tr, int64_t a, int64_t b, agt_u128 *qty, agt_u128 *quote)
{
    int64_t n = 0;
    *qty = *quote = 0;
    for (size_t i = 0; i < tr->rows.len; i++)
        if (tr->rows.ts_us[i] >= a && tr->rows.ts_us[i] <= b) {
            *qty += tr->q[i];
            *quote += (agt_u128)tr->p[i] * tr->q[i];
            n++;
        }
    return n;
}

/* Files whose [min_ts, max_ts] overlaps [a, b] without lying inside it. */
static int64_t edge_files(agt_lake *l, int64_t a, int64_t b)
{
    int64_t n = 0;
    int64_t d0 = agt_day_floor(a);
    for (int64_t d = d0; d <= b; d += AGT_US_PER_DAY) {
        agt_day_stats ds;
        agt_error e;
        if (agt_stats_load(l, SYM, d, &ds, &e) != AGT_OK) abort();
        for (size_t k = 0; k < ds.n; k++) {
            const agt_file_stats *f = &ds.h[k];
            if (f->rows == 0 || f->max_ts_us < a || f->min_ts_us > b) continue;
            if (f->min_ts_us < a || f->max_ts_us > b) n++;
        }
    }
    return n;
}

static agt_u128 u128_of(uint64_t lo, uint64_t hi) { return ((agt_u128)hi << 64) | lo; }

TEST(query_stats_equals_row_sums)
{
    char root[512];
    truth tr;
    int64_t day0;
    agt_lake *l = make_lake(root, sizeof root, &tr, &day0);
    agt_error e;
    for (int i = 0; i < 300; i++) {
        int64_t a, b;
        if (i == 0) { /* everything: no data file read */
            a = day0;
            b = day0 + DAYS * AGT_US_PER_DAY - 1;
        } else {
            a = day0 - AGT_US_PER_HOUR + (int64_t)(next64() % (uint64_t)((DAYS + 1) * AGT_US_PER_DAY));
            b = a + (int64_t)(next64() % (uint64_t)(i % 4 ? AGT_US_PER_DAY : 2 * AGT_US_PER_HOUR));
            if (i % 5 == 0) a -= a % AGT_US_PER_HOUR, b = b - b % AGT_US_PER_HOUR - 1; /* whole hours */
            if (b < a) b = a;
        }
        agt_range_stats st;
        ASSERT_OK(agt_lake_query_stats(l, SYM, a, b, &st, &e));
        agt_u128 qty, quote;
        int64_t n = truth_sums(&tr, a, b, &qty, &quote);
        ASSERT_EQ_INT(st.count, n);
        ASSERT_EQ_INT(st.sums_exact, 1);
        ASSERT(u128_of(st.qty_e8_lo, st.qty_e8_hi) == qty);
        ASSERT(u128_of(st.quote_e16_lo, st.quote_e16_hi) == quote);
        ASSERT_EQ_INT(st.files_read, edge_files(l, a, b));
        if (i == 0) ASSERT(st.files_read == 0 && st.files_from_stats > 100);
        if (n) {
            double want = ref_ratio(quote, qty * 100000000u);
            ASSERT_EQ_DBL_BITS(st.vwap, want);
            ASSERT(fabs(st.sum_qty - (double)qty / 1e8) <= 1e-9 * st.sum_qty);
        } else {
            ASSERT(st.vwap == 0 && st.qty_e8_lo == 0 && st.quote_e16_lo == 0);
        }
    }
    drop_lake(l, &tr, root);
}

/* Remove the exact keys from a day file, as written before they existed. */
static void strip_exact(const char *root, int64_t day)
{
    char rel[160], path[1024];
    agt_lake cur = {.legacy = 0};
    agt_lake_stats_rel(&cur, SYM, day, rel, sizeof rel);
    snprintf(path, sizeof path, "%s/%s", root, rel);
    FILE *f = fopen(path, "rb");
    if (!f) abort();
    static char in[1 << 20], out[1 << 20];
    size_t n = fread(in, 1, sizeof in - 1, f), o = 0;
    fclose(f);
    in[n] = '\0';
    for (char *p = in; *p;) {
        if (strncmp(p, ",\"qty_e8\":\"", 11) == 0) {
            p = strstr(p, "\"buyer_maker\"") - 1; /* keep its ',' */
            continue;
        }
        out[o++] = *p++;
    }
    f = fopen(path, "wb");
    if (!f || fwrite(out, 1, o, f) != o) abort();
    fclose(f);
}

static int count_problems(void *user, agt_verify_kind kind, const char *path, int64_t hour,
                          const char *message)
{
    (void)kind, (void)path, (void)hour, (void)message;
    ++*(int *)user;
    return 0;
}

TEST(old_entries_and_off_grid_files_read_rows)
{
    char root[512];
    truth tr;
    int64_t day0;
    agt_lake *l = make_lake(root, sizeof root, &tr, &day0);
    agt_error e;
    int64_t all_b = day0 + DAYS * AGT_US_PER_DAY - 1;
    agt_range_stats before, st;
    ASSERT_OK(agt_lake_query_stats(l, SYM, day0, all_b, &before, &e));
    ASSERT(before.files_read == 0 && before.sums_exact == 1);

    /* day 2 as an old writer left it: same answer, its files read */
    strip_exact(root, day0 + AGT_US_PER_DAY);
    agt_day_stats ds;
    ASSERT_OK(agt_stats_load(l, SYM, day0 + AGT_US_PER_DAY, &ds, &e));
    int64_t day_files = 0;
    for (size_t k = 0; k < ds.n; k++) {
        ASSERT_EQ_INT(ds.h[k].sums_exact, 0);
        day_files += ds.h[k].rows > 0;
    }
    ASSERT_OK(agt_lake_query_stats(l, SYM, day0, all_b, &st, &e));
    ASSERT_EQ_INT(st.files_read, day_files);
    ASSERT_EQ_INT(st.sums_exact, 1);
    ASSERT(st.qty_e8_lo == before.qty_e8_lo && st.qty_e8_hi == before.qty_e8_hi &&
           st.quote_e16_lo == before.quote_e16_lo && st.quote_e16_hi == before.quote_e16_hi);
    ASSERT_EQ_DBL_BITS(st.vwap, before.vwap);
    /* not damage for verify; a rebuild adds the sums back */
    int problems = 0;
    ASSERT_OK(agt_lake_verify(l, SYM, day0, all_b, count_problems, &problems, NULL, &e));
    ASSERT_EQ_INT(problems, 0);
    size_t rewritten = 0;
    ASSERT_OK(agt_lake_rebuild_stats(l, SYM, day0, all_b, &rewritten, &e));
    ASSERT_EQ_INT(rewritten, 1);
    ASSERT_OK(agt_lake_query_stats(l, SYM, day0, all_b, &st, &e));
    ASSERT_EQ_INT(st.files_read, 0);

    /* a damaged exact sum is damage */
    ASSERT_OK(agt_stats_load(l, SYM, day0, &ds, &e));
    ds.h[0].qty_e8_lo++;
    ASSERT_OK(agt_stats_write_day(l, SYM, &ds, &e));
    problems = 0;
    ASSERT_OK(agt_lake_verify(l, SYM, day0, all_b, count_problems, &problems, NULL, &e));
    ASSERT_EQ_INT(problems, 1);
    ASSERT_OK(agt_lake_rebuild_stats(l, SYM, day0, all_b, &rewritten, &e));

    /* an hour holding a value off the grid: inexact, read row by row, doubles still right */
    int64_t hour = day0 + DAYS * AGT_US_PER_DAY;
    agt_trades t;
    agt_trades_init(&t);
    agt_trades_push(&t, 1, hour + 5, 100.5, 0.1 + 0.2, 0);
    agt_trades_push(&t, 2, hour + 9, 100.25, 2.0, 1);
    ASSERT_OK(agt_lake_commit_hour(l, SYM, hour, &t, NULL, NULL, &e));
    agt_file_stats fs;
    ASSERT_OK(agt_lake_hour_stats(l, SYM, hour, &fs, &e));
    ASSERT_EQ_INT(fs.sums_exact, 0);
    ASSERT_OK(agt_lake_query_stats(l, SYM, day0, hour + AGT_US_PER_HOUR - 1, &st, &e));
    ASSERT_EQ_INT(st.sums_exact, 0);
    ASSERT_EQ_INT(st.files_read, 1);
    ASSERT(st.qty_e8_lo == 0 && st.quote_e16_hi == 0);
    ASSERT(fabs(st.sum_qty - (before.sum_qty + 2.3)) < 1e-6);
    ASSERT(st.vwap > 0);
    agt_trades_release(&t);
    drop_lake(l, &tr, root);
}

TEST(stats_json_exact_keys)
{
    agt_day_stats d, d2;
    memset(&d, 0, sizeof d);
    d.day_start_us = lt_hour(2024, 2, 29, 0);
    d.n = 1;
    agt_file_stats *f = &d.h[0];
    f->hour_start_us = d.day_start_us;
    f->rows = 1;
    f->min_ts_us = f->max_ts_us = f->hour_start_us;
    f->first_id = f->last_id = 7;
    f->size = 10;
    f->sums_exact = 1;
    f->qty_e8_lo = UINT64_MAX;
    f->qty_e8_hi = 12345;
    f->quote_e16_lo = 1;
    f->quote_e16_hi = UINT64_MAX;
    snprintf(f->source, sizeof f->source, "rest");
    agt_lake_hour_rel(SYM, f->hour_start_us, AGT_LAKE_SPOT_EXT, f->path, sizeof f->path, NULL);
    agt_buf b;
    agt_buf_init(&b, 0);
    ASSERT_OK(agt_stats_format(SYM, &d, &b));
    char sym[32];
    agt_error e;
    ASSERT_OK(agt_stats_parse((const char *)b.data, b.len, &d2, sym, sizeof sym, &e));
    ASSERT(memcmp(&d.h[0], &d2.h[0], sizeof d.h[0]) == 0);
    /* one key without the other, a number, a leading zero, a sign, 2^128: refused */
    const char *bad[] = {"\"quote_e16\":\"", "\"qty_e8\":\"0", "\"qty_e8\":\"-",
                         "\"qty_e8\":\"340282366920938463463374607431768211456"};
    char *txt = malloc(b.len + 64);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *s = (const char *)b.data;
        const char *at = strstr(s, i == 0 ? ",\"quote_e16\"" : "\"qty_e8\":\"");
        ASSERT(at != NULL);
        size_t pre = (size_t)(at - s), n = 0;
        memcpy(txt, s, pre);
        n = pre;
        if (i == 0) { /* drop quote_e16 */
            const char *end = strstr(at, "\"buyer_maker\"") - 1;
            memcpy(txt + n, end, b.len - (size_t)(end - s));
            n += b.len - (size_t)(end - s);
        } else {
            const char *val = at + strlen("\"qty_e8\":\"");
            size_t k = strlen(bad[i]);
            memcpy(txt + n, bad[i], k);
            n += k;
            if (i == 3) val = strchr(val, '"');
            memcpy(txt + n, val, b.len - (size_t)(val - s));
            n += b.len - (size_t)(val - s);
        }
        ASSERT_EQ_INT(agt_stats_parse(txt, n, &d2, sym, sizeof sym, &e), AGT_ECORRUPT);
    }
    free(txt);
    agt_buf_release(&b);
}

TEST_MAIN(TEST_REF(units_recovered_or_refused), TEST_REF(decimal_text), TEST_REF(vwap_rounded_once),
          TEST_REF(query_stats_equals_row_sums), TEST_REF(old_entries_and_off_grid_files_read_rows),
          TEST_REF(stats_json_exact_keys))
