/*
 * request.c - one logical request with everything around it: wait for the
 * rate limiter, send through the transport, classify the result (a 200 body
 * is judged by the caller's parser, an error body is decoded for the
 * exchange's code), ask the retry policy what next, sleep on the injected
 * clock, and on failure leave a one-line message that says what happened in
 * the user's terms ("banned by the exchange until ...").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net_int.h"

agt_status agt_net_new(const agt_net_opts *o, agt_net **out, agt_error *err)
{
    *out = NULL;
    agt_net *n = calloc(1, sizeof *n);
    if (!n) return agt_err(err, AGT_ENOMEM, "out of memory");
    if (o->clock)
        n->clock = *o->clock;
    else
        agt_clock_system(&n->clock);
    n->retry = o->retry;
    if (n->retry.max_attempts < 1) n->retry.max_attempts = 1;
    n->limiter = agt_limiter_new((int64_t)(o->interval_ms > 0 ? o->interval_ms : 0) * AGT_US_PER_MS,
                                 o->weight_budget);
    if (!n->limiter) {
        free(n);
        return agt_err(err, AGT_ENOMEM, "out of memory");
    }
    agt_buf_init(&n->resp.body, AGT_NET_BODY_CAP);
    agt_http_resp_reset(&n->resp);
    if (o->transport) {
        n->transport = o->transport;
        n->transport_ctx = o->transport_ctx;
    } else {
        agt_status s = agt_http_new(&o->http, &n->http, err);
        if (s != AGT_OK) {
            agt_net_free(n);
            return s;
        }
        n->transport = agt_http_get;
        n->transport_ctx = n->http;
    }
    *out = n;
    return AGT_OK;
}

void agt_net_free(agt_net *n)
{
    if (!n) return;
    agt_http_free(n->http);
    agt_buf_release(&n->resp.body);
    agt_limiter_release(n->limiter);
    free(n);
}

void agt_net_share_limiter(agt_net *n, agt_net *with)
{
    if (n->limiter == with->limiter) return;
    agt_limiter_hold(with->limiter);
    agt_limiter_release(n->limiter);
    n->limiter = with->limiter;
}

int64_t agt_net_exch_now(const agt_net *n)
{
    if (n->has_offset) return n->clock.mono_us(n->clock.ctx) + n->exch_offset_us;
    return n->clock.real_us(n->clock.ctx);
}

void agt_net_set_exch_time(agt_net *n, int64_t exch_us, int64_t mono_us)
{
    n->exch_offset_us = exch_us - mono_us;
    n->has_offset = 1;
}

void agt_net_set_deadline(agt_net *n, int seconds)
{
    n->deadline_s = seconds > 0 ? seconds : 0;
    n->deadline_mono = seconds > 0 ? n->clock.mono_us(n->clock.ctx) + n->deadline_s * AGT_US_PER_SEC : 0;
    if (n->http) agt_http_set_timeout_ms(n->http, 0);
}

/* Time left before the unit's deadline (INT64_MAX without one; <= 0: passed). */
static int64_t time_left(const agt_net *n)
{
    return n->deadline_mono ? n->deadline_mono - n->clock.mono_us(n->clock.ctx) : INT64_MAX;
}

static agt_status deadline_passed(agt_net *n, const char *what, int attempts, const char *last,
                                  agt_error *err)
{
    agt_err(err, AGT_ENET, "%s: the unit's deadline of %lld s passed after %d attempt%s%s%.200s",
            what, (long long)n->deadline_s, attempts, attempts == 1 ? "" : "s", last[0] ? ": " : "",
            last);
    if (err) err->attempts = attempts;
    return AGT_ENET;
}

/* "2024-01-01 12:00:00" (seconds precision) into buf[32]. */
static void fmt_time(int64_t us, char *buf)
{
    agt_format_time_us(us, buf, 32);
    buf[19] = 0;
}

/* A short printable excerpt of a non-JSON body for messages. */
static void body_excerpt(const agt_http_resp *r, char *out, size_t n)
{
    size_t k = 0;
    int space = 0;
    for (size_t i = 0; i < r->body.len && k + 1 < n && k < 80; i++) {
        unsigned char c = r->body.data[i];
        if (c == '\r' || c == '\n' || c == '\t' || c == ' ') {
            space = k > 0;
            continue;
        }
        if (c < 0x20 || c >= 0x7f) c = '?';
        if (space && k + 2 < n) out[k++] = ' ';
        space = 0;
        out[k++] = (char)c;
    }
    out[k] = 0;
}

/* "IP banned until 1516180405741" in a 418 message: epoch ms, else -1. */
static int64_t banned_until_ms(const char *msg)
{
    const char *p = strstr(msg, "banned until ");
    if (!p) return -1;
    p += 13;
    int64_t v = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9' && digits < 16) v = v * 10 + (*p++ - '0'), digits++;
    return digits >= 10 ? v : -1;
}

/* Seconds until the exchange's clock reaches `at_us`, rounded up; 0 if passed. */
static int64_t seconds_until(agt_net *n, int64_t at_us)
{
    int64_t left = at_us - agt_net_exch_now(n);
    return left > 0 ? (left + AGT_US_PER_SEC - 1) / AGT_US_PER_SEC : 0;
}

/* The response is not 200: what the exchange said, and until when a 418 bans us. */
static void describe_http_error(agt_net *n, const agt_net_req *rq, const agt_http_resp *r,
                                agt_attempt *a, char *detail, size_t dn)
{
    char apimsg[256] = "";
    int code = 0;
    a->outcome = AGT_OUT_HTTP;
    if (rq->parse_api_error && !r->is_html &&
        rq->parse_api_error(r->body.data, r->body.len, &code, apimsg, sizeof apimsg)) {
        a->has_api_code = 1;
        a->api_code = code;
        snprintf(detail, dn, "\"%.200s\" (code %d)", apimsg, code);
    } else if (r->is_html) {
        snprintf(detail, dn, "an html page instead of json");
    } else {
        char ex[96];
        body_excerpt(r, ex, sizeof ex);
        snprintf(detail, dn, "body \"%s\"", ex);
    }
    if (r->status == 418 && a->retry_after_s < 0 && a->has_api_code) {
        /* No Retry-After: the message may still say until when. */
        int64_t until = banned_until_ms(apimsg);
        if (until > 0) a->retry_after_s = seconds_until(n, until * AGT_US_PER_MS);
    }
}

/*
 * Judge one attempt's result `ts` (the transport's status, `te` its error)
 * into *a for the retry policy, with `detail` saying what went wrong. AGT_OK
 * when *a is filled; any other status ends the request at once with it (out
 * of memory, or the caller's body parser refusing for good).
 */
static agt_status judge(agt_net *n, const agt_net_req *rq, agt_status ts, int transient,
                        const agt_error *te, int attempt, agt_attempt *a, char *detail,
                        size_t dn, agt_error *err)
{
    const agt_http_resp *r = &n->resp;
    memset(a, 0, sizeof *a);
    a->http_status = r->status;
    a->retry_after_s = r->retry_after_s;
    if (a->retry_after_s < 0 && r->retry_at_us >= 0) /* an HTTP-date */
        a->retry_after_s = seconds_until(n, r->retry_at_us);
    detail[0] = 0;
    if (ts == AGT_ENOMEM || ts == AGT_EIO) { /* a cap, or the sink cannot store: final */
        agt_err(err, ts, "%s: %s", rq->what, te->message);
        if (err) {
            err->http_status = r->status;
            err->attempts = attempt;
        }
        return ts;
    }
    if (ts != AGT_OK) {
        a->outcome = transient ? AGT_OUT_NET : AGT_OUT_NET_FATAL;
        snprintf(detail, dn, "%.200s", te->message);
        if (detail[0] >= 'A' && detail[0] <= 'Z') detail[0] = (char)(detail[0] + 32);
        return AGT_OK;
    }
    if (r->status != 200) {
        describe_http_error(n, rq, r, a, detail, dn);
        return AGT_OK;
    }
    agt_error be;
    agt_error_clear(&be);
    agt_status bs = rq->on_body ? rq->on_body(rq->user, r, &be) : AGT_OK;
    if (bs == AGT_OK) {
        a->outcome = AGT_OUT_OK;
    } else if (bs == AGT_EPARSE) {
        a->outcome = AGT_OUT_BAD_BODY;
        snprintf(detail, dn, "%.200s", be.message);
    } else {
        if (err) {
            *err = be;
            err->status = bs;
            err->http_status = 200;
            err->attempts = attempt;
        }
        return bs;
    }
    return AGT_OK;
}

/* The request failed for good (decision `d` after `attempt` attempts): say why, in the user's terms. */
static agt_status fail(agt_net *n, const char *what, const agt_attempt *a,
                       const agt_retry_decision *d, int attempt, const char *detail, agt_error *err)
{
    int st = a->http_status;
    char when[32];
    switch (d->kind) {
    case AGT_FAIL_BANNED:
        if (a->retry_after_s >= 0) {
            fmt_time(agt_net_exch_now(n) + a->retry_after_s * AGT_US_PER_SEC, when);
            agt_err(err, d->status,
                    "banned by the exchange until %s UTC (http %d, retry-after %lld s is "
                    "more than the %lld s we wait): %s",
                    when, st, (long long)a->retry_after_s,
                    (long long)(n->retry.max_ban_wait_us / AGT_US_PER_SEC), detail);
        } else {
            agt_err(err, d->status, "banned by the exchange for an unknown time (http %d): %s",
                    st, detail);
        }
        break;
    case AGT_FAIL_CLIENT:
        if (d->status == AGT_EAPI)
            agt_err(err, d->status, "the exchange refused the %s: %s, http %d", what, detail, st);
        else
            agt_err(err, d->status, "%s: unexpected http %d: %s", what, st, detail);
        break;
    case AGT_FAIL_FATAL:
        agt_err(err, d->status, "%s: %s", what, detail);
        break;
    default:
        if (a->outcome == AGT_OUT_NET)
            agt_err(err, d->status, "%s: network error after %d attempts: %s", what, attempt,
                    detail);
        else if (a->outcome == AGT_OUT_BAD_BODY)
            agt_err(err, d->status, "%s: malformed response after %d attempts: %s", what,
                    attempt, detail);
        else if (st == 403)
            agt_err(err, d->status,
                    "blocked by the exchange's firewall (http 403) after %d attempts: %s",
                    attempt, detail);
        else if (st == 429)
            agt_err(err, d->status, "rate limited by the exchange (http 429) after %d attempts",
                    attempt);
        else
            agt_err(err, d->status, "%s: http %d after %d attempts: %s", what, st, attempt,
                    detail);
        break;
    }
    if (err) {
        err->http_status = st;
        err->api_code = a->has_api_code ? a->api_code : 0;
        err->attempts = attempt;
    }
    return d->status;
}

/* Point the response at the request's sink (if any), which starts over. */
static agt_status begin_sink(agt_net *n, const agt_net_req *rq, agt_error *err)
{
    n->resp.sink = rq->sink;
    n->resp.sink_ctx = rq->user;
    if (rq->sink && rq->sink(rq->user, NULL, 0) != AGT_OK)
        return agt_err(err, AGT_EIO, "cannot start storing the response");
    return AGT_OK;
}

/* A transport that filled `body` despite the sink (a test's): hand it over. */
static agt_status drain_into_sink(agt_http_resp *r, agt_error *err)
{
    if (!r->sink || r->status != 200 || r->body.len == 0) return AGT_OK;
    agt_status st = r->sink(r->sink_ctx, r->body.data, r->body.len);
    if (st != AGT_OK) return agt_err(err, st, "the response body could not be stored");
    r->sunk += r->body.len;
    r->body.len = 0;
    return AGT_OK;
}

agt_status agt_net_request(agt_net *n, const agt_net_req *rq, agt_error *err)
{
    const agt_clock *ck = &n->clock;
    agt_net_req named = *rq;
    if (!named.what) named.what = "request";
    const char *what = named.what;
    char detail[256] = "";
    for (int attempt = 1;; attempt++) {
        if (agt_limiter_acquire(n->limiter, ck, rq->weight, n->deadline_mono, rq->follows) > 0)
            return deadline_passed(n, what, attempt - 1, detail, err);
        if (n->http && n->deadline_mono)
            agt_http_set_timeout_ms(n->http, (long)((time_left(n) + 999) / AGT_US_PER_MS));
        agt_error te;
        agt_error_clear(&te);
        int transient = 0;
        agt_http_resp *r = &n->resp;
        agt_status ts = begin_sink(n, rq, &te);
        if (ts == AGT_OK) ts = n->transport(n->transport_ctx, rq->url, r, &transient, &te);
        if (ts == AGT_OK) ts = drain_into_sink(r, &te);
        r->sink = NULL;
        n->requests++;
        n->bytes += r->body.len + r->sunk;
        if (r->used_weight >= 0) agt_limiter_on_response(n->limiter, ck->real_us(ck->ctx), r->used_weight);

        agt_attempt a;
        agt_status js = judge(n, &named, ts, transient, &te, attempt, &a, detail, sizeof detail, err);
        if (js != AGT_OK) return js;
        if (rq->observe && rq->observe(rq->user, r)) {
            agt_err(err, AGT_ECANCELLED, "%s: cancelled", what);
            if (err) err->attempts = attempt, err->http_status = r->status;
            return AGT_ECANCELLED;
        }

        agt_retry_decision d = agt_retry_decide(&n->retry, attempt, &a, ck->random(ck->ctx));
        if (d.action == AGT_RETRY_DONE) return AGT_OK;
        if (d.action != AGT_RETRY_AGAIN) return fail(n, what, &a, &d, attempt, detail, err);
        if (d.wait_us >= time_left(n)) {
            if (!detail[0]) snprintf(detail, sizeof detail, "http %d", a.http_status);
            return deadline_passed(n, what, attempt, detail, err);
        }
        if (a.http_status == 429 || a.http_status == 418) {
            /* Keep every job sharing the limiter away, not just this
             * request. The exchange said when to come back; its weight
             * counter reading is superseded by that. */
            agt_limiter_keep_away(n->limiter, ck->mono_us(ck->ctx) + d.wait_us);
        }
        ck->sleep_us(ck->ctx, d.wait_us);
    }
}
