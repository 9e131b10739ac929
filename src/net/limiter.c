/*
 * limiter.c - the rate limiter (ratelimit.c) shared by the connections of
 * parallel jobs. The exchange counts weight per IP, so jobs on threads of
 * their own must draw on one budget: each asks here before sending, and the
 * decision to send and the record of the sending are one step under the
 * lock, so two jobs never take the same slot of the minimum interval or
 * the last weight of a minute.
 */
#include <stdlib.h>

#include "net/net_int.h"

agt_limiter *agt_limiter_new(int64_t interval_us, int budget)
{
    agt_limiter *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    if (pthread_mutex_init(&l->mu, NULL) != 0) {
        free(l);
        return NULL;
    }
    l->refs = 1;
    agt_rl_init(&l->rl, interval_us, budget);
    return l;
}

void agt_limiter_hold(agt_limiter *l)
{
    pthread_mutex_lock(&l->mu);
    l->refs++;
    pthread_mutex_unlock(&l->mu);
}

void agt_limiter_release(agt_limiter *l)
{
    if (!l) return;
    pthread_mutex_lock(&l->mu);
    int last = --l->refs == 0;
    pthread_mutex_unlock(&l->mu);
    if (!last) return;
    pthread_mutex_destroy(&l->mu);
    free(l);
}

int64_t agt_limiter_acquire(agt_limiter *l, const agt_clock *ck, int weight,
                            int64_t deadline_mono, int follows)
{
    for (;;) {
        pthread_mutex_lock(&l->mu);
        int64_t mono = ck->mono_us(ck->ctx);
        /* a request that follows is judged as if none had been sent, and
         * leaves the last start where it was */
        int had_sent = l->rl.has_sent;
        int64_t last_send = l->rl.last_send_mono;
        if (follows) l->rl.has_sent = 0;
        int64_t wait = agt_rl_delay_us(&l->rl, mono, ck->real_us(ck->ctx), weight);
        if (wait < 0) wait = 0;
        int late = deadline_mono && mono + wait >= deadline_mono;
        if (wait == 0 && !late) agt_rl_on_send(&l->rl, mono, ck->real_us(ck->ctx), weight);
        if (follows) {
            l->rl.has_sent = had_sent;
            l->rl.last_send_mono = last_send;
        }
        pthread_mutex_unlock(&l->mu);
        if (late) return wait > 0 ? wait : 1;
        if (wait == 0) return 0;
        /* another job may take the slot meanwhile: ask again after the wait */
        ck->sleep_us(ck->ctx, wait);
    }
}

void agt_limiter_on_response(agt_limiter *l, int64_t exch, int64_t used)
{
    pthread_mutex_lock(&l->mu);
    agt_rl_on_response(&l->rl, exch, used);
    pthread_mutex_unlock(&l->mu);
}

void agt_limiter_keep_away(agt_limiter *l, int64_t mono)
{
    pthread_mutex_lock(&l->mu);
    if (mono > l->rl.not_before_mono) l->rl.not_before_mono = mono;
    l->rl.used = -1;
    pthread_mutex_unlock(&l->mu);
}

agt_status agt_limiter_add_limit(agt_limiter *l, int per_weight, int64_t window_us, int64_t limit)
{
    agt_status st = AGT_OK;
    int known = 0;
    pthread_mutex_lock(&l->mu);
    for (int i = 0; i < l->rl.ncounters; i++) {
        const agt_rl_counter *c = &l->rl.counters[i];
        known |= c->per_weight == (per_weight != 0) && c->window_us == window_us && c->limit == limit;
    }
    if (!known) st = agt_rl_add_limit(&l->rl, per_weight, window_us, limit);
    pthread_mutex_unlock(&l->mu);
    return st;
}
