/*
 * cmd_download.c - "aggtrades download SYMBOL... --start DATE --end DATE":
 * fetch whole UTC days of several symbols into the lake, skipping every day
 * the lake proves complete (ids contiguous and chained, docs/architecture.md)
 * and fetching only the hours missing or incomplete.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum { O_START, O_END, O_SOURCE, O_JOBS, O_NO_MONTHLY };

static const cli_option options[] = {
    [O_START] = { "start", CLI_DATE, "DATE", NULL, 0,
                  "first day, YYYY-MM-DD (UTC), not before " CLI_EPOCH_DATE },
    [O_END] = { "end", CLI_DATE, "DATE", NULL, 0,
                "last day, inclusive; not after today on the exchange's clock" },
    [O_SOURCE] = { "source", CLI_ENUM, "SRC", "auto rest archive", 0,
                   "where whole missing days come from: auto (default), rest or\n"
                   "archive (see below)" },
    [O_JOBS] = CLI_JOBS_OPTION,
    [O_NO_MONTHLY] = CLI_NO_MONTHLY_OPTION,
    { NULL, CLI_FLAG, NULL, NULL, 0, NULL },
};

static int run_download(cli_ctx *ctx, const cli_args *args);

const cli_command cmd_download = {
    .name = "download",
    .summary = "fetch symbols over a range of days into the lake",
    .synopsis = "SYMBOL... --start DATE --end DATE [--source SRC] [--jobs N]\n"
                "[--no-monthly]",
    .about =
        "Fetch every aggregate trade of the symbols over whole UTC days into the lake.\n"
        "Days the lake already proves complete (consecutive trade ids, chained with\n"
        "the neighbouring hours) are skipped without a request; of the others only\n"
        "the missing or incomplete hours are fetched, and each hour is committed as\n"
        "soon as it arrives. Hours that have not ended yet (by the exchange's clock)\n"
        "are stored and marked incomplete; the next run fetches them again.\n",
    .options = options,
    .more =
        "Sources: a day with no hour stored yet and older than the exchange's\n"
        "yesterday is one unit. With 'auto' it comes from the daily archive\n"
        "(--archive-url; the zip checked against its SHA-256 .CHECKSUM), proved\n"
        "complete with two small rest requests (the trades just before and after\n"
        "the file's ids); hours the proof does not cover - a truncated or damaged\n"
        "file, a day not published yet - are fetched with rest. 'rest' fetches every\n"
        "hour with rest and never asks the archive. 'archive' takes the file's rows\n"
        "only and stores the hours it cannot prove as incomplete. Other days, and\n"
        "the rest of a partly stored day, always go hour by hour through rest.\n"
        "\n"
        "An hour that still fails after its retries is appended to <root>/.retry, one\n"
        "JSON object a line, and the run carries on (exit status 1 at the end):\n"
        "  {\"symbol\":\"BTCUSDT\",\"date\":\"2023-10-01\",\"hour\":5,\"error\":\"...\",\n"
        "   \"attempts\":4,\"time\":\"2023-10-02T08:00:00Z\"}\n"
        "'aggtrades retry' runs them again. Ctrl-C stops after the hour in flight;\n"
        "running the same command again resumes (a second Ctrl-C quits at once).\n"
        "\n"
        "Examples:\n"
        "  aggtrades download BTCUSDT ETHUSDT --start 2023-01-01 --end 2023-12-31\n"
        "  aggtrades --root /srv/lake download BTCUSDT --start 2024-03-01 --end 2024-03-01\n",
    .operand = CLI_SYMBOL,
    .operands_many = 1,
    .run = run_download,
};

static int run_download(cli_ctx *ctx, const cli_args *args)
{
    const char *start_arg = args->value[O_START], *end_arg = args->value[O_END];
    const char *source_arg = args->value[O_SOURCE];
    char **pos = args->pos;
    int npos = args->npos;
    agt_sync *sync = NULL;
    cli_run run;
    int rc;

    ctx->jobs = args->value[O_JOBS] ? args->num[O_JOBS] : 0;
    ctx->no_monthly = args->value[O_NO_MONTHLY] != NULL;
    if ((rc = cli_need_symbols("download", npos))) goto out;
    if (!start_arg || !end_arg) {
        cli_error("download needs --start and --end (see 'aggtrades download --help')");
        rc = EXIT_USAGE;
        goto out;
    }
    for (int i = 0; i < npos; i++) {
        char sym[24];
        if ((rc = cli_symbol(pos[i], sym))) goto out;
    }

    /* dates */
    int64_t start_us, end_us;
    int dat;
    if ((rc = cli_time_arg("--start", start_arg, 0, &start_us, &dat))) goto out;
    if (!dat) {
        cli_error("invalid --start '%s' (download takes whole days: YYYY-MM-DD)", start_arg);
        rc = EXIT_USAGE;
        goto out;
    }
    if ((rc = cli_time_arg("--end", end_arg, 1, &end_us, &dat))) goto out;
    if (!dat) {
        cli_error("invalid --end '%s' (download takes whole days: YYYY-MM-DD)", end_arg);
        rc = EXIT_USAGE;
        goto out;
    }
    if (start_us < AGT_EPOCH_US) {
        cli_error("--start '%s' is before %s, the first day with aggregate trades", start_arg,
                  CLI_EPOCH_DATE);
        rc = EXIT_USAGE;
        goto out;
    }
    if (end_us < start_us) {
        cli_error("reversed range: --end '%s' is before --start '%s'", end_arg, start_arg);
        rc = EXIT_USAGE;
        goto out;
    }

    /* the library reads the exchange's clock, which decides what "the future"
     * is (an end after its today is refused, exit status 2, nothing fetched) */
    if ((rc = cli_sync_open(ctx, source_arg, &run, &sync))) goto out;
    agt_sync_report rep;
    agt_error err;
    agt_error_clear(&err);
    agt_status st = agt_sync_download(sync, (const char *const *)pos, (size_t)npos, start_us, end_us,
                                      &rep, &err);
    rc = cli_sync_done(&run, st, &err, &rep);
out:
    agt_sync_close(sync);
    return rc;
}
