/*
 * net_int.h - the network layer inside the library (not public): a clock
 * that tests can replace, the retry policy, the rate limiter, one HTTP
 * transport (libcurl by default, a function pointer so tests feed canned
 * responses) and the request loop that ties them together.
 *
 * Only src/net/ includes <curl/curl.h>; nothing here exposes curl types.
 *
 * Layering:
 *   agt_net_request()           one logical request: rate limit, send, classify,
 *     agt_rl_delay_us()         retry with backoff or Retry-After, or fail
 *     transport (http.c)        one HTTP exchange, body into a capped agt_buf
 *     agt_retry_decide()        pure decision from what came back (retry.c)
 * The caller (src/source) supplies the body parsers as callbacks, so a 200
 * with a malformed body is retried like a 5xx without net knowing JSON.
 */
#ifndef AGT_NET_INT_H
#define AGT_NET_INT_H

#include <stddef.h>
#include <pthread.h>
#include <stdint.h>

#include "common/common_int.h"

/* ---- clock ---------------------------------------------------------------- */

/*
 * Time and randomness behind function pointers: the system one uses
 * CLOCK_MONOTONIC / CLOCK_REALTIME and nanosleep (looping on EINTR); unit
 * tests install a fake that records requested sleeps and advances instantly.
 */
typedef struct agt_clock {
    int64_t (*mono_us)(void *ctx);          /* monotonic, arbitrary epoch */
    int64_t (*real_us)(void *ctx);          /* wall clock, µs since the epoch */
    void (*sleep_us)(void *ctx, int64_t us); /* sleep at least `us` (<= 0: no-op) */
    uint64_t (*random)(void *ctx);          /* for backoff jitter */
    void *ctx;
} agt_clock;

/* Fill `c` with the system clock. */
void agt_clock_system(agt_clock *c);
/* Sleep `us` microseconds on the monotonic clock, resuming after signals. */
void agt_sleep_us(int64_t us);

/* ---- retry policy (retry.c) ----------------------------------------------- */

typedef struct agt_retry_policy {
    int max_attempts;        /* attempts in total, >= 1 */
    int64_t base_us;         /* first backoff before jitter */
    int64_t cap_us;          /* no single backoff longer than this */
    int64_t max_ban_wait_us; /* a 418/429 asking for longer fails at once */
} agt_retry_policy;

/* What one attempt produced, as the policy sees it. */
typedef enum agt_outcome {
    AGT_OUT_OK = 0,       /* 200 and the body was accepted */
    AGT_OUT_NET,          /* transient transport failure (reset, timeout, DNS) */
    AGT_OUT_NET_FATAL,    /* transport failure that retrying cannot fix (TLS, URL) */
    AGT_OUT_BAD_BODY,     /* 200 but the body is malformed or inconsistent */
    AGT_OUT_HTTP          /* any other HTTP status; see the fields below */
} agt_outcome;

typedef struct agt_attempt {
    agt_outcome outcome;
    int http_status;
    int64_t retry_after_s; /* Retry-After in seconds, -1 if absent */
    int has_api_code;      /* the body was {"code":..,"msg":..} */
    int api_code;
} agt_attempt;

typedef enum agt_retry_action {
    AGT_RETRY_DONE = 0, /* success */
    AGT_RETRY_AGAIN,    /* wait `wait_us`, then try again */
    AGT_RETRY_FAIL      /* give up with `status` */
} agt_retry_action;

typedef enum agt_fail_kind {
    AGT_FAIL_NONE = 0,
    AGT_FAIL_EXHAUSTED,  /* out of attempts */
    AGT_FAIL_BANNED,     /* 418/429 wait above the maximum, or 418 without a wait */
    AGT_FAIL_CLIENT,     /* 4xx the caller caused: not retried */
    AGT_FAIL_FATAL       /* transport failure retrying cannot fix */
} agt_fail_kind;

typedef struct agt_retry_decision {
    agt_retry_action action;
    int64_t wait_us;   /* for AGT_RETRY_AGAIN */
    agt_status status; /* for AGT_RETRY_FAIL */
    agt_fail_kind kind;
} agt_retry_decision;

/*
 * Exponential backoff with "equal jitter" for attempt number `attempt` (1 =
 * the wait after the first failure): d = min(cap, base * 2^(attempt-1)),
 * result = d/2 + rnd % (d/2 + 1). Deterministic in `rnd`.
 */
int64_t agt_backoff_us(const agt_retry_policy *p, int attempt, uint64_t rnd);

/*
 * Decide what to do after attempt number `attempt` (1-based) ended with `a`.
 * Pure function of its arguments (`rnd` feeds the jitter). Rules:
 *   OK                          -> DONE
 *   NET, BAD_BODY, 5xx, 403     -> backoff, at most max_attempts in total
 *   429                         -> wait exactly Retry-After (backoff if absent);
 *                                  if that exceeds max_ban_wait -> BANNED at once
 *   418                         -> as 429, but without Retry-After -> BANNED
 *   other 4xx (400, 404, 451..) -> FAIL at once: EAPI if the body had a non-zero
 *                                  code, else EHTTP
 *   NET_FATAL, 1xx/3xx          -> FAIL at once
 * Final statuses after the attempts run out: ENET, EPARSE, EHTTP.
 */
agt_retry_decision agt_retry_decide(const agt_retry_policy *p, int attempt,
                                    const agt_attempt *a, uint64_t rnd);

/* ---- rate limiter (ratelimit.c) -------------------------------------------- */

/*
 * Two rules, whichever asks for the longer wait:
 *   1. at least `interval_us` between the starts of two requests;
 *   2. the exchange's per-minute weight counter (X-MBX-USED-WEIGHT-1M, reset
 *      on each wall-clock minute) never goes over `budget`:
 *      above 80 % of it the rest of the budget is spread evenly over the rest
 *      of the minute, and a request that would not fit waits for the next
 *      minute (plus `slack_us` for clock error).
 * Times: `mono` is the monotonic clock, `exch` the wall clock (µs since the
 * epoch; named for the exchange's minutes it stands for).
 */
/*
 * A limit the exchange advertises in exchangeInfo.rateLimits that has no
 * usage header (RAW_REQUESTS, or REQUEST_WEIGHT over another interval than
 * one minute): we count our own requests (cost 1) or weight (cost = the
 * request's weight) in fixed windows of `window_us` aligned on the epoch,
 * as the exchange's are. For `slack_us` after a window starts a request is
 * counted in the previous window too, in case the exchange's clock is behind.
 */
typedef struct agt_rl_counter {
    int64_t window_us;
    int64_t limit;
    int per_weight;   /* 1: counts request weight, 0: counts requests */
    int64_t window;   /* index (exch / window_us) of the counted window */
    int64_t count;    /* cost counted in that window */
    int64_t prev;     /* cost counted in the window before it */
} agt_rl_counter;

#define AGT_RL_COUNTERS 8

typedef struct agt_ratelimit {
    int64_t interval_us;
    int budget;
    int64_t slack_us;
    int has_sent;
    int64_t last_send_mono;
    int used;            /* last X-MBX-USED-WEIGHT-1M seen, -1 if none */
    int64_t used_minute; /* exchange minute (exch / 60 s) it belongs to */
    int64_t not_before_mono; /* e.g. after a Retry-After; 0 if none */
    int ncounters;
    agt_rl_counter counters[AGT_RL_COUNTERS];
} agt_ratelimit;

void agt_rl_init(agt_ratelimit *rl, int64_t interval_us, int budget);
/*
 * Apply a limit the exchange advertises: `limit` request weight
 * (`per_weight` = 1) or requests (0) per `window_us`. A one-minute weight
 * limit lowers `budget` (never raises it); anything else becomes a counter.
 * AGT_EINVAL if the values are out of range or the counters are full.
 */
agt_status agt_rl_add_limit(agt_ratelimit *rl, int per_weight, int64_t window_us, int64_t limit);
/* How long to wait before sending a request of weight `weight` (>= 0). */
int64_t agt_rl_delay_us(const agt_ratelimit *rl, int64_t mono, int64_t exch, int weight);
/* A request of weight `weight` is sent at `mono` (wall clock `exch`). */
void agt_rl_on_send(agt_ratelimit *rl, int64_t mono, int64_t exch, int weight);
/* Record a response's weight header (`used` < 0: header absent, ignored). */
void agt_rl_on_response(agt_ratelimit *rl, int64_t exch, int64_t used);

/* ---- the limiter several connections share (limiter.c) ---------------------- */

/*
 * One agt_ratelimit behind a mutex, so that the connections of parallel jobs
 * (one agt_net each, on threads of their own) spend one weight budget and
 * keep one minimum interval between them, and a 429/418 keeps every job
 * away. Reference-counted: freed with the last connection holding it.
 */
typedef struct agt_limiter {
    pthread_mutex_t mu;
    int refs;
    agt_ratelimit rl; /* read by tests; otherwise only under `mu` */
} agt_limiter;

/* A limiter over agt_rl_init(interval_us, budget); NULL when out of memory. */
agt_limiter *agt_limiter_new(int64_t interval_us, int budget);
/* One more holder / one holder less (the last frees it; NULL accepted). */
void agt_limiter_hold(agt_limiter *l);
void agt_limiter_release(agt_limiter *l);
/*
 * Wait on `ck` until a request of weight `weight` may be sent, and count it
 * as sent (atomically with the decision, so two threads never take the same
 * slot). If the wait would reach `deadline_mono` (0: none), nothing is sent
 * and a positive number is returned; 0 once sent. A request that `follows`
 * (agt_net_req) neither waits for the minimum interval nor restarts it.
 */
int64_t agt_limiter_acquire(agt_limiter *l, const agt_clock *ck, int weight,
                            int64_t deadline_mono, int follows);
/* agt_rl_on_response under the lock. */
void agt_limiter_on_response(agt_limiter *l, int64_t exch, int64_t used);
/* The exchange said to keep away until `mono` (429/418): every holder waits,
 * and the weight reading it superseded is dropped. */
void agt_limiter_keep_away(agt_limiter *l, int64_t mono);
/* agt_rl_add_limit under the lock; a limit already applied (the same
 * per_weight, window and limit: each holder reads the exchange's) is kept once. */
agt_status agt_limiter_add_limit(agt_limiter *l, int per_weight, int64_t window_us, int64_t limit);

/* ---- one HTTP exchange (http.c) -------------------------------------------- */

#define AGT_NET_BODY_CAP ((size_t)16 << 20) /* 16 MiB: a 1000-row page is ~120 KiB */

typedef struct agt_http_resp {
    int status;            /* HTTP status, 0 if no response */
    int64_t used_weight;   /* X-MBX-USED-WEIGHT-1M, -1 if absent */
    int64_t retry_after_s; /* Retry-After in seconds, -1 if absent or not a number */
    int64_t retry_at_us;   /* Retry-After as an HTTP-date (µs since the epoch), -1 if not */
    int is_html;           /* Content-Type text/html (a WAF page) */
    agt_buf body;          /* decoded body, capped */
    /* When `sink` is set (by agt_net_request, from agt_net_req.sink), the
     * body of a 200 goes to it piece by piece instead of into `body`, which
     * then holds only error bodies: a download of any size in bounded
     * memory. A sink's failure stops the transfer with its status. */
    agt_status (*sink)(void *ctx, const uint8_t *p, size_t n);
    void *sink_ctx;
    uint64_t sunk;         /* bytes of this response the sink took */
} agt_http_resp;

/* Reset the per-response fields and empty the body (keeps its memory and
 * the sink). */
void agt_http_resp_reset(agt_http_resp *r);

/*
 * Send GET `url` and fill `r`. Returns AGT_OK when an HTTP response arrived,
 * whatever its status. Otherwise a transport failure: AGT_ENET with
 * *transient = 1 if retrying may help (connect, reset, timeout, DNS),
 * *transient = 0 if not (TLS verification, bad URL); AGT_ENOMEM if the body
 * exceeded its cap, or the status of a failing sink. The message goes into
 * `err`. A transport that ignores r->sink fills `body`; agt_net_request
 * then hands that to the sink.
 */
typedef agt_status (*agt_transport_fn)(void *ctx, const char *url, agt_http_resp *r,
                                       int *transient, agt_error *err);

typedef struct agt_http agt_http; /* the libcurl transport */

typedef struct agt_http_opts {
    long connect_timeout_ms;
    long timeout_ms;
    long low_speed_limit;  /* bytes/s; a transfer slower than this ...  */
    long low_speed_time_s; /* ... for this long is aborted (transient); 0 = off */
} agt_http_opts;

agt_status agt_http_new(const agt_http_opts *o, agt_http **out, agt_error *err);
void agt_http_free(agt_http *h);
/* Cap the next transfers at `ms` (<= 0: back to the option's whole-request timeout). */
void agt_http_set_timeout_ms(agt_http *h, long ms);
/* An agt_transport_fn; `ctx` is the agt_http. */
agt_status agt_http_get(void *ctx, const char *url, agt_http_resp *r, int *transient,
                        agt_error *err);
/* An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") in µs since the epoch;
 * -1 if `v` is not exactly one (the weekday must match the date). */
int64_t agt_http_date_us(const char *v, size_t n);
/* Pure header-line parser used by agt_http_get (exposed for tests). */
void agt_http_parse_header(agt_http_resp *r, const char *line, size_t n);

/* ---- the request loop (request.c) ------------------------------------------ */

typedef struct agt_net_opts {
    int interval_ms;
    int weight_budget;
    agt_retry_policy retry;
    agt_http_opts http;
    const agt_clock *clock;      /* NULL: system clock */
    agt_transport_fn transport;  /* NULL: libcurl */
    void *transport_ctx;
} agt_net_opts;

typedef struct agt_net {
    agt_clock clock;
    agt_retry_policy retry;
    agt_limiter *limiter;    /* own, or shared with other connections (agt_net_share_limiter) */
    agt_transport_fn transport;
    void *transport_ctx;
    agt_http *http;          /* owned when the default transport is used */
    agt_http_resp resp;      /* reused for every response */
    int has_offset;          /* exchange clock known */
    int64_t exch_offset_us;  /* exchange = mono + offset */
    int limits_asked;        /* the exchange's advertised limits were asked for (or are not wanted) */
    int64_t deadline_mono;   /* monotonic time the current unit must end by; 0 = none */
    int64_t deadline_s;      /* the unit's allowance, for messages */
    /* counters since creation */
    uint64_t requests;
    uint64_t bytes;
} agt_net;

/* One logical request (with its retries). */
typedef struct agt_net_req {
    const char *url;
    const char *what; /* for messages, e.g. "aggTrades page" */
    int weight;       /* expected request weight, for the rate limiter */
    /*
     * Called for every 200 response. Return AGT_OK to accept the body,
     * AGT_EPARSE if it is malformed (the attempt is retried), anything else
     * to fail at once with that status.
     */
    agt_status (*on_body)(void *user, const agt_http_resp *r, agt_error *err);
    /* Parse an error body {"code":..,"msg":..}; 1 if it is one. May be NULL. */
    int (*parse_api_error)(const uint8_t *body, size_t n, int *code, char *msg, size_t msgn);
    /* Called after every response (or transport failure, r->status == 0).
     * Non-zero stops everything with AGT_ECANCELLED. May be NULL. */
    int (*observe)(void *user, const agt_http_resp *r);
    /* When set, a 200 body is streamed here (see agt_http_resp.sink) and
     * on_body sees an empty body. Called with p == NULL before every
     * attempt: what an earlier attempt gave is to be dropped. A status
     * other than AGT_OK (AGT_EIO: cannot store it; AGT_ENOMEM: above a cap)
     * fails the request at once. May be NULL. */
    agt_status (*sink)(void *user, const uint8_t *p, size_t n);
    void *user;
    /* 1: the request completes the one before it (an archive zip's
     * .CHECKSUM): it is sent without waiting out the minimum interval, which
     * it does not restart, so the pair is spaced as one request. The other
     * rules (weights, 429/418) apply as to any request. */
    int follows;
} agt_net_req;

agt_status agt_net_new(const agt_net_opts *o, agt_net **out, agt_error *err);
void agt_net_free(agt_net *n);
/* From now on `n` spends the rate limit of `with` (its own is dropped):
 * connections on different threads then share one budget. */
void agt_net_share_limiter(agt_net *n, agt_net *with);
/*
 * Run `rq` under the rate limiter and retry policy. On failure `err` holds a
 * one-line message, the last HTTP status, the exchange's code and the number
 * of attempts.
 */
agt_status agt_net_request(agt_net *n, const agt_net_req *rq, agt_error *err);
/*
 * Give the current unit (an hour, an archive day) `seconds` from now for
 * every request, wait and retry it makes (<= 0: no deadline). Past it,
 * agt_net_request sends nothing more and fails with AGT_ENET "... deadline
 * ... passed"; a transfer in flight is cut at it (default transport).
 */
void agt_net_set_deadline(agt_net *n, int seconds);
/* The exchange's clock as the layer estimates it (wall clock until set). */
int64_t agt_net_exch_now(const agt_net *n);
/* Anchor the exchange clock: it read `exch_us` at monotonic time `mono_us`. */
void agt_net_set_exch_time(agt_net *n, int64_t exch_us, int64_t mono_us);

/* ---- a source's connection (conn.c) ----------------------------------------- */

/* The connection settings agt_client_opts and agt_archive_opts share, in their units. */
typedef struct agt_net_conn {
    int interval_ms;         /* minimum gap between requests */
    int weight_budget;       /* request weight per minute */
    int max_attempts;        /* attempts per request in total */
    int backoff_base_ms;     /* first retry delay before jitter */
    int max_ban_wait_s;      /* a 418/429 asking a longer wait fails at once */
    long connect_timeout_ms;
    long timeout_ms;
    long low_speed_limit;    /* bytes/s floor, 0 = off */
    int low_speed_time_s;    /* for this long */
} agt_net_conn;

/* The connection settings among a source's options `o` (an agt_client_opts
 * or agt_archive_opts: the fields of the same names), with `budget` as the
 * weight budget. */
#define AGT_NET_CONN_OF(o, budget)                                                              \
    ((agt_net_conn){.interval_ms = (o)->interval_ms,                                            \
                    .weight_budget = (budget),                                                  \
                    .max_attempts = (o)->max_attempts,                                          \
                    .backoff_base_ms = (o)->backoff_base_ms,                                    \
                    .max_ban_wait_s = (o)->max_ban_wait_s,                                      \
                    .connect_timeout_ms = (o)->connect_timeout_ms,                              \
                    .timeout_ms = (o)->timeout_ms,                                              \
                    .low_speed_limit = (o)->low_speed_limit,                                    \
                    .low_speed_time_s = (o)->low_speed_time_s})

/*
 * Open a source's connection. Its base URL `url` must be http:// or https://,
 * at most 400 bytes of printable ASCII, no '?' or '#' (AGT_EINVAL naming it
 * `what`, e.g. "api url"); it is copied without trailing '/'s into *base_url
 * (the caller frees). The settings of `c` out of range are replaced by those
 * of `defaults`, and *net made for them (each retry wait capped at 60 s), with
 * an injected clock and transport when not NULL (else the system's / libcurl).
 * On failure *base_url and *net are NULL.
 */
agt_status agt_net_open_conn(const char *url, const char *what, agt_net_conn c,
                             const agt_net_conn *defaults, const agt_clock *clock,
                             agt_transport_fn transport, void *transport_ctx, char **base_url,
                             agt_net **net, agt_error *err);

#endif
