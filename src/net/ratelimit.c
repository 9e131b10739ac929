/*
 * ratelimit.c - spacing requests so the exchange never has to tell us to.
 *
 * Binance counts request weight per IP in windows of one wall-clock minute
 * and reports the running total in X-MBX-USED-WEIGHT-1M on every response
 * (aggTrades costs 4, /api/v3/time 1; the budget is 6000). Going over gives
 * 429, and carrying on gives 418 bans of minutes to days, so the limiter
 * reacts to the header, which also counts other programs on the same IP:
 *
 *   - below 80 % of the budget only the minimum interval applies;
 *   - from 80 % on, what is left of the budget is spread evenly over what is
 *     left of the minute (a gentle slope, not a cliff);
 *   - a request that would take the counter over the budget waits for the
 *     next wall-clock minute plus `slack_us`, which covers our clock and
 *     the exchange's disagreeing a little.
 *
 * A reading from an earlier minute is treated as zero (the counter was
 * reset), but only once the minute is over by `slack_us` as well.
 *
 * Which clock: the exchange resets the counter on its servers' wall-clock
 * minutes, i.e. on real (NTP) time. We use our wall clock for that, not our
 * estimate of the exchange's "now": that estimate follows GET /api/v3/time,
 * which a test exchange may freeze while its weight window keeps running on
 * real time. Should the two disagree, the next response's header corrects
 * us, and an overshoot is a 429 whose Retry-After we honour.
 *
 * The exchange's own limits (exchangeInfo.rateLimits, read by the client)
 * come in through agt_rl_add_limit: a one-minute REQUEST_WEIGHT limit lowers
 * the budget above; RAW_REQUESTS (61,000 per 5 minutes, 300,000 from
 * 2026-04) and weight limits over other intervals have no header, so we
 * count what we send ourselves in the exchange's fixed windows.
 */
#include <string.h>

#include "net/net_int.h"

#define MINUTE_US (60 * AGT_US_PER_SEC)

void agt_rl_init(agt_ratelimit *rl, int64_t interval_us, int budget)
{
    rl->interval_us = interval_us > 0 ? interval_us : 0;
    rl->budget = budget > 0 ? budget : 1;
    rl->slack_us = AGT_US_PER_SEC;
    rl->has_sent = 0;
    rl->last_send_mono = 0;
    rl->used = -1;
    rl->used_minute = 0;
    rl->not_before_mono = 0;
    rl->ncounters = 0;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

agt_status agt_rl_add_limit(agt_ratelimit *rl, int per_weight, int64_t window_us, int64_t limit)
{
    if (window_us < AGT_US_PER_SEC || limit < 1 || limit > INT32_MAX) return AGT_EINVAL;
    if (per_weight && window_us == MINUTE_US) {
        if (limit < rl->budget) rl->budget = (int)limit;
        return AGT_OK;
    }
    if (rl->ncounters >= AGT_RL_COUNTERS) return AGT_EINVAL;
    agt_rl_counter *c = &rl->counters[rl->ncounters++];
    memset(c, 0, sizeof *c);
    c->window_us = window_us;
    c->limit = limit;
    c->per_weight = per_weight != 0;
    c->window = INT64_MIN;
    return AGT_OK;
}

/* The wait counter `c` asks for before a request costing `cost` at `exch`. */
static int64_t counter_delay(const agt_rl_counter *c, int64_t slack, int64_t exch, int64_t cost)
{
    int64_t w = floor_div(exch, c->window_us);
    int64_t start = w * c->window_us;
    int64_t cur = w == c->window ? c->count : 0;
    int64_t prev = w == c->window ? c->prev : (w - 1 == c->window ? c->count : 0);
    /* An empty window always takes one request, however dear (no deadlock). */
    if (cur > 0 && cur + cost > c->limit) return start + c->window_us + slack - exch;
    if (exch - start < slack && prev > 0 && prev + cost > c->limit) return start + slack - exch;
    return 0;
}

int64_t agt_rl_delay_us(const agt_ratelimit *rl, int64_t mono, int64_t exch, int weight)
{
    int64_t wait = 0;
    for (int i = 0; i < rl->ncounters; i++) {
        const agt_rl_counter *c = &rl->counters[i];
        int64_t w = counter_delay(c, rl->slack_us, exch, c->per_weight ? (weight > 0 ? weight : 0) : 1);
        if (w > wait) wait = w;
    }
    if (rl->has_sent) {
        int64_t w = rl->last_send_mono + rl->interval_us - mono;
        if (w > wait) wait = w;
    }
    if (rl->not_before_mono > mono && rl->not_before_mono - mono > wait)
        wait = rl->not_before_mono - mono;

    if (rl->used < 0 || weight < 0) return wait;
    /* The reading's minute ends at `reset`; until then it stands. */
    int64_t reset = (rl->used_minute + 1) * MINUTE_US + rl->slack_us;
    if (exch >= reset) return wait;

    int64_t used = rl->used;
    int64_t budget = rl->budget;
    if (used + weight > budget) {
        int64_t w = reset - exch;
        return w > wait ? w : wait;
    }
    if (used * 10 >= budget * 8) {
        /* Requests still allowed this minute, at least the one we are about
         * to send; spread them over the time left. */
        int64_t left = weight > 0 ? (budget - used) / weight : budget - used;
        if (left < 1) left = 1;
        int64_t gap = (reset - exch) / left;
        if (rl->has_sent) {
            int64_t w = rl->last_send_mono + gap - mono;
            if (w > wait) wait = w;
        }
    }
    return wait;
}

void agt_rl_on_send(agt_ratelimit *rl, int64_t mono, int64_t exch, int weight)
{
    rl->has_sent = 1;
    rl->last_send_mono = mono;
    for (int i = 0; i < rl->ncounters; i++) {
        agt_rl_counter *c = &rl->counters[i];
        int64_t w = floor_div(exch, c->window_us);
        if (w != c->window) {
            c->prev = w - 1 == c->window ? c->count : 0;
            c->count = 0;
            c->window = w;
        }
        int64_t cost = c->per_weight ? (weight > 0 ? weight : 0) : 1;
        c->count += cost;
        if (exch - w * c->window_us < rl->slack_us) c->prev += cost;
    }
}

void agt_rl_on_response(agt_ratelimit *rl, int64_t exch, int64_t used)
{
    if (used < 0) return;
    int64_t minute = floor_div(exch, MINUTE_US);
    int v = used > INT32_MAX ? INT32_MAX : (int)used;
    /* Within one minute the highest reading stands: parallel jobs' responses
     * may arrive out of order, and an older, lower count must not hide a
     * newer one. A new minute's first reading replaces the old minute's. */
    if (rl->used >= 0 && minute == rl->used_minute && v < rl->used) return;
    rl->used = v;
    rl->used_minute = minute;
}
