/*
 * clock.c - the system clock behind agt_clock: a monotonic clock for every
 * interval and deadline (immune to wall-clock steps), the wall clock only as
 * a first guess of the exchange's time, nanosleep resumed after signals, and
 * a small xorshift generator (seeded from the clocks and the address of a
 * local) for backoff jitter - jitter needs to decorrelate clients, not to be
 * unpredictable.
 */
#include <errno.h>
#include <time.h>

#include "net/net_int.h"

static int64_t ts_us(const struct timespec *ts)
{
    return (int64_t)ts->tv_sec * AGT_US_PER_SEC + ts->tv_nsec / 1000;
}

static int64_t sys_mono(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts_us(&ts);
}

static int64_t sys_real(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts_us(&ts);
}

void agt_sleep_us(int64_t us)
{
    if (us <= 0) return;
    /* Sleep until an absolute monotonic deadline so that signals (EINTR)
     * neither shorten nor lengthen the total wait. */
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    int64_t ns = (int64_t)deadline.tv_nsec + (us % AGT_US_PER_SEC) * 1000;
    deadline.tv_sec += (time_t)(us / AGT_US_PER_SEC + ns / 1000000000);
    deadline.tv_nsec = (long)(ns % 1000000000);
    for (;;) {
        int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL);
        if (rc == 0) return;
        if (rc != EINTR) {
            /* Should not happen; fall back to a relative sleep loop. */
            struct timespec req = {(time_t)(us / AGT_US_PER_SEC), (long)(us % AGT_US_PER_SEC) * 1000};
            struct timespec rem;
            while (nanosleep(&req, &rem) != 0 && errno == EINTR) req = rem;
            return;
        }
    }
}

static void sys_sleep(void *ctx, int64_t us)
{
    (void)ctx;
    agt_sleep_us(us);
}

static uint64_t sys_random(void *ctx)
{
    (void)ctx;
    static _Thread_local uint64_t s;
    if (s == 0) {
        int local;
        s = (uint64_t)sys_mono(NULL) * 0x9E3779B97F4A7C15u ^ (uint64_t)sys_real(NULL) ^
            (uint64_t)(uintptr_t)&local;
        if (s == 0) s = 0x2545F4914F6CDD1Du;
    }
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
}

void agt_clock_system(agt_clock *c)
{
    c->mono_us = sys_mono;
    c->real_us = sys_real;
    c->sleep_us = sys_sleep;
    c->random = sys_random;
    c->ctx = NULL;
}
