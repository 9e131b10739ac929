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
