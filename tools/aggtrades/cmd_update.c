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

static const char usage[] =
    "usage: aggtrades update SYMBOL... [--force] [--source SRC]\n"
    "\n"
    "Fetch everything after the newest stored trade of each symbol, up to the\n"
    "exchange's current time. The symbols must already be in the lake (use\n"
    "'aggtrades download' first). The current hour is stored incomplete and\n"
    "fetched again by the next update.\n"
    "\n"
    "Options:\n"
    "  --force        re-fetch the whole stored range (from the first stored trade\n"
    "                 to now) and overwrite: changed trades are replaced and\n"
    "                 recorded in the change feed (metadata/_changes/) as update\n"
    "                 pre/post images\n"
    "  --source SRC   auto (default), rest or archive: where whole days come from\n"
    "                 (see below)\n"
    "\n"
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
    "  aggtrades update BTCUSDT --force --source rest\n";

struct upd_acc {
    job_symbol *sym;
    int64_t first_day_us;
    int force;
    int err;
};

static int on_hour(void *user, int64_t hour_us, agt_hour_status st, const agt_file_stats *fs)
{
    struct upd_acc *a = user;
    (void)fs;
    if (st == AGT_HOUR_COMPLETE && !a->force) return 0;
    if (job_add_hour(a->sym, hour_us, (int)((hour_us - a->first_day_us) / AGT_US_PER_DAY))) {
        a->err = 1;
        return 1;
    }
    return 0;
}

int cmd_update(int argc, char **argv, cli_ctx *ctx)
{
    int force = 0;
    const char *source_arg = NULL;
    const cli_opt opts[] = {
        { OPT_FLAG, "force", &force },
        { OPT_STRING, "source", &source_arg },
        { OPT_END, NULL, NULL },
    };
    char **pos;
    int npos;
    job_plan plan;
    agt_client *client = NULL;
    agt_lake *lake = NULL;
    int64_t *nh = NULL, *fr = NULL; /* per symbol: newest stored hour, first hour to fetch */
    memset(&plan, 0, sizeof plan);
    int rc = cli_parse(ctx, argc, argv, opts, usage, &pos, &npos);
    if (rc || ctx->help) goto out;
    if ((rc = cli_need_symbols("update", npos))) goto out;
    if ((rc = job_plan_symbols(&plan, pos, npos))) goto out;
    if (!cli_root_exists(ctx)) {
        cli_error("nothing stored for '%s' in '%s' (use 'aggtrades download' first)",
                  plan.syms[0].symbol, ctx->root);
        rc = EXIT_USAGE;
        goto out;
    }
    if ((rc = cli_lake_open_write(ctx, &lake))) goto out;

    /* where each symbol stands, before any request */
    nh = calloc(plan.nsyms, sizeof *nh);
    fr = calloc(plan.nsyms, sizeof *fr);
    if (!nh || !fr) {
        rc = EXIT_LAKE;
        goto out;
    }
    for (size_t i = 0; i < plan.nsyms && !rc; i++) {
        agt_error err;
        int64_t last_ts = -1, last_id = -1;
        agt_error_clear(&err);
        agt_status s = agt_lake_newest(lake, plan.syms[i].symbol, &nh[i], &last_ts, &last_id, &err);
        if (s == AGT_ENOTFOUND) {
            cli_error("nothing stored for '%s' in '%s' (use 'aggtrades download' first)",
                      plan.syms[i].symbol, ctx->root);
            rc = EXIT_USAGE;
            break;
        }
        if (s != AGT_OK) {
            rc = cli_lake_error(ctx, s, &err);
            break;
        }
        fr[i] = last_ts >= 0 ? last_ts - last_ts % AGT_US_PER_HOUR : nh[i];
        int64_t first = -1;
        if (force && (rc = cli_first_stored_hour(ctx, lake, plan.syms[i].symbol,
                                                 nh[i] + AGT_US_PER_HOUR - 1, &first)))
            break;
        if (first >= 0) fr[i] = first;
    }
    if (!rc) rc = cli_client_new(ctx, job_progress_cb, NULL, &client);
    if (!rc) rc = job_source_open(ctx, source_arg, client, &plan);
    int64_t now_us = 0;
    if (!rc) rc = cli_server_now(ctx, client, &now_us);
    int64_t now_hour = now_us - now_us % AGT_US_PER_HOUR;
    for (size_t i = 0; i < plan.nsyms && !rc; i++) {
        job_symbol *s = &plan.syms[i];
        struct upd_acc acc;
        agt_error err;
        agt_error_clear(&err);
        memset(&acc, 0, sizeof acc);
        acc.sym = s;
        acc.force = force;
        acc.first_day_us = fr[i] - fr[i] % AGT_US_PER_DAY;
        s->first_day_us = acc.first_day_us;
        if (fr[i] > now_hour) continue; /* stored data ahead of the exchange's clock */
        agt_status st = agt_lake_scan_hours(lake, s->symbol, fr[i], now_hour, on_hour, &acc, &err);
        if (st == AGT_OK && acc.err) st = AGT_ENOMEM;
        if (st != AGT_OK) rc = cli_lake_error(ctx, st, &err);
        else job_mark_day_units(&plan, s, now_us);
    }
    if (rc) goto out;

    plan.verb = "update";
    plan.force = force;
    rc = job_run(ctx, &lake, client, &plan);
out:
    job_release(&plan, lake, client);
    free(nh);
    free(fr);
    free(pos);
    return rc;
}
