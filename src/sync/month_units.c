/*
 * month_units.c - whole months of archive days fetched as one monthly file.
 *
 * When every day of a calendar month is a whole-day unit of a symbol (a long
 * backfill), the first of those days asks agt_source_fetch_month: one zip
 * and two proof requests for the month instead of two files and two proofs a
 * day. Its days are kept here and handed to engine.c's run_day one by one,
 * so they are committed and reported exactly like days from the daily files.
 * A month the archive cannot serve has already fallen back to the daily files
 * inside agt_source_fetch_month; a failure of the call as a whole falls back
 * here to agt_source_fetch_day.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/sync_int.h"

struct job_months {
    char symbol[32];
    int64_t month_us; /* -1: nothing kept */
    int ndays;
    agt_day_result days[31];
};

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

void job_months_free(job_months *m)
{
    if (!m) return;
    for (int d = 0; d < 31; d++) agt_day_result_release(&m->days[d]);
    free(m);
}

agt_status job_fetch_day(job_months **mp, const job_plan *plan, const job_symbol *s,
                         int64_t day_us, agt_day_result *res, agt_error *err)
{
    int ndays;
    int64_t month_us = month_of(day_us, &ndays);
    if (plan->policy == AGT_SOURCE_REST || !plan->monthly || !whole_month(s, month_us, ndays))
        return agt_source_fetch_day(plan->day_source, s->symbol, day_us, plan->policy, res, err);
    job_months *m = *mp;
    if (!m) {
        if (!(m = *mp = calloc(1, sizeof *m))) return agt_err(err, AGT_ENOMEM, "out of memory");
        for (int d = 0; d < 31; d++) agt_day_result_init(&m->days[d]);
        m->month_us = -1;
    }
    if (m->month_us != month_us || strcmp(m->symbol, s->symbol) != 0) {
        agt_status st = agt_source_fetch_month(plan->day_source, s->symbol, month_us, plan->policy,
                                               m->days, &m->ndays, err);
        if (st == AGT_ECANCELLED) return st;
        if (st != AGT_OK) /* the month as a whole failed: this day alone */
            return agt_source_fetch_day(plan->day_source, s->symbol, day_us, plan->policy, res, err);
        m->month_us = month_us;
        snprintf(m->symbol, sizeof m->symbol, "%s", s->symbol);
    }
    int d = (int)((day_us - month_us) / AGT_US_PER_DAY);
    agt_day_result_release(res);
    *res = m->days[d]; /* handed over: the kept copy is emptied */
    agt_day_result_init(&m->days[d]);
    return AGT_OK;
}
