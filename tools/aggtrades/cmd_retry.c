/*
 * cmd_retry.c - "aggtrades retry": run every unit recorded in <root>/.retry
 * again; those that succeed leave the file, the others stay with their
 * error, attempt count and time updated. Units are single hours: always
 * rest (no --source; the day source only serves whole days).
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: aggtrades retry\n"
    "\n"
    "Run again every symbol-hour that failed in an earlier download, update or\n"
    "repair. They are listed in <root>/.retry, one JSON object a line:\n"
    "  {\"symbol\":\"BTCUSDT\",\"date\":\"2023-10-01\",\"hour\":5,\"error\":\"...\",\n"
    "   \"attempts\":4,\"time\":\"2023-10-02T08:00:00Z\"}\n"
    "(hour 0-23 UTC; attempts counts the requests tried over every run; time is\n"
    "when it last failed). Units that succeed are removed from the file; the file\n"
    "is deleted when none is left. Exit status 1 if some still fail.\n"
    "\n"
    "Every unit is one hour, so retry always fetches with rest, hour by hour; it\n"
    "takes no --source (the daily archive serves whole days: to take a whole old\n"
    "day from it, run 'aggtrades verify SYMBOL --repair' or 'aggtrades download').\n"
    "\n"
    "Example:\n"
    "  aggtrades --root /srv/lake retry\n";

int cmd_retry(int argc, char **argv, cli_ctx *ctx)
{
    const cli_opt opts[] = { { OPT_END, NULL, NULL } };
    char **pos;
    int npos;
    job_plan plan;
    retry_list rl;
    agt_client *client = NULL;
    agt_lake *lake = NULL;
    memset(&plan, 0, sizeof plan);
    memset(&rl, 0, sizeof rl);
    int rc = cli_parse(ctx, argc, argv, opts, usage, &pos, &npos);
    if (rc || ctx->help) goto out;
    if (npos > 0) {
        cli_error("retry takes no arguments, got '%s'", pos[0]);
        rc = EXIT_USAGE;
        goto out;
    }
    if (!cli_root_exists(ctx)) {
        cli_error("no lake at '%s' (set --root or AGT_ROOT)", ctx->root);
        rc = EXIT_USAGE;
        goto out;
    }
    if ((rc = cli_lake_open_write(ctx, &lake))) goto out;
    if ((rc = retry_load(ctx, &rl))) goto out;
    if (rl.n == 0) {
        if (!ctx->quiet) printf("nothing to retry in '%s'\n", ctx->root);
        goto out;
    }
    /* group by symbol, first appearance order */
    plan.syms = calloc(rl.n, sizeof *plan.syms);
    if (!plan.syms) {
        rc = EXIT_LAKE;
        goto out;
    }
    for (size_t i = 0; i < rl.n; i++) {
        if (job_add_hour(job_plan_symbol(&plan, rl.v[i].symbol), rl.v[i].hour_us, 0)) {
            rc = EXIT_LAKE;
            goto out;
        }
    }
    for (size_t k = 0; k < plan.nsyms; k++) job_sort_hours(&plan.syms[k]);
    if ((rc = cli_client_new(ctx, job_progress_cb, NULL, &client))) goto out;
    plan.verb = "retry";
    rc = job_run(ctx, &lake, client, &plan);
out:
    job_release(&plan, lake, client);
    retry_list_release(&rl);
    free(pos);
    return rc;
}
