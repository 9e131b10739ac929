/*
 * fuzz_source_exchinfo.c - the exchangeInfo rate-limit reader (exch_info.c)
 * on arbitrary bytes. Checks, on every input:
 *   - a success yields only limits the rate limiter takes (kind 0/1, a window
 *     of 1..1000 seconds, minutes, hours or days, a limit in 1..INT32_MAX);
 *   - a failure yields no limit and says why;
 *   - room for fewer limits gives the same status and the first of them;
 *   - read for a symbol: the same status and limits; a clock only from 2017
 *     to 2100; "listed" only if the symbol's quoted name is in the body.
 * The committed corpus holds the documented body shape (one symbol's
 * exchangeInfo with its filters, 2023's and 2026's raw-request limits) and
 * malformed variants.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/net_int.h"
#include "source/source_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_LIMITS 16

static int window_ok(int64_t w)
{
    static const int64_t unit_s[] = {1, 60, 3600, 86400};
    for (int u = 0; u < 4; u++)
        if (w % (unit_s[u] * AGT_US_PER_SEC) == 0 && w / (unit_s[u] * AGT_US_PER_SEC) >= 1 &&
            w / (unit_s[u] * AGT_US_PER_SEC) <= 1000)
            return 1;
    return 0;
}

/* 1 if the bytes hold `s` */
static int holds(const uint8_t *data, size_t size, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i + n <= size; i++)
        if (memcmp(data + i, s, n) == 0) return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    agt_exch_limit all[MAX_LIMITS], few[2];
    int n = -1, k = -1;
    agt_error err;
    agt_error_clear(&err);
    agt_status st = agt_exch_limits_parse(data, size, all, MAX_LIMITS, &n, &err);
    if (st != AGT_OK) {
        if (n != 0 || st != AGT_EPARSE || err.message[0] == 0) abort();
    } else {
        if (n < 0 || n > MAX_LIMITS) abort();
        agt_ratelimit rl;
        agt_rl_init(&rl, 0, 6000);
        for (int i = 0; i < n; i++) {
            if ((all[i].per_weight != 0 && all[i].per_weight != 1) || !window_ok(all[i].window_us) ||
                all[i].limit < 1 || all[i].limit > INT32_MAX)
                abort();
            /* every limit read is one the rate limiter accepts (until its counters are full) */
            agt_status a = agt_rl_add_limit(&rl, all[i].per_weight, all[i].window_us, all[i].limit);
            if (a != AGT_OK && rl.ncounters < AGT_RL_COUNTERS) abort();
        }
    }
    agt_error_clear(&err);
    agt_status s2 = agt_exch_limits_parse(data, size, few, 2, &k, &err);
    if (s2 != st) abort();
    if (st == AGT_OK && k != (n < 2 ? n : 2)) abort();
    for (int i = 0; st == AGT_OK && i < k; i++)
        if (few[i].per_weight != all[i].per_weight || few[i].window_us != all[i].window_us ||
            few[i].limit != all[i].limit)
            abort();
    /* the same body read for a symbol, as the client reads it */
    agt_exch_limit sym_limits[MAX_LIMITS];
    agt_exch_info in;
    memset(&in, 0, sizeof in);
    in.limits = sym_limits;
    in.max = MAX_LIMITS;
    in.symbol = "BTCUSDT";
    agt_error_clear(&err);
    if (agt_exch_info_parse(data, size, &in, &err) != st || in.count != (st == AGT_OK ? n : 0)) abort();
    if (st != AGT_OK && (in.server_time_us != -1 || in.listed)) abort();
    if (in.server_time_us != -1 &&
        (in.server_time_us < INT64_C(1483228800000000) || in.server_time_us > INT64_C(4102444800000000)))
        abort();
    if (in.listed && !holds(data, size, "\"BTCUSDT\"")) abort();
    return 0;
}
