/*
 * cmd_download.c - "aggtrades download SYMBOL... --start DATE --end DATE":
 * fetch whole UTC days of several symbols into the lake, skipping every day
 * the lake proves complete (ids contiguous and chained, architecture.md §2)
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

struct scan_acc {
    job_symbol *sym;
    int64_t now_us;
    int64_t first_day_us;
    char *bad_day;         /* per day: 1 if some hour must be fetched (or lies ahead) */
    unsigned char *missing; /* per day: hours never stored */
    agt_status err;
};

static int on_hour(void *user, int64_t hour_us, agt_hour_status st, const agt_file_stats *fs)
{
    struct scan_acc *a = user;
    (void)fs;
    int day = (int)((hour_us - a->first_day_us) / AGT_US_PER_DAY);
    if (st == AGT_HOUR_COMPLETE) return 0;
    a->bad_day[day] = 1;
    if (st == AGT_HOUR_MISSING) a->missing[day]++;
    if (hour_us > a->now_us) return 0; /* not begun yet: nothing to fetch */
    if (job_add_hour(a->sym, hour_us, day) != 0) {
        a->err = AGT_ENOMEM;
        return 1;
    }
    return 0;
}

int cmd_download(int argc, char **argv, cli_ctx *ctx)
{
    const char *start_arg = NULL, *end_arg = NULL, *source_arg = NULL;
    const cli_opt opts[] = {
        { OPT_STRING, "start", &start_arg },
        { OPT_STRING, "end", &end_arg },
        { OPT_STRING, "source", &source_arg },
        { OPT_END, NULL, NULL },
    };
    char **pos;
    int npos;
    job_plan plan;
    agt_client *client = NULL;
    agt_lake *lake = NULL;
    char *bad_day = NULL;
    unsigned char *missing = NULL;
    memset(&plan, 0, sizeof plan);

    int rc = cli_parse(ctx, argc, argv, opts, usage, &pos, &npos);
    if (rc || ctx->help) goto out;
    if ((rc = cli_need_symbols("download", npos))) goto out;
    if (!start_arg || !end_arg) {
        cli_error("download needs --start and --end (see 'aggtrades download --help')");
        rc = EXIT_USAGE;
        goto out;
    }

    if ((rc = job_plan_symbols(&plan, pos, npos))) goto out;

    /* dates */
    int64_t start_us, end_us, epoch_us;
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
    agt_parse_time(CLI_EPOCH_DATE, &epoch_us, NULL, NULL);
    if (start_us < epoch_us) {
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

    if ((rc = cli_root_check(ctx))) goto out;

    /* the exchange's clock decides what "the future" is */
    if ((rc = cli_client_new(ctx, job_progress_cb, NULL, &client))) goto out;
    if ((rc = job_source_open(ctx, source_arg, client, &plan))) goto out;
    int64_t now_us;
    if ((rc = cli_server_now(ctx, client, &now_us))) goto out;
    int64_t today_us = now_us - now_us % AGT_US_PER_DAY;
    if (end_us >= today_us + AGT_US_PER_DAY) {
        char today[16];
        cli_date_str(now_us, today);
        cli_error("--end '%s' is in the future (the exchange's date is %s)", end_arg, today);
        rc = EXIT_USAGE;
        goto out;
    }

    /* what is missing: an existing lake is asked, a new one lacks everything */
    int ndays = (int)((end_us + 1 - start_us) / AGT_US_PER_DAY);
    bad_day = malloc((size_t)ndays);
    missing = malloc((size_t)ndays);
    if (!bad_day || !missing) {
        rc = EXIT_LAKE;
        goto out;
    }
    if (cli_root_exists(ctx) && (rc = cli_lake_open_write(ctx, &lake))) goto out;
    for (size_t i = 0; i < plan.nsyms; i++) {
        job_symbol *s = &plan.syms[i];
        struct scan_acc acc;
        memset(&acc, 0, sizeof acc);
        memset(bad_day, 0, (size_t)ndays);
        memset(missing, 0, (size_t)ndays);
        acc.sym = s;
        acc.now_us = now_us;
        acc.first_day_us = start_us;
        acc.bad_day = bad_day;
        acc.missing = missing;
        s->first_day_us = start_us;
        if (lake) {
            agt_error err;
            agt_error_clear(&err);
            agt_status st = agt_lake_scan_hours(lake, s->symbol, start_us, end_us, on_hour, &acc, &err);
            if (st == AGT_OK && acc.err) st = acc.err;
            if (st != AGT_OK) {
                rc = cli_lake_error(ctx, st, &err);
                goto out;
            }
        } else {
            for (int64_t h = start_us; h <= end_us; h += AGT_US_PER_HOUR)
                if (on_hour(&acc, h, AGT_HOUR_MISSING, NULL)) {
                    rc = EXIT_LAKE;
                    goto out;
                }
        }
        for (size_t h = 0; h < s->nhours; h++) {
            int d = s->hours[h].day_index;
            s->hours[h].whole_day =
                missing[d] == 24 && job_day_unit_ok(&plan, start_us + d * AGT_US_PER_DAY, now_us);
        }
        s->days_total = ndays;
        for (int d = 0; d < ndays; d++)
            if (!bad_day[d]) s->days_skipped++;
    }

    plan.verb = "download";
    rc = job_run(ctx, &lake, client, &plan);
out:
    job_release(&plan, lake, client);
    free(bad_day);
    free(missing);
    free(pos);
    return rc;
}
