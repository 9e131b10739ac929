/*
 * month_units.c - whole months of archive days fetched as one monthly file.
 *
 * When every day of a calendar month is a whole-day unit of a symbol (a long
 * backfill), the month is one unit (units.c) read from its monthly file
 * with agt_source_stream_month: one zip and two proof requests for the month
 * instead of two files and two proofs a day. Its hours are committed and
 * reported one by one exactly like those of the daily files. A month whose
 * file cannot be had (not published, checksum, caps) hands nothing on, and
 * its days are then streamed from their daily files one by one (engine.c,
 * stream_unit).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/sync_int.h"

/* The first instant of the month holding day_us, and its number of days. */
static int64_t month_of(int64_t day_us, int *ndays)
{
    agt_tm tm;
    agt_tm_from_us(day_us, &tm);
    int64_t first = agt_days_from_civil(tm.year, (unsigned)tm.month, 1);
    int64_t next = tm.month == 12 ? agt_days_from_civil(tm.year + 1, 1, 1)
                                  : agt_days_from_civil(tm.year, (unsigned)tm.month + 1, 1);
    *ndays = (int)(next - first);
    return first * AGT_US_PER_DAY;
}

/* 1 if every hour of the month is a whole-day unit of `s`. */
static int whole_month(const job_symbol *s, int64_t month_us, int ndays)
{
    int64_t end = month_us + (int64_t)ndays * AGT_US_PER_DAY;
    size_t n = 0;
    for (size_t h = 0; h < s->nhours; h++)
        n += s->hours[h].whole_day && s->hours[h].hour_us >= month_us && s->hours[h].hour_us < end;
    return n == (size_t)ndays * 24;
}

int job_month_unit(const job_plan *plan, const job_symbol *s, int64_t day_us)
{
    int ndays;
    if (plan->policy == AGT_SOURCE_REST || !plan->monthly || !plan->day_source) return 0;
    if (month_of(day_us, &ndays) != day_us || !whole_month(s, day_us, ndays)) return 0;
    return ndays;
}
