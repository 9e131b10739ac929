/*
 * aggtrades/fetch.h - fetching aggregate trades from the exchange.
 *
 * An agt_client owns one HTTP connection pool (libcurl, connections reused),
 * the retry policy and the rate limiter. agt_fetch_hour returns every
 * aggregate trade of one UTC hour of one symbol, exact: sorted by id, unique,
 * validated, with the facts needed to prove the hour complete
 * (docs/architecture.md, "Completeness"). A client is not thread-safe; use one per thread.
 */
#ifndef AGGTRADES_FETCH_H
#define AGGTRADES_FETCH_H

#include "aggtrades/common.h"
#include "aggtrades/market.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Called after every HTTP response (successful or not) with the bytes of the
 * body and the number of trades it carried. Return non-zero to stop the
 * current fetch, which then fails with AGT_ECANCELLED.
 */
typedef int (*agt_fetch_progress_fn)(void *user, uint64_t body_bytes, uint64_t trades);

/* How agt_fetch_hour walks an hour (agt_client_opts.paging). */
typedef enum agt_paging {
    AGT_PAGING_TIME = 0, /* endTime + limit=1000 backwards; fromId only inside a millisecond
                            that holds more trades than one page (the default) */
    AGT_PAGING_ID = 1    /* the first page by endTime, then backwards by fromId */
} agt_paging;

typedef struct agt_client_opts {
    const char *api_url;        /* default the market's host, "https://api.binance.com" for spot */
    int interval_ms;            /* minimum gap between requests; default 50 */
    int max_attempts;           /* attempts per request in total; default 4 */
    int max_ban_wait_s;         /* 429/418 asking a longer wait fail at once; default 300 */
    long connect_timeout_ms;    /* default 10000 */
    long timeout_ms;            /* whole request; default 30000 */
    int weight_budget;          /* request weight per minute; default 6000 */
    int backoff_base_ms;        /* first retry delay before jitter; default 500 */
    int complete_margin_ms;     /* exchange clock must pass the hour end by this; default 5000 */
    int paging;                 /* an agt_paging; default AGT_PAGING_TIME */
    long low_speed_limit;       /* bytes/s: a response slower than this for low_speed_time_s is
                                   aborted and retried like a reset; default 1024, 0 = off */
    int low_speed_time_s;       /* default 20 */
    int unit_deadline_s;        /* one hour (agt_fetch_hour), every request, wait and retry
                                   included, fails with AGT_ENET past this; default 600, 0 = none */
    agt_fetch_progress_fn progress;
    void *progress_user;
    agt_market market;          /* default AGT_MARKET_SPOT; sets the default api_url
                                   (api/fapi/dapi.binance.com), the path prefix, the
                                   weights, and a budget ceiling of the market's
                                   documented limit (docs/futures.md) */
} agt_client_opts;

/* Fill `o` with the defaults above. */
AGT_API void agt_client_opts_default(agt_client_opts *o);

typedef struct agt_client agt_client;

/* Create a client. Copies what it needs from `o` (NULL = defaults). */
AGT_API agt_status agt_client_new(const agt_client_opts *o, agt_client **out, agt_error *err);
AGT_API void agt_client_free(agt_client *c);

/* The exchange's clock ("now" for every decision), microseconds UTC. */
AGT_API agt_status agt_client_server_time(agt_client *c, int64_t *now_us, agt_error *err);

/* Facts learnt while fetching one hour. */
typedef struct agt_hour_info {
    int64_t hour_start_us;  /* the hour fetched */
    int64_t prev_id;        /* id of the newest trade before the hour; -1 if none exists */
    int64_t prev_ts_us;     /* its time; 0 if prev_id == -1 */
    int64_t server_time_us; /* exchange clock when the fetch finished */
    int complete;           /* 1 if proven complete (docs/architecture.md), else 0 */
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
AGT_API agt_status agt_fetch_hour(agt_client *c, const char *symbol, int64_t hour_start_us,
                          agt_trades *out, agt_hour_info *info, agt_error *err);

/* ---- resuming an hour ---------------------------------------------------- */

/*
 * Called with the rows of the hour that one accepted page added, as soon as
 * the page arrives and before the next request: sorted by trade id, unique,
 * validated like the final result, no id handed over twice. The walk goes
 * backwards from the end of the hour, so the pages so far cover the hour's
 * ids from its newest trade down (but for the rare page that fills a slot a
 * repeated id took on the page before). Pages that add no row of the hour
 * are not handed over. Kept durably (agt_lake_stash_put), these
 * rows are what `resume_from` below accepts. Return AGT_OK to go on; any
 * other status stops the fetch, which then fails with that status (the
 * callback fills `err`).
 */
typedef agt_status (*agt_fetch_page_fn)(void *user, const agt_trades *rows, agt_error *err);

/*
 * agt_fetch_hour, plus two things for downloads that must survive an
 * interruption:
 *   - `page_fn` (may be NULL) receives every page as described above;
 *   - `resume_from` (may be NULL or empty): rows of this hour received by an
 *     earlier, interrupted fetch of it (the union of what its page_fn was
 *     given): ids contiguous, ending at the hour's newest trade. The fetch
 *     checks them (AGT_EINVAL, no request sent, if any row is invalid, out of
 *     the hour or not contiguous), confirms with one small request that the
 *     newest of them is still the hour's newest trade, and then fetches only
 *     the ids below them. If it is not (the rows were fetched before the hour
 *     had ended, or differ from the exchange's), they are ignored and the
 *     hour is fetched afresh. Either way the result - rows, prev_id,
 *     complete - is the one a fresh fetch gives; `info->requests` counts the
 *     requests actually sent. `resume_from` is not handed to page_fn again.
 */
AGT_API agt_status agt_fetch_hour_ex(agt_client *c, const char *symbol, int64_t hour_start_us,
                             const agt_trades *resume_from, agt_fetch_page_fn page_fn,
                             void *page_user, agt_trades *out, agt_hour_info *info,
                             agt_error *err);

/*
 * Fetch the trades with ids from_id .. from_id + limit - 1 (`fromId`, 1 <=
 * limit <= 1000, one request with its retries) and append them to `out`
 * sorted by id, ids unique; fewer rows when the exchange holds fewer (none
 * when from_id is past its newest trade). No hour or completeness checks:
 * the caller judges the rows, e.g. the trade just before or after a day to
 * prove an archive day complete (agt_source_fetch_day). On failure `out` is
 * left as it was. Errors as agt_fetch_hour.
 */
AGT_API agt_status agt_fetch_from_id(agt_client *c, const char *symbol, int64_t from_id, int limit,
                             agt_trades *out, agt_error *err);

#ifdef __cplusplus
}
#endif
#endif
