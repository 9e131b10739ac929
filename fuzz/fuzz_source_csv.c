/*
 * fuzz_source_csv.c - fuzz target for the archive's text parsers: the daily
 * CSV (tried as the CSV of five days, three in milliseconds and two in
 * microseconds, each as a spot file and as a 7-column futures file) and the
 * .CHECKSUM line. Checks, on every input:
 *   - a success yields only valid rows (id >= 0, finite non-negative price
 *     and quantity, flag 0/1, time inside the day);
 *   - a failure leaves the table unchanged and says why, naming a line;
 *   - feeding the text in small pieces (as the zip reader does) gives the
 *     same status and the same rows as parsing it whole.
 * The committed corpus holds genuine rows (the 2026-01-01 BTCUSDT file, the
 * 2021-12-14 truncated tail, the 2024-04-29 six-field row, the first and last
 * rows of the USD-M futures BTCUSDT file of 2020-01-01) and variants.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "source/archive_int.h"
#include "trades_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int64_t days[] = {
    INT64_C(1577836800000000), /* 2020-01-01, ms (a USD-M futures file: 7 columns) */
    INT64_C(1639440000000000), /* 2021-12-14, ms */
    INT64_C(1714348800000000), /* 2024-04-29, ms */
    INT64_C(1767225600000000), /* 2026-01-01, µs */
    INT64_C(1789516800000000), /* 2026-09-16, µs */
};

/* Parse in pieces of `piece` bytes through a carry buffer, as the zip reader does. */
static agt_status pieces(const char *s, size_t n, int64_t day, agt_market m, size_t piece,
                         agt_trades *out)
{
    agt_csv p;
    agt_error err;
    if (agt_csv_init(&p, day, m, &err) != AGT_OK) abort();
    char *buf = malloc(n + 1);
    if (!buf) abort();
    size_t have = 0, off = 0;
    agt_status st = AGT_OK;
    for (;;) {
        size_t k = piece < n - off ? piece : n - off;
        memcpy(buf + have, s + off, k);
        off += k;
        size_t used = 0;
        st = agt_csv_feed(&p, buf, have + k, off == n, out, &used, &err);
        if (st != AGT_OK || off == n) break;
        have = have + k - used;
        memmove(buf, buf + used, have);
    }
    free(buf);
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    for (size_t k = 0; k < 2 * sizeof days / sizeof days[0]; k++) {
        size_t d = k / 2;
        agt_market m = k % 2 ? AGT_MARKET_UM : AGT_MARKET_SPOT;
        agt_trades t;
        agt_trades_init(&t);
        agt_trades_push(&t, 42, 42, 42, 42, 1);
        agt_error err;
        agt_error_clear(&err);
        agt_status st = agt_archive_parse_csv(s, size, days[d], m, &t, &err);
        if (st == AGT_OK) {
            for (size_t i = 1; i < t.len; i++)
                if (t.trade_id[i] < 0 || !(t.price[i] >= 0) || !isfinite(t.price[i]) ||
                    !(t.quantity[i] >= 0) || !isfinite(t.quantity[i]) ||
                    t.is_buyer_maker[i] > 1 || t.ts_us[i] < days[d] ||
                    t.ts_us[i] >= days[d] + INT64_C(86400000000))
                    abort();
        } else if (st != AGT_EPARSE || t.len != 1 || strncmp(err.message, "line ", 5) != 0) {
            abort();
        }

        agt_trades u;
        agt_trades_init(&u);
        agt_trades_push(&u, 42, 42, 42, 42, 1);
        agt_status su = pieces(s, size, days[d], m, 1 + size % 61, &u);
        if ((su == AGT_OK) != (st == AGT_OK)) abort();
        if (st == AGT_OK && !trades_equal(&u, &t)) abort();
        agt_trades_release(&u);
        agt_trades_release(&t);
    }

    uint8_t digest[32];
    agt_error err;
    agt_error_clear(&err);
    if (agt_checksum_parse(data, size, NULL, digest, &err) != AGT_OK && err.message[0] == 0)
        abort();
    return 0;
}
