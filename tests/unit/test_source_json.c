/*
 * test_source_json.c - the page parser on genuine exchange responses (the
 * pretty-printed nautilus capture, the compact newton-binance page with its
 * repeated id, the Vaquum 2026 pages), on malformed variants, the error and
 * server-time bodies, and the decimal converter against strtod over
 * millions of random 8-decimal strings plus edge cases; and how fast both
 * are. Samples come from fuzz/corpus/fuzz_source_json/ (copies of
 * /work/shared/realdata, see SOURCES.md there).
 */
#include <time.h>

#include "harness.h"
#include "source/source_int.h"

static const char *corpus_dir(void)
{
    static char dir[1024];
    const char *root = getenv("AGT_SOURCE_DIR");
    snprintf(dir, sizeof dir, "%s/fuzz/corpus/fuzz_source_json", root ? root : ".");
    return dir;
}

static uint8_t *slurp(const char *name, size_t *n)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", corpus_dir(), name);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)len + 1);
    if (b && fread(b, 1, (size_t)len, f) != (size_t)len) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b) b[len] = 0;
    *n = (size_t)len;
    return b;
}

static agt_status parse_str(agt_page *pg, const char *s, agt_error *e)
{
    agt_error_clear(e);
    return agt_page_parse(pg, (const uint8_t *)s, strlen(s), e);
}

/* Parse the corpus file `name` into `pg`; AGT_EIO if it cannot be read. */
static agt_status parse_file(agt_page *pg, const char *name, agt_error *e)
{
    size_t n;
    uint8_t *b = slurp(name, &n);
    if (!b) return agt_err(e, AGT_EIO, "cannot read '%s'", name);
    agt_status s = agt_page_parse(pg, b, n, e);
    free(b);
    return s;
}

static double ref(const char *s)
{
    return strtod(s, NULL);
}

/* ---- genuine pages ------------------------------------------------------- */

TEST(nautilus_pretty_printed)
{
    agt_page pg;
    agt_page_init(&pg);
    agt_error e;
    ASSERT_OK(parse_file(&pg, "real_nautilus_pretty.json", &e));
    ASSERT_EQ_INT(pg.len, 10);
    ASSERT_EQ_INT(pg.rows[0].a, 966492862);
    ASSERT_EQ_INT(pg.rows[0].f, 1111480471);
    ASSERT_EQ_INT(pg.rows[0].l, 1111480471);
    ASSERT_EQ_INT(pg.rows[0].t, INT64_C(1634944096633));
    ASSERT_EQ_INT(pg.rows[0].m, 0);
    ASSERT_EQ_DBL_BITS(pg.rows[0].p, 60759.6);
    ASSERT_EQ_DBL_BITS(pg.rows[0].q, 0.00841);
    ASSERT_EQ_INT(pg.rows[2].m, 1);
    for (size_t i = 1; i < pg.len; i++) ASSERT_EQ_INT(pg.rows[i].a, pg.rows[i - 1].a + 1);
    ASSERT_EQ_INT(pg.rows[9].a, 966492871);
    agt_page_release(&pg);
}

TEST(newton_compact_with_repeated_id)
{
    agt_page pg;
    agt_page_init(&pg);
    agt_error e;
    ASSERT_OK(parse_file(&pg, "real_newton_dup_id.json", &e));
    ASSERT_EQ_INT(pg.len, 500);
    /* the parser reports what was sent; de-duplication is the fetcher's job */
    ASSERT_EQ_INT(pg.rows[0].a, 61290372);
    ASSERT_EQ_INT(pg.rows[1].a, 61290372);
    ASSERT_EQ_INT(pg.rows[0].f, 68947266);
    ASSERT_EQ_INT(pg.rows[1].f, 68947267);
    ASSERT_EQ_DBL_BITS(pg.rows[0].p, 0.076597);
    ASSERT_EQ_DBL_BITS(pg.rows[0].q, 0.026);
    ASSERT_EQ_INT(pg.rows[499].a, 61290870);
    /* trade ids contiguous across the page */
    for (size_t i = 1; i < pg.len; i++) ASSERT_EQ_INT(pg.rows[i].f, pg.rows[i - 1].l + 1);
    agt_page_release(&pg);
}

TEST(vaquum_pages_match_the_archive_csv)
{
    /* page-00 starts at the first row of the archive minute; compare the
     * first rows field by field with the CSV (T there in µs). */
    agt_page pg;
    agt_page_init(&pg);
    agt_error e;
    ASSERT_OK(parse_file(&pg, "real_vaquum_page00.json", &e));
    ASSERT_EQ_INT(pg.len, 1000);
    ASSERT_EQ_INT(pg.rows[0].a, INT64_C(4064947752));
    ASSERT_EQ_INT(pg.rows[0].t, INT64_C(1789525800105));
    ASSERT_EQ_DBL_BITS(pg.rows[0].p, 75940.5);
    ASSERT_EQ_DBL_BITS(pg.rows[0].q, 0.002);
    ASSERT_EQ_INT(pg.rows[999].a, INT64_C(4064948751));
    for (size_t i = 1; i < pg.len; i++) {
        ASSERT_EQ_INT(pg.rows[i].a, pg.rows[i - 1].a + 1);
        ASSERT(pg.rows[i].t >= pg.rows[i - 1].t);
    }
    const char *pages[] = {"real_vaquum_page01.json", "real_vaquum_page02.json",
                           "real_vaquum_locator.json"};
    int64_t first[] = {INT64_C(4064948752), INT64_C(4064949752), INT64_C(4064947752)};
    size_t count[] = {1000, 1000, 1};
    for (int k = 0; k < 3; k++) {
        ASSERT_OK(parse_file(&pg, pages[k], &e));
        ASSERT_EQ_INT(pg.len, count[k]);
        ASSERT_EQ_INT(pg.rows[0].a, first[k]);
    }
    ASSERT_OK(parse_file(&pg, "real_empty.json", &e));
    ASSERT_EQ_INT(pg.len, 0);
    agt_page_release(&pg);
}

/* ---- tolerated and rejected shapes --------------------------------------- */

TEST(tolerated_shapes)
{
    agt_page pg;
    agt_page_init(&pg);
    agt_error e;
    ASSERT_OK(parse_str(&pg, " [ ] ", &e));
    ASSERT_EQ_INT(pg.len, 0);
    ASSERT_OK(parse_str(&pg,
                        "\n[{\"x\":{\"y\":[1,2.5e-3,null,\"s\\u00e9\\\"\",{\"z\":false}]},"
                        "\"T\":1561505770154,\"M\":false,\"m\":false,\"l\":5,\"f\":3,"
                        "\"q\":\"0.00100000\",\"p\":\"12345.6789\",\"a\":7}]\r\n",
                        &e));
    ASSERT_EQ_INT(pg.len, 1);
    ASSERT_EQ_INT(pg.rows[0].a, 7);
    ASSERT_EQ_INT(pg.rows[0].f, 3);
    ASSERT_EQ_INT(pg.rows[0].l, 5);
    ASSERT_EQ_DBL_BITS(pg.rows[0].p, 12345.6789);
    ASSERT_EQ_DBL_BITS(pg.rows[0].q, 0.001);
    /* voided duplicates of 2017 (p = q = 0, f = l = -1), M absent */
    ASSERT_OK(parse_str(&pg,
                        "[{\"a\":1195416,\"p\":\"0\",\"q\":\"0.00000000\",\"f\":-1,\"l\":-1,"
                        "\"T\":1513000000000,\"m\":true}]",
                        &e));
    ASSERT_EQ_INT(pg.rows[0].f, -1);
    ASSERT_EQ_DBL_BITS(pg.rows[0].p, 0.0);
    agt_page_release(&pg);
}

static void expect_bad(int *agt_failed_, const char *body, const char *why)
{
    agt_page pg;
    agt_page_init(&pg);
    agt_error e;
    agt_status s = parse_str(&pg, body, &e);
    size_t len = pg.len;
    agt_page_release(&pg);
    if (s != AGT_EPARSE) FAIL_("accepted %s (status %d)", body, (int)s);
    if (len != 0) FAIL_("rows left after failure");
    if (!strstr(e.message, why)) FAIL_("message \"%s\" lacks \"%s\"", e.message, why);
    if (e.message[0] < 'a' || e.message[0] > 'z') FAIL_("message not lower case: %s", e.message);
}

#define ROW(extra) "{\"a\":1,\"p\":\"1.5\",\"q\":\"2\",\"f\":1,\"l\":1,\"T\":1561505770154,\"m\":true" extra "}"

TEST(rejected_shapes)
{
    expect_bad(agt_failed_, "", "expected '['");
    expect_bad(agt_failed_, "[", "at end of body");
    expect_bad(agt_failed_, "[" ROW(""), "expected ',' or ']'");
    expect_bad(agt_failed_, "[" ROW("") ",]", "expected '{'");
    expect_bad(agt_failed_, "[" ROW("") "]x", "unexpected data after the array");
    expect_bad(agt_failed_, "{\"code\":-1121,\"msg\":\"Invalid symbol.\"}", "expected an array");
    expect_bad(agt_failed_, "[{\"a\":1,\"p\":\"1.5\",\"q\":\"2\",\"f\":1,\"l\":1,\"m\":true}]",
               "has no \"T\"");
    expect_bad(agt_failed_, "[" ROW(",\"a\":2") "]", "duplicate key");
    expect_bad(agt_failed_, "[{\"a\":1,\"p\":1.5,\"q\":\"2\",\"f\":1,\"l\":1,\"T\":1,\"m\":true}]",
               "price must be a string");
    expect_bad(agt_failed_, "[{\"a\":1,\"p\":\"1.5e3\",\"q\":\"2\",\"f\":1,\"l\":1,\"T\":1,\"m\":true}]",
               "price is not a decimal");
    expect_bad(agt_failed_, "[{\"a\":1,\"p\":\"1.5\",\"q\":\"-2\",\"f\":1,\"l\":1,\"T\":1,\"m\":true}]",
               "quantity is not a decimal");
    expect_bad(agt_failed_, "[{\"a\":1,\"p\":\"\",\"q\":\"2\",\"f\":1,\"l\":1,\"T\":1,\"m\":true}]",
               "price is not a decimal");
    expect_bad(agt_failed_, "[{\"a\":1,\"p\":\"1.\",\"q\":\"2\",\"f\":1,\"l\":1,\"T\":1,\"m\":true}]",
               "price is not a decimal");
    expect_bad(agt_failed_, "[{\"a\":1.0,\"p\":\"1\",\"q\":\"2\",\"f\":1,\"l\":1,\"T\":1,\"m\":true}]",
               "not a fraction");
    expect_bad(agt_failed_, "[{\"a\":-1,\"p\":\"1\",\"q\":\"2\",\"f\":1,\"l\":1,\"T\":1,\"m\":true}]",
               "negative trade id");
    expect_bad(agt_failed_,
               "[{\"a\":9223372036854775808,\"p\":\"1\",\"q\":\"2\",\"f\":1,\"l\":1,\"T\":1,\"m\":true}]",
               "out of range");
    expect_bad(agt_failed_, "[{\"a\":01,\"p\":\"1\",\"q\":\"2\",\"f\":1,\"l\":1,\"T\":1,\"m\":true}]",
               "leading zero");
    expect_bad(agt_failed_, "[{\"a\":1,\"p\":\"1\",\"q\":\"2\",\"f\":1,\"l\":1,\"T\":0,\"m\":true}]",
               "timestamp out of range");
    expect_bad(agt_failed_, "[{\"a\":1,\"p\":\"1\",\"q\":\"2\",\"f\":1,\"l\":1,\"T\":1,\"m\":\"true\"}]",
               "expected true or false");
    expect_bad(agt_failed_, "[" ROW(",\"x\":\"a\x01\"") "]", "control character");
    expect_bad(agt_failed_, "[" ROW(",\"x\":\"\\q\"") "]", "bad escape");
    expect_bad(agt_failed_, "[" ROW(",\"x\":\"\\u12G4\"") "]", "bad \\u escape");
    expect_bad(agt_failed_, "[" ROW(",\"x\":tru") "]", "expected true or false");
    expect_bad(agt_failed_, "[" ROW(",\"x\":1.") "]", "bad number");
    expect_bad(agt_failed_, "[" ROW(",\"x\":[1,]") "]", "bad number");
    expect_bad(agt_failed_,
               "[" ROW(",\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]") "]",
               "nesting too deep");
    expect_bad(agt_failed_, "[{}]", "empty trade object");
    expect_bad(agt_failed_, "[" ROW("") " " ROW("") "]", "expected ',' or ']'");
    expect_bad(agt_failed_, "<html><body>403 ERROR</body></html>", "expected '['");
}

TEST(error_body_and_server_time)
{
    int code = 0;
    char msg[64];
    const char *b = "{\"code\":-1121,\"msg\":\"Invalid symbol.\"}";
    ASSERT(agt_api_error_parse((const uint8_t *)b, strlen(b), &code, msg, sizeof msg));
    ASSERT_EQ_INT(code, -1121);
    ASSERT_EQ_STR(msg, "Invalid symbol.");
    b = " {\n \"msg\" : \"Service unavailable from a restricted location \\u0027b\\u0027 \\u00e9\", "
        "\"code\" : 0 , \"extra\": [1, {\"k\": null}] } ";
    ASSERT(agt_api_error_parse((const uint8_t *)b, strlen(b), &code, msg, sizeof msg));
    ASSERT_EQ_INT(code, 0);
    ASSERT_EQ_STR(msg, "Service unavailable from a restricted location 'b' ?");
    b = "{\"code\":-1003,\"msg\":\"Way too much request weight used; IP banned until 1618228675371. "
        "Please use WebSocket Streams for live updates to avoid bans.\"}";
    ASSERT(agt_api_error_parse((const uint8_t *)b, strlen(b), &code, msg, sizeof msg));
    ASSERT_EQ_INT(strlen(msg), sizeof msg - 1); /* truncated, terminated */
    const char *bad[] = {"", "[]", "{}", "{\"msg\":\"x\"}", "{\"code\":1.5}", "{\"code\":-1}x",
                         "<html>", "{\"code\":99999999999}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ASSERT(!agt_api_error_parse((const uint8_t *)bad[i], strlen(bad[i]), &code, msg, sizeof msg));

    int64_t us;
    agt_error e;
    b = "{\"serverTime\":1499827319559}";
    ASSERT_OK(agt_server_time_parse((const uint8_t *)b, strlen(b), &us, &e));
    ASSERT_EQ_INT(us, INT64_C(1499827319559000));
    b = "{ \"serverTime\" : 1499827319559123 }\n";
    ASSERT_OK(agt_server_time_parse((const uint8_t *)b, strlen(b), &us, &e));
    ASSERT_EQ_INT(us, INT64_C(1499827319559123));
    b = "{\"serverTime\":\"1499827319559\"}";
    ASSERT_EQ_INT(agt_server_time_parse((const uint8_t *)b, strlen(b), &us, &e), AGT_EPARSE);
    b = "{\"other\":1}";
    ASSERT_EQ_INT(agt_server_time_parse((const uint8_t *)b, strlen(b), &us, &e), AGT_EPARSE);
    b = "{\"serverTime\":1,}";
    ASSERT_EQ_INT(agt_server_time_parse((const uint8_t *)b, strlen(b), &us, &e), AGT_EPARSE);
}

/* ---- decimals ------------------------------------------------------------ */

static int dec(const char *s, double *d)
{
    return agt_decimal_to_double(s, strlen(s), d);
}

TEST(decimal_edge_cases)
{
    const char *ok[] = {
        "0", "0.0", "00.000", "1", "0.1", "0.2", "0.3", "0.00000001", "45083.19000000",
        "87632.74000000", "0.07659700", "9007199254740991", "9007199254740992", "9007199254740993",
        "9007199254740993.5", "18446744073709551615", "18446744073709551616",
        "1234567890123456789", "12345678901234567890", "99999999999999999999.99999999",
        "0.0000000000000000000001", "0.00000000000000000000001", "0.000000000000000000000012345",
        "1797693134862315700000000000000000000000000000000000000000000000000000000000000000000",
        "0.30000000000000001665", "2.2250738585072011", "1.00000000000000011102230246251565404",
        "123456.78901234", "5e0", "000000000000000000000000000000001.5",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        double d;
        if (!strchr(ok[i], 'e')) {
            ASSERT_EQ_INT(dec(ok[i], &d), 0);
            ASSERT_EQ_DBL_BITS(d, ref(ok[i]));
        } else {
            ASSERT_EQ_INT(dec(ok[i], &d), -1);
        }
    }
    const char *bad[] = {"", ".", ".5", "5.", "-1", "+1", "1e5", "1.2.3", "0x10", " 1", "1 ",
                         "inf", "nan", "1,5", "١"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double d;
        if (dec(bad[i], &d) != -1) FAIL_("accepted \"%s\"", bad[i]);
    }
    /* longer than 100 characters: refused rather than truncated */
    char big[160];
    memset(big, '1', sizeof big - 1);
    big[sizeof big - 1] = 0;
    double d;
    ASSERT_EQ_INT(dec(big, &d), -1);
    /* a value that overflows a double is not finite: refused */
    char huge[101];
    memset(huge, '9', 100);
    huge[100] = 0;
    ASSERT_EQ_INT(dec(huge, &d), 0); /* 10^100 fits a double */
    ASSERT_EQ_DBL_BITS(d, ref(huge));
}

static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint64_t rng(void)
{
    return test_xorshift64(&rng_state);
}

TEST(decimal_equals_strtod_on_millions_of_random_strings)
{
    /* Spot-like "I.FFFFFFFF" with 1-12 integer digits and 8 decimals, plus
     * random lengths on both sides, including > 2^53 mantissas. */
    char s[64];
    long mismatches = 0, n = 0;
    for (int i = 0; i < 3000000; i++) {
        uint64_t r = rng();
        int idig = 1 + (int)(r % 12);
        int fdig = (i % 3 == 0) ? (int)((r >> 8) % 20) : 8;
        int k = 0;
        for (int j = 0; j < idig; j++) s[k++] = (char)('0' + rng() % 10);
        if (fdig > 0) {
            s[k++] = '.';
            for (int j = 0; j < fdig; j++) s[k++] = (char)('0' + rng() % 10);
        }
        s[k] = 0;
        double d;
        if (dec(s, &d) != 0) FAIL_("rejected %s", s);
        double want = ref(s);
        if (memcmp(&d, &want, sizeof d) != 0 && mismatches++ < 5)
            fprintf(stderr, "  mismatch on %s: %.17g vs %.17g\n", s, d, want);
        n++;
    }
    ASSERT_EQ_INT(mismatches, 0);
    ASSERT_EQ_INT(n, 3000000);
}

TEST(digit_runs_equal_the_byte_loop)
{
    /* every byte value around the digits, runs of 0-30 digits at any offset */
    static const char other[] = {'/', ':', '.', ',', '\n', '\0', ' ', '-', 'a', '\x80', '\xb0', '\xb9', '\xff', '\x7f', '\x39' + 0x40};
    char s[64];
    for (int i = 0; i < 1000000; i++) {
        uint64_t r = rng();
        size_t n = (size_t)(r % 40), digits = (size_t)((r >> 8) % 31);
        for (size_t j = 0; j < n; j++)
            s[j] = j < digits || (rng() % 4 == 0) ? (char)('0' + rng() % 10)
                                                : other[rng() % sizeof other];
        uint64_t m0 = r >> 20, m = m0, want = m0;
        size_t k = 0;
        for (; k < n && (unsigned)(s[k] - '0') <= 9; k++) want = want * 10 + (unsigned)(s[k] - '0');
        size_t got = agt_digit_run(s, n, &m);
        if (got != k || m != want) FAIL_("run of %zu digits in %zu bytes: %zu, value %llu vs %llu", k, n,
                                         got, (unsigned long long)m, (unsigned long long)want);
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

TEST(speed)
{
    /* Informational: parse the real 1000-row page repeatedly, and convert
     * 8-decimal strings with our path and with strtod. */
    size_t n;
    uint8_t *b = slurp("real_vaquum_page00.json", &n);
    ASSERT(b != NULL);
    agt_page pg;
    agt_page_init(&pg);
    agt_error e;
    int reps = 300;
    double t0 = now_s();
    for (int i = 0; i < reps; i++) ASSERT_OK(agt_page_parse(&pg, b, n, &e));
    double t1 = now_s();
    fprintf(stderr, "  page parse: %.0f MB/s, %.1f M rows/s\n", (double)n * reps / (t1 - t0) / 1e6,
            1000.0 * reps / (t1 - t0) / 1e6);
    agt_page_release(&pg);
    free(b);

    const char *samples[] = {"75940.50000000", "0.00200000", "0.07659700", "87632.74000000"};
    double sum = 0;
    int iters = 2000000;
    t0 = now_s();
    for (int i = 0; i < iters; i++) {
        double d;
        const char *s = samples[i & 3];
        agt_decimal_to_double(s, strlen(s), &d);
        sum += d;
    }
    t1 = now_s();
    for (int i = 0; i < iters; i++) sum += strtod(samples[i & 3], NULL);
    double t2 = now_s();
    fprintf(stderr, "  decimal: %.1f ns each (strtod %.1f ns)%s\n", (t1 - t0) / iters * 1e9,
            (t2 - t1) / iters * 1e9, sum > 0 ? "" : " ");
    ASSERT(t1 - t0 > 0);
}

TEST_MAIN(TEST_REF(nautilus_pretty_printed), TEST_REF(newton_compact_with_repeated_id),
          TEST_REF(vaquum_pages_match_the_archive_csv), TEST_REF(tolerated_shapes),
          TEST_REF(rejected_shapes), TEST_REF(error_body_and_server_time),
          TEST_REF(decimal_edge_cases), TEST_REF(decimal_equals_strtod_on_millions_of_random_strings),
          TEST_REF(digit_runs_equal_the_byte_loop), TEST_REF(speed))
