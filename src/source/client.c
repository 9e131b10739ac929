/*
 * client.c - agt_client: options, the network layer it owns, and the
 * exchange's clock.
 *
 * "Now" is always the exchange's clock (architecture.md §3). Reading it costs
 * a request (GET /api/v3/time, weight 1), so the client reads it once, keeps
 * the offset to the local *monotonic* clock (immune to wall-clock steps) and
 * extrapolates; callers ask for a fresh reading when a decision is close
 * (an hour that ended moments ago), and an old reading is refreshed. The
 * reading is anchored at the moment its response arrived, so its error is at
 * most the one-way latency - far inside the completeness margin.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source/source_int.h"

void agt_client_opts_default(agt_client_opts *o)
{
    memset(o, 0, sizeof *o);
    o->api_url = "https://api.binance.com";
    o->interval_ms = 50;
    o->max_attempts = 4;
    o->max_ban_wait_s = 300;
    o->connect_timeout_ms = 10000;
    o->timeout_ms = 30000;
    o->weight_budget = 6000;
    o->backoff_base_ms = 500;
    o->complete_margin_ms = 5000;
}

/* Replace nonsensical values by the defaults. */
static void sanitise(agt_client_opts *o)
{
    agt_client_opts d;
    agt_client_opts_default(&d);
    if (!o->api_url || !o->api_url[0]) o->api_url = d.api_url;
    if (o->interval_ms < 0) o->interval_ms = d.interval_ms;
    if (o->max_attempts < 1) o->max_attempts = d.max_attempts;
    if (o->max_ban_wait_s < 0) o->max_ban_wait_s = d.max_ban_wait_s;
    if (o->connect_timeout_ms < 1) o->connect_timeout_ms = d.connect_timeout_ms;
    if (o->timeout_ms < 1) o->timeout_ms = d.timeout_ms;
    if (o->weight_budget < 1) o->weight_budget = d.weight_budget;
    if (o->backoff_base_ms < 0) o->backoff_base_ms = d.backoff_base_ms;
    if (o->complete_margin_ms < 0) o->complete_margin_ms = d.complete_margin_ms;
}

static int url_ok(const char *u)
{
    size_t n = strlen(u);
    if (n > 400) return 0;
    if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)u[i] <= ' ' || (unsigned char)u[i] >= 0x7f || u[i] == '?' || u[i] == '#')
            return 0;
    return 1;
}

agt_status agt_client_new_with(const agt_client_opts *o, const agt_clock *clock,
                               agt_transport_fn transport, void *transport_ctx,
                               agt_client **out, agt_error *err)
{
    agt_error_clear(err);
    *out = NULL;
    agt_client_opts opts;
    if (o)
        opts = *o;
    else
        agt_client_opts_default(&opts);
    sanitise(&opts);
    if (!url_ok(opts.api_url))
        return agt_err(err, AGT_EINVAL, "invalid api url '%.200s': expected http:// or https://",
                       opts.api_url);

    agt_client *c = calloc(1, sizeof *c);
    if (!c) return agt_err(err, AGT_ENOMEM, "out of memory");
    c->opts = opts;
    size_t n = strlen(opts.api_url);
    while (n > 0 && opts.api_url[n - 1] == '/') n--;
    c->api_url = malloc(n + 1);
    if (!c->api_url) {
        free(c);
        return agt_err(err, AGT_ENOMEM, "out of memory");
    }
    memcpy(c->api_url, opts.api_url, n);
    c->api_url[n] = 0;
    c->opts.api_url = c->api_url;
    agt_page_init(&c->page);

    agt_net_opts no;
    memset(&no, 0, sizeof no);
    no.interval_ms = opts.interval_ms;
    no.weight_budget = opts.weight_budget;
    no.retry.max_attempts = opts.max_attempts;
    no.retry.base_us = (int64_t)opts.backoff_base_ms * AGT_US_PER_MS;
    no.retry.cap_us = 60 * AGT_US_PER_SEC;
    no.retry.max_ban_wait_us = (int64_t)opts.max_ban_wait_s * AGT_US_PER_SEC;
    no.http.connect_timeout_ms = opts.connect_timeout_ms;
    no.http.timeout_ms = opts.timeout_ms;
    no.clock = clock;
    no.transport = transport;
    no.transport_ctx = transport_ctx;
    agt_status s = agt_net_new(&no, &c->net, err);
    if (s != AGT_OK) {
        agt_client_free(c);
        return s;
    }
    *out = c;
    return AGT_OK;
}

agt_status agt_client_new(const agt_client_opts *o, agt_client **out, agt_error *err)
{
    return agt_client_new_with(o, NULL, NULL, NULL, out, err);
}

void agt_client_free(agt_client *c)
{
    if (!c) return;
    agt_net_free(c->net);
    agt_page_release(&c->page);
    free(c->api_url);
    free(c);
}

/* ---- the exchange's clock ----------------------------------------------- */

typedef struct time_ctx {
    agt_client *c;
    int64_t exch_us;
    int64_t mono_us;
} time_ctx;

static agt_status time_body(void *user, const agt_http_resp *r, agt_error *err)
{
    time_ctx *t = user;
    const agt_clock *ck = &t->c->net->clock;
    t->mono_us = ck->mono_us(ck->ctx);
    return agt_server_time_parse(r->body.data, r->body.len, &t->exch_us, err);
}

static agt_status sync_time(agt_client *c, agt_error *err)
{
    time_ctx t = {c, 0, 0};
    agt_net_req rq;
    memset(&rq, 0, sizeof rq);
    int n = snprintf(c->url, sizeof c->url, "%s/api/v3/time", c->api_url);
    if (n < 0 || (size_t)n >= sizeof c->url) return agt_err(err, AGT_EINVAL, "api url too long");
    rq.url = c->url;
    rq.what = "server time";
    rq.weight = AGT_WEIGHT_TIME;
    rq.on_body = time_body;
    rq.parse_api_error = agt_api_error_parse;
    rq.user = &t;
    AGT_TRY(agt_net_request(c->net, &rq, err));
    agt_net_set_exch_time(c->net, t.exch_us, t.mono_us);
    c->synced = 1;
    c->sync_mono_us = t.mono_us;
    c->syncs++;
    return AGT_OK;
}

agt_status agt_client_exch_now(agt_client *c, int64_t max_age_us, int force, int64_t *now_us,
                               agt_error *err)
{
    const agt_clock *ck = &c->net->clock;
    if (force || !c->synced || ck->mono_us(ck->ctx) - c->sync_mono_us > max_age_us)
        AGT_TRY(sync_time(c, err));
    *now_us = agt_net_exch_now(c->net);
    return AGT_OK;
}

agt_status agt_client_server_time(agt_client *c, int64_t *now_us, agt_error *err)
{
    agt_error_clear(err);
    if (!c || !now_us) return agt_err(err, AGT_EINVAL, "null argument");
    /* Always a fresh reading: callers decide "now" with it (and tests freeze
     * the exchange's clock). */
    return agt_client_exch_now(c, 0, 1, now_us, err);
}
