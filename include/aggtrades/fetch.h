/*
 * aggtrades/fetch.h - fetching aggregate trades from the exchange.
 *
 * An agt_client owns one HTTP connection pool (libcurl, connections reused),
 * the retry policy and the rate limiter. agt_fetch_hour returns every
 * aggregate trade of one UTC hour of one symbol, exact: sorted by id, unique,
 * validated, with the facts needed to prove the hour complete
 * (architecture.md §2). A client is not thread-safe; use one per thread.
 */
#ifndef AGGTRADES_FETCH_H
#define AGGTRADES_FETCH_H

#include "aggtrades/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Called after every HTTP response (successful or not) with the bytes of the
 * body and the number of trades it carried. Return non-zero to stop the
 * current fetch, which then fails with AGT_ECANCELLED.
 */
typedef int (*agt_fetch_progress_fn)(void *user, uint64_t body_bytes, uint64_t trades);

typedef struct agt_client_opts {
    const char *api_url;        /* default "https://api.binance.com" */
    int interval_ms;            /* minimum gap between requests; default 50 */
    int max_attempts;           /* attempts per request in total; default 4 */
    int max_ban_wait_s;         /* 429/418 asking a longer wait fail at once; default 300 */
    long connect_timeout_ms;    /* default 10000 */
    long timeout_ms;            /* whole request; default 30000 */
    int weight_budget;          /* request weight per minute; default 6000 */
    int backoff_base_ms;        /* first retry delay before jitter; default 500 */
    int complete_margin_ms;     /* exchange clock must pass the hour end by this; default 5000 */
    agt_fetch_progress_fn progress;
    void *progress_user;
} agt_client_opts;

/* Fill `o` with the defaults above. */
void agt_client_opts_default(agt_client_opts *o);

typedef struct agt_client agt_client;

/* Create a client. Copies what it needs from `o` (NULL = defaults). */
agt_status agt_client_new(const agt_client_opts *o, agt_client **out, agt_error *err);
void agt_client_free(agt_client *c);

/* The exchange's clock ("now" for every decision), microseconds UTC. */
agt_status agt_client_server_time(agt_client *c, int64_t *now_us, agt_error *err);

/* Facts learnt while fetching one hour. */
typedef struct agt_hour_info {
    int64_t hour_start_us;  /* the hour fetched */
    int64_t prev_id;        /* id of the newest trade before the hour; -1 if none exists */
    int64_t prev_ts_us;     /* its time; 0 if prev_id == -1 */
    int64_t server_time_us; /* exchange clock when the fetch finished */
    int complete;           /* 1 if proven complete (architecture.md §2), else 0 */
    int requests;           /* HTTP requests sent, retries included */
    uint64_t bytes;         /* response body bytes received */
} agt_hour_info;

/*
 * Fetch every aggregate trade of `symbol` in [hour_start_us, hour_start_us +
 * 1 h - 1 µs]. `hour_start_us` must be a whole UTC hour. Rows are appended to
 * `out` (which the caller initialised) sorted by trade id, ids unique; on
 * failure `out` is left as it was. `info` may be NULL.
 * Errors: AGT_EINVAL (bad symbol/hour, no request sent), AGT_EAPI (exchange
 * error code, e.g. -1121, not retried), AGT_EBANNED, AGT_ENET, AGT_EHTTP,
 * AGT_EPARSE (after retries), AGT_ECANCELLED.
 */
agt_status agt_fetch_hour(agt_client *c, const char *symbol, int64_t hour_start_us,
                          agt_trades *out, agt_hour_info *info, agt_error *err);

#ifdef __cplusplus
}
#endif
#endif
