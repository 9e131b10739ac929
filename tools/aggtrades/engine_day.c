/*
 * engine_day.c - the download engine's day source (--source): the archive
 * handle and agt_source behind a plan, and which days may be fetched as one
 * unit through it. engine.c runs those units (run_day); everything else
 * stays hour by hour with rest. download, update and verify --repair take
 * --source; retry does not (its units are single hours: always rest).
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static agt_archive *g_archive; /* one per process: made and freed with the plan's source */

int job_source_policy(const char *arg, agt_source_policy *out)
{
    agt_error err;
    agt_error_clear(&err);
    if (agt_source_policy_parse(arg ? arg : "auto", out, &err) != AGT_OK) {
        cli_error("invalid --source '%s' (expected auto, rest or archive)", arg);
        return EXIT_USAGE;
    }
    return 0;
}

int job_source_open(const cli_ctx *ctx, const char *arg, agt_client *client, job_plan *plan)
{
    agt_error err;
    agt_error_clear(&err);
    plan->day_source = NULL;
    if (job_source_policy(arg, &plan->policy)) return EXIT_USAGE;
    if (plan->policy == AGT_SOURCE_REST) return 0;
    agt_archive_opts o;
    agt_archive_opts_default(&o);
    if (ctx->archive_url) o.archive_url = ctx->archive_url;
    o.interval_ms = ctx->interval_ms;
    o.progress = job_progress_cb;
    agt_status st = agt_archive_new(&o, &g_archive, &err);
    if (st == AGT_OK) st = agt_source_new(client, g_archive, &plan->day_source, &err);
    if (st != AGT_OK) {
        cli_error("cannot use the archive: %s", err.message);
        job_source_close(plan);
        return cli_exit_for(st) == EXIT_USAGE ? EXIT_USAGE : EXIT_FAILED;
    }
    return 0;
}

void job_source_close(job_plan *plan)
{
    agt_source_free(plan->day_source);
    plan->day_source = NULL;
    agt_archive_free(g_archive);
    g_archive = NULL;
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
