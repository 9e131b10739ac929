/*
 * unproven.c - an hour fetched but not proven complete is never stored as
 * if it were whole (docs/exchange.md):
 *   - an hour the exchange had not finished when it was fetched is *open*:
 *     it is stored as it was (exact for its time; `update` completes it);
 *   - any other unproven hour - REST answered, but its history floor, a hole
 *     or a proof request left the hour unproven - is first asked of the
 *     archive when the plan's source is auto and the archive has published
 *     the day (agt_source_fill_hour: the day's file, proved by REST or by its
 *     neighbouring days' files); if that fails too the hour is a failed unit
 *     (.retry, exit status 1), and nothing of it is committed: stored rows of
 *     the hour, proven earlier, are not overwritten by unproven ones.
 * Under --source archive the documented exception stands: the file's rows of
 * an hour it cannot prove are stored as incomplete; the hour is still listed
 * in .retry so the run says so.
 */
#include <stdio.h>
#include <string.h>

#include "sync/sync_int.h"

int job_fetched_open(int64_t hour_us, int64_t fetched_at_us)
{
    agt_client_opts o;
    agt_client_opts_default(&o);
    int64_t end = hour_us + AGT_US_PER_HOUR - 1 + (int64_t)o.complete_margin_ms * AGT_US_PER_MS;
    return fetched_at_us > 0 && fetched_at_us < end;
}

int job_hour_open(int64_t hour_us, const agt_hour_info *info)
{
    return job_fetched_open(hour_us, info->server_time_us);
}

int job_unproven(agt_status st, int64_t hour_us, const agt_hour_info *info)
{
    return st == AGT_OK && !info->complete && !job_hour_open(hour_us, info);
}

agt_status job_fill_unproven(const job_plan *plan, const char *symbol, int64_t hour_us,
                             int64_t now_us, agt_trades *rows, agt_hour_info *info,
                             const char **source, agt_error *err)
{
    char why[300];
    snprintf(why, sizeof why, "%s",
             "rest does not prove it (its history may not reach back this far)");
    if (plan->policy == AGT_SOURCE_AUTO && plan->day_source &&
        job_day_unit_ok(plan, hour_us - hour_us % AGT_US_PER_DAY, now_us)) {
        agt_day_hour dh;
        agt_error fe;
        memset(&dh, 0, sizeof dh);
        agt_trades_init(&dh.rows);
        agt_error_clear(&fe);
        agt_status st = agt_source_fill_hour(plan->day_source, symbol, hour_us, &dh, &fe);
        if (st == AGT_OK) {
            agt_trades_release(rows);
            *rows = dh.rows;
            *info = dh.info;
            *source = dh.source;
            return AGT_OK;
        }
        agt_trades_release(&dh.rows);
        if (st == AGT_ECANCELLED || st == AGT_ENOMEM) return agt_err(err, st, "%s", fe.message);
        snprintf(why, sizeof why, "rest does not prove it, nor does the archive: %.220s", fe.message);
    } else if (plan->policy == AGT_SOURCE_REST) {
        snprintf(why, sizeof why, "%s",
                 "rest does not prove it (its history may not reach back this far; "
                 "the auto source takes such hours from the archive)");
    }
    return agt_err(err, AGT_EINCOMPLETE, "not proven complete: %s", why);
}
