/*
 * cmd_retry.c - "aggtrades retry": run every unit recorded in <root>/.retry
 * again; those that succeed leave the file, the others stay with their
 * error, attempt count and time updated. Units are single hours: rest,
 * and the archive only for an hour rest cannot prove (no --source). Each
 * market's lake keeps its own ledger: without --market every market that
 * has one is run, one after the other; with it, that market's only.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
        "'aggtrades download').\n"
        "\n"
        "Each market keeps its own ledger (<root>/_futures/um/.retry for USD-M,\n"
        "<root>/_futures/cm/.retry for COIN-M). Without --market, retry runs every\n"
        "market that has one; --market M runs that market's only.\n",
    .options = options,
    .more =
        "Example:\n"
        "  aggtrades --root /srv/lake retry\n",
    .operand = CLI_FLAG,
    .run = run_retry,
};

/* The ledger of ctx's market, run again. */
static int retry_market(cli_ctx *ctx)
{
    agt_sync *sync = NULL;
    cli_run run;
    int rc = cli_sync_open(ctx, "auto", &run, &sync);
    if (rc == 0) {
        agt_sync_report rep;
        agt_error err;
        agt_error_clear(&err);
        agt_status st = agt_sync_retry(sync, &rep, &err);
        rc = cli_sync_done(&run, st, &err, &rep);
        if (st == AGT_OK && rep.units_total == 0 && !ctx->quiet)
            printf("nothing to retry in '%s'\n", ctx->lake);
    }
    agt_sync_close(sync);
    return rc;
}

static int has_ledger(const cli_ctx *ctx)
{
    char path[4200];
    struct stat st;
    snprintf(path, sizeof path, "%s/.retry", ctx->lake);
    return stat(path, &st) == 0;
}

static int run_retry(cli_ctx *ctx, const cli_args *args)
{
    ctx->jobs = args->value[O_JOBS] ? args->num[O_JOBS] : 0;
    if (args->npos > 0) {
        cli_error("retry takes no arguments, got '%s'", args->pos[0]);
        return EXIT_USAGE;
    }
    if (ctx->market_given) return retry_market(ctx);
    /* every market with a ledger; none: spot's run says there is nothing to do */
    static const agt_market markets[] = {AGT_MARKET_SPOT, AGT_MARKET_UM, AGT_MARKET_CM};
    int rc = 0, ran = 0;
    for (size_t i = 0; i < sizeof markets / sizeof markets[0]; i++) {
        cli_use_market(ctx, markets[i]);
        if (!has_ledger(ctx)) continue;
        if (!ctx->quiet) fprintf(stderr, "retrying the units of '%s/.retry'\n", ctx->lake);
        int r = retry_market(ctx);
        ran = 1;
        if (r == EXIT_INTERRUPTED) return r;
        if (r > rc) rc = r; /* the worst outcome (a failed unit: 1; the lake, the exchange: 3, 4) */
    }
    if (!ran) {
        cli_use_market(ctx, AGT_MARKET_SPOT);
        rc = retry_market(ctx);
    }
    return rc;
}
