/*
 * cmd_retry.c - "aggtrades retry": run every unit recorded in <root>/.retry
 * again; those that succeed leave the file, the others stay with their
 * error, attempt count and time updated. Units are single hours: rest,
 * and the archive only for an hour rest cannot prove (no --source).
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int run_retry(cli_ctx *ctx, const cli_args *args);

enum { O_JOBS };

static const cli_option options[] = {
    [O_JOBS] = CLI_JOBS_OPTION,
    { NULL, CLI_FLAG, NULL, NULL, 0, NULL, 0 },
};

const cli_command cmd_retry = {
    .name = "retry",
    .summary = "re-run the failed units recorded in <root>/.retry",
    .synopsis = "[--jobs N]",
    .about =
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
        "'aggtrades download').\n",
    .options = options,
    .more =
        "Example:\n"
        "  aggtrades --root /srv/lake retry\n",
    .operand = CLI_FLAG,
    .run = run_retry,
};

static int run_retry(cli_ctx *ctx, const cli_args *args)
{
    agt_sync *sync = NULL;
    cli_run run;
    int rc = 0;
    ctx->jobs = args->value[O_JOBS] ? args->num[O_JOBS] : 0;
    if (args->npos > 0) {
        cli_error("retry takes no arguments, got '%s'", args->pos[0]);
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
    return rc;
}
