/*
 * test_source_rest.c - agt_fetch_hour against an in-process fake exchange:
 * a function-pointer transport that serves /api/v3/aggTrades (endTime and
 * fromId modes, µs or ms) and /api/v3/time from a trade list built by each
 * test, with queued faults, and a fake clock so no test waits. The cases are
 * the ones that lose or duplicate trades in naive clients: page boundaries
 * inside one timestamp, more than 1000 trades in one microsecond at either
 * end of the hour, empty hours, a symbol's first trade, the REST history
 * floor, repeated ids, holes, and the request budget ceil(n/1000) + 2 -
 * under both walks (AGT_PAGING_TIME, the default, and AGT_PAGING_ID).
 */
#include <inttypes.h>

#include "harness.h"
#include "source/source_int.h"
#include "source/source_units.h"
#include "trades_util.h"

#define HOUR AGT_US_PER_HOUR
#define S0 INT64_C(1704067200000000) /* 2024-01-01 00:00 UTC */

/* ---- fake clock ------------------------------------------------------------ */

typedef struct fclock {
    int64_t mono, real;
    int64_t slept;
    int nsleeps;
} fclock;

static int64_t fc_mono(void *c) { return ((fclock *)c)->mono; }
static int64_t fc_real(void *c) { return ((fclock *)c)->real; }
static void fc_sleep(void *c, int64_t us)
{
    fclock *f = c;
    if (us <= 0) return;
    f->mono += us;
    f->real += us;
    f->slept += us;
    f->nsleeps++;
}
static uint64_t fc_rand(void *c)
{
    (void)c;
    return 0;
}

/* ---- fake exchange ----------------------------------------------------------- */

typedef struct xt {
    int64_t a, t; /* t in µs */
    int64_t f, l;
    int64_t p_e8, q_e8;
    int m;
} xt;

typedef struct fx {
    xt *tr;
    size_t n, cap;
    int64_t now_us;   /* the exchange clock (frozen) */
    int ms_only;      /* ignore X-MBX-TIME-UNIT: T in ms */
    int data_requests, time_requests;
    const char *faults[16];
    int nfaults, next_fault;
    int64_t dup_id;   /* this id is sent twice (like newton-binance); -1 none */
    int64_t floor_id; /* the REST history floor: no id below it is served */
    fclock *clock;
} fx;

static void fx_init(fx *x, fclock *c)
{
    memset(x, 0, sizeof *x);
    x->clock = c;
    x->now_us = S0 + 100 * HOUR;
    x->dup_id = -1;
}

static void fx_release(fx *x)
{
    free(x->tr);
}

/* Append k trades sharing timestamp t (ids continue from the last). */
static void add(fx *x, int64_t t, int k)
{
    for (int i = 0; i < k; i++) {
        if (x->n == x->cap) {
            x->cap = x->cap ? x->cap * 2 : 1024;
            x->tr = realloc(x->tr, x->cap * sizeof *x->tr);
        }
        xt *r = &x->tr[x->n];
        r->a = x->n ? x->tr[x->n - 1].a + 1 : 0;
        r->f = x->n ? x->tr[x->n - 1].l + 1 : 0;
        r->l = r->f + (r->a % 3);
        r->t = t;
        r->p_e8 = 4000000000000 + (r->a * 7919) % 100000000;
        r->q_e8 = 1000 + (r->a * 104729) % 10000000;
        r->m = (int)(r->a % 2);
        x->n++;
    }
}

/* First id of the list: call before any add(). */
static void start_ids_at(fx *x, int64_t a)
{
    add(x, S0 - 1000 * HOUR, 1);
    x->tr[0].a = a;
    x->tr[0].f = x->tr[0].l = a * 2;
}

static int64_t qparam(const char *url, const char *name, int *found)
{
    char key[32];
    snprintf(key, sizeof key, "%s=", name);
    const char *p = strstr(url, key);
    *found = p != NULL && (p[-1] == '?' || p[-1] == '&');
    return *found ? strtoll(p + strlen(key), NULL, 10) : 0;
}

static void put_row(fx *x, agt_buf *b, const xt *r)
{
    int64_t t = x->ms_only ? r->t / 1000 : r->t;
    agt_buf_printf(b,
                   "{\"a\":%" PRId64 ",\"p\":\"%" PRId64 ".%08" PRId64 "\",\"q\":\"%" PRId64
                   ".%08" PRId64 "\",\"f\":%" PRId64 ",\"l\":%" PRId64 ",\"T\":%" PRId64
                   ",\"m\":%s,\"M\":true}",
                   r->a, r->p_e8 / 100000000, r->p_e8 % 100000000, r->q_e8 / 100000000,
                   r->q_e8 % 100000000, r->f, r->l, t, r->m ? "true" : "false");
}

static agt_status fx_transport(void *ctx, const char *url, agt_http_resp *r, int *transient,
                               agt_error *err)
{
    fx *x = ctx;
    agt_http_resp_reset(r);
    x->clock->mono += 2000; /* 2 ms round trip */
    x->clock->real += 2000;
    *transient = 1;
    if (strstr(url, "/api/v3/time")) {
        x->time_requests++;
        r->status = 200;
        r->used_weight = 1;
        agt_buf_printf(&r->body, "{\"serverTime\":%" PRId64 "}", x->now_us / 1000);
        return AGT_OK;
    }
    if (!strstr(url, "/api/v3/aggTrades?")) {
        r->status = 404;
        return AGT_OK;
    }
    x->data_requests++;
    if (x->next_fault < x->nfaults) {
        const char *f = x->faults[x->next_fault++];
        if (strcmp(f, "ok") == 0) goto serve;
        if (strcmp(f, "reset") == 0) return agt_err(err, AGT_ENET, "connection reset by peer");
        if (strcmp(f, "500") == 0) {
            r->status = 500;
            agt_buf_printf(&r->body, "{\"code\":-1000,\"msg\":\"An unknown error occurred.\"}");
            return AGT_OK;
        }
        if (strcmp(f, "429") == 0) {
            r->status = 429;
            r->retry_after_s = 3;
            agt_buf_printf(&r->body, "{\"code\":-1003,\"msg\":\"Too much request weight used\"}");
            return AGT_OK;
        }
        if (strcmp(f, "garbage") == 0) {
            r->status = 200;
            agt_buf_printf(&r->body, "[{\"a\":1,\"p\":\"1\"");
            return AGT_OK;
        }
    }
serve:
    if (!strstr(url, "symbol=BTCUSDT&")) {
        r->status = 400;
        agt_buf_printf(&r->body, "{\"code\":-1121,\"msg\":\"Invalid symbol.\"}");
        return AGT_OK;
    }
    int has_end, has_from, has_limit;
    int64_t end = qparam(url, "endTime", &has_end);
    int64_t from = qparam(url, "fromId", &has_from);
    int64_t limit = qparam(url, "limit", &has_limit);
    if (!has_limit) limit = 500;
    if (limit > 1000) limit = 1000;
    if (has_end && has_from) {
        r->status = 400;
        agt_buf_printf(&r->body, "{\"code\":-1128,\"msg\":\"Combination of optional parameters invalid.\"}");
        return AGT_OK;
    }
    if (has_end) end = end >= INT64_C(100000000000000) ? end : end * 1000 + 999;
    if (end > x->now_us) end = x->now_us;
    /* rows [lo, hi) of the list; the row with id dup_id (if any) is sent
     * twice and both copies count towards the limit, as in the genuine
     * newton-binance page */
    size_t lo = 0, hi = 0, objs = 0;
    if (has_from) {
        size_t a = 0, b = x->n; /* first row with id >= from */
        while (a < b) {
            size_t mid = a + (b - a) / 2;
            if (x->tr[mid].a < from) a = mid + 1; else b = mid;
        }
        lo = a;
        while (lo < x->n && x->tr[lo].a < x->floor_id) lo++;
        hi = lo;
        while (hi < x->n && objs < (size_t)limit && x->tr[hi].t <= x->now_us) {
            objs += x->tr[hi].a == x->dup_id ? 2 : 1;
            hi++;
        }
    } else {
        size_t a = 0, b = x->n; /* first row with t > end */
        while (a < b) {
            size_t mid = a + (b - a) / 2;
            if (x->tr[mid].t <= end) a = mid + 1; else b = mid;
        }
        hi = a;
        lo = hi;
        while (lo > 0 && objs < (size_t)limit && x->tr[lo - 1].a >= x->floor_id) {
            lo--;
            objs += x->tr[lo].a == x->dup_id ? 2 : 1;
        }
    }
    r->status = 200;
    r->used_weight = 4 * x->data_requests;
    agt_buf_putc(&r->body, '[');
    size_t sent = 0;
    for (size_t i = lo; i < hi; i++) {
        for (int k = 0; k < (x->tr[i].a == x->dup_id ? 2 : 1); k++) {
            if (sent == (size_t)limit) break;
            /* END mode cuts the oldest copy, fromId mode the newest */
            if (!has_from && objs > (size_t)limit && i == lo && k == 0 && x->tr[i].a == x->dup_id) {
                objs--;
                continue;
            }
            if (sent++) agt_buf_putc(&r->body, ',');
            put_row(x, &r->body, &x->tr[i]);
        }
    }
    agt_buf_putc(&r->body, ']');
    if (getenv("AGT_TEST_DUMP")) fprintf(stderr, "%s -> %.300s\n", url, (const char *)r->body.data);
    return AGT_OK;
}

typedef struct rig {
    fclock ck;
    agt_clock clock;
    fx x;
    agt_client *c;
    agt_trades out;
    agt_hour_info info;
    agt_error err;
} rig;

static void rig_init(rig *g)
{
    memset(g, 0, sizeof *g);
    g->ck.mono = 5000 * AGT_US_PER_SEC;
    g->ck.real = S0 + 100 * HOUR;
    agt_clock c = {fc_mono, fc_real, fc_sleep, fc_rand, &g->ck};
    g->clock = c;
    fx_init(&g->x, &g->ck);
    agt_trades_init(&g->out);
}

/* The walk the rig's default client uses (tests loop over both). */
static int g_paging = AGT_PAGING_TIME;

static agt_status rig_client(rig *g, const agt_client_opts *o)
{
    agt_client_opts d;
    agt_client_opts_default(&d);
    d.api_url = "http://fake";
    d.paging = g_paging;
    return agt_client_new_with(o ? o : &d, &g->clock, fx_transport, &g->x, &g->c, &g->err);
}

static agt_status fetch(rig *g, int64_t hour)
{
    if (!g->c && rig_client(g, NULL) != AGT_OK) return AGT_ENOMEM;
    agt_trades_clear(&g->out);
    g->x.data_requests = 0;
    agt_status s = agt_fetch_hour(g->c, "BTCUSDT", hour, &g->out, &g->info, &g->err);
    if (s != AGT_OK && getenv("AGT_TEST_VERBOSE")) fprintf(stderr, "  fetch: %s\n", g->err.message);
    return s;
}

static void rig_release(rig *g)
{
    agt_client_free(g->c);
    agt_trades_release(&g->out);
    fx_release(&g->x);
}

/* The result equals the fake's trades with S <= t <= E, field for field. */
static int matches_truth(rig *g, int64_t S, char *why, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < g->x.n; i++) {
        const xt *r = &g->x.tr[i];
        if (r->t < S || r->t > S + HOUR - 1) continue;
        if (k >= g->out.len) {
            snprintf(why, n, "missing trade %" PRId64, r->a);
            return 0;
        }
        char p[40], q[40];
        snprintf(p, sizeof p, "%" PRId64 ".%08" PRId64, r->p_e8 / 100000000, r->p_e8 % 100000000);
        snprintf(q, sizeof q, "%" PRId64 ".%08" PRId64, r->q_e8 / 100000000, r->q_e8 % 100000000);
        if (g->out.trade_id[k] != r->a || g->out.ts_us[k] != (g->x.ms_only ? r->t / 1000 * 1000 : r->t) ||
            g->out.price[k] != strtod(p, NULL) || g->out.quantity[k] != strtod(q, NULL) ||
            g->out.is_buyer_maker[k] != r->m) {
            snprintf(why, n, "row %zu differs (id %" PRId64 " vs %" PRId64 ")", k, g->out.trade_id[k], r->a);
            return 0;
        }
        k++;
    }
    if (k != g->out.len) {
        snprintf(why, n, "%zu extra rows", g->out.len - k);
        return 0;
    }
    return 1;
}

#define ASSERT_TRUTH(g, S)                                                                \
    do {                                                                                  \
        char why_[160];                                                                   \
        if (!matches_truth(g, S, why_, sizeof why_)) FAIL_("result differs: %s", why_);   \
    } while (0)

static int64_t ceil_div(int64_t a, int64_t b)
{
    return (a + b - 1) / b;
}

/* Spread k trades evenly over [t0, t0 + span). */
static void spread(fx *x, int64_t t0, int64_t span, int k)
{
    for (int i = 0; i < k; i++) add(x, t0 + span * i / k, 1);
}

/* ---- tests ------------------------------------------------------------------ */

TEST(rejects_bad_arguments_without_a_request)
{
    rig g;
    rig_init(&g);
    ASSERT_OK(rig_client(&g, NULL));
    const char *bad_sym[] = {"", "b", "btcusdt", "BTC-USDT", "ABCDEFGHIJKLMNOPQRSTU", NULL};
    for (int i = 0; i < 6; i++) {
        ASSERT_EQ_INT(agt_fetch_hour(g.c, bad_sym[i], S0, &g.out, &g.info, &g.err), AGT_EINVAL);
        ASSERT(strstr(g.err.message, "invalid symbol") != NULL);
    }
    ASSERT_EQ_INT(agt_fetch_hour(g.c, "BTCUSDT", S0 + 1, &g.out, NULL, &g.err), AGT_EINVAL);
    ASSERT_EQ_INT(agt_fetch_hour(g.c, "BTCUSDT", S0 + 30 * 60 * AGT_US_PER_SEC, &g.out, NULL, &g.err),
                  AGT_EINVAL);
    ASSERT_EQ_INT(agt_fetch_hour(g.c, "BTCUSDT", AGT_FIRST_HOUR_US - HOUR, &g.out, NULL, &g.err),
                  AGT_EINVAL);
    ASSERT(strstr(g.err.message, "2017-07-01") != NULL);
    ASSERT_EQ_INT(agt_fetch_hour(g.c, "BTCUSDT", -HOUR, &g.out, NULL, &g.err), AGT_EINVAL);
    ASSERT_EQ_INT(agt_fetch_hour(NULL, "BTCUSDT", S0, &g.out, NULL, &g.err), AGT_EINVAL);
    ASSERT_EQ_INT(g.x.data_requests + g.x.time_requests, 0);
    /* the first allowed hour is fine */
    ASSERT_OK(agt_fetch_hour(g.c, "BTCUSDT", AGT_FIRST_HOUR_US, &g.out, &g.info, &g.err));
    rig_release(&g);
}

TEST(bad_client_options)
{
    agt_client_opts o;
    agt_client_opts_default(&o);
    ASSERT_EQ_INT(o.interval_ms, 50);
    ASSERT_EQ_INT(o.max_attempts, 4);
    ASSERT_EQ_INT(o.max_ban_wait_s, 300);
    ASSERT_EQ_INT(o.weight_budget, 6000);
    ASSERT_EQ_STR(o.api_url, "https://api.binance.com");
    agt_client *c = NULL;
    agt_error e;
    o.api_url = "ftp://example.com";
    ASSERT_EQ_INT(agt_client_new(&o, &c, &e), AGT_EINVAL);
    o.api_url = "http://exa mple.com";
    ASSERT_EQ_INT(agt_client_new(&o, &c, &e), AGT_EINVAL);
    ASSERT(c == NULL);
    /* a real libcurl client can be made and freed without any request */
    ASSERT_OK(agt_client_new(NULL, &c, &e));
    agt_client_free(c);
    agt_client_free(NULL);
}

TEST(ordinary_hour_exact_and_within_budget)
{
    int sizes[] = {1, 500, 998, 999, 1000, 1001, 1999, 2000, 2500, 7777};
    for (size_t k = 0; k < 2 * sizeof sizes / sizeof sizes[0]; k++) {
        g_paging = k % 2 ? AGT_PAGING_ID : AGT_PAGING_TIME;
        rig g;
        rig_init(&g);
        spread(&g.x, S0 - HOUR, HOUR, 3000);           /* the hour before */
        spread(&g.x, S0, HOUR, sizes[k / 2]);          /* the hour */
        spread(&g.x, S0 + HOUR, HOUR, 1500);           /* the hour after */
        ASSERT_OK(fetch(&g, S0));
        ASSERT_EQ_INT(g.out.len, sizes[k / 2]);
        ASSERT_TRUTH(&g, S0);
        ASSERT_EQ_INT(g.info.prev_id, 2999);
        ASSERT_EQ_INT(g.info.prev_ts_us, g.x.tr[2999].t);
        ASSERT_EQ_INT(g.info.complete, 1);
        ASSERT_EQ_INT(g.info.hour_start_us, S0);
        /* by id the blocks never overlap: exactly the hour and the trade before;
         * by time each page repeats the trade at its boundary */
        if (g_paging == AGT_PAGING_ID) ASSERT_EQ_INT(g.x.data_requests, ceil_div(sizes[k / 2] + 1, 1000));
        ASSERT(g.x.data_requests <= ceil_div(sizes[k / 2], 1000) + 2);
        ASSERT_EQ_INT(g.info.requests, g.x.data_requests);
        ASSERT(g.info.bytes > 0);
        ASSERT(agt_trades_is_sorted(&g.out));
        rig_release(&g);
    }
    g_paging = AGT_PAGING_TIME;
}

TEST(bursts_of_more_than_1000_in_one_microsecond_at_both_ends)
{
    rig g;
    rig_init(&g);
    spread(&g.x, S0 - HOUR, HOUR - 10, 700);
    add(&g.x, S0 - 1, 1500);             /* burst just before the hour */
    add(&g.x, S0, 2300);                 /* burst at the first µs of the hour */
    spread(&g.x, S0 + 1, HOUR - 2, 1234);
    add(&g.x, S0 + HOUR - 1, 2100);      /* burst at the last µs */
    add(&g.x, S0 + HOUR, 1800);          /* and at the first µs of the next hour */
    spread(&g.x, S0 + HOUR + 1, HOUR, 300);
    ASSERT_OK(fetch(&g, S0));
    int64_t n = 2300 + 1234 + 2100;
    ASSERT_EQ_INT(g.out.len, n);
    ASSERT_TRUTH(&g, S0);
    ASSERT_EQ_INT(g.info.prev_id, 700 + 1500 - 1);
    ASSERT_EQ_INT(g.info.prev_ts_us, S0 - 1);
    ASSERT_EQ_INT(g.info.complete, 1);
    ASSERT(g.x.data_requests <= ceil_div(n, 1000) + 2);
    rig_release(&g);
}

TEST(page_boundaries_inside_one_millisecond)
{
    /* Every millisecond holds 7 trades at 7 distinct µs and some at one µs:
     * any page boundary falls inside a millisecond. */
    rig g;
    rig_init(&g);
    spread(&g.x, S0 - HOUR, HOUR, 10);
    for (int ms = 0; ms < 900; ms++) {
        int64_t t = S0 + (int64_t)ms * 3 * AGT_US_PER_SEC;
        for (int u = 0; u < 7; u++) add(&g.x, t + u, 1 + (ms + u) % 3);
    }
    spread(&g.x, S0 + HOUR, HOUR, 10);
    ASSERT_OK(fetch(&g, S0));
    ASSERT_TRUTH(&g, S0);
    ASSERT_EQ_INT(g.info.complete, 1);
    ASSERT(g.x.data_requests <= ceil_div((int64_t)g.out.len, 1000) + 2);
    rig_release(&g);
}

TEST(empty_hour_is_complete_when_the_trades_around_it_are_consecutive)
{
    for (int k = 0; k < 2; k++) {
        rig g;
        rig_init(&g);
        spread(&g.x, S0 - 5 * HOUR, HOUR, 4000);
        if (k == 0) spread(&g.x, S0 + HOUR, HOUR, 4000); /* k == 1: nothing after it yet */
        ASSERT_OK(fetch(&g, S0));
        ASSERT_EQ_INT(g.out.len, 0);
        ASSERT_EQ_INT(g.info.prev_id, 3999);
        ASSERT_EQ_INT(g.info.complete, 1);
        ASSERT_EQ_INT(g.x.data_requests, 2); /* the trade before, the trade after */
        rig_release(&g);
    }
}

TEST(empty_answer_below_the_history_floor_is_no_proof)
{
    /* REST serves nothing before id 6000: the hour S0 (ids 4000..4999) and
     * the empty hours before it answer [] by time - not an empty hour. */
    int64_t hours[] = {S0, S0 - 3 * HOUR, S0 - HOUR};
    for (int k = 0; k < 6; k++) {
        g_paging = k % 2 ? AGT_PAGING_ID : AGT_PAGING_TIME;
        rig g;
        rig_init(&g);
        spread(&g.x, S0 - 5 * HOUR, HOUR, 4000);
        spread(&g.x, S0, HOUR, 1000);
        spread(&g.x, S0 + HOUR, HOUR, 4000);
        g.x.floor_id = 6000;
        ASSERT_OK(fetch(&g, hours[k / 2]));
        ASSERT_EQ_INT(g.out.len, 0);
        ASSERT_EQ_INT(g.info.complete, 0);
        ASSERT(g.x.data_requests <= 2);
        rig_release(&g);
    }
    /* a floor inside the hour: the rows above it, never called complete */
    for (int k = 0; k < 2; k++) {
        g_paging = k % 2 ? AGT_PAGING_ID : AGT_PAGING_TIME;
        rig g;
        rig_init(&g);
        spread(&g.x, S0 - HOUR, HOUR, 4000);
        spread(&g.x, S0, HOUR, 3000);
        g.x.floor_id = 5500;
        ASSERT_OK(fetch(&g, S0));
        ASSERT_EQ_INT(g.out.len, 1500);
        ASSERT_EQ_INT(g.out.trade_id[0], 5500);
        ASSERT_EQ_INT(g.info.complete, 0);
        rig_release(&g);
    }
    g_paging = AGT_PAGING_TIME;
}

TEST(hour_before_the_symbol_existed)
{
    rig g;
    rig_init(&g);
    spread(&g.x, S0 + 3 * HOUR, HOUR, 100);
    ASSERT_OK(fetch(&g, S0));
    ASSERT_EQ_INT(g.out.len, 0);
    ASSERT_EQ_INT(g.info.prev_id, -1);
    ASSERT_EQ_INT(g.info.prev_ts_us, 0);
    ASSERT_EQ_INT(g.info.complete, 1);
    ASSERT_EQ_INT(g.x.data_requests, 2); /* nothing by time; id 0 is after the hour */
    rig_release(&g);
}

TEST(symbols_first_trade_inside_the_hour)
{
    int sizes[] = {10, 1000, 2000, 3500};
    for (int k = 0; k < 4; k++) {
        /* ids from 0: found by reaching id 0 (or a short first page) */
        rig g;
        rig_init(&g);
        spread(&g.x, S0 + 10, HOUR - 20, sizes[k]);
        spread(&g.x, S0 + HOUR, HOUR, 100);
        ASSERT_OK(fetch(&g, S0));
        ASSERT_TRUTH(&g, S0);
        ASSERT_EQ_INT(g.info.prev_id, -1);
        ASSERT_EQ_INT(g.info.complete, 1);
        ASSERT(g.x.data_requests <= ceil_div(sizes[k], 1000) + 2);
        rig_release(&g);

        /* ids from 123456 with nothing served below (the REST history floor):
         * the rows are there, but the start is not proven */
        rig_init(&g);
        start_ids_at(&g.x, 123456);
        g.x.tr[0].t = S0 + 10;
        spread(&g.x, S0 + 20, HOUR - 30, sizes[k] - 1);
        ASSERT_OK(fetch(&g, S0));
        ASSERT_TRUTH(&g, S0);
        ASSERT_EQ_INT(g.info.complete, 0);
        ASSERT(g.x.data_requests <= ceil_div(sizes[k], 1000) + 2);
        rig_release(&g);
    }
}

TEST(hour_not_over_on_the_exchange_is_not_complete)
{
    rig g;
    rig_init(&g);
    spread(&g.x, S0 - HOUR, 2 * HOUR, 3000);
    g.x.now_us = S0 + HOUR + 3 * AGT_US_PER_SEC; /* 3 s after the end: inside the margin */
    ASSERT_OK(fetch(&g, S0));
    ASSERT_EQ_INT(g.info.complete, 0);
    ASSERT_EQ_INT(g.x.time_requests, 1);
    ASSERT(g.info.server_time_us >= g.x.now_us);
    ASSERT_TRUTH(&g, S0);
    /* the clock moves on: a fresh reading near the boundary */
    g.x.now_us = S0 + HOUR + 6 * AGT_US_PER_SEC;
    ASSERT_OK(fetch(&g, S0));
    ASSERT_EQ_INT(g.info.complete, 1);
    ASSERT_EQ_INT(g.x.time_requests, 2);
    /* an old hour needs no new reading */
    ASSERT_OK(fetch(&g, S0 - 10 * HOUR));
    ASSERT_EQ_INT(g.x.time_requests, 2);
    /* the hour in progress */
    ASSERT_OK(fetch(&g, S0 + HOUR));
    ASSERT_EQ_INT(g.info.complete, 0);
    int64_t now;
    ASSERT_OK(agt_client_server_time(g.c, &now, &g.err));
    ASSERT_EQ_INT(now, g.x.now_us / 1000 * 1000);
    rig_release(&g);
}

TEST(faults_are_retried_and_the_result_is_unchanged)
{
    rig g;
    rig_init(&g);
    spread(&g.x, S0 - HOUR, 3 * HOUR, 9000);
    const char *f[] = {"500", "reset", "ok", "garbage", "429", "ok", "reset", "reset", "reset"};
    for (int i = 0; i < 9; i++) g.x.faults[i] = f[i];
    g.x.nfaults = 9;
    ASSERT_OK(fetch(&g, S0));
    ASSERT_TRUTH(&g, S0);
    ASSERT_EQ_INT(g.info.complete, 1);
    ASSERT_EQ_INT(g.info.requests, g.x.data_requests);
    ASSERT_EQ_INT(g.x.next_fault, 9);
    ASSERT_EQ_INT(g.x.data_requests, 4 + 7);
    /* the 429 waited exactly its Retry-After (plus backoffs and intervals) */
    ASSERT(g.ck.slept >= 3 * AGT_US_PER_SEC);
    rig_release(&g);
}

TEST(persistent_failure_leaves_out_untouched)
{
    rig g;
    rig_init(&g);
    spread(&g.x, S0 - HOUR, 3 * HOUR, 9000);
    for (int i = 0; i < 6; i++) g.x.faults[i] = "500";
    g.x.nfaults = 6;
    ASSERT_OK(rig_client(&g, NULL));
    ASSERT_OK(agt_trades_push(&g.out, 42, 1, 1.0, 1.0, 0));
    ASSERT_EQ_INT(agt_fetch_hour(g.c, "BTCUSDT", S0, &g.out, &g.info, &g.err), AGT_EHTTP);
    ASSERT_EQ_INT(g.out.len, 1);
    ASSERT_EQ_INT(g.err.http_status, 500);
    ASSERT_EQ_INT(g.err.api_code, -1000);
    ASSERT_EQ_INT(g.err.attempts, 4);
    ASSERT_EQ_INT(g.x.data_requests, 4);
    rig_release(&g);
}

TEST(invalid_symbol_is_not_retried)
{
    rig g;
    rig_init(&g);
    ASSERT_OK(rig_client(&g, NULL));
    ASSERT_EQ_INT(agt_fetch_hour(g.c, "NOSUCH", S0, &g.out, &g.info, &g.err), AGT_EAPI);
    ASSERT_EQ_INT(g.err.api_code, -1121);
    ASSERT_EQ_INT(g.err.http_status, 400);
    ASSERT_EQ_INT(g.err.attempts, 1);
    ASSERT_EQ_INT(g.x.data_requests, 1);
    ASSERT(strstr(g.err.message, "Invalid symbol.") != NULL);
    rig_release(&g);
}

TEST(repeated_ids_in_a_page_are_deduplicated)
{
    /* the repeated id at every interesting place: the first and last row
     * of a page, the boundaries of the hour, the trade before it */
    int64_t where[] = {1667, 1668, 2333, 2334, 2335, 3333, 3332, 1666, 1000, 999, 2666};
    for (size_t k = 0; k < sizeof where / sizeof where[0]; k++) {
        rig g;
        rig_init(&g);
        spread(&g.x, S0 - HOUR, 3 * HOUR, 5000);
        g.x.dup_id = where[k];
        ASSERT_OK(fetch(&g, S0));
        ASSERT_TRUTH(&g, S0);
        ASSERT(agt_trades_is_sorted(&g.out));
        ASSERT_EQ_INT(g.info.complete, 1);
        ASSERT(g.x.data_requests <= ceil_div((int64_t)g.out.len, 1000) + 2);
        rig_release(&g);
    }
}

TEST(server_sending_milliseconds_is_understood)
{
    rig g;
    rig_init(&g);
    spread(&g.x, S0 - HOUR, 3 * HOUR, 5000);
    g.x.ms_only = 1;
    ASSERT_OK(fetch(&g, S0));
    ASSERT_TRUTH(&g, S0);
    ASSERT_EQ_INT(g.info.complete, 1);
    rig_release(&g);
}

TEST(a_hole_in_the_ids_makes_the_hour_incomplete)
{
    rig g;
    rig_init(&g);
    spread(&g.x, S0 - HOUR, 3 * HOUR, 5000);
    /* remove 10 trades from the middle of the hour */
    memmove(&g.x.tr[2500], &g.x.tr[2510], (g.x.n - 2510) * sizeof *g.x.tr);
    g.x.n -= 10;
    ASSERT_OK(fetch(&g, S0));
    ASSERT_TRUTH(&g, S0);
    ASSERT_EQ_INT(g.info.complete, 0);
    rig_release(&g);

    /* a hole just before the hour: prev is not first - 1 */
    rig_init(&g);
    spread(&g.x, S0 - HOUR, HOUR, 2000);
    spread(&g.x, S0, HOUR, 2000);
    for (size_t i = 2000; i < g.x.n; i++) g.x.tr[i].a += 5;
    ASSERT_OK(fetch(&g, S0));
    ASSERT_TRUTH(&g, S0);
    ASSERT_EQ_INT(g.info.prev_id, 1999);
    ASSERT_EQ_INT(g.info.complete, 0);
    rig_release(&g);
}

static int cancel_after;
static uint64_t progress_rows, progress_calls;
static int progress(void *user, uint64_t bytes, uint64_t trades)
{
    (void)user;
    progress_calls++;
    progress_rows += trades;
    return bytes > 0 && --cancel_after == 0;
}

TEST(progress_and_cancel)
{
    rig g;
    rig_init(&g);
    spread(&g.x, S0 - HOUR, 3 * HOUR, 9000);
    agt_client_opts o;
    agt_client_opts_default(&o);
    o.api_url = "http://fake/";
    o.progress = progress;
    ASSERT_OK(rig_client(&g, &o));
    cancel_after = 1000;
    progress_rows = progress_calls = 0;
    ASSERT_OK(fetch(&g, S0));
    ASSERT_EQ_INT(progress_calls, g.x.data_requests);
    ASSERT_EQ_INT(progress_rows, g.x.data_requests * 1000);
    cancel_after = 2;
    ASSERT_EQ_INT(fetch(&g, S0), AGT_ECANCELLED);
    ASSERT_EQ_INT(g.err.status, AGT_ECANCELLED);
    ASSERT_EQ_INT(g.out.len, 0);
    ASSERT_EQ_INT(g.x.data_requests, 2);
    rig_release(&g);
}

TEST(requests_are_spaced_by_the_interval)
{
    rig g;
    rig_init(&g);
    spread(&g.x, S0 - HOUR, 3 * HOUR, 9000);
    ASSERT_OK(fetch(&g, S0));
    /* 1 time + 4 data requests, 2 ms each: 4 waits of 48 ms */
    ASSERT_EQ_INT(g.ck.nsleeps, 4);
    ASSERT_EQ_INT(g.ck.slept, 4 * 48000);
    rig_release(&g);
}

static uint64_t rs = 88172645463325252u;
static uint64_t rnd(void)
{
    return test_xorshift64(&rs);
}

/*
 * A random mixture of sparse trades, dense milliseconds and bursts around
 * S0 (ids sometimes not from 0); returns a random hour among them to fetch.
 */
static int64_t random_market(fx *x)
{
    int64_t t = S0 - 2 * HOUR - (int64_t)(rnd() % (uint64_t)HOUR);
    if (rnd() % 4 == 0) start_ids_at(x, (int64_t)(rnd() % 1000000));
    if (x->n) x->tr[0].t = t - 1;
    while (t < S0 + 2 * HOUR) {
        int kind = (int)(rnd() % 100);
        if (kind < 2)
            add(x, t, 1000 + (int)(rnd() % 2000));
        else if (kind < 30)
            add(x, t, 1 + (int)(rnd() % 6));
        else
            add(x, t, 1);
        int64_t gap = kind < 60 ? (int64_t)(rnd() % 3000) : (int64_t)(rnd() % 3000000);
        if (rnd() % 500 == 0) gap = HOUR / 2 + (int64_t)(rnd() % (uint64_t)HOUR);
        t += gap;
    }
    return S0 - HOUR + (int64_t)(rnd() % 3) * HOUR;
}

/*
 * Milliseconds holding 1000 trades or more from an hour before `hour` to its
 * end: each may cost the time walk up to two pages more than the id walk
 * (the page that finds it is mostly repeats; the page after it repeats the
 * rows of the time where the id blocks left off). "Bursts excepted".
 */
static int64_t bursts_near(const fx *x, int64_t hour)
{
    int64_t n = 0;
    for (size_t i = 0; i < x->n;) {
        size_t j = i;
        while (j < x->n && x->tr[j].t / 1000 == x->tr[i].t / 1000) j++;
        if (j - i >= 1000 && x->tr[i].t >= hour - HOUR && x->tr[i].t < hour + HOUR) n++;
        i = j;
    }
    return n;
}

TEST(random_markets_match_the_truth)
{
    /* Random mixtures of sparse trades, dense milliseconds and bursts around
     * random hours; every result equals the truth, is complete, and costs at
     * most ceil(n/1000) + 2 requests. */
    for (int iter = 0; iter < 120; iter++) {
        g_paging = iter % 2 ? AGT_PAGING_ID : AGT_PAGING_TIME;
        rig g;
        rig_init(&g);
        int64_t hour = random_market(&g.x);
        ASSERT_OK(fetch(&g, hour));
        ASSERT_TRUTH(&g, hour);
        ASSERT_EQ_INT(g.info.complete, 1);
        int64_t extra = g_paging == AGT_PAGING_TIME ? 2 * bursts_near(&g.x, hour) : 0;
        ASSERT(g.x.data_requests <= ceil_div((int64_t)g.out.len, 1000) + 2 + extra);
        rig_release(&g);
    }
    g_paging = AGT_PAGING_TIME;
}

/* ---- resume (agt_fetch_hour_ex) --------------------------------------------- */

/* What page_fn was given: the rows in arrival order and where each page ends. */
typedef struct pages {
    agt_trades all;
    size_t ends[4096];
    int n;
    int misordered;   /* a page empty or not sorted */
    int fail_at;      /* page_fn fails with AGT_EIO on this page (1-based); 0 never */
} pages;

static agt_status collect(void *user, const agt_trades *rows, agt_error *err)
{
    pages *p = user;
    if (rows->len == 0 || !agt_trades_is_sorted(rows)) p->misordered = 1;
    if (p->fail_at && p->n + 1 == p->fail_at) return agt_err(err, AGT_EIO, "disk on fire");
    if (p->n == 4096 || agt_trades_append(&p->all, rows) != AGT_OK) return AGT_ENOMEM;
    p->ends[p->n++] = p->all.len;
    return AGT_OK;
}

/* The rows of the first k pages, sorted: what a stash would give back. */
static void first_pages(const pages *p, int k, agt_trades *out)
{
    agt_trades_clear(out);
    for (size_t i = 0; i < (k ? p->ends[k - 1] : 0); i++)
        agt_trades_push(out, p->all.trade_id[i], p->all.ts_us[i], p->all.price[i], p->all.quantity[i],
                        p->all.is_buyer_maker[i]);
    agt_trades_sort_unique(out, NULL);
}

static agt_status fetch_ex(rig *g, int64_t hour, const agt_trades *resume, pages *p)
{
    if (!g->c && rig_client(g, NULL) != AGT_OK) return AGT_ENOMEM;
    agt_trades_clear(&g->out);
    g->x.data_requests = 0;
    return agt_fetch_hour_ex(g->c, "BTCUSDT", hour, resume, p ? collect : NULL, p, &g->out, &g->info,
                             &g->err);
}

/* Both results have the same rows, bit for bit, and the same facts. */
static int same_result(const agt_trades *a, const agt_hour_info *ia, const agt_trades *b,
                       const agt_hour_info *ib)
{
    return trades_equal(a, b) && ia->prev_id == ib->prev_id && ia->prev_ts_us == ib->prev_ts_us &&
           ia->complete == ib->complete;
}

/*
 * Fresh fetch with page_fn, then resume from every prefix of its pages. An
 * ordinary hour (the trade before it reachable by id) costs exactly one
 * check plus the pages below; the symbol's first hour may save the last one
 * or need the one request by time.
 */
static void check_every_resume(int *agt_failed_, rig *g, int64_t hour, int ordinary)
{
    pages p;
    memset(&p, 0, sizeof p);
    agt_trades_init(&p.all);
    ASSERT_OK(fetch_ex(g, hour, NULL, &p));
    ASSERT_EQ_INT(p.misordered, 0);
    agt_trades fresh, part;
    agt_trades_init(&fresh);
    agt_trades_init(&part);
    first_pages(&p, p.n, &part);
    ASSERT_EQ_INT(part.len, p.all.len);   /* no id handed over twice */
    ASSERT_EQ_INT(p.all.len, g->out.len); /* and every row of the hour */
    ASSERT_OK(agt_trades_append(&fresh, &g->out));
    agt_hour_info fi = g->info;
    int fresh_requests = g->x.data_requests;
    int step = p.n > 16 ? p.n / 4 : 1; /* every prefix of a small hour, some of a big one */
    for (int k = 1; k <= p.n; k = k < p.n && k + step > p.n ? p.n : k + step) {
        first_pages(&p, k, &part);
        ASSERT_OK(fetch_ex(g, hour, &part, NULL));
        if (!same_result(&g->out, &g->info, &fresh, &fi)) FAIL_("resume from %d pages differs", k);
        /* one check of the top, then only the ids below the resumed rows */
        int64_t rest = (int64_t)(fresh.len - part.len);
        if (g_paging == AGT_PAGING_TIME)
            ASSERT(g->x.data_requests <= 3 + ceil_div(rest, 1000) + 2 * bursts_near(&g->x, hour));
        else if (ordinary) ASSERT_EQ_INT(g->x.data_requests, 1 + ceil_div(rest + 1, 1000));
        else if (g->x.data_requests > 2 + ceil_div(rest + 1, 1000))
            FAIL_("resume from %d of %d pages: %d requests for %lld rows", k, p.n, g->x.data_requests,
                  (long long)rest);
        ASSERT_EQ_INT(g->info.requests, g->x.data_requests);
        if (k >= 2 && g_paging == AGT_PAGING_ID) ASSERT(g->x.data_requests < fresh_requests);
    }
    agt_trades_release(&fresh);
    agt_trades_release(&part);
    agt_trades_release(&p.all);
}

static void resume_cases(int *agt_failed_)
{
    int sizes[] = {1, 999, 1000, 2500, 7777};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        rig g;
        rig_init(&g);
        spread(&g.x, S0 - HOUR, HOUR, 3000);
        spread(&g.x, S0, HOUR, sizes[k]);
        spread(&g.x, S0 + HOUR, HOUR, 1500);
        check_every_resume(agt_failed_, &g, S0, 1);
        rig_release(&g);
    }
    /* bursts of one microsecond across every page boundary */
    rig g;
    rig_init(&g);
    spread(&g.x, S0 - HOUR, HOUR - 10, 700);
    add(&g.x, S0 - 1, 1500);
    add(&g.x, S0, 2300);
    spread(&g.x, S0 + 1, HOUR - 2, 1234);
    add(&g.x, S0 + HOUR - 1, 2100);
    add(&g.x, S0 + HOUR, 1800);
    check_every_resume(agt_failed_, &g, S0, 1);
    rig_release(&g);
    /* the symbol's first trade inside the hour, ids from 0 and from 123456 */
    for (int from = 0; from < 2; from++) {
        rig_init(&g);
        if (from) start_ids_at(&g.x, 123456);
        if (from) g.x.tr[0].t = S0 + 5;
        spread(&g.x, S0 + 10, HOUR - 20, 2345);
        spread(&g.x, S0 + HOUR, HOUR, 100);
        check_every_resume(agt_failed_, &g, S0, 0);
        ASSERT_EQ_INT(g.info.prev_id, -1);
        ASSERT_EQ_INT(g.info.complete, !from); /* from 123456: the history floor */
        rig_release(&g);
    }
}

TEST(resume_from_any_prefix_equals_the_fresh_result)
{
    for (int k = 0; k < 2; k++) {
        g_paging = k ? AGT_PAGING_ID : AGT_PAGING_TIME;
        resume_cases(agt_failed_);
    }
    g_paging = AGT_PAGING_TIME;
}

TEST(resume_after_a_cancelled_fetch)
{
    rig g;
    rig_init(&g);
    spread(&g.x, S0 - HOUR, 3 * HOUR, 30000); /* 10000 in the hour: 11 pages */
    agt_client_opts o;
    agt_client_opts_default(&o);
    o.api_url = "http://fake";
    o.progress = progress;
    ASSERT_OK(rig_client(&g, &o));
    pages p;
    memset(&p, 0, sizeof p);
    agt_trades_init(&p.all);
    cancel_after = 4;
    ASSERT_EQ_INT(fetch_ex(&g, S0, NULL, &p), AGT_ECANCELLED);
    ASSERT_EQ_INT(g.out.len, 0);
    ASSERT(p.n >= 3); /* the pages before the cancel were handed over */
    agt_trades part;
    agt_trades_init(&part);
    first_pages(&p, p.n, &part);
    cancel_after = 1000;
    ASSERT_OK(fetch_ex(&g, S0, &part, NULL));
    ASSERT_TRUTH(&g, S0);
    ASSERT_EQ_INT(g.info.complete, 1);
    ASSERT_EQ_INT(g.info.prev_id, 9999);
    ASSERT_EQ_INT(g.x.data_requests, 1 + ceil_div(10000 - (int64_t)part.len + 1, 1000));
    agt_trades_release(&part);
    agt_trades_release(&p.all);
    rig_release(&g);
}

TEST(bad_resume_rows_are_rejected_without_a_request)
{
    rig g;
    rig_init(&g);
    spread(&g.x, S0 - HOUR, 3 * HOUR, 9000);
    ASSERT_OK(rig_client(&g, NULL));
    pages p;
    memset(&p, 0, sizeof p);
    agt_trades_init(&p.all);
    ASSERT_OK(fetch_ex(&g, S0, NULL, &p));
    agt_trades bad;
    agt_trades_init(&bad);
    for (int kind = 0; kind < 7; kind++) {
        first_pages(&p, 2, &bad);
        size_t mid = bad.len / 2;
        switch (kind) {
        case 0: bad.ts_us[0] = S0 - 1; break;                     /* before the hour */
        case 1: bad.ts_us[bad.len - 1] = S0 + HOUR; break;        /* after it */
        case 2: bad.trade_id[mid] += 1; break;                    /* a repeated id */
        case 3: bad.trade_id[mid] -= 1; break;                    /* out of order */
        case 4: bad.price[mid] = NAN; break;
        case 5: bad.quantity[mid] = -1; break;
        case 6: bad.is_buyer_maker[mid] = 2; break;
        }
        agt_trades_clear(&g.out);
        g.x.data_requests = g.x.time_requests = 0;
        ASSERT_EQ_INT(fetch_ex(&g, S0, &bad, NULL), AGT_EINVAL);
        ASSERT(strstr(g.err.message, "resumed trade") != NULL);
        ASSERT_EQ_INT(g.x.data_requests + g.x.time_requests, 0);
        ASSERT_EQ_INT(g.out.len, 0);
    }
    /* a hole: trades missing between two resumed pages */
    first_pages(&p, 3, &bad);
    memmove(&bad.trade_id[10], &bad.trade_id[11], (bad.len - 11) * sizeof *bad.trade_id);
    memmove(&bad.ts_us[10], &bad.ts_us[11], (bad.len - 11) * sizeof *bad.ts_us);
    bad.len--;
    ASSERT_EQ_INT(fetch_ex(&g, S0, &bad, NULL), AGT_EINVAL);
    ASSERT(strstr(g.err.message, "not contiguous") != NULL);
    agt_trades_release(&bad);
    agt_trades_release(&p.all);
    rig_release(&g);
}

TEST(resume_rows_that_are_not_the_exchanges_top_are_ignored)
{
    rig g;
    rig_init(&g);
    spread(&g.x, S0 - HOUR, HOUR, 3000);
    spread(&g.x, S0, HOUR, 4500);
    spread(&g.x, S0 + HOUR, HOUR, 3000);
    pages p;
    memset(&p, 0, sizeof p);
    agt_trades_init(&p.all);
    agt_trades part;
    agt_trades_init(&part);

    /* fetched while the hour was still running: newer trades exist above */
    g.x.now_us = S0 + HOUR / 2;
    ASSERT_OK(fetch_ex(&g, S0, NULL, &p));
    ASSERT_EQ_INT(g.info.complete, 0);
    first_pages(&p, p.n, &part);
    ASSERT(part.len > 0 && part.len < 4500);
    g.x.now_us = S0 + 100 * HOUR;
    ASSERT_OK(fetch_ex(&g, S0, &part, NULL));
    ASSERT_TRUTH(&g, S0);
    ASSERT_EQ_INT(g.info.complete, 1);
    ASSERT_EQ_INT(g.x.data_requests, 1 + ceil_div(4500 + 1, 1000)); /* the check, then afresh */

    /* the top row differs from the exchange's (same id, another price) */
    first_pages(&p, 0, &part);
    agt_trades_clear(&p.all);
    p.n = 0;
    ASSERT_OK(fetch_ex(&g, S0, NULL, &p));
    first_pages(&p, 2, &part);
    part.price[part.len - 1] += 1.0;
    ASSERT_OK(fetch_ex(&g, S0, &part, NULL));
    ASSERT_TRUTH(&g, S0);
    ASSERT_EQ_INT(g.info.complete, 1);
    ASSERT_EQ_INT(g.x.data_requests, 1 + ceil_div(4500 + 1, 1000));
    agt_trades_release(&part);
    agt_trades_release(&p.all);
    rig_release(&g);
}

TEST(random_markets_resume_exactly)
{
    /* markets like those of random_markets_match_the_truth, resumed from
     * several prefixes */
    for (int iter = 0; iter < 8; iter++) {
        g_paging = iter % 2 ? AGT_PAGING_ID : AGT_PAGING_TIME;
        rig g;
        rig_init(&g);
        int64_t hour = random_market(&g.x);
        check_every_resume(agt_failed_, &g, hour, 0);
        ASSERT_EQ_INT(g.info.complete, 1);
        rig_release(&g);
    }
    g_paging = AGT_PAGING_TIME;
}

TEST(page_callback_failure_stops_the_fetch)
{
    rig g;
    rig_init(&g);
    spread(&g.x, S0 - HOUR, 3 * HOUR, 9000);
    pages p;
    memset(&p, 0, sizeof p);
    agt_trades_init(&p.all);
    p.fail_at = 2;
    ASSERT_OK(agt_trades_push(&g.out, 42, 1, 1.0, 1.0, 0));
    ASSERT_OK(rig_client(&g, NULL));
    g.x.data_requests = 0;
    ASSERT_EQ_INT(agt_fetch_hour_ex(g.c, "BTCUSDT", S0, NULL, collect, &p, &g.out, &g.info, &g.err),
                  AGT_EIO);
    ASSERT_EQ_STR(g.err.message, "disk on fire");
    ASSERT_EQ_INT(g.out.len, 1);
    ASSERT_EQ_INT(g.x.data_requests, 2);
    ASSERT_EQ_INT(p.n, 1);
    agt_trades_release(&p.all);
    rig_release(&g);
}

/* ---- the exchange's advertised limits (exchangeInfo) ------------------------ */

/* The shape of a real GET /api/v3/exchangeInfo?symbol=BTCUSDT (trimmed). */
static const char GENUINE_INFO[] =
    "{\"timezone\":\"UTC\",\"serverTime\":1709294400000,\"rateLimits\":["
    "{\"rateLimitType\":\"REQUEST_WEIGHT\",\"interval\":\"MINUTE\",\"intervalNum\":1,\"limit\":6000},"
    "{\"rateLimitType\":\"ORDERS\",\"interval\":\"SECOND\",\"intervalNum\":10,\"limit\":100},"
    "{\"rateLimitType\":\"ORDERS\",\"interval\":\"DAY\",\"intervalNum\":1,\"limit\":200000},"
    "{\"rateLimitType\":\"RAW_REQUESTS\",\"interval\":\"MINUTE\",\"intervalNum\":5,\"limit\":61000}],"
    "\"exchangeFilters\":[],\"symbols\":[{\"symbol\":\"BTCUSDT\",\"status\":\"TRADING\","
    "\"baseAsset\":\"BTC\",\"baseAssetPrecision\":8,\"orderTypes\":[\"LIMIT\",\"MARKET\"],"
    "\"icebergAllowed\":true,\"filters\":[{\"filterType\":\"PRICE_FILTER\",\"minPrice\":\"0.01\","
    "\"maxPrice\":\"1000000.00\",\"tickSize\":\"0.01\"},{\"filterType\":\"LOT_SIZE\","
    "\"minQty\":\"0.00001\",\"stepSize\":1e-5}],\"permissions\":[],\"permissionSets\":[[\"SPOT\","
    "\"MARGIN\",\"TRD_GRP_004\"]],\"defaultSelfTradePreventionMode\":\"EXPIRE_MAKER\","
    "\"note\":\"caf\\u00e9 \\\"x\\\" \\n\",\"ratio\":-0.5E+2,\"none\":null,\"off\":false}]}";

static agt_status parse_info(const char *body, agt_exch_limit *l, int *n)
{
    agt_error e;
    agt_error_clear(&e);
    agt_status s = agt_exch_limits_parse((const uint8_t *)body, strlen(body), l, 8, n, &e);
    if (s != AGT_OK && getenv("AGT_TEST_VERBOSE")) fprintf(stderr, "  %s\n", e.message);
    return s;
}

TEST(exchange_info_limits_are_parsed)
{
    agt_exch_limit l[8];
    int n = -1;
    ASSERT_OK(parse_info(GENUINE_INFO, l, &n));
    ASSERT_EQ_INT(n, 2);
    ASSERT_EQ_INT(l[0].per_weight, 1);
    ASSERT_EQ_INT(l[0].window_us, 60 * AGT_US_PER_SEC);
    ASSERT_EQ_INT(l[0].limit, 6000);
    ASSERT_EQ_INT(l[1].per_weight, 0);
    ASSERT_EQ_INT(l[1].window_us, 300 * AGT_US_PER_SEC);
    ASSERT_EQ_INT(l[1].limit, 61000);
    /* pretty-printed, any key order, 2026's raised limit, hours and seconds */
    ASSERT_OK(parse_info(" {\n \"rateLimits\" : [ { \"limit\" : 300000 , \"intervalNum\" : 5 ,\n"
                         "  \"interval\" : \"MINUTE\", \"rateLimitType\" : \"RAW_REQUESTS\" },\n"
                         " {\"rateLimitType\":\"REQUEST_WEIGHT\",\"interval\":\"HOUR\","
                         "\"intervalNum\":2,\"limit\":50000,\"extra\":[1,{\"a\":[]}]},"
                         " {\"rateLimitType\":\"RAW_REQUESTS\",\"interval\":\"SECOND\","
                         "\"intervalNum\":10,\"limit\":500}] }\r\n",
                         l, &n));
    ASSERT_EQ_INT(n, 3);
    ASSERT_EQ_INT(l[0].limit, 300000);
    ASSERT_EQ_INT(l[1].window_us, 7200 * AGT_US_PER_SEC);
    ASSERT_EQ_INT(l[2].window_us, 10 * AGT_US_PER_SEC);
    ASSERT_OK(parse_info("{\"rateLimits\":[]}", l, &n));
    ASSERT_EQ_INT(n, 0);
    /* an unknown kind is skipped whatever its fields */
    ASSERT_OK(parse_info("{\"rateLimits\":[{\"rateLimitType\":\"ORDERS\",\"limit\":-1}]}", l, &n));
    ASSERT_EQ_INT(n, 0);
}

TEST(exchange_info_malformed_is_refused)
{
    static const char *const bad[] = {
        "",
        "[]",
        "{}",                                                   /* no rateLimits */
        "{\"rateLimits\":{}}",
        "{\"rateLimits\":[1]}",
        "{\"rateLimits\":[]} x",
        "{\"rateLimits\":[]}{}",
        "{\"rateLimits\":[],\"rateLimits\":[]}",
        "{\"rateLimits\":[],}",
        "{\"rateLimits\":[,]}",
        "{\"rateLimits\":[]",
        "{\"a\":01,\"rateLimits\":[]}",
        "{\"a\":1.,\"rateLimits\":[]}",
        "{\"a\":-,\"rateLimits\":[]}",
        "{\"a\":tru,\"rateLimits\":[]}",
        "{\"a\":\"\\x\",\"rateLimits\":[]}",
        "{\"a\":\"\\u12g4\",\"rateLimits\":[]}",
        "{\"a\":\"tab\there\",\"rateLimits\":[]}",
        "{'rateLimits':[]}",
        "{\"rateLimits\":[{\"rateLimitType\":\"REQUEST_WEIGHT\",\"interval\":\"MINUTE\","
        "\"intervalNum\":1,\"limit\":\"6000\"}]}",
        "{\"rateLimits\":[{\"rateLimitType\":\"REQUEST_WEIGHT\",\"interval\":\"MINUTE\","
        "\"intervalNum\":1,\"limit\":6000.0}]}",
        "{\"rateLimits\":[{\"rateLimitType\":\"REQUEST_WEIGHT\",\"interval\":\"MINUTE\","
        "\"intervalNum\":1,\"limit\":0}]}",
        "{\"rateLimits\":[{\"rateLimitType\":\"REQUEST_WEIGHT\",\"interval\":\"MINUTE\","
        "\"intervalNum\":1,\"limit\":99999999999}]}",
        "{\"rateLimits\":[{\"rateLimitType\":\"REQUEST_WEIGHT\",\"interval\":\"WEEK\","
        "\"intervalNum\":1,\"limit\":6000}]}",
        "{\"rateLimits\":[{\"rateLimitType\":\"RAW_REQUESTS\",\"interval\":\"MINUTE\","
        "\"intervalNum\":0,\"limit\":6000}]}",
        "{\"rateLimits\":[{\"rateLimitType\":\"RAW_REQUESTS\",\"interval\":\"MINUTE\","
        "\"limit\":6000}]}",
        "{\"rateLimits\":[{\"rateLimitType\":\"RAW_REQUESTS\",\"interval\":\"MINUTE\","
        "\"intervalNum\":5,\"limit\":6000,\"limit\":7000}]}",
    };
    agt_exch_limit l[8];
    int n;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        n = -1;
        if (parse_info(bad[i], l, &n) != AGT_EPARSE) FAIL_("accepted: %s", bad[i]);
        ASSERT_EQ_INT(n, 0);
    }
    /* nesting beyond 32 levels, and a body over 1 MiB */
    agt_buf b;
    agt_buf_init(&b, 0);
    agt_buf_printf(&b, "{\"rateLimits\":[],\"x\":");
    for (int i = 0; i < 40; i++) agt_buf_putc(&b, '[');
    for (int i = 0; i < 40; i++) agt_buf_putc(&b, ']');
    agt_buf_putc(&b, '}');
    agt_error e;
    ASSERT_EQ_INT(agt_exch_limits_parse(b.data, b.len, l, 8, &n, &e), AGT_EPARSE);
    b.len = 0;
    agt_buf_printf(&b, "{\"rateLimits\":[],\"x\":\"");
    while (b.len < ((size_t)1 << 20)) agt_buf_printf(&b, "%s", "0123456789abcdef");
    agt_buf_printf(&b, "\"}");
    ASSERT_EQ_INT(agt_exch_limits_parse(b.data, b.len, l, 8, &n, &e), AGT_EPARSE);
    ASSERT(strstr(e.message, "bytes") != NULL);
    agt_buf_release(&b);
}

/* fx_transport plus GET /api/v3/exchangeInfo answered with `body`/`status`. */
typedef struct info_fx {
    fx *x;
    const char *body;
    int status;
    int calls;
} info_fx;

static agt_status info_transport(void *ctx, const char *url, agt_http_resp *r, int *transient,
                                 agt_error *err)
{
    info_fx *i = ctx;
    if (!strstr(url, "/api/v3/exchangeInfo")) return fx_transport(i->x, url, r, transient, err);
    agt_http_resp_reset(r);
    i->calls++;
    if (!strstr(url, "/api/v3/exchangeInfo?symbol=BTCUSDT")) i->status = 400;
    r->status = i->status;
    r->used_weight = 20;
    agt_buf_printf(&r->body, "%s", i->body);
    return AGT_OK;
}

static void use_info(rig *g, info_fx *i, const char *body, int status)
{
    i->x = &g->x;
    i->body = body;
    i->status = status;
    i->calls = 0;
    g->c->net->transport = info_transport;
    g->c->net->transport_ctx = i;
    g->c->net->limits_asked = 0;
}

TEST(client_takes_the_advertised_limits_once)
{
    static const char low[] =
        "{\"rateLimits\":[{\"rateLimitType\":\"REQUEST_WEIGHT\",\"interval\":\"MINUTE\","
        "\"intervalNum\":1,\"limit\":400},{\"rateLimitType\":\"RAW_REQUESTS\",\"interval\":"
        "\"MINUTE\",\"intervalNum\":5,\"limit\":61000}]}";
    rig g;
    rig_init(&g);
    spread(&g.x, S0 - HOUR, 3 * HOUR, 9000);
    ASSERT_OK(rig_client(&g, NULL));
    info_fx i;
    use_info(&g, &i, low, 200);
    ASSERT_OK(fetch(&g, S0));
    char why[128];
    if (!matches_truth(&g, S0, why, sizeof why)) FAIL_("%s", why);
    ASSERT_EQ_INT(i.calls, 1);
    ASSERT_EQ_INT(g.c->net->limiter->rl.budget, 400);
    ASSERT_EQ_INT(g.c->net->limiter->rl.ncounters, 1);
    ASSERT_EQ_INT(g.c->net->limiter->rl.counters[0].limit, 61000);
    ASSERT_EQ_INT(g.c->net->limiter->rl.counters[0].count, g.x.data_requests); /* counted from then on */
    ASSERT_OK(fetch(&g, S0 + HOUR));
    ASSERT_EQ_INT(i.calls, 1);
    rig_release(&g);

    /* a higher advertised limit does not raise the option's budget */
    rig_init(&g);
    spread(&g.x, S0 - HOUR, 3 * HOUR, 900);
    ASSERT_OK(rig_client(&g, NULL));
    use_info(&g, &i, GENUINE_INFO, 200);
    g.c->net->limiter->rl.budget = 1200;
    ASSERT_OK(fetch(&g, S0));
    ASSERT_EQ_INT(g.c->net->limiter->rl.budget, 1200);
    rig_release(&g);
}

TEST(client_falls_back_to_the_options_without_exchange_info)
{
    static const struct {
        const char *body;
        int status;
    } cases[] = {
        {"{\"rateLimits\":[{\"rateLimitType\":\"REQUEST_WEIGHT\"}]}", 200},
        {"<html>", 200},
        {"{\"code\":-1000,\"msg\":\"An unknown error occurred.\"}", 500},
        {"{\"code\":-1121,\"msg\":\"Invalid symbol.\"}", 400},
        {"Not Found", 404},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        rig g;
        rig_init(&g);
        spread(&g.x, S0 - HOUR, 3 * HOUR, 3000);
        ASSERT_OK(rig_client(&g, NULL));
        info_fx i;
        use_info(&g, &i, cases[k].body, cases[k].status);
        ASSERT_OK(fetch(&g, S0));
        char why[128];
        if (!matches_truth(&g, S0, why, sizeof why)) FAIL_("%s", why);
        ASSERT(g.info.complete);
        /* a malformed body is not retried; a 5xx is, like any request */
        ASSERT_EQ_INT(i.calls, cases[k].status == 500 ? 4 : 1);
        ASSERT_EQ_INT(g.c->net->limiter->rl.budget, 6000);
        ASSERT_EQ_INT(g.c->net->limiter->rl.ncounters, 0);
        ASSERT_OK(fetch(&g, S0 + HOUR));
        ASSERT_EQ_INT(i.calls, cases[k].status == 500 ? 4 : 1);
        rig_release(&g);
    }
}

static agt_status parse_info_for(const char *body, const char *symbol, agt_exch_info *info)
{
    static agt_exch_limit l[8];
    agt_error e;
    agt_error_clear(&e);
    memset(info, 0, sizeof *info);
    info->limits = l;
    info->max = 8;
    info->symbol = symbol;
    return agt_exch_info_parse((const uint8_t *)body, strlen(body), info, &e);
}

TEST(exchange_info_clock_and_listing_are_parsed)
{
    agt_exch_info in;
    ASSERT_OK(parse_info_for(GENUINE_INFO, "BTCUSDT", &in));
    ASSERT_EQ_INT(in.count, 2);
    ASSERT_EQ_INT(in.server_time_us, INT64_C(1709294400000) * 1000);
    ASSERT_EQ_INT(in.listed, 1);
    ASSERT_OK(parse_info_for(GENUINE_INFO, "ETHUSDT", &in));
    ASSERT_EQ_INT(in.listed, 0);
    ASSERT_OK(parse_info_for(GENUINE_INFO, "BTCUSD", &in)); /* a prefix is another symbol */
    ASSERT_EQ_INT(in.listed, 0);
    ASSERT_OK(parse_info_for(GENUINE_INFO, NULL, &in));
    ASSERT_EQ_INT(in.listed, 0);
    ASSERT_EQ_INT(in.server_time_us, INT64_C(1709294400000) * 1000);
    /* no clock, no symbols; a "symbol" outside "symbols" lists nothing */
    ASSERT_OK(parse_info_for("{\"rateLimits\":[],\"symbol\":\"BTCUSDT\"}", "BTCUSDT", &in));
    ASSERT_EQ_INT(in.server_time_us, -1);
    ASSERT_EQ_INT(in.listed, 0);
    /* an escaped name is not taken for the symbol; later entries are found */
    ASSERT_OK(parse_info_for("{\"rateLimits\":[],\"symbols\":[{\"symbol\":\"BTC\\u0055SDT\"},"
                             "{\"filters\":[{\"symbol\":\"X\"}],\"symbol\":\"ETHUSDT\"}]}",
                             "BTCUSDT", &in));
    ASSERT_EQ_INT(in.listed, 0);
    ASSERT_OK(parse_info_for("{\"rateLimits\":[],\"symbols\":[{\"symbol\":\"BTC\\u0055SDT\"},"
                             "{\"filters\":[{\"symbol\":\"X\"}],\"symbol\":\"ETHUSDT\"}]}",
                             "ETHUSDT", &in));
    ASSERT_EQ_INT(in.listed, 1);
    /* a clock that is not one: the whole body is refused, nothing kept */
    static const char *const bad[] = {
        "{\"serverTime\":\"1709294400000\",\"rateLimits\":[]}",
        "{\"serverTime\":0,\"rateLimits\":[]}",
        "{\"serverTime\":1709294400000000,\"rateLimits\":[]}", /* µs where ms are sent */
        "{\"serverTime\":1709294400000,\"serverTime\":1709294400000,\"rateLimits\":[]}",
        "{\"serverTime\":1709294400000,\"symbols\":[{\"symbol\":\"BTCUSDT\"}],\"rateLimits\":[1]}",
        "{\"rateLimits\":[],\"symbols\":[{\"symbol\":1}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (parse_info_for(bad[i], "BTCUSDT", &in) != AGT_EPARSE) FAIL_("accepted: %s", bad[i]);
        ASSERT_EQ_INT(in.count, 0);
        ASSERT_EQ_INT(in.server_time_us, -1);
        ASSERT_EQ_INT(in.listed, 0);
    }
}

TEST(exchange_info_brings_the_clock_and_the_listing)
{
    rig g;
    rig_init(&g);
    spread(&g.x, S0 - HOUR, 3 * HOUR, 3000);
    ASSERT_OK(rig_client(&g, NULL));
    info_fx i;
    use_info(&g, &i, GENUINE_INFO, 200);
    int64_t now = 0;
    ASSERT_OK(agt_client_server_time_for(g.c, "BTCUSDT", &now, &g.err));
    ASSERT_EQ_INT(i.calls, 1);
    ASSERT_EQ_INT(g.x.time_requests, 0); /* one request, not two */
    ASSERT_EQ_INT(now, INT64_C(1709294400000) * 1000);
    ASSERT_EQ_INT(agt_client_lists(g.c, "BTCUSDT"), 1);
    ASSERT_EQ_INT(agt_client_lists(g.c, "ETHUSDT"), 0);
    /* the info is read once: later readings are GET /time's */
    ASSERT_OK(agt_client_server_time_for(g.c, "BTCUSDT", &now, &g.err));
    ASSERT_EQ_INT(i.calls, 1);
    ASSERT_EQ_INT(g.x.time_requests, 1);
    ASSERT_EQ_INT(now, g.x.now_us / 1000 * 1000);
    rig_release(&g);

    /* an unknown symbol's info (-1121) brings neither: GET /time reads the clock */
    rig_init(&g);
    spread(&g.x, S0 - HOUR, 3 * HOUR, 3000);
    ASSERT_OK(rig_client(&g, NULL));
    use_info(&g, &i, "{\"code\":-1121,\"msg\":\"Invalid symbol.\"}", 400);
    ASSERT_OK(agt_client_server_time_for(g.c, "BTCUSDT", &now, &g.err));
    ASSERT_EQ_INT(i.calls, 1);
    ASSERT_EQ_INT(g.x.time_requests, 1);
    ASSERT_EQ_INT(now, g.x.now_us / 1000 * 1000);
    ASSERT_EQ_INT(agt_client_lists(g.c, "BTCUSDT"), 0);
    rig_release(&g);
}

TEST_MAIN(TEST_REF(rejects_bad_arguments_without_a_request), TEST_REF(bad_client_options),
          TEST_REF(ordinary_hour_exact_and_within_budget),
          TEST_REF(bursts_of_more_than_1000_in_one_microsecond_at_both_ends),
          TEST_REF(page_boundaries_inside_one_millisecond),
          TEST_REF(empty_hour_is_complete_when_the_trades_around_it_are_consecutive), TEST_REF(empty_answer_below_the_history_floor_is_no_proof),
          TEST_REF(hour_before_the_symbol_existed), TEST_REF(symbols_first_trade_inside_the_hour),
          TEST_REF(hour_not_over_on_the_exchange_is_not_complete),
          TEST_REF(faults_are_retried_and_the_result_is_unchanged),
          TEST_REF(persistent_failure_leaves_out_untouched),
          TEST_REF(invalid_symbol_is_not_retried), TEST_REF(repeated_ids_in_a_page_are_deduplicated),
          TEST_REF(server_sending_milliseconds_is_understood),
          TEST_REF(a_hole_in_the_ids_makes_the_hour_incomplete), TEST_REF(progress_and_cancel),
          TEST_REF(requests_are_spaced_by_the_interval), TEST_REF(random_markets_match_the_truth),
          TEST_REF(resume_from_any_prefix_equals_the_fresh_result),
          TEST_REF(resume_after_a_cancelled_fetch),
          TEST_REF(bad_resume_rows_are_rejected_without_a_request),
          TEST_REF(resume_rows_that_are_not_the_exchanges_top_are_ignored),
          TEST_REF(random_markets_resume_exactly), TEST_REF(page_callback_failure_stops_the_fetch),
          TEST_REF(exchange_info_limits_are_parsed), TEST_REF(exchange_info_malformed_is_refused),
          TEST_REF(client_takes_the_advertised_limits_once),
          TEST_REF(client_falls_back_to_the_options_without_exchange_info),
          TEST_REF(exchange_info_clock_and_listing_are_parsed),
          TEST_REF(exchange_info_brings_the_clock_and_the_listing))
