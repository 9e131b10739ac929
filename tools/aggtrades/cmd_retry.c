/*
 * cmd_retry.c - "aggtrades retry": run every unit recorded in <root>/.retry
 * again; those that succeed leave the file, the others stay with their
 * error, attempt count and time updated. Units are single hours: rest,
 * and the archive only for an hour rest cannot prove (no --source).
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: aggtrades retry [--jobs N]\n"
    "\n"
    "Run again every symbol-hour that failed in an earlier download, update or\n"
    "repair. They are listed in <root>/.retry, one JSON object a line:\n"
    "  {\"symbol\":\"BTCUSDT\",\"date\":\"2023-10-01\",\"hour\":5,\"error\":\"...\",\n"
    "   \"attempts\":4,\"time\":\"2023-10-02T08:00:00Z\"}\n"
    "(hour 0-23 UTC; attempts counts the requests tried over every run; time is\n"
    "when it last failed). Units that succeed are removed from the file; the file\n"
    "is deleted when none is left. Exit status 1 if some still fail.\n"
    "\n"
    "Every unit is one hour, so retry fetches with rest, hour by hour; an hour rest\n"
    "cannot prove complete (its history may not reach back that far) is taken from\n"
    "the daily archive when the day's file proves it. It takes no --source (to take\n"
    "a whole old day from the archive, run 'aggtrades verify SYMBOL --repair' or\n"
    "'aggtrades download').\n"
    "\n"
    "Options:\n"
    CLI_JOBS_HELP
    "\n"
    "Example:\n"
    "  aggtrades --root /srv/lake retry\n";

int cmd_retry(int argc, char **argv, cli_ctx *ctx)
{
    long jobs = -1;
    const cli_opt opts[] = { { OPT_INT, "jobs", &jobs }, { OPT_END, NULL, NULL } };
    char **pos;
    int npos;
    agt_sync *sync = NULL;
    cli_run run;
    int rc = cli_parse(ctx, argc, argv, opts, usage, &pos, &npos);
    if (rc || ctx->help) goto out;
    if ((rc = cli_jobs(ctx, jobs))) goto out;
    if (npos > 0) {
        cli_error("retry takes no arguments, got '%s'", pos[0]);
        rc = EXIT_USAGE;
        goto out;
    }
    if ((rc = cli_sync_open(ctx, "auto", &run, &sync))) goto out;
    agt_sync_report rep;
    agt_error err;
    agt_error_clear(&err);
    agt_status st = agt_sync_retry(sync, &rep, &err);
    rc = cli_sync_done(&run, st, &err, &rep);
    if (st == AGT_OK && rep.units_total == 0 && !ctx->quiet)
        printf("nothing to retry in '%s'\n", ctx->lake);
out:
    agt_sync_close(sync);
    free(pos);
    return rc;
}
