/*
 * fuzz_net_headers.c - the HTTP response headers the client acts on
 * (X-MBX-USED-WEIGHT-1M, Retry-After as seconds or as an HTTP-date,
 * Content-Type; http.c), fed through the real request loop (request.c: rate
 * limiter, retry policy, ban handling) by a transport that replays the input
 * as responses, on a clock that sleeps instantly.
 *
 * Input: responses separated by a blank line ("\n\n"); in each, header lines
 * as libcurl hands them over (a status line "HTTP/1.1 429 ..." sets the
 * status, 200 when there is none), then optionally a line "--" and a body
 * (a 200 whose body starts with "bad" is refused as malformed).
 *
 * Checks, on every input:
 *   - after every header line the parsed fields are in range: a weight and a
 *     Retry-After of -1 or 0..10^18, an HTTP-date only when Retry-After is not
 *     a number, never before 1970;
 *   - an HTTP-date that is accepted formats back to the same bytes (a leap
 *     second reads as second 59);
 *   - a request makes at most max_attempts attempts, never sleeps a negative
 *     time or longer than the longest ban it accepts (plus a minute of rate
 *     limit), and a failure always says why.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_BAN_S 300
#define MAX_ATTEMPTS 4

typedef struct replay {
    const char *p, *end; /* responses not yet sent */
    int64_t mono, real;
    uint64_t rnd;
    int calls;
} replay;

static int64_t mono_us(void *ctx) { return ((replay *)ctx)->mono; }
static int64_t real_us(void *ctx) { return ((replay *)ctx)->real; }
static uint64_t rnd(void *ctx) { return ((replay *)ctx)->rnd++ * 0x9E3779B97F4A7C15u; }

static void sleep_us(void *ctx, int64_t us)
{
    replay *r = ctx;
    if (us < 0 || us > (MAX_BAN_S + 61) * AGT_US_PER_SEC) abort();
    r->mono += us;
    r->real += us;
}

/* The IMF-fixdate of `us` (a whole second, year 1970..9999): 29 bytes and a NUL into out[64]. */
static void imf_fixdate(int64_t us, char out[64])
{
    static const char days[] = "MonTueWedThuFriSatSun";
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    int64_t d = us / AGT_US_PER_DAY, s = us % AGT_US_PER_DAY / AGT_US_PER_SEC, y;
    unsigned m, dd;
    agt_civil_from_days(d, &y, &m, &dd);
    int wd = (int)((d % 7 + 7 + 3) % 7);
    snprintf(out, 64, "%.3s, %02u %.3s %04lld %02d:%02d:%02d GMT", days + 3 * wd, dd,
             months + 3 * (m - 1), (long long)y, (int)(s / 3600), (int)(s / 60 % 60),
             (int)(s % 60));
}

/* If the HTTP-date parser accepts v[0..n), it must format back to the same bytes. */
static void check_date(const char *v, size_t n)
{
    int64_t at = agt_http_date_us(v, n);
    if (at < 0) return;
    char back[64];
    if (n != 29 || at % AGT_US_PER_SEC != 0) abort();
    imf_fixdate(at, back);
    if (memcmp(back, v, 23) != 0 || memcmp(back + 25, v + 25, 4) != 0) abort();
    if (memcmp(back + 23, v + 23, 2) != 0 &&
        !(memcmp(v + 23, "60", 2) == 0 && memcmp(back + 23, "59", 2) == 0))
        abort();
}

static void check_line(const agt_http_resp *r, const char *line, size_t n)
{
    const int64_t big = INT64_C(1000000000000000000);
    if (r->used_weight < -1 || r->used_weight >= big || r->retry_after_s < -1 ||
        r->retry_after_s >= big || r->retry_at_us < -1 ||
        (r->retry_at_us >= 0 && r->retry_after_s >= 0))
        abort();
    check_date(line, n);
    const char *colon = memchr(line, ':', n);
    if (colon) { /* the value as the header parser sees it */
        const char *v = colon + 1, *end = line + n;
        while (v < end && (*v == ' ' || *v == '\t')) v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
            end--;
        check_date(v, (size_t)(end - v));
    }
}

static agt_status transport(void *ctx, const char *url, agt_http_resp *r, int *transient,
                            agt_error *err)
{
    replay *rp = ctx;
    rp->calls++;
    agt_http_resp_reset(r);
    r->status = 200;
    const char *p = rp->p, *end = rp->end;
    const char *stop = p;
    while (stop < end && !(stop + 1 < end && stop[0] == '\n' && stop[1] == '\n')) stop++;
    rp->p = stop < end ? stop + 2 : end;
    int in_body = 0;
    while (p < stop) {
        const char *nl = memchr(p, '\n', (size_t)(stop - p));
        const char *le = nl ? nl + 1 : stop;
        size_t n = (size_t)(le - p);
        if (in_body) {
            if (agt_buf_append(&r->body, p, n) != AGT_OK) abort();
        } else if (n >= 2 && p[0] == '-' && p[1] == '-' && (n == 2 || p[2] == '\n' || p[2] == '\r')) {
            in_body = 1;
        } else {
            if (n > 12 && memcmp(p, "HTTP/", 5) == 0) {
                const char *sp = memchr(p, ' ', n);
                if (sp && le - sp > 3) /* three digits, as libcurl reads them */
                    for (int k = 1, v = 0; k <= 3; k++) {
                        if (sp[k] < '0' || sp[k] > '9') break;
                        v = v * 10 + (sp[k] - '0');
                        if (k == 3) r->status = v;
                    }
            }
            agt_http_parse_header(r, p, n);
            check_line(r, p, n);
        }
        p = le;
    }
    if (r->status == 0) { /* no response: a transport failure */
        *transient = r->body.len % 2 == 0;
        return agt_err(err, AGT_ENET, "connection reset");
    }
    return AGT_OK;
}

static agt_status on_body(void *user, const agt_http_resp *r, agt_error *err)
{
    if (r->body.len >= 3 && memcmp(r->body.data, "bad", 3) == 0)
        return agt_err(err, AGT_EPARSE, "malformed page");
    return AGT_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    replay rp = {(const char *)data, (const char *)data + size, INT64_C(1000000000000),
                 INT64_C(1767225600000000), 1, 0};
    agt_clock ck = {mono_us, real_us, sleep_us, rnd, &rp};
    agt_net_opts o;
    memset(&o, 0, sizeof o);
    o.interval_ms = 100;
    o.weight_budget = 6000;
    o.retry.max_attempts = MAX_ATTEMPTS;
    o.retry.base_us = 500 * AGT_US_PER_MS;
    o.retry.cap_us = 60 * AGT_US_PER_SEC;
    o.retry.max_ban_wait_us = MAX_BAN_S * AGT_US_PER_SEC;
    o.clock = &ck;
    o.transport = transport;
    o.transport_ctx = &rp;
    agt_net *net;
    agt_error err;
    if (agt_net_new(&o, &net, &err) != AGT_OK) abort();
    agt_net_req rq = {.url = "http://127.0.0.1/api/v3/aggTrades", .what = "aggTrades page",
                      .weight = 4, .on_body = on_body};
    for (int i = 0; i < 4 && rp.p < rp.end; i++) {
        rp.calls = 0;
        agt_error_clear(&err);
        agt_status s = agt_net_request(net, &rq, &err);
        if (rp.calls < 1 || rp.calls > MAX_ATTEMPTS) abort();
        if (s != AGT_OK && (err.message[0] == 0 || err.attempts != rp.calls)) abort();
    }
    agt_net_free(net);
    return 0;
}
