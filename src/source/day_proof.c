/*
 * day_proof.c - agt_day_split: an archive day's rows cut into 24 hours, and
 * which of them the REST proof of the day's ends covers (day_int.h). The
 * reasoning: spot aggregate ids are consecutive and ordered like time, so
 * once the trade before the first id lies before the day and the trade after
 * the last id lies after it, the day's trades are exactly the file's ids -
 * and a hole in the ids can only hide trades timed between its two sides.
 */
#include <string.h>

#include "common/common_int.h"
#include "source/day_int.h"

static int hour_of(int64_t ts_us, int64_t day_start_us)
{
    return (int)((ts_us - day_start_us) / AGT_US_PER_HOUR);
}

static void mark(uint8_t unproven[24], int from, int to)
{
    for (int h = from; h <= to; h++) unproven[h] = 1;
}

agt_status agt_day_split(const agt_trades *rows, int64_t day_start_us, const agt_day_proof *p,
                         agt_trades hours[24], agt_hour_info info[24], uint8_t unproven[24])
{
    int64_t day_end = day_start_us + AGT_US_PER_DAY - 1;
    memset(unproven, 0, 24);
    for (int h = 0; h < 24; h++) {
        memset(&info[h], 0, sizeof info[h]);
        info[h].hour_start_us = day_start_us + h * AGT_US_PER_HOUR;
        info[h].prev_id = AGT_SOURCE_ID_UNKNOWN;
    }
    size_t n = rows->len;
    if (n == 0) {
        mark(unproven, 0, 23);
        return AGT_OK;
    }
    for (size_t i = 0; i < n; i++) {
        int64_t t = rows->ts_us[i];
        if (t < day_start_us || t > day_end) return AGT_EINVAL;
        AGT_TRY(agt_trades_push(&hours[hour_of(t, day_start_us)], rows->trade_id[i], t,
                                rows->price[i], rows->quantity[i], rows->is_buyer_maker[i]));
    }
    int first_h = hour_of(rows->ts_us[0], day_start_us);
    int last_h = hour_of(rows->ts_us[n - 1], day_start_us);
    if (!p->start_known) mark(unproven, 0, first_h);
    if (!p->end_known) mark(unproven, last_h, 23);
    for (size_t i = 0; i + 1 < n; i++) {
        if (rows->trade_id[i + 1] == rows->trade_id[i] + 1) continue;
        int a = hour_of(rows->ts_us[i], day_start_us), b = hour_of(rows->ts_us[i + 1], day_start_us);
        mark(unproven, a < b ? a : b, a < b ? b : a);
    }

    /* prev_id: the last id before each hour, walking the hours in order */
    int64_t last = p->start_known ? p->prev_id : AGT_SOURCE_ID_UNKNOWN;
    int64_t last_ts = p->start_known ? p->prev_ts_us : 0;
    for (int h = 0; h < 24; h++) {
        const agt_trades *t = &hours[h];
        if (t->len > 0) {
            int64_t first = t->trade_id[0], top = t->trade_id[t->len - 1];
            if ((uint64_t)(top - first) + 1 != t->len) unproven[h] = 1;
            if (last == AGT_SOURCE_ID_UNKNOWN || first != last + 1) unproven[h] = 1;
        }
        if (!unproven[h]) {
            info[h].prev_id = last;
            info[h].prev_ts_us = last >= 0 ? last_ts : 0;
            info[h].complete = 1;
        }
        if (t->len > 0) {
            last = t->trade_id[t->len - 1];
            last_ts = t->ts_us[t->len - 1];
        }
    }
    return AGT_OK;
}

/* ---- a month's rows cut into days (agt_month_days) ------------------------- */

static int64_t first_at_or_after(const agt_trades *rows, int64_t t)
{
    size_t lo = 0, hi = rows->len; /* rows ordered like time (ids follow time) */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rows->ts_us[mid] < t) lo = mid + 1;
        else hi = mid;
    }
    return (int64_t)lo;
}

agt_status agt_month_days(const agt_trades *rows, int64_t month_start_us, int ndays,
                          const agt_day_proof *month, agt_trades days[], agt_day_proof proofs[],
                          uint8_t empty_proven[])
{
    size_t n = rows->len;
    for (size_t i = 1; i < n; i++)
        if (rows->ts_us[i] < rows->ts_us[i - 1]) return AGT_EINVAL; /* not ordered like time */
    for (int d = 0; d < ndays; d++) {
        int64_t s = month_start_us + d * AGT_US_PER_DAY, e = s + AGT_US_PER_DAY - 1;
        int64_t i = first_at_or_after(rows, s), j = first_at_or_after(rows, e + 1); /* [i, j) */
        agt_day_proof *p = &proofs[d];
        memset(p, 0, sizeof *p);
        empty_proven[d] = 0;
        /* the trade before the day: the row before i, or the month's own */
        int have_prev = 0;
        int64_t prev_id = -1, prev_ts = 0;
        if (i > 0) {
            have_prev = 1;
            prev_id = rows->trade_id[i - 1];
            prev_ts = rows->ts_us[i - 1];
        } else if (month->start_known) {
            have_prev = 1;
            prev_id = month->prev_id;
            prev_ts = month->prev_ts_us;
        }
        /* the trade after the day: the row at j, else the month's end proof */
        int have_next = j < (int64_t)n;
        int64_t next_id = have_next ? rows->trade_id[j] : -1;
        int next_known = have_next || month->end_known;
        if (i == j) { /* no row in the day: empty if its neighbours are consecutive */
            /* no row after it in the month: prev is the month's last row, and the
             * trade after the month (proven to lie after it) follows */
            int chained = have_prev && (have_next ? next_id == prev_id + 1 : month->end_known);
            empty_proven[d] = chained;
            p->start_known = have_prev;
            p->prev_id = prev_id;
            p->prev_ts_us = prev_ts;
            p->end_known = chained;
            continue;
        }
        for (int64_t k = i; k < j; k++)
            AGT_TRY(agt_trades_push(&days[d], rows->trade_id[k], rows->ts_us[k], rows->price[k],
                                    rows->quantity[k], rows->is_buyer_maker[k]));
        p->start_known = have_prev && prev_id == rows->trade_id[i] - 1;
        p->prev_id = p->start_known ? prev_id : AGT_SOURCE_ID_UNKNOWN;
        p->prev_ts_us = p->start_known ? prev_ts : 0;
        p->end_known = next_known && (!have_next || next_id == rows->trade_id[j - 1] + 1);
    }
    return AGT_OK;
}
