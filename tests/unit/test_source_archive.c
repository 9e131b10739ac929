/*
 * test_source_archive.c - the archive source: SHA-256 against the FIPS 180-4
 * vectors, .CHECKSUM files (genuine ones, with and without the newline), the
 * CSV parser on the genuine 2026-01-01 BTCUSDT rows and on malformed rows, ms
 * versus µs days, a zip built here with libzip read back, and
 * agt_archive_fetch_day over a fake transport (ok, 404, checksum mismatch,
 * a file replaced between the two requests).
 */
#include <errno.h>
#include <stdlib.h>

#if defined(__has_include)
#if __has_include(<zip.h>)
#include <zip.h>
#define HAVE_ZIP 1
#endif
#endif

#include "harness.h"
#include "source/archive_int.h"
#include "source/source_int.h"
#include "trades_util.h"

#define DAY_2026_01_01 INT64_C(1767225600000000)
#define DAY_2021_12_14 INT64_C(1639440000000000)
#define DAY_2024_04_29 INT64_C(1714348800000000)

/* Read a whole file; NULL if missing. */
static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, len = 0;
    char *p = malloc(cap);
    for (;;) {
        if (len + 4096 > cap) p = realloc(p, cap *= 2);
        size_t k = fread(p + len, 1, cap - len - 1, f);
        if (k == 0) break;
        len += k;
    }
    fclose(f);
    p[len] = 0;
    *n = len;
    return p;
}

static char *realdata(const char *rel, size_t *n)
{
    const char *root = getenv("AGT_REALDATA");
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root ? root : "/work/shared/realdata", rel);
    return slurp(path, n);
}

static void hex_of(const void *p, size_t n, char out[65])
{
    uint8_t d[32];
    agt_sha256(p, n, d);
    agt_sha256_hex(d, out);
}

/* ---- sha256 ---------------------------------------------------------------- */

/* The FIPS 180-4 vectors, whole and in uneven pieces, and the lengths
 * around the padding boundaries, through whichever code the contexts use. */
static void sha256_vectors_now(int *agt_failed_)
{
    char h[65];
    hex_of("", 0, h);
    ASSERT_EQ_STR(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    hex_of("abc", 3, h);
    ASSERT_EQ_STR(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    hex_of(two, strlen(two), h);
    ASSERT_EQ_STR(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    char *m = malloc(1000000);
    memset(m, 'a', 1000000);
    hex_of(m, 1000000, h);
    ASSERT_EQ_STR(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    /* the same million fed in uneven pieces */
    agt_sha256_ctx s;
    agt_sha256_init(&s);
    size_t off = 0, step = 1;
    while (off < 1000000) {
        size_t k = step < 1000000 - off ? step : 1000000 - off;
        agt_sha256_update(&s, m + off, k);
        off += k;
        step = step * 7 % 131 + 1;
    }
    uint8_t d[32];
    agt_sha256_final(&s, d);
    agt_sha256_hex(d, h);
    free(m);
    ASSERT_EQ_STR(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    /* lengths around the 55/56/64-byte padding boundaries: pieces == one shot */
    char buf[130];
    memset(buf, 'x', sizeof buf);
    for (size_t n = 50; n < 130; n++) {
        uint8_t a[32], b[32];
        agt_sha256(buf, n, a);
        agt_sha256_init(&s);
        agt_sha256_update(&s, buf, n / 3);
        agt_sha256_update(&s, buf + n / 3, n - n / 3);
        agt_sha256_final(&s, b);
        ASSERT(memcmp(a, b, 32) == 0);
    }
    /* 64 'x': one full block plus a padding block (sha256sum of 64 'x') */
    hex_of(buf, 64, h);
    ASSERT_EQ_STR(h, "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c");
}

TEST(sha256_vectors)
{
    /* the CPU's SHA instructions when it has them, then the portable code */
    int portable = agt_sha256_portable(0);
    fprintf(stderr, "  (this CPU: %s)\n", portable ? "portable code only" : "SHA instructions");
    sha256_vectors_now(agt_failed_);
    ASSERT_EQ_INT(agt_sha256_portable(1), 1);
    sha256_vectors_now(agt_failed_);
    agt_sha256_portable(0);
}

TEST(sha256_paths_agree)
{
    /* every length 0..300 and offsets into a pseudo-random buffer: both codes give the same bits */
    uint8_t buf[1024];
    uint64_t x = 12345;
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)test_xorshift64(&x);
    for (size_t n = 0; n <= 300; n++) {
        uint8_t a[32], b[32];
        agt_sha256_portable(0);
        agt_sha256(buf + n % 7, n * 3, a);
        agt_sha256_portable(1);
        agt_sha256(buf + n % 7, n * 3, b);
        agt_sha256_portable(0);
        ASSERT(memcmp(a, b, 32) == 0);
    }
}

/* ---- .CHECKSUM ------------------------------------------------------------- */

TEST(checksum_genuine_no_newline)
{
    size_t n;
    char *s = realdata("Vaquum_Origo/spot/daily/aggtrades/BTCUSDT/"
                       "BTCUSDT-aggTrades-2024-04-20.zip.CHECKSUM", &n);
    if (!s) {
        fprintf(stderr, "  (realdata missing, skipped)\n");
        return;
    }
    ASSERT_EQ_INT(n, 98);
    uint8_t d[32];
    agt_error e;
    agt_error_clear(&e);
    ASSERT_OK(agt_checksum_parse((uint8_t *)s, n, "BTCUSDT-aggTrades-2024-04-20.zip", d, &e));
    char h[65];
    agt_sha256_hex(d, h);
    free(s);
    ASSERT_EQ_STR(h, "08bfbf749848b1e0cf33287817b795bfae2a218f85aa4262821e3eb28e861232");
}

TEST(checksum_genuine_with_newline)
{
    size_t n;
    char *s = realdata("YungeG_quant-backtest_metadata_only/"
                       "BTCUSDT-aggTrades-2020-01-01.zip.CHECKSUM", &n);
    if (!s) return;
    ASSERT_EQ_INT(n, 99);
    ASSERT_EQ_INT(s[98], '\n');
    uint8_t d[32];
    agt_error e;
    ASSERT_OK(agt_checksum_parse((uint8_t *)s, n, "BTCUSDT-aggTrades-2020-01-01.zip", d, &e));
    char h[65];
    agt_sha256_hex(d, h);
    ASSERT(memcmp(h, s, 64) == 0);
    free(s);
}

TEST(checksum_malformed)
{
    const char *name = "X-aggTrades-2024-01-01.zip";
    char ok[160];
    snprintf(ok, sizeof ok, "%064d  %s", 0, name);
    uint8_t d[32];
    agt_error e;
    agt_error_clear(&e);
    ASSERT_OK(agt_checksum_parse((uint8_t *)ok, strlen(ok), name, d, &e));
    char crlf[170];
    snprintf(crlf, sizeof crlf, "%s\r\n", ok);
    ASSERT_OK(agt_checksum_parse((uint8_t *)crlf, strlen(crlf), name, d, &e));
    char upper[160];
    snprintf(upper, sizeof upper, "%s  %s", "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789", name);
    ASSERT_OK(agt_checksum_parse((uint8_t *)upper, strlen(upper), name, d, &e));
    ASSERT_EQ_INT(d[0], 0xab);
    /* wrong name, one space, bad hex, short, two newlines, empty */
    ASSERT_EQ_INT(agt_checksum_parse((uint8_t *)ok, strlen(ok), "Y-aggTrades-2024-01-01.zip", d, &e),
                  AGT_EPARSE);
    ASSERT(strstr(e.message, "expected 'Y-aggTrades") != NULL);
    char one[160];
    snprintf(one, sizeof one, "%064d %s", 0, name);
    ASSERT_EQ_INT(agt_checksum_parse((uint8_t *)one, strlen(one), name, d, &e), AGT_EPARSE);
    char badhex[160];
    snprintf(badhex, sizeof badhex, "%063dg  %s", 0, name);
    ASSERT_EQ_INT(agt_checksum_parse((uint8_t *)badhex, strlen(badhex), name, d, &e), AGT_EPARSE);
    ASSERT(strstr(e.message, "byte 64") != NULL);
    ASSERT_EQ_INT(agt_checksum_parse((uint8_t *)ok, 60, name, d, &e), AGT_EPARSE);
    char two[170];
    snprintf(two, sizeof two, "%s\n\n", ok);
    ASSERT_EQ_INT(agt_checksum_parse((uint8_t *)two, strlen(two), name, d, &e), AGT_EPARSE);
    ASSERT_EQ_INT(agt_checksum_parse((uint8_t *)"", 0, name, d, &e), AGT_EPARSE);
    const char *html = "<html><body>404 Not Found</body></html>";
    ASSERT_EQ_INT(agt_checksum_parse((uint8_t *)html, strlen(html), name, d, &e), AGT_EPARSE);
}

/* ---- CSV ------------------------------------------------------------------ */

TEST(csv_genuine_2026_01_01)
{
    size_t n;
    char *s = realdata("BTCUSDT-aggTrades-2026-01-01.csv", &n);
    if (!s) return;
    agt_trades t;
    agt_trades_init(&t);
    agt_error e;
    agt_error_clear(&e);
    ASSERT_OK(agt_archive_parse_csv(s, n, DAY_2026_01_01, AGT_MARKET_SPOT, &t, &e));
    ASSERT_EQ_INT(t.len, 5000);
    ASSERT_EQ_INT(t.trade_id[0], INT64_C(3800397495));
    ASSERT_EQ_INT(t.trade_id[4999], INT64_C(3800402494));
    ASSERT_EQ_INT(t.ts_us[0], INT64_C(1767225600039409));
    ASSERT_EQ_INT(t.ts_us[4999], INT64_C(1767226339347397));
    ASSERT_EQ_DBL_BITS(t.price[0], strtod("87648.21000000", NULL));
    ASSERT_EQ_DBL_BITS(t.quantity[0], strtod("0.08185000", NULL));
    ASSERT_EQ_INT(t.is_buyer_maker[0], 1);
    ASSERT_EQ_INT(t.is_buyer_maker[1], 0);
    ASSERT(agt_trades_is_sorted(&t));
    /* every field equals strtod of the text, row by row */
    const char *p = s;
    for (size_t i = 0; i < t.len; i++) {
        const char *c1 = strchr(p, ',') + 1, *c2 = strchr(c1, ',') + 1;
        ASSERT_EQ_DBL_BITS(t.price[i], strtod(c1, NULL));
        ASSERT_EQ_DBL_BITS(t.quantity[i], strtod(c2, NULL));
        p = strchr(p, '\n') + 1;
    }
    /* fed in pieces of every awkward size, the result is the same */
    for (size_t piece = 1; piece < 200; piece += 37) {
        agt_trades u;
        agt_trades_init(&u);
        agt_csv st;
        ASSERT_OK(agt_csv_init(&st, DAY_2026_01_01, AGT_MARKET_SPOT, &e));
        char *buf = malloc(n + 1);
        size_t have = 0, off = 0;
        for (;;) {
            size_t k = piece < n - off ? piece : n - off;
            memcpy(buf + have, s + off, k);
            off += k;
            size_t used;
            ASSERT_OK(agt_csv_feed(&st, buf, have + k, off == n, &u, &used, &e));
            have = have + k - used;
            memmove(buf, buf + used, have);
            if (off == n) break;
        }
        free(buf);
        ASSERT_EQ_INT(u.len, 5000);
        ASSERT(memcmp(u.ts_us, t.ts_us, 5000 * sizeof(int64_t)) == 0);
        ASSERT(memcmp(u.price, t.price, 5000 * sizeof(double)) == 0);
        agt_trades_release(&u);
    }
    agt_trades_release(&t);
    free(s);
}

TEST(csv_genuine_minute_2026_09_16)
{
    size_t n;
    char *s = realdata("Vaquum_Origo/spot/daily/aggtrades/BTCUSDT/minute-2026-09-16T02-30.csv", &n);
    if (!s) return;
    agt_trades t;
    agt_trades_init(&t);
    agt_error e;
    ASSERT_OK(agt_archive_parse_csv(s, n, INT64_C(1789516800000000), AGT_MARKET_SPOT, &t, &e));
    ASSERT_EQ_INT(t.len, 76643 - 74204); /* selected_row_start/stop of its provenance */
    ASSERT_EQ_INT(t.trade_id[0], INT64_C(4064947752));
    ASSERT_EQ_INT(t.ts_us[0], INT64_C(1789525800105269));
    /* a µs file read as another day fails on its first row */
    agt_trades_clear(&t);
    ASSERT_EQ_INT(agt_archive_parse_csv(s, n, DAY_2026_01_01, AGT_MARKET_SPOT, &t, &e), AGT_EPARSE);
    ASSERT(strstr(e.message, "line 1: time 1789525800105269 is not in 2026-01-01") != NULL);
    ASSERT_EQ_INT(t.len, 0);
    agt_trades_release(&t);
    free(s);
}

/* The real tail of the truncated spot BTCUSDT 2021-12-14 file (ms era). */
static const char tail_2021_12_14[] =
    "1031427005,47320.00000000,0.00001000,1189032468,1189032468,1639474150242,False,True\n"
    "1031427006,47321.94000000,0.00543000,1189032469,1189032469,1639474150242,False,True\n"
    "1031427011,47320.86000000,0.09001000,1189032474,1189032474,1639474150498,True,True\n";

TEST(csv_milliseconds_before_2025)
{
    agt_trades t;
    agt_trades_init(&t);
    agt_error e;
    ASSERT_OK(agt_archive_parse_csv(tail_2021_12_14, strlen(tail_2021_12_14), DAY_2021_12_14, AGT_MARKET_SPOT, &t,
                                    &e));
    ASSERT_EQ_INT(t.len, 3);
    ASSERT_EQ_INT(t.ts_us[0], INT64_C(1639474150242000));
    ASSERT_EQ_INT(t.ts_us[2], INT64_C(1639474150498000));
    ASSERT_EQ_INT(t.is_buyer_maker[2], 1);
    /* ms values in a µs day, and µs values in an ms day, are refused */
    const char *ms_in_2025 = "1,1.0,1.0,1,1,1735689600010,True,True\n";
    ASSERT_EQ_INT(agt_archive_parse_csv(ms_in_2025, strlen(ms_in_2025), INT64_C(1735689600000000),
                                        AGT_MARKET_SPOT, &t, &e),
                  AGT_EPARSE);
    ASSERT(strstr(e.message, "expected microseconds") != NULL);
    const char *us_in_2024 = "1,1.0,1.0,1,1,1735603200010866,True,True\n";
    ASSERT_EQ_INT(agt_archive_parse_csv(us_in_2024, strlen(us_in_2024), INT64_C(1735603200000000),
                                        AGT_MARKET_SPOT, &t, &e),
                  AGT_EPARSE);
    ASSERT(strstr(e.message, "expected milliseconds") != NULL);
    /* the last µs / ms of a day is inside, the next one is not */
    const char *last = "1,1.0,1.0,1,1,1735689599999999,True,True\n";
    ASSERT_EQ_INT(agt_archive_parse_csv(last, strlen(last), INT64_C(1735689600000000), AGT_MARKET_SPOT, &t, &e),
                  AGT_EPARSE);
    const char *last_ms = "1,1.0,1.0,1,1,1735689599999,True,True\n";
    ASSERT_OK(agt_archive_parse_csv(last_ms, strlen(last_ms), INT64_C(1735603200000000), AGT_MARKET_SPOT, &t, &e));
    ASSERT_EQ_INT(t.ts_us[t.len - 1], INT64_C(1735689599999000));
    ASSERT_EQ_INT(agt_archive_parse_csv(last_ms, strlen(last_ms), INT64_C(1735603200000001), AGT_MARKET_SPOT, &t, &e),
                  AGT_EINVAL);
    agt_trades_release(&t);
}

TEST(csv_line_ends_booleans_header)
{
    agt_trades t;
    agt_trades_init(&t);
    agt_error e;
    const char *crlf = "1,2.5,0.1,10,11,1639440000000,true,true\r\n"
                       "2,2.50000000,0.20000000,12,12,1639440000001,false,False\r\n"
                       "3,2.6,0.3,-1,-1,1639440000002,False,True";
    ASSERT_OK(agt_archive_parse_csv(crlf, strlen(crlf), DAY_2021_12_14, AGT_MARKET_SPOT, &t, &e));
    ASSERT_EQ_INT(t.len, 3);
    ASSERT_EQ_INT(t.is_buyer_maker[0], 1);
    ASSERT_EQ_INT(t.is_buyer_maker[1], 0);
    ASSERT_EQ_DBL_BITS(t.price[1], 2.5);
    agt_trades_clear(&t);
    const char *hdr = "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,"
                      "is_buyer_maker,is_best_match\n"
                      "1,2.5,0.1,10,11,1639440000000,true,true\n";
    ASSERT_OK(agt_archive_parse_csv(hdr, strlen(hdr), DAY_2021_12_14, AGT_MARKET_SPOT, &t, &e));
    ASSERT_EQ_INT(t.len, 1);
    agt_trades_clear(&t);
    ASSERT_OK(agt_archive_parse_csv("", 0, DAY_2021_12_14, AGT_MARKET_SPOT, &t, &e)); /* a day without trades */
    ASSERT_EQ_INT(t.len, 0);
    agt_trades_release(&t);
}

/* The USD-M BTCUSDT file of 2020-01-01: its genuine first and last rows (7
 * columns, no header then, ms); later futures files carry a header, and stay
 * in ms after 2025-01-01 (docs/futures.md). The market decides the format:
 * a file of the other market's width is refused on its first row. */
TEST(csv_futures_seven_columns)
{
    agt_trades t;
    agt_trades_init(&t);
    agt_error e;
    const char *genuine = "18374167,7189.43,0.030,25247504,25247504,1577836801481,true\n"
                          "18445525,7197.57,0.002,25349374,25349374,1577923196199,true\n";
    const int64_t day = INT64_C(1577836800000000);
    ASSERT_OK(agt_archive_parse_csv(genuine, strlen(genuine), day, AGT_MARKET_UM, &t, &e));
    ASSERT_EQ_INT(t.len, 2);
    ASSERT_EQ_INT(t.trade_id[0], 18374167);
    ASSERT_EQ_INT(t.ts_us[1], INT64_C(1577923196199000));
    ASSERT_EQ_DBL_BITS(t.price[0], 7189.43);
    ASSERT_EQ_DBL_BITS(t.quantity[0], 0.03);
    agt_trades_clear(&t);
    ASSERT_OK(agt_archive_parse_csv(genuine, strlen(genuine), day, AGT_MARKET_CM, &t, &e));
    ASSERT_EQ_INT(t.len, 2);
    agt_trades_clear(&t);
    /* the same rows as a spot file: refused on line 1, saying what a spot file is */
    ASSERT_EQ_INT(agt_archive_parse_csv(genuine, strlen(genuine), day, AGT_MARKET_SPOT, &t, &e),
                  AGT_EPARSE);
    ASSERT(strstr(e.message, "line 1: expected 8 fields (a spot file), found 7") != NULL);
    ASSERT_EQ_INT(t.len, 0);
    const char *with_header = "agg_trade_id,price,quantity,first_trade_id,last_trade_id,"
                              "transact_time,is_buyer_maker\n"
                              "5,98000.1,0.003,7,9,1735689600123,false\n";
    ASSERT_OK(agt_archive_parse_csv(with_header, strlen(with_header), INT64_C(1735689600000000),
                                    AGT_MARKET_UM, &t, &e));
    ASSERT_EQ_INT(t.len, 1);
    ASSERT_EQ_INT(t.ts_us[0], INT64_C(1735689600123000)); /* ms in 2025: futures */
    agt_trades_clear(&t);
    /* a futures header on a spot day: the header's width is not spot's */
    ASSERT_EQ_INT(agt_archive_parse_csv(with_header, strlen(with_header),
                                        INT64_C(1735689600000000), AGT_MARKET_SPOT, &t, &e),
                  AGT_EPARSE);
    ASSERT(strstr(e.message, "line 1: a header of 7 names, but a spot file has 8 fields") != NULL);
    /* a spot file read as futures fails on its first row */
    const char *spot = "1,1.0,1.0,1,1,1577836801481,true,true\n";
    ASSERT_EQ_INT(agt_archive_parse_csv(spot, strlen(spot), day, AGT_MARKET_UM, &t, &e),
                  AGT_EPARSE);
    ASSERT(strstr(e.message, "line 1: expected 7 fields (a futures file), found 8") != NULL);
    /* one width per file: a spot row after a futures row is refused at its line */
    const char *mixed = "1,1.0,1.0,1,1,1577836801481,true\n2,1.0,1.0,2,2,1577836801482,true,true\n";
    ASSERT_EQ_INT(agt_archive_parse_csv(mixed, strlen(mixed), day, AGT_MARKET_UM, &t, &e),
                  AGT_EPARSE);
    ASSERT(strstr(e.message, "line 2: expected 7 fields (a futures file), found 8") != NULL);
    ASSERT_EQ_INT(t.len, 0);
    /* a first line of letters that is no header */
    const char *junk = "Not Found\n";
    ASSERT_EQ_INT(agt_archive_parse_csv(junk, strlen(junk), day, AGT_MARKET_UM, &t, &e),
                  AGT_EPARSE);
    ASSERT(strstr(e.message, "line 1: not a row nor a header of names") != NULL);
    ASSERT_EQ_INT(agt_archive_parse_csv(genuine, strlen(genuine), day, (agt_market)7, &t, &e),
                  AGT_EINVAL);
    agt_trades_release(&t);
}

/* Each bad line at line 2 after one good line; the message names line 2. */
TEST(csv_malformed_rows)
{
    static const char *const bad[] = {
        /* the genuine 6-field row of a 2024-04-29 copy (interrupted write) */
        "2990172343,63008.69000000,0.00018000,3578270992,3578270992,17144",
        "1,2.5,0.1,10,11,1714348800000,True",               /* 7 fields */
        "1,2.5,0.1,10,11,1714348800000,True,True,x",        /* 9 fields */
        "1,2.5,0.1,10,11,1714348800000,TRUE,True",          /* boolean spelling */
        "1,2.5,0.1,10,11,1714348800000,1,True",
        "-1,2.5,0.1,10,11,1714348800000,True,True",         /* negative id */
        "01,2.5,0.1,10,11,1714348800000,True,True",         /* leading zero */
        "1,-2.5,0.1,10,11,1714348800000,True,True",         /* negative price */
        "1,2.5e3,0.1,10,11,1714348800000,True,True",        /* exponent */
        "1,2.,0.1,10,11,1714348800000,True,True",
        "1,,0.1,10,11,1714348800000,True,True",             /* empty field */
        "1,2.5,0.1,12,11,1714348800000,True,True",          /* f > l */
        "1,2.5,0.1,-1,11,1714348800000,True,True",
        "1,2.5,0.1,-2,-2,1714348800000,True,True",
        "1, 2.5,0.1,10,11,1714348800000,True,True",         /* space */
        "1,2.5,0.1,10,11,1714348800000,True,True ",
        "1,2.5,0.1,10,11,1714435200000,True,True",          /* next day */
        "1,2.5,0.1,10,11,1714348799999,True,True",          /* previous day */
        "1,2.5,0.1,10,11,99999999999999999999,True,True",   /* overflow */
        "1,2.5,0.1,10,11,171434880000000001,True,True",     /* 18 digits: x1000 overflows */
        "",                                                  /* empty line */
        "\"1\",2.5,0.1,10,11,1714348800000,True,True",       /* quoted */
        "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,a,b", /* late header */
    };
    const char *good = "2989519398,63118.62000000,0.00070000,3577384221,3577384221,1714348800000,True,True\n";
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "%s%s\n%s", good, bad[i], good);
        agt_trades t;
        agt_trades_init(&t);
        agt_trades_push(&t, 7, 7, 7, 7, 0);
        agt_error e;
        agt_error_clear(&e);
        int s = agt_archive_parse_csv(text, strlen(text), DAY_2024_04_29, AGT_MARKET_SPOT, &t, &e);
        if (s != AGT_EPARSE) fprintf(stderr, "  case %zu: %s\n", i, bad[i]);
        ASSERT_EQ_INT(s, AGT_EPARSE);
        if (strncmp(e.message, "line 2: ", 8) != 0) fprintf(stderr, "  case %zu: %s\n", i, e.message);
        ASSERT(strncmp(e.message, "line 2: ", 8) == 0);
        ASSERT_EQ_INT(t.len, 1); /* unchanged */
        agt_trades_release(&t);
    }
    /* the message names the field */
    agt_trades t;
    agt_trades_init(&t);
    agt_error e;
    const char *b = "1,2.5,0.1,10,11,1714348800000,TRUE,True\n";
    ASSERT_EQ_INT(agt_archive_parse_csv(b, strlen(b), DAY_2024_04_29, AGT_MARKET_SPOT, &t, &e), AGT_EPARSE);
    ASSERT(strstr(e.message, "line 1: field 7 (is_buyer_maker) is not True/False") != NULL);
    b = "2990172343,63008.69000000,0.00018000,3578270992,3578270992,17144\n";
    ASSERT_EQ_INT(agt_archive_parse_csv(b, strlen(b), DAY_2024_04_29, AGT_MARKET_SPOT, &t, &e), AGT_EPARSE);
    ASSERT(strstr(e.message, "line 1: expected 8 fields (a spot file), found 6") != NULL);
    /* a line too long to be a row, even when it never ends */
    char *lng = malloc(100000);
    memset(lng, '1', 100000);
    ASSERT_EQ_INT(agt_archive_parse_csv(lng, 100000, DAY_2024_04_29, AGT_MARKET_SPOT, &t, &e), AGT_EPARSE);
    agt_csv st;
    agt_csv_init(&st, DAY_2024_04_29, AGT_MARKET_SPOT, &e);
    size_t used;
    ASSERT_EQ_INT(agt_csv_feed(&st, lng, 100000, 0, &t, &used, &e), AGT_EPARSE);
    free(lng);
    agt_trades_release(&t);
}

/* Feed `text` line by line, each line alone without its "\n" as the end of
 * the text: only the field-splitting parse reads it (fast_row needs a line
 * end). The reference for csv_fast_path_agrees. */
static agt_status feed_lines_alone(agt_csv *p, const char *text, agt_trades *out, agt_error *e)
{
    const char *s = text;
    for (;;) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s), used;
        if (!nl && n == 0) return AGT_OK;
        /* an empty line is fed as its "\n" (nothing would be no line at all) */
        agt_status st = agt_csv_feed(p, s, n ? n : 1, 1, out, &used, e);
        if (st != AGT_OK || !nl) return st;
        s = nl + 1;
    }
}

/* One random row of `fields` fields, then `edits` random edits from bytes that
 * matter to the parser. */
static void random_row(uint64_t *rs, int fields, int64_t t0, int edits, char *out, size_t cap)
{
    static const char *const prices[] = {"63118.62000000", "0.00070000", "1", "0.1", "00.5",
                                         "123456789012.12345678", "99999999999999999999.5",
                                         "0.000000000000000000000012345", "7.", ".5", "1.2.3"};
    static const char *const bools[] = {"True", "False", "true", "false", "TRUE", "1"};
    uint64_t r = test_xorshift64(rs);
    int64_t id = (int64_t)(r % 4000000000u);
    int64_t f = r & 1 ? -1 : id + 7, l = r & 1 ? -1 : f + (int64_t)(r >> 40) % 3;
    int64_t t = t0 + (int64_t)((r >> 20) % 86400000u) - (r % 397 == 0 ? 86400000 : 0);
    int k = snprintf(out, cap, "%lld,%s,%s,%lld,%lld,%lld,%s", (long long)id,
                     prices[(r >> 8) % (r % 53 ? 8 : 11)], prices[(r >> 12) % (r % 59 ? 8 : 11)],
                     (long long)f, (long long)l, (long long)t, bools[(r >> 16) % (r % 61 ? 4 : 6)]);
    if (fields == 8) k += snprintf(out + k, cap - (size_t)k, ",%s", bools[(r >> 24) % 4]);
    static const char alphabet[] = "0123456789.,-Tre\r\n";
    for (int i = 0; i < edits && k > 1; i++) {
        uint64_t e = test_xorshift64(rs);
        size_t at = (size_t)(e % (uint64_t)k);
        char c = alphabet[(e >> 16) % (sizeof alphabet - 1)];
        if (e >> 60 < 6) {
            out[at] = c; /* replaced */
        } else if (e >> 60 < 11) {
            memmove(out + at, out + at + 1, (size_t)k - at); /* removed */
            k--;
        } else if ((size_t)k + 2 < cap) {
            memmove(out + at + 1, out + at, (size_t)k - at + 1); /* inserted */
            out[at] = c;
            k++;
        }
    }
    out[k] = 0;
}

TEST(csv_fast_path_agrees)
{
    /* texts of good rows and rows with random edits, whole (most lines read
     * by fast_row) against each line alone (every line split at its commas):
     * the same status, message, rows and bits */
    uint64_t rs = 0x5DEECE66Du;
    struct { int64_t day, t0; agt_market m; int fields; } kinds[] = {
        {DAY_2024_04_29, DAY_2024_04_29 / 1000, AGT_MARKET_SPOT, 8},
        {DAY_2026_01_01, DAY_2026_01_01, AGT_MARKET_SPOT, 8},
        {DAY_2024_04_29, DAY_2024_04_29 / 1000, AGT_MARKET_UM, 7},
    };
    char *text = malloc(1 << 16);
    long errors = 0;
    for (int round = 0; round < 3000; round++) {
        int kd = round % 3, rows = 1 + (int)(test_xorshift64(&rs) % 40);
        size_t len = 0;
        for (int i = 0; i < rows; i++) {
            int edits = test_xorshift64(&rs) % 50 == 0 ? 1 + (int)(test_xorshift64(&rs) % 3) : 0;
            random_row(&rs, kinds[kd].fields, kinds[kd].t0, edits, text + len, 512);
            len += strlen(text + len);
            text[len++] = '\n';
        }
        text[len] = 0;
        agt_trades a, b;
        agt_trades_init(&a);
        agt_trades_init(&b);
        agt_csv pa, pb;
        agt_error ea, eb;
        agt_error_clear(&ea);
        agt_error_clear(&eb);
        ASSERT_OK(agt_csv_init(&pa, kinds[kd].day, kinds[kd].m, &ea));
        ASSERT_OK(agt_csv_init(&pb, kinds[kd].day, kinds[kd].m, &eb));
        size_t used;
        agt_status sa = agt_csv_feed(&pa, text, len, 1, &a, &used, &ea);
        agt_status sb = feed_lines_alone(&pb, text, &b, &eb);
        if (sa != sb || strcmp(ea.message, eb.message) != 0 || !trades_equal(&a, &b) ||
            pa.line != pb.line || pa.max_line != pb.max_line)
            FAIL_("round %d: %d \"%s\" vs %d \"%s\", %zu vs %zu rows", round, sa, ea.message, sb,
                  eb.message, a.len, b.len);
        errors += sa != AGT_OK;
        agt_trades_release(&a);
        agt_trades_release(&b);
    }
    free(text);
    fprintf(stderr, "  %ld of 3000 texts refused\n", errors);
    ASSERT(errors > 300 && errors < 2700); /* both kinds of text were tried */
}

/* ---- zip ------------------------------------------------------------------ */

#ifdef HAVE_ZIP
/* Build an in-memory zip holding `member` = text, with libzip. */
static uint8_t *make_zip(const char *member, const char *text, size_t n, size_t *zn)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *mem = zip_source_buffer_create(NULL, 0, 0, &ze);
    zip_t *z = zip_open_from_source(mem, ZIP_TRUNCATE, &ze);
    if (!z) return NULL;
    zip_source_keep(mem);
    zip_source_t *f = zip_source_buffer_create(text, n, 0, &ze);
    if (zip_file_add(z, member, f, ZIP_FL_ENC_UTF_8) < 0) return NULL;
    if (zip_close(z) != 0) return NULL;
    zip_stat_t st;
    zip_source_stat(mem, &st);
    uint8_t *out = malloc(st.size ? st.size : 1);
    zip_source_open(mem);
    zip_int64_t k = zip_source_read(mem, out, st.size);
    zip_source_close(mem);
    zip_source_free(mem);
    zip_error_fini(&ze);
    *zn = (size_t)k;
    return out;
}
#endif

TEST(zip_round_trip)
{
#ifdef HAVE_ZIP
    size_t n;
    char *s = realdata("BTCUSDT-aggTrades-2026-01-01.csv", &n);
    if (!s) return;
    size_t zn = 0;
    uint8_t *z = make_zip("BTCUSDT-aggTrades-2026-01-01.csv", s, n, &zn);
    ASSERT(z != NULL);
    ASSERT(zn < n / 2); /* deflated */
    agt_trades t, ref;
    agt_trades_init(&t);
    agt_trades_init(&ref);
    agt_error e;
    agt_error_clear(&e);
    uint64_t csv_bytes = 0;
    ASSERT_OK(agt_archive_read_zip(z, zn, "BTCUSDT-aggTrades-2026-01-01.csv", DAY_2026_01_01, AGT_MARKET_SPOT,
                                   1 << 30, &t, &csv_bytes, &e));
    ASSERT_OK(agt_archive_parse_csv(s, n, DAY_2026_01_01, AGT_MARKET_SPOT, &ref, &e));
    ASSERT_EQ_INT(csv_bytes, n);
    ASSERT_EQ_INT(t.len, 5000);
    ASSERT(memcmp(t.trade_id, ref.trade_id, 5000 * 8) == 0);
    ASSERT(memcmp(t.ts_us, ref.ts_us, 5000 * 8) == 0);
    ASSERT(memcmp(t.price, ref.price, 5000 * 8) == 0);
    ASSERT(memcmp(t.quantity, ref.quantity, 5000 * 8) == 0);
    ASSERT(memcmp(t.is_buyer_maker, ref.is_buyer_maker, 5000) == 0);

    /* wrong member name, a cap too small, a damaged byte, not a zip at all */
    agt_trades_clear(&t);
    ASSERT_EQ_INT(agt_archive_read_zip(z, zn, "BTCUSDT-aggTrades-2026-01-02.csv", DAY_2026_01_01, AGT_MARKET_SPOT,
                                       1 << 30, &t, NULL, &e),
                  AGT_ECORRUPT);
    ASSERT(strstr(e.message, "first is 'BTCUSDT-aggTrades-2026-01-01.csv'") != NULL);
    ASSERT_EQ_INT(agt_archive_read_zip(z, zn, "BTCUSDT-aggTrades-2026-01-01.csv", DAY_2026_01_01, AGT_MARKET_SPOT,
                                       1000, &t, NULL, &e),
                  AGT_ENOMEM);
    z[zn / 3] ^= 0x55; /* inside the deflated data */
    int st = agt_archive_read_zip(z, zn, "BTCUSDT-aggTrades-2026-01-01.csv", DAY_2026_01_01, AGT_MARKET_SPOT,
                                  1 << 30, &t, NULL, &e);
    ASSERT(st == AGT_ECORRUPT || st == AGT_EPARSE);
    ASSERT_EQ_INT(t.len, 0);
    ASSERT_EQ_INT(agt_archive_read_zip((const uint8_t *)s, 1000, "x.csv", DAY_2026_01_01, AGT_MARKET_SPOT, 1 << 30,
                                       &t, NULL, &e),
                  AGT_ECORRUPT);
    ASSERT_EQ_INT(t.len, 0);
    free(z);
    free(s);
    agt_trades_release(&t);
    agt_trades_release(&ref);
#else
    fprintf(stderr, "  (built without libzip, skipped)\n");
#endif
}

/* ---- agt_archive_fetch_day over a fake transport -------------------------- */

typedef struct fake {
    const uint8_t *zip[2]; /* served zip, before and after a "replacement" */
    size_t zip_n[2];
    char checksum[2][160];
    int version;       /* which of the two is published */
    int replace_after; /* switch to version 1 after this many requests (0: never) */
    int status;        /* 0: 200 */
    int requests;
} fake;

static agt_status fake_get(void *ctx, const char *url, agt_http_resp *r, int *transient,
                           agt_error *err)
{
    fake *f = ctx;
    agt_http_resp_reset(r);
    *transient = 0;
    f->requests++;
    int v = f->version;
    if (f->replace_after && f->requests > f->replace_after) v = 1;
    if (f->status) {
        r->status = f->status;
        agt_buf_append(&r->body, "<Error><Code>NoSuchKey</Code></Error>", 37);
        return AGT_OK;
    }
    r->status = 200;
    size_t n = strlen(url);
    if (n > 9 && strcmp(url + n - 9, ".CHECKSUM") == 0)
        return agt_buf_append(&r->body, f->checksum[v], strlen(f->checksum[v])) == AGT_OK
                   ? AGT_OK
                   : agt_err(err, AGT_ENOMEM, "response body too large");
    if (agt_buf_append(&r->body, f->zip[v], f->zip_n[v]) != AGT_OK)
        return agt_err(err, AGT_ENOMEM, "response body larger than %zu bytes", r->body.max);
    return AGT_OK;
}

static void set_checksum(fake *f, int v, const uint8_t *zip, size_t n, const char *name)
{
    char h[65];
    hex_of(zip, n, h);
    snprintf(f->checksum[v], sizeof f->checksum[v], "%s  %s", h, name);
}

TEST(fetch_day_fake_transport)
{
#ifdef HAVE_ZIP
    /* a day whose rows are out of order and repeat one id */
    const char *csv = "12,1.5,2.0,20,20,1639440000500,True,True\n"
                      "10,1.5,1.0,17,18,1639440000100,False,True\n"
                      "11,1.5,3.0,19,19,1639440000200,True,True\n"
                      "11,1.6,3.0,19,19,1639440000300,True,True\n";
    const char *member = "BTCUSDT-aggTrades-2021-12-14.csv";
    const char *zname = "BTCUSDT-aggTrades-2021-12-14.zip";
    size_t zn, zn2;
    uint8_t *z = make_zip(member, csv, strlen(csv), &zn);
    uint8_t *z2 = make_zip(member, csv, strlen(csv) - 42, &zn2); /* a different file */
    ASSERT(z && z2);
    fake f;
    memset(&f, 0, sizeof f);
    f.zip[0] = z, f.zip_n[0] = zn;
    f.zip[1] = z2, f.zip_n[1] = zn2;
    set_checksum(&f, 0, z, zn, zname);
    set_checksum(&f, 1, z2, zn2, zname);

    agt_archive_opts o;
    agt_archive_opts_default(&o);
    o.archive_url = "http://archive.test/";
    o.interval_ms = 0;
    o.backoff_base_ms = 1;
    agt_archive *a;
    agt_error e;
    ASSERT_OK(agt_archive_new_with(&o, NULL, fake_get, &f, &a, &e));
    agt_trades t;
    agt_trades_init(&t);
    agt_trades_push(&t, 1, 1, 1, 1, 1); /* rows already there stay */
    agt_archive_info info;
    ASSERT_OK(agt_archive_fetch_day(a, "BTCUSDT", DAY_2021_12_14, &t, &info, &e));
    ASSERT_EQ_INT(t.len, 4);
    ASSERT_EQ_INT(t.trade_id[1], 10);
    ASSERT_EQ_INT(t.trade_id[3], 12);
    ASSERT_EQ_DBL_BITS(t.price[2], 1.6); /* the last copy of id 11 wins */
    ASSERT_EQ_INT(t.ts_us[2], INT64_C(1639440000300000));
    ASSERT_EQ_INT(info.rows, 3);
    ASSERT_EQ_INT(info.duplicates, 1);
    ASSERT_EQ_INT(info.first_id, 10);
    ASSERT_EQ_INT(info.last_id, 12);
    ASSERT_EQ_INT(info.contiguous, 1);
    ASSERT_EQ_INT(info.ts_unit_us, 1000);
    ASSERT_EQ_INT(info.requests, 2);
    ASSERT_EQ_INT(info.zip_bytes, zn);
    ASSERT_EQ_INT(strncmp(info.sha256, f.checksum[0], 64), 0);

    /* checksum mismatch: nothing returned, the zip and the checksum read twice */
    f.requests = 0;
    snprintf(f.checksum[0], sizeof f.checksum[0], "%064d  %s", 0, zname);
    ASSERT_EQ_INT(agt_archive_fetch_day(a, "BTCUSDT", DAY_2021_12_14, &t, &info, &e),
                  AGT_ECHECKSUM);
    ASSERT(strstr(e.message, ".CHECKSUM says 0000") != NULL);
    ASSERT_EQ_INT(t.len, 4);
    ASSERT_EQ_INT(f.requests, 4);

    /* replaced between zip and checksum: both read again, the new file wins */
    f.requests = 0;
    f.replace_after = 1; /* the zip is old, the checksum already new */
    set_checksum(&f, 0, z, zn, zname);
    ASSERT_OK(agt_archive_fetch_day(a, "BTCUSDT", DAY_2021_12_14, &t, &info, &e));
    ASSERT_EQ_INT(info.requests, 4);
    ASSERT_EQ_INT(info.rows, 3); /* z2 lacks the last line: 12, 10, 11 */
    ASSERT_EQ_INT(t.len, 7);
    ASSERT_EQ_INT(info.zip_bytes, zn2);

    /* replaced the other way round: the zip already new (z), its checksum
       still the old file's (z2's) at the first reading, z's at the second */
    f.requests = 0;
    set_checksum(&f, 0, z2, zn2, zname);
    set_checksum(&f, 1, z, zn, zname);
    f.zip[1] = z, f.zip_n[1] = zn;
    f.replace_after = 2;
    ASSERT_OK(agt_archive_fetch_day(a, "BTCUSDT", DAY_2021_12_14, &t, &info, &e));
    ASSERT_EQ_INT(info.requests, 4);
    ASSERT_EQ_INT(info.zip_bytes, zn);
    ASSERT_EQ_INT(t.len, 10);
    f.zip[1] = z2, f.zip_n[1] = zn2;
    set_checksum(&f, 0, z, zn, zname);
    set_checksum(&f, 1, z2, zn2, zname);
    f.replace_after = 0;

    /* 404: not published yet; one attempt only */
    f.status = 404;
    f.requests = 0;
    ASSERT_EQ_INT(agt_archive_fetch_day(a, "BTCUSDT", DAY_2021_12_14, &t, &info, &e),
                  AGT_ENOTFOUND);
    ASSERT(strstr(e.message, "BTCUSDT 2021-12-14 is not published") != NULL);
    ASSERT_EQ_INT(e.http_status, 404);
    ASSERT_EQ_INT(f.requests, 1);
    ASSERT_EQ_INT(agt_archive_fetch_day(a, "BTCUSDT", DAY_2021_12_14, &t, NULL, NULL),
                  AGT_ENOTFOUND); /* without an error record too */
    /* 500: retried max_attempts times */
    f.status = 500;
    f.requests = 0;
    ASSERT_EQ_INT(agt_archive_fetch_day(a, "BTCUSDT", DAY_2021_12_14, &t, &info, &e), AGT_EHTTP);
    ASSERT_EQ_INT(f.requests, 4);
    f.status = 0;

    /* a zip above the cap */
    agt_archive_free(a);
    o.max_zip_bytes = 64;
    ASSERT_OK(agt_archive_new_with(&o, NULL, fake_get, &f, &a, &e));
    ASSERT_EQ_INT(agt_archive_fetch_day(a, "BTCUSDT", DAY_2021_12_14, &t, &info, &e), AGT_ENOMEM);

    /* bad arguments send nothing */
    f.requests = 0;
    ASSERT_EQ_INT(agt_archive_fetch_day(a, "btc/usdt", DAY_2021_12_14, &t, &info, &e), AGT_EINVAL);
    ASSERT_EQ_INT(agt_archive_fetch_day(a, "BTCUSDT", DAY_2021_12_14 + 1, &t, &info, &e),
                  AGT_EINVAL);
    ASSERT_EQ_INT(f.requests, 0);
    ASSERT_EQ_INT(t.len, 10);
    agt_archive_free(a);
    agt_trades_release(&t);
    free(z);
    free(z2);
#endif
}

TEST(archive_new_rejects_bad_url)
{
    agt_archive_opts o;
    agt_archive_opts_default(&o);
    o.archive_url = "ftp://x";
    agt_archive *a = NULL;
    agt_error e;
    ASSERT_EQ_INT(agt_archive_new(&o, &a, &e), AGT_EINVAL);
    ASSERT(a == NULL);
    agt_archive_free(NULL);
}

TEST_MAIN(TEST_REF(sha256_vectors), TEST_REF(sha256_paths_agree),
          TEST_REF(checksum_genuine_no_newline), TEST_REF(checksum_genuine_with_newline),
          TEST_REF(checksum_malformed), TEST_REF(csv_genuine_2026_01_01),
          TEST_REF(csv_genuine_minute_2026_09_16), TEST_REF(csv_milliseconds_before_2025),
          TEST_REF(csv_line_ends_booleans_header), TEST_REF(csv_futures_seven_columns),
          TEST_REF(csv_malformed_rows), TEST_REF(csv_fast_path_agrees),
          TEST_REF(zip_round_trip), TEST_REF(fetch_day_fake_transport),
          TEST_REF(archive_new_rejects_bad_url))
