/*
 * cmd_update.c - "aggtrades update SYMBOL... [--force]": bring stored
 * symbols up to the exchange's "now". Without --force: from the hour of the
 * newest stored trade to the current hour, fetching only hours not already
 * proven complete. With --force: every hour from the first stored trade to
 * now, fetched again and merged (same id, new values replace the old; the
 * change feed records each update with its before and after images).
 * Whole days older than the exchange's yesterday whose every hour is to be
 * fetched go through the day source (--source, as for download).
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum { O_FORCE, O_SOURCE, O_JOBS, O_NO_MONTHLY };

static const cli_option options[] = {
    [O_FORCE] = { "force", CLI_FLAG, NULL, NULL, 0,
                  "re-fetch the whole stored range (from the first stored trade\n"
                  "to now) and overwrite: changed trades are replaced and\n"
                  "recorded in the change feed (metadata/_changes/) as update\n"
                  "pre/post images" },
    [O_SOURCE] = { "source", CLI_ENUM, "SRC", "auto rest archive", 0,
                   "where whole days come from: auto (default), rest or archive\n"
                   "(see below)" },
    [O_JOBS] = CLI_JOBS_OPTION,
    [O_NO_MONTHLY] = CLI_NO_MONTHLY_OPTION,
    { NULL, CLI_FLAG, NULL, NULL, 0, NULL },
};

static int run_update(cli_ctx *ctx, const cli_args *args);

const cli_command cmd_update = {
    .name = "update",
    .summary = "fetch everything after the newest stored trade",
    .synopsis = "SYMBOL... [--force] [--source SRC] [--jobs N] [--no-monthly]",
    .about =
        "Fetch everything after the newest stored trade of each symbol, up to the\n"
        "exchange's current time. The symbols must already be in the lake (use\n"
        "'aggtrades download' first). The current hour is stored incomplete and\n"
        "fetched again by the next update.\n",
    .options = options,
    .more =
        "Sources: a day older than the exchange's yesterday whose every hour is to be\n"
        "fetched (with --force: every stored day) is one unit, as in 'aggtrades\n"
        "download --help': 'auto' takes the daily archive proved complete with two\n"
        "rest requests and fetches with rest what the proof does not cover; 'rest'\n"
        "fetches every hour with rest and never asks the archive; 'archive' stores the\n"
        "hours it cannot prove as incomplete. Rows are merged the same way whatever\n"
        "their source, so --force records the same changes in the change feed.\n"
        "\n"
        "Failed hours go to <root>/.retry as with download (see 'aggtrades download\n"
        "--help'); exit status 1 then.\n"
        "\n"
        "Examples:\n"
        "  aggtrades update ETHUSDT\n"
        "  aggtrades update BTCUSDT ETHUSDT --force\n"
        "  aggtrades update BTCUSDT --force --source rest\n",
    .operand = CLI_SYMBOL,
    .operands_many = 1,
    .run = run_update,
};

static int run_update(cli_ctx *ctx, const cli_args *args)
{
    int force = args->value[O_FORCE] != NULL;
    const char *source_arg = args->value[O_SOURCE];
    char **pos = args->pos;
    int npos = args->npos;
    agt_sync *sync = NULL;
    cli_run run;
    int rc;
    ctx->jobs = args->value[O_JOBS] ? args->num[O_JOBS] : 0;
    ctx->no_monthly = args->value[O_NO_MONTHLY] != NULL;
    if ((rc = cli_need_symbols("update", npos))) goto out;
    for (int i = 0; i < npos; i++) {
        char sym[24];
        if ((rc = cli_symbol(pos[i], sym))) goto out;
    }
    if ((rc = cli_sync_open(ctx, source_arg, &run, &sync))) goto out;
    agt_sync_report rep;
    agt_error err;
    agt_error_clear(&err);
    agt_status st = agt_sync_update(sync, (const char *const *)pos, (size_t)npos, force, &rep, &err);
    rc = cli_sync_done(&run, st, &err, &rep);
out:
    agt_sync_close(sync);
    return rc;
}
