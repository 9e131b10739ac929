/*
 * units.c - a plan cut into units of work, in plan order: each symbol's
 * hours in turn, an hour with rest being one unit, a whole-day unit's 24
 * hours one, and a month whose every day is a whole-day unit one (its
 * monthly file). Units are what the jobs of a run fetch (fetch_unit.c,
 * pool.c) and what the committer settles in this order (engine.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/sync_int.h"

void job_hour_label(const char *sym, int64_t hour_us, char *out, size_t n)
{
    agt_tm tm;
    agt_tm_from_us(hour_us, &tm);
    snprintf(out, n, "%s %04d-%02d-%02d %02d:%02d", sym, tm.year % 10000, tm.month, tm.day,
             tm.hour, tm.minute);
}

void job_result_init(job_result *r)
{
    memset(r, 0, sizeof *r);
    agt_trades_init(&r->rows);
    agt_buf_init(&r->notes, (size_t)1 << 20);
}

void job_result_clear(job_result *r)
{
    agt_trades_release(&r->rows);
    agt_buf_release(&r->notes);
    job_result_init(r);
}

agt_status job_units_make(const job_plan *plan, job_unit **out, size_t *n)
{
    size_t cap = 0, k = 0;
    for (size_t i = 0; i < plan->nsyms; i++) cap += plan->syms[i].nhours;
    job_unit *v = calloc(cap ? cap : 1, sizeof *v);
    if (!v) return AGT_ENOMEM;
    for (size_t i = 0; i < plan->nsyms; i++) {
        const job_symbol *s = &plan->syms[i];
        for (size_t h = 0; h < s->nhours; k++) {
            v[k].sym = i;
            v[k].h = h;
            if (s->hours[h].whole_day && plan->day_source) {
                int month = job_month_unit(plan, s, s->hours[h].hour_us);
                v[k].kind = month ? JOB_UNIT_MONTH : JOB_UNIT_DAY;
                v[k].ndays = month ? month : 1;
                h += 24 * (size_t)v[k].ndays;
            } else {
                v[k].kind = JOB_UNIT_HOUR;
                h++;
            }
        }
    }
    *out = v;
    *n = k;
    return AGT_OK;
}
