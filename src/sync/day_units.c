/*
 * day_units.c - the day source of a run: the archive handle and agt_source
 * behind a plan, and which days may be fetched as one unit through it.
 * units.c cuts the plan into those units, fetch_unit.c fetches them; everything else stays hour by hour
 * with rest. Download, update and repair use the session's source policy;
 * retry's units are single hours from rest: its day source only fills the
 * hours rest cannot prove (unproven.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/sync_int.h"

agt_status job_source_make(agt_sync *s, agt_client *client, agt_fetch_progress_fn progress,
                           void *user, agt_archive **archive, agt_source **source, agt_error *err)
{
    agt_archive_opts o;
    agt_error e;
    agt_error_clear(&e);
    *archive = NULL;
    *source = NULL;
    agt_archive_opts_default(&o);
    if (s->opts.archive_url) o.archive_url = s->opts.archive_url;
    o.interval_ms = s->opts.interval_ms;
    o.market = s->opts.market;
    sync_slow_server(s, &o.low_speed_limit, &o.low_speed_time_s, &o.unit_deadline_s);
    o.progress = progress;
    o.progress_user = user;
    /* the zips are kept, without a name, on the lake's file system */
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s/metadata", s->root);
    o.tmp_dir = tmp;
    agt_status st = agt_archive_new(&o, archive, &e);
    if (st == AGT_OK) st = agt_source_new(client, *archive, source, &e);
    if (st != AGT_OK) {
        agt_source_free(*source);
        agt_archive_free(*archive);
        *source = NULL;
        *archive = NULL;
        return agt_err(err, st, "cannot use the archive: %s", e.message);
    }
    return AGT_OK;
}

agt_status job_source_open(agt_sync *s, job_plan *plan, agt_error *err)
{
    agt_client *client;
    plan->day_source = NULL;
    plan->archive = NULL;
    plan->policy = s->opts.source;
    plan->monthly = s->opts.archive_months;
    if (plan->policy == AGT_SOURCE_REST) return AGT_OK;
    AGT_TRY(sync_client(s, &client, err));
    return job_source_make(s, client, sync_on_response, s, &plan->archive, &plan->day_source, err);
}

void job_source_close(job_plan *plan)
{
    agt_source_free(plan->day_source);
    plan->day_source = NULL;
    agt_archive_free(plan->archive);
    plan->archive = NULL;
}

int job_day_unit_ok(const job_plan *plan, int64_t day_us, int64_t now_us)
{
    int64_t today_us = now_us - now_us % AGT_US_PER_DAY;
    return plan->day_source != NULL && day_us < today_us - AGT_US_PER_DAY;
}

int job_mark_day_units(const job_plan *plan, job_symbol *s, int64_t now_us)
{
    int days = 0;
    for (size_t h = 0; h + 23 < s->nhours;) {
        int64_t day = s->hours[h].hour_us;
        /* hours are sorted and unique: 24 in a row from midnight are the whole day */
        if (day % AGT_US_PER_DAY == 0 && s->hours[h + 23].hour_us == day + 23 * AGT_US_PER_HOUR &&
            job_day_unit_ok(plan, day, now_us)) {
            for (size_t k = h; k < h + 24; k++) s->hours[k].whole_day = 1;
            days++;
            h += 24;
        } else {
            h++;
        }
    }
    return days;
}
