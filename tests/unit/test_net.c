/*
 * test_net.c - the network layer without a network: the retry policy's
 * decisions, backoff and jitter, the rate limiter's waits, header parsing,
 * and the request loop driven by a scripted transport and a fake clock that
 * records every sleep instead of sleeping.
 */
#include "harness.h"
#include "net/net_int.h"

/* ---- fake clock ------------------------------------------------------------ */

typedef struct fake_clock {
    int64_t mono, real;
    int64_t sleeps[64];
    int nsleeps;
    uint64_t rnd;
} fake_clock;

static int64_t fc_mono(void *ctx) { return ((fake_clock *)ctx)->mono; }
static int64_t fc_real(void *ctx) { return ((fake_clock *)ctx)->real; }
static void fc_sleep(void *ctx, int64_t us)
{
    fake_clock *f = ctx;
    if (us <= 0) return;
    if (f->nsleeps < 64) f->sleeps[f->nsleeps++] = us;
    f->mono += us;
    f->real += us;
}
static uint64_t fc_random(void *ctx) { return ((fake_clock *)ctx)->rnd; }

static agt_clock fake(fake_clock *f)
{
    agt_clock c = {fc_mono, fc_real, fc_sleep, fc_random, f};
    return c;
}

/* ---- scripted transport ---------------------------------------------------- */

typedef struct step {
    int status;          /* 0: transport failure */
    int transient;
    const char *body;
    int64_t retry_after; /* -1 none */
    int64_t weight;      /* -1 none */
    int html;
} step;

/* Retry-After header values for the steps of the next run(), or NULL. */
static const char *const *retry_dates;

typedef struct script {
    const step *steps;
    int n, next;
    fake_clock *clock;
} script;

static agt_status scripted(void *ctx, const char *url, agt_http_resp *r, int *transient,
                           agt_error *err)
{
    script *s = ctx;
    (void)url;
    agt_http_resp_reset(r);
    if (s->next >= s->n) return agt_err(err, AGT_ENET, "script exhausted");
    const step *st = &s->steps[s->next++];
    s->clock->mono += 1000; /* 1 ms round trip */
    s->clock->real += 1000;
    if (st->status == 0) {
        *transient = st->transient;
        return agt_err(err, AGT_ENET, "Connection reset by peer");
    }
    r->status = st->status;
    r->retry_after_s = st->retry_after;
    r->used_weight = st->weight;
    r->is_html = st->html;
    if (retry_dates && retry_dates[s->next - 1]) {
        char line[96];
        snprintf(line, sizeof line, "Retry-After: %s\r\n", retry_dates[s->next - 1]);
        agt_http_parse_header(r, line, strlen(line));
    }
    if (st->body) agt_buf_append(&r->body, st->body, strlen(st->body));
    return AGT_OK;
}

/* A body is "valid" if it starts with '['. */
static agt_status want_array(void *user, const agt_http_resp *r, agt_error *err)
{
    (void)user;
    if (r->body.len && r->body.data[0] == '[') return AGT_OK;
    return agt_err(err, AGT_EPARSE, "not an array");
}

/* Minimal {"code":N,"msg":"..."} reader for these tests (the real one is in source). */
static int api_error(const uint8_t *b, size_t n, int *code, char *msg, size_t msgn)
{
    (void)n;
    const char *p = strstr((const char *)b, "\"code\":");
    if (!p) return 0;
    *code = atoi(p + 7);
    const char *m = strstr((const char *)b, "\"msg\":\"");
    snprintf(msg, msgn, "%s", m ? m + 7 : "");
    char *q = strchr(msg, '"');
    if (q) *q = 0;
    return 1;
}

typedef struct rig {
    fake_clock fc;
    agt_clock ck;
    script sc;
    agt_net *net;
} rig;

static agt_status run(rig *g, const step *steps, int n, int max_ban_s, agt_error *err)
{
    memset(&g->fc, 0, sizeof g->fc);
    g->fc.mono = 1000 * AGT_US_PER_SEC;
    g->fc.real = INT64_C(1700000000) * AGT_US_PER_SEC;
    g->fc.rnd = 0;
    g->ck = fake(&g->fc);
    g->sc.steps = steps;
    g->sc.n = n;
    g->sc.next = 0;
    g->sc.clock = &g->fc;
    agt_net_opts o;
    memset(&o, 0, sizeof o);
    o.interval_ms = 0;
    o.weight_budget = 6000;
    o.retry.max_attempts = 4;
    o.retry.base_us = 500 * AGT_US_PER_MS;
    o.retry.cap_us = 60 * AGT_US_PER_SEC;
    o.retry.max_ban_wait_us = (int64_t)max_ban_s * AGT_US_PER_SEC;
    o.clock = &g->ck;
    o.transport = scripted;
    o.transport_ctx = &g->sc;
    agt_status s = agt_net_new(&o, &g->net, err);
    if (s != AGT_OK) return s;
    agt_net_req rq;
    memset(&rq, 0, sizeof rq);
    rq.url = "http://x/api/v3/aggTrades";
    rq.what = "aggTrades page";
    rq.weight = 4;
    rq.on_body = want_array;
    rq.parse_api_error = api_error;
    agt_error_clear(err);
    s = agt_net_request(g->net, &rq, err);
    agt_net_free(g->net);
    g->net = NULL;
    return s;
}

static agt_retry_policy policy(void)
{
    agt_retry_policy p = {4, 500 * AGT_US_PER_MS, 60 * AGT_US_PER_SEC, 300 * AGT_US_PER_SEC};
    return p;
}

/* ---- retry policy ---------------------------------------------------------- */

TEST(backoff_doubles_with_equal_jitter)
{
    agt_retry_policy p = policy();
    /* rnd = 0: exactly half of the nominal delay */
    ASSERT_EQ_INT(agt_backoff_us(&p, 1, 0), 250000);
    ASSERT_EQ_INT(agt_backoff_us(&p, 2, 0), 500000);
    ASSERT_EQ_INT(agt_backoff_us(&p, 3, 0), 1000000);
    /* the largest jitter gives the full nominal delay */
    ASSERT_EQ_INT(agt_backoff_us(&p, 1, 250000), 500000);
    ASSERT_EQ_INT(agt_backoff_us(&p, 1, 250001), 250000);
    for (uint64_t r = 0; r < 100000; r += 977) {
        int64_t w = agt_backoff_us(&p, 3, r * 7919);
        ASSERT(w >= 1000000 && w <= 2000000);
    }
    /* capped */
    ASSERT_EQ_INT(agt_backoff_us(&p, 30, 0), 30 * AGT_US_PER_SEC);
    p.base_us = 0;
    ASSERT_EQ_INT(agt_backoff_us(&p, 3, 12345), 0);
}

static agt_retry_decision decide(int attempt, agt_outcome o, int status, int64_t ra,
                                 int has_code, int code)
{
    agt_retry_policy p = policy();
    agt_attempt a = {o, status, ra, has_code, code};
    return agt_retry_decide(&p, attempt, &a, 0);
}

TEST(retry_decisions)
{
    agt_retry_decision d;
    d = decide(1, AGT_OUT_OK, 200, -1, 0, 0);
    ASSERT_EQ_INT(d.action, AGT_RETRY_DONE);
    /* transient failures: backoff, then give up after the 4th attempt */
    d = decide(1, AGT_OUT_NET, 0, -1, 0, 0);
    ASSERT_EQ_INT(d.action, AGT_RETRY_AGAIN);
    ASSERT_EQ_INT(d.wait_us, 250000);
    d = decide(4, AGT_OUT_NET, 0, -1, 0, 0);
    ASSERT_EQ_INT(d.action, AGT_RETRY_FAIL);
    ASSERT_EQ_INT(d.status, AGT_ENET);
    d = decide(3, AGT_OUT_BAD_BODY, 200, -1, 0, 0);
    ASSERT_EQ_INT(d.action, AGT_RETRY_AGAIN);
    ASSERT_EQ_INT(d.wait_us, 1000000);
    d = decide(4, AGT_OUT_BAD_BODY, 200, -1, 0, 0);
    ASSERT_EQ_INT(d.status, AGT_EPARSE);
    d = decide(2, AGT_OUT_HTTP, 503, -1, 1, -1008);
    ASSERT_EQ_INT(d.action, AGT_RETRY_AGAIN);
    d = decide(4, AGT_OUT_HTTP, 502, -1, 0, 0);
    ASSERT_EQ_INT(d.status, AGT_EHTTP);
    d = decide(1, AGT_OUT_HTTP, 403, -1, 0, 0);
    ASSERT_EQ_INT(d.action, AGT_RETRY_AGAIN);
    /* fatal transport errors: at once */
    d = decide(1, AGT_OUT_NET_FATAL, 0, -1, 0, 0);
    ASSERT_EQ_INT(d.action, AGT_RETRY_FAIL);
    ASSERT_EQ_INT(d.status, AGT_ENET);
    /* client errors: at once, EAPI with a code */
    d = decide(1, AGT_OUT_HTTP, 400, -1, 1, -1121);
    ASSERT_EQ_INT(d.action, AGT_RETRY_FAIL);
    ASSERT_EQ_INT(d.status, AGT_EAPI);
    d = decide(1, AGT_OUT_HTTP, 400, -1, 1, -1128);
    ASSERT_EQ_INT(d.status, AGT_EAPI);
    d = decide(1, AGT_OUT_HTTP, 451, -1, 1, 0);
    ASSERT_EQ_INT(d.status, AGT_EHTTP);
    d = decide(1, AGT_OUT_HTTP, 404, -1, 0, 0);
    ASSERT_EQ_INT(d.action, AGT_RETRY_FAIL);
    ASSERT_EQ_INT(d.status, AGT_EHTTP);
    d = decide(1, AGT_OUT_HTTP, 301, -1, 0, 0);
    ASSERT_EQ_INT(d.action, AGT_RETRY_FAIL);
}

TEST(retry_after_is_honoured_exactly)
{
    agt_retry_decision d = decide(1, AGT_OUT_HTTP, 429, 35, 1, -1003);
    ASSERT_EQ_INT(d.action, AGT_RETRY_AGAIN);
    ASSERT_EQ_INT(d.wait_us, 35 * AGT_US_PER_SEC);
    d = decide(1, AGT_OUT_HTTP, 429, 0, 1, -1003);
    ASSERT_EQ_INT(d.action, AGT_RETRY_AGAIN);
    ASSERT_EQ_INT(d.wait_us, 0);
    d = decide(1, AGT_OUT_HTTP, 429, 300, 1, -1003); /* exactly the maximum: wait */
    ASSERT_EQ_INT(d.action, AGT_RETRY_AGAIN);
    ASSERT_EQ_INT(d.wait_us, 300 * AGT_US_PER_SEC);
    d = decide(1, AGT_OUT_HTTP, 429, 301, 1, -1003);
    ASSERT_EQ_INT(d.action, AGT_RETRY_FAIL);
    ASSERT_EQ_INT(d.status, AGT_EBANNED);
    /* 429 without Retry-After: backoff */
    d = decide(2, AGT_OUT_HTTP, 429, -1, 0, 0);
    ASSERT_EQ_INT(d.action, AGT_RETRY_AGAIN);
    ASSERT_EQ_INT(d.wait_us, 500000);
    /* 418: a real ban of 720 s fails at once; a short one is waited out */
    d = decide(1, AGT_OUT_HTTP, 418, 720, 1, -1003);
    ASSERT_EQ_INT(d.action, AGT_RETRY_FAIL);
    ASSERT_EQ_INT(d.status, AGT_EBANNED);
    d = decide(1, AGT_OUT_HTTP, 418, 120, 1, -1003);
    ASSERT_EQ_INT(d.action, AGT_RETRY_AGAIN);
    ASSERT_EQ_INT(d.wait_us, 120 * AGT_US_PER_SEC);
    d = decide(1, AGT_OUT_HTTP, 418, -1, 1, -1003);
    ASSERT_EQ_INT(d.status, AGT_EBANNED);
    /* absurd Retry-After must not overflow into a short wait */
    d = decide(1, AGT_OUT_HTTP, 429, INT64_C(999999999999999999), 0, 0);
    ASSERT_EQ_INT(d.status, AGT_EBANNED);
}

/* ---- rate limiter ---------------------------------------------------------- */

#define MIN_US (60 * AGT_US_PER_SEC)

TEST(ratelimit_minimum_interval)
{
    agt_ratelimit rl;
    agt_rl_init(&rl, 50 * AGT_US_PER_MS, 6000);
    int64_t exch = 1000 * MIN_US;
    ASSERT_EQ_INT(agt_rl_delay_us(&rl, 5000000, exch, 4), 0); /* first request: no wait */
    agt_rl_on_send(&rl, 5000000, exch, 4);
    ASSERT_EQ_INT(agt_rl_delay_us(&rl, 5000000, exch, 4), 50000);
    ASSERT_EQ_INT(agt_rl_delay_us(&rl, 5030000, exch, 4), 20000);
    ASSERT_EQ_INT(agt_rl_delay_us(&rl, 5050000, exch, 4), 0);
    ASSERT_EQ_INT(agt_rl_delay_us(&rl, 9000000, exch, 4), 0);
    /* low usage changes nothing */
    agt_rl_on_response(&rl, exch, 400);
    ASSERT_EQ_INT(agt_rl_delay_us(&rl, 5010000, exch, 4), 40000);
}

TEST(ratelimit_spreads_the_last_fifth_of_the_budget)
{
    agt_ratelimit rl;
    agt_rl_init(&rl, 50 * AGT_US_PER_MS, 6000);
    int64_t minute = 1000 * MIN_US;
    int64_t exch = minute + 30 * AGT_US_PER_SEC; /* half way through the minute */
    agt_rl_on_send(&rl, 0, exch, 4);
    agt_rl_on_response(&rl, exch, 4800); /* exactly 80 % */
    /* 1200 weight left = 300 requests over the 31 s left (30 s + 1 s slack) */
    int64_t gap = (31 * AGT_US_PER_SEC) / 300;
    ASSERT_EQ_INT(agt_rl_delay_us(&rl, 0, exch, 4), gap);
    agt_rl_on_response(&rl, exch, 5980); /* 20 left = 5 requests */
    ASSERT_EQ_INT(agt_rl_delay_us(&rl, 0, exch, 4), (31 * AGT_US_PER_SEC) / 5);
    agt_rl_on_response(&rl, exch, 5996); /* exactly one more fits */
    ASSERT_EQ_INT(agt_rl_delay_us(&rl, 0, exch, 4), 31 * AGT_US_PER_SEC);
    /* would exceed: wait for the next minute plus the slack, never sooner */
    agt_rl_on_response(&rl, exch, 5997);
    ASSERT_EQ_INT(agt_rl_delay_us(&rl, 0, exch, 4), 31 * AGT_US_PER_SEC);
    /* a weight-1 request still fits in 3 */
    ASSERT(agt_rl_delay_us(&rl, 0, exch, 1) < 31 * AGT_US_PER_SEC);
    /* once the minute (and the slack) is over, the reading is stale */
    ASSERT_EQ_INT(agt_rl_delay_us(&rl, 10 * MIN_US, minute + MIN_US + AGT_US_PER_SEC, 4), 0);
    /* ...but not during the slack second */
    ASSERT(agt_rl_delay_us(&rl, 10 * MIN_US, minute + MIN_US + 500000, 4) == 500000);
    /* a drop in the counter (new minute on the exchange) is believed */
    agt_rl_on_response(&rl, minute + MIN_US + 2 * AGT_US_PER_SEC, 4);
    ASSERT_EQ_INT(agt_rl_delay_us(&rl, 10 * MIN_US, minute + MIN_US + 2 * AGT_US_PER_SEC, 4), 0);
}

TEST(ratelimit_never_exceeds_the_budget_in_a_simulated_minute)
{
    /* Drive the limiter against a model of the exchange's counter: however
     * fast we would like to go, the counter never passes the budget. */
    agt_ratelimit rl;
    agt_rl_init(&rl, 0, 600);
    int64_t mono = 0, exch = 1000 * MIN_US;
    int64_t counter = 0, cur_minute = exch / MIN_US;
    int sent = 0;
    for (int i = 0; i < 2000; i++) {
        int64_t d = agt_rl_delay_us(&rl, mono, exch, 4);
        mono += d;
        exch += d;
        if (exch / MIN_US != cur_minute) {
            cur_minute = exch / MIN_US;
            counter = 0;
        }
        agt_rl_on_send(&rl, mono, exch, 4);
        counter += 4;
        sent++;
        ASSERT(counter <= 600);
        mono += 2000;
        exch += 2000;
        agt_rl_on_response(&rl, exch, counter);
    }
    ASSERT(sent == 2000);
    /* 150 requests a minute at most: 2000 requests take over 13 minutes */
    ASSERT(exch - 1000 * MIN_US > 13 * MIN_US);
}

TEST(ratelimit_not_before)
{
    agt_ratelimit rl;
    agt_rl_init(&rl, 0, 6000);
    rl.not_before_mono = 10 * AGT_US_PER_SEC;
    ASSERT_EQ_INT(agt_rl_delay_us(&rl, 4 * AGT_US_PER_SEC, 0, 4), 6 * AGT_US_PER_SEC);
}

/* ---- headers ----------------------------------------------------------------- */

static void hdr(agt_http_resp *r, const char *line)
{
    agt_http_parse_header(r, line, strlen(line));
}

TEST(header_parsing)
{
    agt_http_resp r = {0};
    agt_buf_init(&r.body, 0);
    agt_http_resp_reset(&r);
    hdr(&r, "HTTP/1.1 429 Too Many Requests\r\n");
    hdr(&r, "x-mbx-used-weight: 6004\r\n");
    hdr(&r, "X-MBX-USED-WEIGHT-1M: 6004\r\n");
    hdr(&r, "Retry-After:  35 \r\n");
    hdr(&r, "Content-Type: application/json;charset=UTF-8\r\n");
    ASSERT_EQ_INT(r.used_weight, 6004);
    ASSERT_EQ_INT(r.retry_after_s, 35);
    ASSERT_EQ_INT(r.is_html, 0);
    hdr(&r, "content-type: text/html\r\n");
    ASSERT_EQ_INT(r.is_html, 1);
    /* a new status line starts over */
    hdr(&r, "HTTP/2 200\r\n");
    ASSERT_EQ_INT(r.used_weight, -1);
    ASSERT_EQ_INT(r.retry_after_s, -1);
    hdr(&r, "retry-after: Wed, 21 Oct 2015 07:28:00 GMT\r\n");
    ASSERT_EQ_INT(r.retry_after_s, -1);
    hdr(&r, "x-mbx-used-weight-1m: -4\r\n");
    ASSERT_EQ_INT(r.used_weight, -1);
    hdr(&r, "x-mbx-used-weight-1mx: 7\r\n");
    ASSERT_EQ_INT(r.used_weight, -1);
    agt_buf_release(&r.body);
}

TEST(retry_after_http_date)
{
    /* RFC 9110's example, and the epoch */
    const char *d = "Wed, 21 Oct 2015 07:28:00 GMT";
    ASSERT_EQ_INT(agt_http_date_us(d, strlen(d)), INT64_C(1445412480) * AGT_US_PER_SEC);
    d = "Thu, 01 Jan 1970 00:00:00 GMT";
    ASSERT_EQ_INT(agt_http_date_us(d, strlen(d)), 0);
    d = "Thu, 29 Feb 2024 23:59:59 GMT";
    ASSERT_EQ_INT(agt_http_date_us(d, strlen(d)), INT64_C(1709251199) * AGT_US_PER_SEC);
    static const char *const bad[] = {
        "Thu, 21 Oct 2015 07:28:00 GMT",  /* wrong weekday */
        "Wed, 21 Oct 2015 07:28:00 UTC",  /* not GMT */
        "wed, 21 Oct 2015 07:28:00 GMT",  /* names are case-sensitive */
        "Wed, 21 oct 2015 07:28:00 GMT",
        "Wed, 21 Oct 2015 24:00:00 GMT",
        "Wed, 21 Oct 2015 07:60:00 GMT",
        "Fri, 29 Feb 2023 00:00:00 GMT",  /* no such day */
        "Wed, 1 Oct 2015 07:28:00 GMT",   /* two-digit day required */
        "Wed, 21 Oct 2015 07:28:00 GMT ", /* 30 bytes */
        "Wednesday, 21-Oct-15 07:28:00 GMT",
        "Wed Oct 21 07:28:00 2015",
        "Wed, 21 Oct 15 07:28:00 GMT",
        "Wed, 21 Oct 2015 07:28:0x GMT",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ASSERT_EQ_INT(agt_http_date_us(bad[i], strlen(bad[i])), -1);
    /* through the header parser: seconds stay seconds, a date becomes a time */
    agt_http_resp r = {0};
    agt_buf_init(&r.body, 0);
    agt_http_resp_reset(&r);
    hdr(&r, "Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n");
    ASSERT_EQ_INT(r.retry_after_s, -1);
    ASSERT_EQ_INT(r.retry_at_us, INT64_C(1445412480) * AGT_US_PER_SEC);
    hdr(&r, "Retry-After: 12\r\n");
    ASSERT_EQ_INT(r.retry_after_s, 12);
    ASSERT_EQ_INT(r.retry_at_us, -1);
    hdr(&r, "Retry-After: soon\r\n");
    ASSERT_EQ_INT(r.retry_after_s, -1);
    ASSERT_EQ_INT(r.retry_at_us, -1);
    agt_buf_release(&r.body);
}

TEST(loop_429_with_an_http_date_waits_until_then)
{
    rig g;
    agt_error e;
    /* the fake wall clock starts at 1700000000 s = Tue, 14 Nov 2023 22:13:20
     * UTC and each exchange takes 1 ms: 40 s left, rounded up */
    step s[] = {
        {429, 0, "{\"code\":-1003,\"msg\":\"Too much request weight used\"}", -1, 6004, 0},
        {200, 0, "[]", -1, 4, 0},
    };
    static const char *const later[] = {"Tue, 14 Nov 2023 22:14:00 GMT", NULL};
    retry_dates = later;
    ASSERT_OK(run(&g, s, 2, 300, &e));
    ASSERT_EQ_INT(g.fc.nsleeps, 1);
    ASSERT_EQ_INT(g.fc.sleeps[0], 40 * AGT_US_PER_SEC);
    /* a date already past: go again at once */
    static const char *const past[] = {"Tue, 14 Nov 2023 22:00:00 GMT", NULL};
    retry_dates = past;
    ASSERT_OK(run(&g, s, 2, 300, &e));
    ASSERT_EQ_INT(g.fc.nsleeps, 0);
    /* a date beyond the longest wait is a ban, named with that time */
    step b[] = {
        {418, 0, "{\"code\":-1003,\"msg\":\"Way too much request weight used\"}", -1, 6004, 0},
    };
    static const char *const tomorrow[] = {"Wed, 15 Nov 2023 22:13:20 GMT"};
    retry_dates = tomorrow;
    ASSERT_EQ_INT(run(&g, b, 1, 300, &e), AGT_EBANNED);
    retry_dates = NULL;
    ASSERT(strstr(e.message, "2023-11-15 22:13:20") != NULL);
}

TEST(ratelimit_advertised_weight_limit_lowers_the_budget)
{
    agt_ratelimit rl;
    agt_rl_init(&rl, 0, 6000);
    ASSERT_OK(agt_rl_add_limit(&rl, 1, MIN_US, 400));
    ASSERT_EQ_INT(rl.budget, 400);
    ASSERT_OK(agt_rl_add_limit(&rl, 1, MIN_US, 12000)); /* the options stay a ceiling */
    ASSERT_EQ_INT(rl.budget, 400);
    ASSERT_EQ_INT(rl.ncounters, 0);
    ASSERT_EQ_INT(agt_rl_add_limit(&rl, 1, MIN_US, 0), AGT_EINVAL);
    ASSERT_EQ_INT(agt_rl_add_limit(&rl, 0, 0, 10), AGT_EINVAL);
    ASSERT_EQ_INT(agt_rl_add_limit(&rl, 0, MIN_US, INT64_C(1) << 40), AGT_EINVAL);
    int64_t exch = 1000 * MIN_US + 30 * AGT_US_PER_SEC;
    agt_rl_on_response(&rl, exch, 398);
    ASSERT_EQ_INT(agt_rl_delay_us(&rl, 0, exch, 4), 31 * AGT_US_PER_SEC);
    for (int i = 0; i < AGT_RL_COUNTERS; i++) ASSERT_OK(agt_rl_add_limit(&rl, 0, MIN_US, 1000));
    ASSERT_EQ_INT(agt_rl_add_limit(&rl, 0, MIN_US, 1000), AGT_EINVAL); /* full */
}

TEST(ratelimit_raw_requests_are_counted_per_window)
{
    /* RAW_REQUESTS 10 per 5 minutes: the 11th request waits for the next
     * 5-minute window (plus the slack second), whatever its weight */
    agt_ratelimit rl;
    agt_rl_init(&rl, 0, 6000);
    int64_t win = 5 * MIN_US;
    ASSERT_OK(agt_rl_add_limit(&rl, 0, win, 10));
    int64_t exch = 1000 * win + 10 * AGT_US_PER_SEC;
    for (int i = 0; i < 10; i++) {
        ASSERT_EQ_INT(agt_rl_delay_us(&rl, 0, exch, 4), 0);
        agt_rl_on_send(&rl, 0, exch, 4);
        exch += AGT_US_PER_SEC;
    }
    ASSERT_EQ_INT(agt_rl_delay_us(&rl, 0, exch, 1), 1001 * win + AGT_US_PER_SEC - exch);
    /* in the slack second after the boundary the old window still counts */
    ASSERT_EQ_INT(agt_rl_delay_us(&rl, 0, 1001 * win + 300000, 1), 700000);
    exch = 1001 * win + AGT_US_PER_SEC;
    ASSERT_EQ_INT(agt_rl_delay_us(&rl, 0, exch, 1), 0);
    agt_rl_on_send(&rl, 0, exch, 1);
    ASSERT_EQ_INT(rl.counters[0].count, 1);
    ASSERT_EQ_INT(rl.counters[0].prev, 10);
    /* a window skipped entirely forgets everything */
    ASSERT_EQ_INT(agt_rl_delay_us(&rl, 0, 1003 * win, 1), 0);
}

TEST(ratelimit_counters_never_exceed_their_limits)
{
    /* A model exchange counting requests per 10 s and weight per 5 minutes
     * in aligned windows, against a limiter told both limits; the limiter's
     * clock runs up to 0.8 s ahead of the exchange's (within the slack). */
    agt_ratelimit rl;
    agt_rl_init(&rl, 0, 1 << 30);
    ASSERT_OK(agt_rl_add_limit(&rl, 0, 10 * AGT_US_PER_SEC, 7));
    ASSERT_OK(agt_rl_add_limit(&rl, 1, 5 * MIN_US, 300));
    int64_t mono = 0, exch = 1000 * MIN_US + 123456;
    int64_t raw_w = -1, raw_n = 0, wt_w = -1, wt_n = 0;
    for (int i = 0; i < 3000; i++) {
        int weight = 1 + i % 5;
        int64_t d = agt_rl_delay_us(&rl, mono, exch, weight);
        mono += d;
        exch += d;
        agt_rl_on_send(&rl, mono, exch, weight);
        int64_t seen = exch - (i % 9) * 100000; /* the exchange's clock, behind */
        if (seen / (10 * AGT_US_PER_SEC) != raw_w) raw_w = seen / (10 * AGT_US_PER_SEC), raw_n = 0;
        if (seen / (5 * MIN_US) != wt_w) wt_w = seen / (5 * MIN_US), wt_n = 0;
        raw_n++;
        wt_n += weight;
        ASSERT(raw_n <= 7);
        ASSERT(wt_n <= 300);
        mono += 3000;
        exch += 3000;
    }
}

/* ---- the request loop ------------------------------------------------------ */

TEST(loop_ok_first_time)
{
    rig g;
    agt_error e;
    step s[] = {{200, 0, "[]", -1, 4, 0}};
    ASSERT_OK(run(&g, s, 1, 300, &e));
    ASSERT_EQ_INT(g.sc.next, 1);
    ASSERT_EQ_INT(g.fc.nsleeps, 0);
}

TEST(loop_429_waits_what_it_was_told)
{
    rig g;
    agt_error e;
    step s[] = {
        {429, 0, "{\"code\":-1003,\"msg\":\"Too much request weight used\"}", 35, 6004, 0},
        {429, 0, "{\"code\":-1003,\"msg\":\"Too much request weight used\"}", 7, 6004, 0},
        {200, 0, "[]", -1, 4, 0},
    };
    ASSERT_OK(run(&g, s, 3, 300, &e));
    ASSERT_EQ_INT(g.sc.next, 3);
    /* exactly the Retry-After values; the limiter adds no extra wait since
     * the client was kept away (not_before) for exactly that long */
    ASSERT_EQ_INT(g.fc.nsleeps, 2);
    ASSERT_EQ_INT(g.fc.sleeps[0], 35 * AGT_US_PER_SEC);
    ASSERT_EQ_INT(g.fc.sleeps[1], 7 * AGT_US_PER_SEC);
}

TEST(loop_ban_fails_at_once)
{
    rig g;
    agt_error e;
    step s[] = {
        {418, 0, "{\"code\":-1003,\"msg\":\"Way too much request weight used; IP banned until 1618228675371.\"}",
         720, -1, 0},
        {200, 0, "[]", -1, 4, 0},
    };
    ASSERT_EQ_INT(run(&g, s, 2, 300, &e), AGT_EBANNED);
    ASSERT_EQ_INT(g.sc.next, 1);
    ASSERT_EQ_INT(g.fc.nsleeps, 0);
    ASSERT_EQ_INT(e.status, AGT_EBANNED);
    ASSERT_EQ_INT(e.http_status, 418);
    ASSERT_EQ_INT(e.attempts, 1);
    ASSERT(strstr(e.message, "banned by the exchange until ") == e.message);
    /* now (2023-11-14 22:13:20 + 1 ms) + 720 s */
    ASSERT(strstr(e.message, "2023-11-14 22:25:20 UTC") != NULL);

    step s2[] = {{429, 0, "{\"code\":-1003,\"msg\":\"x\"}", 301, -1, 0}};
    ASSERT_EQ_INT(run(&g, s2, 1, 300, &e), AGT_EBANNED);
    ASSERT_EQ_INT(e.http_status, 429);
}

TEST(loop_418_without_retry_after_reads_the_message)
{
    rig g;
    agt_error e;
    /* banned until now + 10 s: waited out (rounded up to whole seconds) */
    char body[160];
    snprintf(body, sizeof body,
             "{\"code\":-1003,\"msg\":\"Way too many requests; IP banned until %lld.\"}",
             (long long)(1700000000 * 1000LL + 10000));
    step s[] = {{418, 0, body, -1, -1, 0}, {200, 0, "[]", -1, 4, 0}};
    ASSERT_OK(run(&g, s, 2, 300, &e));
    ASSERT_EQ_INT(g.fc.nsleeps, 1);
    ASSERT_EQ_INT(g.fc.sleeps[0], 10 * AGT_US_PER_SEC);
    /* banned for an hour according to the message: fail at once */
    snprintf(body, sizeof body,
             "{\"code\":-1003,\"msg\":\"Way too many requests; IP banned until %lld.\"}",
             (long long)(1700000000 * 1000LL + 3600000));
    ASSERT_EQ_INT(run(&g, s, 2, 300, &e), AGT_EBANNED);
    ASSERT(strstr(e.message, "banned by the exchange until 2023-11-14 23:13:20 UTC") != NULL);
    /* no time at all: a ban of unknown length */
    step u[] = {{418, 0, "{\"code\":-1003,\"msg\":\"banned\"}", -1, -1, 0}};
    ASSERT_EQ_INT(run(&g, u, 1, 300, &e), AGT_EBANNED);
    ASSERT(strstr(e.message, "unknown time") != NULL);
}

TEST(loop_client_error_not_retried)
{
    rig g;
    agt_error e;
    step s[] = {{400, 0, "{\"code\":-1121,\"msg\":\"Invalid symbol.\"}", -1, 4, 0},
                {200, 0, "[]", -1, 4, 0}};
    ASSERT_EQ_INT(run(&g, s, 2, 300, &e), AGT_EAPI);
    ASSERT_EQ_INT(g.sc.next, 1);
    ASSERT_EQ_INT(e.api_code, -1121);
    ASSERT_EQ_INT(e.http_status, 400);
    ASSERT_EQ_INT(e.attempts, 1);
}

TEST(loop_transient_errors_back_off_then_succeed)
{
    rig g;
    agt_error e;
    step s[] = {
        {0, 1, NULL, -1, -1, 0},
        {500, 0, "{\"code\":-1000,\"msg\":\"An unknown error occured\"}", -1, 8, 0},
        {200, 0, "{\"truncated", -1, 12, 0},
        {200, 0, "[]", -1, 16, 0},
    };
    ASSERT_OK(run(&g, s, 4, 300, &e));
    ASSERT_EQ_INT(g.sc.next, 4);
    ASSERT_EQ_INT(g.fc.nsleeps, 3);
    ASSERT_EQ_INT(g.fc.sleeps[0], 250000); /* rnd = 0: half of 0.5 s, 1 s, 2 s */
    ASSERT_EQ_INT(g.fc.sleeps[1], 500000);
    ASSERT_EQ_INT(g.fc.sleeps[2], 1000000);
}

TEST(loop_gives_up_after_max_attempts)
{
    rig g;
    agt_error e;
    step s[] = {{502, 0, "<html>Bad Gateway</html>", -1, -1, 1},
                {502, 0, "<html>Bad Gateway</html>", -1, -1, 1},
                {502, 0, "<html>Bad Gateway</html>", -1, -1, 1},
                {502, 0, "<html>Bad Gateway</html>", -1, -1, 1},
                {200, 0, "[]", -1, -1, 0}};
    ASSERT_EQ_INT(run(&g, s, 5, 300, &e), AGT_EHTTP);
    ASSERT_EQ_INT(g.sc.next, 4);
    ASSERT_EQ_INT(e.attempts, 4);
    ASSERT_EQ_INT(e.http_status, 502);

    step n[] = {{0, 1, NULL, -1, -1, 0}, {0, 1, NULL, -1, -1, 0}, {0, 1, NULL, -1, -1, 0},
                {0, 1, NULL, -1, -1, 0}};
    ASSERT_EQ_INT(run(&g, n, 4, 300, &e), AGT_ENET);
    ASSERT(strstr(e.message, "network error after 4 attempts: connection reset by peer") != NULL);

    step m[] = {{200, 0, "{", -1, -1, 0}, {200, 0, "{", -1, -1, 0}, {200, 0, "{", -1, -1, 0},
                {200, 0, "{", -1, -1, 0}};
    ASSERT_EQ_INT(run(&g, m, 4, 300, &e), AGT_EPARSE);
    ASSERT(strstr(e.message, "malformed response after 4 attempts") != NULL);
}

TEST(loop_waf_403_retried_then_named)
{
    rig g;
    agt_error e;
    const char *waf = "<HTML><HEAD><TITLE>ERROR: The request could not be satisfied</TITLE>"
                      "</HEAD><BODY><H1>403 ERROR</H1>Request blocked.</BODY></HTML>";
    step s[] = {{403, 0, waf, -1, -1, 1}, {403, 0, waf, -1, -1, 1}, {403, 0, waf, -1, -1, 1},
                {403, 0, waf, -1, -1, 1}};
    ASSERT_EQ_INT(run(&g, s, 4, 300, &e), AGT_EHTTP);
    ASSERT_EQ_INT(g.sc.next, 4);
    ASSERT(strstr(e.message, "firewall") != NULL);
    ASSERT_EQ_INT(e.http_status, 403);

    step t[] = {{403, 0, waf, -1, -1, 1}, {200, 0, "[]", -1, -1, 0}};
    ASSERT_OK(run(&g, t, 2, 300, &e));
}

TEST(loop_fatal_transport_error_not_retried)
{
    rig g;
    agt_error e;
    step s[] = {{0, 0, NULL, -1, -1, 0}, {200, 0, "[]", -1, -1, 0}};
    ASSERT_EQ_INT(run(&g, s, 2, 300, &e), AGT_ENET);
    ASSERT_EQ_INT(g.sc.next, 1);
}

/* A fake clock at its usual start. */
static agt_clock fake_started(fake_clock *fc)
{
    memset(fc, 0, sizeof *fc);
    fc->mono = 1000 * AGT_US_PER_SEC;
    fc->real = INT64_C(1700000000) * AGT_US_PER_SEC;
    return fake(fc);
}

/* A connection over `sc` on clock `ck`: 50 ms apart, the usual policy. */
static agt_net *scripted_net(agt_clock *ck, script *sc)
{
    agt_net_opts o;
    agt_net *n;
    agt_error e;
    memset(&o, 0, sizeof o);
    o.interval_ms = 50;
    o.weight_budget = 6000;
    o.retry = policy();
    o.clock = ck;
    o.transport = scripted;
    o.transport_ctx = sc;
    agt_error_clear(&e);
    if (agt_net_new(&o, &n, &e) != AGT_OK) abort();
    return n;
}

/* Three requests of 1 ms each over a fresh connection spaced 50 ms apart, the
 * second marked as following the first when `second_follows`; fc keeps the
 * sleeps. 1 if all three were answered. */
static int three_requests(fake_clock *fc, int second_follows)
{
    agt_clock ck = fake_started(fc);
    step s[] = {{200, 0, "[]", -1, 4, 0}, {200, 0, "[]", -1, 8, 0}, {200, 0, "[]", -1, 12, 0}};
    script sc = {s, 3, 0, fc};
    agt_net *n = scripted_net(&ck, &sc);
    agt_error e;
    agt_net_req rq;
    memset(&rq, 0, sizeof rq);
    rq.url = "http://x/";
    rq.weight = 4;
    rq.on_body = want_array;
    int ok = 0;
    for (int i = 0; i < 3; i++) {
        rq.follows = second_follows && i == 1;
        ok += agt_net_request(n, &rq, &e) == AGT_OK;
    }
    ok += n->requests == 3;
    agt_net_free(n);
    return ok == 4;
}

TEST(loop_spaces_requests_by_interval)
{
    fake_clock fc;
    ASSERT(three_requests(&fc, 0));
    /* each request takes 1 ms, so 49 ms are left to wait before the next */
    ASSERT_EQ_INT(fc.nsleeps, 2);
    ASSERT_EQ_INT(fc.sleeps[0], 49000);
    ASSERT_EQ_INT(fc.sleeps[1], 49000);
}

TEST(a_request_that_follows_is_not_spaced_and_keeps_the_interval)
{
    /* zip, its checksum, the next zip: the checksum goes at once (no sleep
     * before it) and the next zip waits what is left of 50 ms from the first
     * zip's start, as if the pair were one request */
    fake_clock fc;
    ASSERT(three_requests(&fc, 1));
    ASSERT_EQ_INT(fc.nsleeps, 1);
    ASSERT_EQ_INT(fc.sleeps[0], 48000);
}

/* Two connections over one script and clock, the second sharing the first's limiter. */
static void shared_pair(agt_net **a, agt_net **b, agt_clock *ck, script *sc)
{
    *a = scripted_net(ck, sc);
    *b = scripted_net(ck, sc);
    agt_net_share_limiter(*b, *a);
}

TEST(shared_limiter_spaces_and_keeps_away_every_connection)
{
    fake_clock fc;
    agt_clock ck = fake_started(&fc);
    step s[] = {{200, 0, "[]", -1, 4, 0},
                {200, 0, "[]", -1, 8, 0},
                {429, 0, "{\"code\":-1003,\"msg\":\"Too much request weight used\"}", 9, 12, 0},
                {200, 0, "[]", -1, 16, 0},
                {200, 0, "[]", -1, 20, 0}};
    script sc = {s, 5, 0, &fc};
    agt_net *a, *b;
    agt_error e;
    shared_pair(&a, &b, &ck, &sc);
    ASSERT(a->limiter == b->limiter);
    ASSERT_EQ_INT(a->limiter->refs, 2);
    agt_net_req rq;
    memset(&rq, 0, sizeof rq);
    rq.url = "http://x/";
    rq.weight = 4;
    rq.on_body = want_array;
    rq.parse_api_error = api_error;
    ASSERT_OK(agt_net_request(a, &rq, &e));
    /* b's first request keeps a's interval: one limiter, not two */
    ASSERT_OK(agt_net_request(b, &rq, &e));
    ASSERT_EQ_INT(fc.nsleeps, 1);
    ASSERT_EQ_INT(fc.sleeps[0], 49000);
    /* a 429 on a (Retry-After 9 s) holds b back as well: a retries after
     * 9 s, and b, asking at once after, waits its interval behind it */
    ASSERT_OK(agt_net_request(a, &rq, &e));
    ASSERT_EQ_INT(fc.nsleeps, 3);
    ASSERT_EQ_INT(fc.sleeps[1], 49000);
    ASSERT_EQ_INT(fc.sleeps[2], 9 * AGT_US_PER_SEC);
    ASSERT_EQ_INT(a->limiter->rl.not_before_mono, fc.mono - 1000); /* the retry left at it */
    ASSERT_OK(agt_net_request(b, &rq, &e));
    ASSERT_EQ_INT(fc.nsleeps, 4);
    ASSERT_EQ_INT(fc.sleeps[3], 49000);
    ASSERT_EQ_INT(a->limiter->rl.used, 20);
    /* a lower reading of the same minute arriving late does not hide the higher one */
    agt_limiter_on_response(a->limiter, fc.real, 8);
    ASSERT_EQ_INT(a->limiter->rl.used, 20);
    agt_limiter_on_response(a->limiter, fc.real + 60 * AGT_US_PER_SEC, 8);
    ASSERT_EQ_INT(a->limiter->rl.used, 8);
    /* each connection advertises the exchange's limits: counted once */
    ASSERT_OK(agt_limiter_add_limit(a->limiter, 0, 300 * AGT_US_PER_SEC, 61000));
    ASSERT_OK(agt_limiter_add_limit(b->limiter, 0, 300 * AGT_US_PER_SEC, 61000));
    ASSERT_EQ_INT(a->limiter->rl.ncounters, 1);
    agt_net_free(a);
    ASSERT_EQ_INT(b->limiter->refs, 1);
    agt_net_free(b);
}

/* Threads of their own on the system clock: one limiter's interval holds
 * between all of them (each send is decided and recorded under its lock). */
typedef struct acq_ctx {
    agt_limiter *l;
    agt_clock ck;
} acq_ctx;

static void *acquire_some(void *p)
{
    acq_ctx *c = p;
    for (int i = 0; i < 8; i++)
        if (agt_limiter_acquire(c->l, &c->ck, 4, 0, 0) != 0) abort();
    return NULL;
}

TEST(shared_limiter_interval_holds_across_threads)
{
    acq_ctx c;
    c.l = agt_limiter_new(5000, 6000);
    ASSERT(c.l != NULL);
    agt_clock_system(&c.ck);
    int64_t t0 = c.ck.mono_us(NULL);
    pthread_t t[4];
    for (int i = 0; i < 4; i++) ASSERT_EQ_INT(pthread_create(&t[i], NULL, acquire_some, &c), 0);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    /* 32 sends, 5 ms apart at least: 31 intervals, whatever the threads did */
    ASSERT(c.l->rl.last_send_mono - t0 >= 31 * 5000);
    ASSERT(c.ck.mono_us(NULL) - t0 >= 31 * 5000);
    agt_limiter_release(c.l);
}

TEST(system_clock_sleeps)
{
    agt_clock c;
    agt_clock_system(&c);
    int64_t t0 = c.mono_us(NULL);
    c.sleep_us(NULL, 20000);
    int64_t t1 = c.mono_us(NULL);
    ASSERT(t1 - t0 >= 20000);
    ASSERT(c.real_us(NULL) > INT64_C(1600000000) * AGT_US_PER_SEC);
    ASSERT(c.random(NULL) != c.random(NULL));
}

TEST(curl_transport_reports_connection_refused)
{
    /* A real libcurl round against a closed local port: a transient ENET. */
    agt_http_opts o = {2000, 5000, 0, 0};
    agt_http *h;
    agt_error e;
    agt_error_clear(&e);
    ASSERT_OK(agt_http_new(&o, &h, &e));
    agt_http_resp r = {0};
    agt_buf_init(&r.body, AGT_NET_BODY_CAP);
    int transient = -1;
    agt_status s = agt_http_get(h, "http://127.0.0.1:1/api/v3/time", &r, &transient, &e);
    ASSERT_EQ_INT(s, AGT_ENET);
    ASSERT_EQ_INT(transient, 1);
    s = agt_http_get(h, "gopher://127.0.0.1:1/", &r, &transient, &e);
    ASSERT_EQ_INT(s, AGT_ENET);
    ASSERT_EQ_INT(transient, 0);
    agt_buf_release(&r.body);
    agt_http_free(h);
}

TEST_MAIN(TEST_REF(backoff_doubles_with_equal_jitter), TEST_REF(retry_decisions),
          TEST_REF(retry_after_is_honoured_exactly), TEST_REF(ratelimit_minimum_interval),
          TEST_REF(ratelimit_spreads_the_last_fifth_of_the_budget),
          TEST_REF(ratelimit_never_exceeds_the_budget_in_a_simulated_minute),
          TEST_REF(ratelimit_not_before), TEST_REF(header_parsing), TEST_REF(loop_ok_first_time),
          TEST_REF(loop_429_waits_what_it_was_told), TEST_REF(loop_ban_fails_at_once),
          TEST_REF(loop_418_without_retry_after_reads_the_message),
          TEST_REF(loop_client_error_not_retried),
          TEST_REF(loop_transient_errors_back_off_then_succeed),
          TEST_REF(loop_gives_up_after_max_attempts), TEST_REF(loop_waf_403_retried_then_named),
          TEST_REF(loop_fatal_transport_error_not_retried),
          TEST_REF(loop_spaces_requests_by_interval),
          TEST_REF(a_request_that_follows_is_not_spaced_and_keeps_the_interval), TEST_REF(system_clock_sleeps),
          TEST_REF(curl_transport_reports_connection_refused), TEST_REF(retry_after_http_date),
          TEST_REF(loop_429_with_an_http_date_waits_until_then),
          TEST_REF(ratelimit_advertised_weight_limit_lowers_the_budget),
          TEST_REF(ratelimit_raw_requests_are_counted_per_window),
          TEST_REF(ratelimit_counters_never_exceed_their_limits),
          TEST_REF(shared_limiter_spaces_and_keeps_away_every_connection),
          TEST_REF(shared_limiter_interval_holds_across_threads))
