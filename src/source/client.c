/*
 * client.c - agt_client: options, the network layer it owns, and the
 * exchange's clock.
 *
 * "Now" is always the exchange's clock (docs/architecture.md, "Rules every command keeps"). Reading it costs
 * a request (GET /api/v3/time, weight 1), so the client reads it once, keeps
 * the offset to the local *monotonic* clock (immune to wall-clock steps) and
 * extrapolates; callers ask for a fresh reading when a decision is close
 * (an hour that ended moments ago), and an old reading is refreshed. The
 * reading is anchored at the moment its response arrived, so its error is at
 * most the one-way latency - far inside the completeness margin.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source/source_int.h"
#include "source/source_units.h"

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
    o->paging = AGT_PAGING_TIME;
    o->low_speed_limit = 1024;
    o->low_speed_time_s = 20;
    o->unit_deadline_s = 600;
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
    const agt_market_def *def = agt_market_def_of(opts.market);
    if (!def) return agt_err(err, AGT_EINVAL, "unknown market %d", (int)opts.market);
    /* Nonsensical values are replaced by the defaults. */
    if (!opts.api_url || !opts.api_url[0]) opts.api_url = def->api_url;
    if (opts.weight_budget > def->weight_budget) opts.weight_budget = def->weight_budget;
    if (d.weight_budget > def->weight_budget) d.weight_budget = def->weight_budget;
    if (opts.complete_margin_ms < 0) opts.complete_margin_ms = d.complete_margin_ms;
    if (opts.paging != AGT_PAGING_ID) opts.paging = AGT_PAGING_TIME;
    if (opts.unit_deadline_s < 0) opts.unit_deadline_s = d.unit_deadline_s;
    agt_client *c = calloc(1, sizeof *c);
    if (!c) return agt_err(err, AGT_ENOMEM, "out of memory");
    c->opts = opts;
    c->def = def;
    agt_page_init(&c->page);
    agt_net_conn conn_default = AGT_NET_CONN_OF(&d, d.weight_budget);
    agt_status s = agt_net_open_conn(opts.api_url, "api url",
                                     AGT_NET_CONN_OF(&opts, opts.weight_budget), &conn_default,
                                     clock, transport, transport_ctx, &c->api_url, &c->net, err);
    if (s != AGT_OK) {
        agt_client_free(c);
        return s;
    }
    c->opts.api_url = c->api_url;
    /* A canned test exchange need not know exchangeInfo. */
    c->net->limits_asked = transport != NULL;
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

void agt_client_share_limits(agt_client *c, agt_client *with)
{
    agt_net_share_limiter(c->net, with->net);
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

/* A request to c->url for a JSON body read by `on_body`. */
static agt_net_req json_req(agt_client *c, const char *what, int weight,
                            agt_status (*on_body)(void *, const agt_http_resp *, agt_error *),
                            void *user)
{
    agt_net_req rq;
    memset(&rq, 0, sizeof rq);
    rq.url = c->url;
    rq.what = what;
    rq.weight = weight;
    rq.on_body = on_body;
    rq.parse_api_error = agt_api_error_parse;
    rq.user = user;
    return rq;
}

static void set_clock(agt_client *c, int64_t exch_us, int64_t mono_us)
{
    agt_net_set_exch_time(c->net, exch_us, mono_us);
    c->synced = 1;
    c->sync_mono_us = mono_us;
    c->syncs++;
}

static agt_status sync_time(agt_client *c, agt_error *err)
{
    time_ctx t = {c, 0, 0};
    int n = snprintf(c->url, sizeof c->url, "%s%s/time", c->api_url, c->def->api_prefix);
    if (n < 0 || (size_t)n >= sizeof c->url) return agt_err(err, AGT_EINVAL, "api url too long");
    agt_net_req rq = json_req(c, "server time", AGT_WEIGHT_TIME, time_body, &t);
    AGT_TRY(agt_net_request(c->net, &rq, err));
    set_clock(c, t.exch_us, t.mono_us);
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

/* ---- the exchange's advertised limits (exchangeInfo.rateLimits) ---------- */

/*
 * docs/exchange.md, "Rate limits": read the limits from exchangeInfo rather than trust
 * constants (the body is parsed in exch_info.c).
 */

#define LIMITS_MAX 8

typedef struct limits_ctx {
    agt_client *c;
    agt_exch_limit l[LIMITS_MAX];
    agt_exch_info info;
    int64_t mono_us; /* when the body arrived: the moment its serverTime holds for */
} limits_ctx;

static agt_status limits_body(void *user, const agt_http_resp *r, agt_error *err)
{
    limits_ctx *x = user;
    const agt_clock *ck = &x->c->net->clock;
    x->mono_us = ck->mono_us(ck->ctx);
    agt_status s = agt_exch_info_parse(r->body.data, r->body.len, &x->info, err);
    /* Not worth retrying: the options stand in for what it would have said. */
    return s == AGT_EPARSE ? AGT_EUNSUPPORTED : s;
}

/*
 * The last limits read, per process: they belong to the exchange (and IP),
 * not to one client, and the Python binding makes a client per call, which
 * would otherwise pay weight 20 for every hour. Kept for an hour.
 */
#define LIMITS_TTL_US (3600 * AGT_US_PER_SEC)
static pthread_mutex_t limits_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char url[512]; /* the exchangeInfo url they came from */
    int64_t mono_us;
    int n;
    agt_exch_limit l[LIMITS_MAX];
} limits_cache;

static void apply_limits(agt_net *n, const agt_exch_limit *l, int count)
{
    for (int i = 0; i < count; i++)
        (void)agt_limiter_add_limit(n->limiter, l[i].per_weight, l[i].window_us, l[i].limit);
}

void agt_client_read_limits(agt_client *c, const char *symbol)
{
    agt_net *n = c->net;
    if (n->limits_asked) return;
    n->limits_asked = 1;
    /* Only a real exchange shares the cache (test transports are canned). */
    int shared = n->http != NULL;
    int64_t now = n->clock.mono_us(n->clock.ctx);
    /* Spot's takes ?symbol= (cheaper than the whole list); futures' take no
     * parameter. Weights in the market table (spot 20: its docs have said so
     * for years; a request for one symbol may cost less, so 20 errs safe). */
    int k = c->def->exchange_info_per_symbol
                ? snprintf(c->url, sizeof c->url, "%s%s/exchangeInfo?symbol=%s", c->api_url,
                           c->def->api_prefix, symbol)
                : snprintf(c->url, sizeof c->url, "%s%s/exchangeInfo", c->api_url, c->def->api_prefix);
    if (k < 0 || (size_t)k >= sizeof c->url) return;
    limits_ctx x;
    memset(&x, 0, sizeof x);
    x.c = c;
    x.info.limits = x.l;
    x.info.max = LIMITS_MAX;
    x.info.symbol = symbol;
    if (shared) {
        pthread_mutex_lock(&limits_lock);
        int hit = strcmp(limits_cache.url, c->url) == 0 && now - limits_cache.mono_us < LIMITS_TTL_US;
        if (hit) apply_limits(n, limits_cache.l, limits_cache.n);
        pthread_mutex_unlock(&limits_lock);
        if (hit) return;
    }
    agt_net_req rq = json_req(c, "exchange info", c->def->weight_exchange_info, limits_body, &x);
    agt_error e;
    agt_error_clear(&e);
    if (agt_net_request(n, &rq, &e) != AGT_OK) return; /* the options stay in force */
    apply_limits(n, x.l, x.info.count);
    if (x.info.server_time_us >= 0 && !c->synced) {
        set_clock(c, x.info.server_time_us, x.mono_us);
        c->info_clock = 1;
    }
    if (x.info.listed) snprintf(c->listed, sizeof c->listed, "%s", symbol);
    if (shared) {
        pthread_mutex_lock(&limits_lock);
        memcpy(limits_cache.url, c->url, sizeof limits_cache.url);
        limits_cache.mono_us = now;
        limits_cache.n = x.info.count;
        memcpy(limits_cache.l, x.l, sizeof x.l);
        pthread_mutex_unlock(&limits_lock);
    }
}

agt_status agt_client_server_time_for(agt_client *c, const char *symbol, int64_t *now_us,
                                      agt_error *err)
{
    agt_error_clear(err);
    if (!c || !now_us) return agt_err(err, AGT_EINVAL, "null argument");
    if (symbol && !c->net->limits_asked && !c->synced) {
        agt_client_read_limits(c, symbol);
        if (c->info_clock) { /* read just now: as fresh as GET /time's */
            *now_us = agt_net_exch_now(c->net);
            return AGT_OK;
        }
    }
    return agt_client_server_time(c, now_us, err);
}

int agt_client_lists(const agt_client *c, const char *symbol)
{
    return c->listed[0] && strcmp(c->listed, symbol) == 0;
}
