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

/* The connection settings among the client's options. */
static agt_net_conn conn_of(const agt_client_opts *o)
{
    agt_net_conn c = {.interval_ms = o->interval_ms,
                      .weight_budget = o->weight_budget,
                      .max_attempts = o->max_attempts,
                      .backoff_base_ms = o->backoff_base_ms,
                      .max_ban_wait_s = o->max_ban_wait_s,
                      .connect_timeout_ms = o->connect_timeout_ms,
                      .timeout_ms = o->timeout_ms};
    return c;
}

agt_status agt_client_new_with(const agt_client_opts *o, const agt_clock *clock,
                               agt_transport_fn transport, void *transport_ctx,
                               agt_client **out, agt_error *err)
{
    agt_error_clear(err);
    *out = NULL;
    agt_client_opts d;
    agt_client_opts_default(&d);
    agt_client_opts opts = o ? *o : d;
    /* Nonsensical values are replaced by the defaults. */
    if (!opts.api_url || !opts.api_url[0]) opts.api_url = d.api_url;
    if (opts.complete_margin_ms < 0) opts.complete_margin_ms = d.complete_margin_ms;
    agt_net_conn conn = conn_of(&opts), conn_default = conn_of(&d);
    agt_net_conn_sanitise(&conn, &conn_default);
    char *api_url;
    AGT_TRY(agt_net_base_url(opts.api_url, "api url", &api_url, err));

    agt_client *c = calloc(1, sizeof *c);
    if (!c) {
        free(api_url);
        return agt_err(err, AGT_ENOMEM, "out of memory");
    }
    c->opts = opts;
    c->api_url = api_url;
    c->opts.api_url = c->api_url;
    agt_page_init(&c->page);
    agt_status s = agt_net_new_conn(&conn, clock, transport, transport_ctx, &c->net, err);
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
