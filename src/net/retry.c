/*
 * retry.c - the retry policy as a pure function: given what one attempt
 * produced (transport failure, HTTP status, Retry-After, the exchange's error
 * code), decide whether the request succeeded, should be tried again after a
 * given wait, or has failed for good. Keeping it free of I/O and clocks lets
 * the unit tests enumerate the decisions exactly.
 *
 * Choices worth knowing:
 *   - "max_attempts" counts every attempt, the first included (default 4).
 *   - Retry-After is honoured exactly for 429 and 418: the exchange tells us
 *     how long to stay away, and anything shorter risks a longer ban. When
 *     that wait exceeds max_ban_wait we fail at once with AGT_EBANNED rather
 *     than hang; a 418 without Retry-After is treated as a ban of unknown
 *     length (also AGT_EBANNED).
 *   - 403 from Binance is the CloudFront WAF (an HTML page, not JSON). It is
 *     sometimes rate-based and clears by itself, so it is retried with
 *     backoff like a 5xx; if it persists the caller gets AGT_EHTTP with a
 *     message naming the firewall, which is what the user must look into.
 *   - Other 4xx are the caller's fault (-1121 bad symbol, -1100, -1128...):
 *     retrying cannot help, so they fail at once, AGT_EAPI with the code.
 *     451 (restricted location) carries code 0 and so becomes AGT_EHTTP.
 */
#include "net/net_int.h"

int64_t agt_backoff_us(const agt_retry_policy *p, int attempt, uint64_t rnd)
{
    int64_t d = p->base_us > 0 ? p->base_us : 0;
    for (int i = 1; i < attempt && d < p->cap_us; i++) d *= 2;
    if (d > p->cap_us) d = p->cap_us;
    if (d <= 0) return 0;
    int64_t half = d / 2;
    return half + (int64_t)(rnd % (uint64_t)(d - half + 1));
}

static agt_retry_decision decision(agt_retry_action act, int64_t wait, agt_status s,
                                   agt_fail_kind kind)
{
    agt_retry_decision d = {act, wait, s, kind};
    return d;
}

/* Retry after `wait` if attempts remain, else fail with `final`. */
static agt_retry_decision again_or(const agt_retry_policy *p, int attempt, int64_t wait,
                                   agt_status final)
{
    if (attempt >= p->max_attempts) return decision(AGT_RETRY_FAIL, 0, final, AGT_FAIL_EXHAUSTED);
    return decision(AGT_RETRY_AGAIN, wait, AGT_OK, AGT_FAIL_NONE);
}

agt_retry_decision agt_retry_decide(const agt_retry_policy *p, int attempt,
                                    const agt_attempt *a, uint64_t rnd)
{
    int64_t backoff = agt_backoff_us(p, attempt, rnd);
    switch (a->outcome) {
    case AGT_OUT_OK:
        return decision(AGT_RETRY_DONE, 0, AGT_OK, AGT_FAIL_NONE);
    case AGT_OUT_NET:
        return again_or(p, attempt, backoff, AGT_ENET);
    case AGT_OUT_NET_FATAL:
        return decision(AGT_RETRY_FAIL, 0, AGT_ENET, AGT_FAIL_FATAL);
    case AGT_OUT_BAD_BODY:
        return again_or(p, attempt, backoff, AGT_EPARSE);
    case AGT_OUT_HTTP:
        break;
    }

    int st = a->http_status;
    if (st == 429 || st == 418) {
        int64_t wait;
        if (a->retry_after_s >= 0) {
            if (a->retry_after_s > p->max_ban_wait_us / AGT_US_PER_SEC ||
                a->retry_after_s * AGT_US_PER_SEC > p->max_ban_wait_us)
                return decision(AGT_RETRY_FAIL, 0, AGT_EBANNED, AGT_FAIL_BANNED);
            wait = a->retry_after_s * AGT_US_PER_SEC;
        } else if (st == 418) {
            return decision(AGT_RETRY_FAIL, 0, AGT_EBANNED, AGT_FAIL_BANNED);
        } else {
            wait = backoff;
        }
        return again_or(p, attempt, wait, AGT_EHTTP);
    }
    if (st >= 500 || st == 403) return again_or(p, attempt, backoff, AGT_EHTTP);
    if (st >= 400) {
        agt_status s = a->has_api_code && a->api_code != 0 ? AGT_EAPI : AGT_EHTTP;
        return decision(AGT_RETRY_FAIL, 0, s, AGT_FAIL_CLIENT);
    }
    /* 1xx, 2xx other than an accepted 200, 3xx (redirects are not followed). */
    if (st == 200) return again_or(p, attempt, backoff, AGT_EPARSE);
    return decision(AGT_RETRY_FAIL, 0, AGT_EHTTP, AGT_FAIL_CLIENT);
}
