/*
 * stream_unit.c - an archive unit (a day, or a month) streamed through a
 * fetcher's day source: each hour handed to a sink as the source decides
 * it (file rows, REST proofs, REST hours), a line for the user after each
 * day that did not come wholly from the archive. With one job the sink is
 * the committer itself; with several, a job's thread streams its unit and
 * the sink hands the hours to the committer (pool.c).
 */
#include <stdio.h>

#include "sync/sync_int.h"

typedef struct streaming {
    const job_fetcher *f;
    const unit_sink *sink;
    const agt_day_result *sum; /* what the source says of the unit so far */
    uint64_t last;             /* f's received bytes at the hour before */
} streaming;

static agt_status on_hour(void *user, agt_day_hour *dh)
{
    streaming *c = user;
    uint64_t now = *c->f->received;
    uint64_t bytes = now - c->last;
    c->last = now;
    return c->sink->hour(c->sink->user, dh, c->sum->archive_message, bytes);
}

/* Why a day did not come wholly from the archive, if it did not. */
static void day_note(const streaming *c, const char *symbol, const agt_day_result *res)
{
    char date[16], line[512];
    agt_tm tm;
    const char *verb = c->f->view.verb;
    agt_tm_from_us(res->day_start_us, &tm);
    snprintf(date, sizeof date, "%04d-%02d-%02d", tm.year % 10000, tm.month, tm.day);
    if (res->archive_tried && res->archive_status != AGT_OK)
        snprintf(line, sizeof line, "%s %s %s: archive not used (%s)%s", verb, symbol, date,
                 res->archive_message,
                 c->f->view.policy == AGT_SOURCE_AUTO ? "; fetched with rest" : "");
    else if (res->archive_tried && res->rest_hours > 0)
        snprintf(line, sizeof line, "%s %s %s: %s; %d hour%s fetched with rest", verb, symbol,
                 date, res->archive_message, res->rest_hours, res->rest_hours == 1 ? "" : "s");
    else if (res->archive_tried && res->unproven_hours > 0)
        snprintf(line, sizeof line, "%s %s %s: %s; %d hour%s stored incomplete", verb, symbol,
                 date, res->archive_message, res->unproven_hours,
                 res->unproven_hours == 1 ? "" : "s");
    else
        return;
    c->sink->note(c->sink->user, line);
}

agt_status job_stream_unit(job_fetcher *f, const job_unit *u, uint64_t since,
                           const unit_sink *sink, agt_error *err)
{
    const job_symbol *s = &f->view.syms[u->sym];
    const job_plan *plan = &f->view;
    agt_day_result sum;
    agt_day_result_init(&sum);
    streaming c = { f, sink, &sum, since };
    int used = 0;
    int64_t first = s->hours[u->h].hour_us;
    agt_status st = AGT_OK;
    if (u->kind == JOB_UNIT_MONTH)
        st = agt_source_stream_month(plan->day_source, s->symbol, first, plan->policy, on_hour,
                                     &c, &sum, &used, err);
    if (used) day_note(&c, s->symbol, &sum);
    for (int d = 0; !used && st == AGT_OK && d < u->ndays; d++) {
        st = agt_source_stream_day(plan->day_source, s->symbol, first + d * AGT_US_PER_DAY,
                                   plan->policy, on_hour, &c, &sum, err);
        if (st == AGT_OK) day_note(&c, s->symbol, &sum);
    }
    agt_day_result_release(&sum);
    return st;
}
