/*
 * cmd_download.c - "aggtrades download SYMBOL... --start DATE --end DATE":
 * fetch whole UTC days of several symbols into the lake, skipping every day
 * the lake proves complete (ids contiguous and chained, docs/architecture.md)
 * and fetching only the hours missing or incomplete.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: aggtrades download SYMBOL... --start DATE --end DATE\n"
    "\n"
    "Fetch every aggregate trade of the symbols over whole UTC days into the lake.\n"
    "Days the lake already proves complete (consecutive trade ids, chained with\n"
    "the neighbouring hours) are skipped without a request; of the others only\n"
    "the missing or incomplete hours are fetched, and each hour is committed as\n"
    "soon as it arrives. Hours that have not ended yet (by the exchange's clock)\n"
    "are stored and marked incomplete; the next run fetches them again.\n"
    "\n"
    "Options:\n"
    "  --start DATE   first day, YYYY-MM-DD (UTC), not before " CLI_EPOCH_DATE "\n"
    "  --end DATE     last day, inclusive; not after today on the exchange's clock\n"
    "  --source SRC   auto (default), rest or archive: where whole missing days\n"
    "                 come from (see below)\n"
    CLI_JOBS_HELP
    "\n"
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
    "  aggtrades --root /srv/lake download BTCUSDT --start 2024-03-01 --end 2024-03-01\n";

int cmd_download(int argc, char **argv, cli_ctx *ctx)
{
    const char *start_arg = NULL, *end_arg = NULL, *source_arg = NULL;
    long jobs = -1;
    const cli_opt opts[] = {
        { OPT_STRING, "start", &start_arg },
        { OPT_STRING, "end", &end_arg },
        { OPT_STRING, "source", &source_arg },
        { OPT_INT, "jobs", &jobs },
        { OPT_END, NULL, NULL },
    };
    char **pos;
    int npos;
    agt_sync *sync = NULL;
    cli_run run;

    int rc = cli_parse(ctx, argc, argv, opts, usage, &pos, &npos);
    if (rc || ctx->help) goto out;
    if ((rc = cli_jobs(ctx, jobs))) goto out;
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

    /* the exchange's clock decides what "the future" is */
    if ((rc = cli_sync_open(ctx, source_arg, &run, &sync))) goto out;
    int64_t now_us;
    if ((rc = cli_sync_now(sync, &now_us))) goto out;
    if (end_us >= now_us - now_us % AGT_US_PER_DAY + AGT_US_PER_DAY) {
        char today[16];
        cli_date_str(now_us, today);
        cli_error("--end '%s' is in the future (the exchange's date is %s)", end_arg, today);
        rc = EXIT_USAGE;
        goto out;
    }

    agt_sync_report rep;
    agt_error err;
    agt_error_clear(&err);
    agt_status st = agt_sync_download(sync, (const char *const *)pos, (size_t)npos, start_us, end_us,
                                      &rep, &err);
    rc = cli_sync_done(&run, st, &err, &rep);
out:
    agt_sync_close(sync);
    free(pos);
    return rc;
}
