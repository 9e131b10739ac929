/*
 * run.c - the tool's side of the library's engine (aggtrades/sync.h): a
 * session made from the global options, the engine's events drawn by the
 * live display (ui/progress.h), and a run's outcome said on stderr and
 * turned into the exit status.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ui/progress.h"

/* Parse --source `arg` (NULL = "auto"): 0, or EXIT_USAGE after printing. */
static int source_policy(const char *arg, agt_source_policy *out)
{
    if (agt_source_policy_parse(arg ? arg : "auto", out, NULL) != AGT_OK) {
        cli_error("invalid --source '%s' (expected auto, rest or archive)", arg);
        return EXIT_USAGE;
    }
    return 0;
}

/* The run begins: the display is made for its symbols. */
static int start_display(cli_run *r, const agt_sync_event *ev)
{
    const cli_ctx *ctx = r->ctx;
    snprintf(r->verb, sizeof r->verb, "%s", ev->verb);
    r->ui = calloc(1, sizeof *r->ui);
    if (!r->ui || ui_progress_init(r->ui, ui_mode_for(ctx->quiet, ctx->no_progress),
                                   cli_color(ctx, 2), r->verb, ev->nsyms) != 0) {
        free(r->ui);
        r->ui = NULL;
        r->failed = 1;
        return 1;
    }
    return 0;
}

/* "download: 1 symbol, 48 hours to fetch, 0/2 dates already complete" (log mode only). */
static void log_plan(ui_progress *ui, const agt_sync_event *ev)
{
    char a[32];
    if (ui->mode != UI_LOG) return;
    agt_format_count(ev->units, a, sizeof a);
    ui_progress_log(ui, "%s: %zu symbol%s, %s hour%s to fetch, %d/%d dates already complete",
                    ev->verb, ev->nsyms, ev->nsyms == 1 ? "" : "s", a, ev->units == 1 ? "" : "s",
                    ev->days_skipped, ev->days_total);
}

static int on_event(void *user, const agt_sync_event *ev)
{
    cli_run *r = user;
    ui_progress *ui = r->ui;
    if (ev->kind == AGT_SYNC_WARNING) {
        if (ui) ui_progress_erase(ui); /* redrawn at the next event */
        cli_warn(r->ctx, "%s", ev->message);
    }
    if (ev->kind == AGT_SYNC_CHECKED && r->on_checked) r->on_checked(r->checked_user, ev->verify);
    if (ev->kind == AGT_SYNC_START && start_display(r, ev)) return 1;
    if (!r->ui) return cli_stop_requested(); /* before the run: the clock, the ledger */
    ui = r->ui;
    ui->stopping = cli_stop_requested(); /* "stopping (Ctrl-C again quits)" */
    switch (ev->kind) {
    case AGT_SYNC_SYMBOL:
        ui_progress_symbol(ui, ev->index, ev->symbol, ev->units, ev->days_total, ev->days_skipped);
        break;
    case AGT_SYNC_PLANNED: log_plan(ui, ev); break;
    case AGT_SYNC_SYMBOL_BEGIN: ui_progress_begin_symbol(ui, ev->index); break;
    case AGT_SYNC_HOUR_BEGIN: ui_progress_begin_hour(ui, ev->index, ev->hour_us); break;
    case AGT_SYNC_RECEIVED: ui_progress_bytes(ui, ev->bytes, ev->trades); break;
    case AGT_SYNC_HOUR_DONE:
        ui_progress_hour_done(ui, ev->index, ev->ok, ev->rows, ev->inserted, ev->updated);
        break;
    case AGT_SYNC_DAY_DONE:
        ui_progress_day_done(ui, ev->index, ev->day_us, ev->trades, ev->bytes, ev->failed_hours);
        break;
    case AGT_SYNC_SYMBOL_END: ui_progress_end_symbol(ui, ev->index); break;
    case AGT_SYNC_LAKE_BYTES: ui_progress_lake_bytes(ui, ev->bytes); break;
    case AGT_SYNC_LOG: ui_progress_log(ui, "%s", ev->message); break;
    case AGT_SYNC_FINISH:
        r->finished = 1;
        r->interrupted = ev->interrupted;
        ui_progress_finish(ui, ev->interrupted);
        break;
    default: break;
    }
    return cli_stop_requested();
}

int cli_sync_open(const cli_ctx *ctx, const char *source_arg, cli_run *run, agt_sync **out)
{
    agt_sync_opts o;
    agt_error err;
    memset(run, 0, sizeof *run);
    run->ctx = ctx;
    agt_sync_opts_default(&o);
    if (source_policy(source_arg, &o.source)) return EXIT_USAGE;
    o.api_url = ctx->api_url;
    o.archive_url = ctx->archive_url;
    o.interval_ms = ctx->interval_ms;
    o.market = ctx->market;
    if (ctx->paging) o.paging = strcmp(ctx->paging, "id") ? AGT_PAGING_TIME : AGT_PAGING_ID;
    o.low_speed_limit = ctx->low_speed_limit;
    o.low_speed_time_s = (int)ctx->low_speed_time_s;
    o.unit_deadline_s = (int)ctx->unit_deadline_s;
    o.jobs = (int)ctx->jobs;
    o.archive_months = !ctx->no_monthly;
    o.on_event = on_event;
    o.user = run;
    agt_error_clear(&err);
    agt_status st = agt_sync_open(ctx->root, &o, out, &err);
    if (st != AGT_OK) {
        cli_error("%s", err.message);
        return cli_exit_for(st);
    }
    return 0;
}

int cli_sync_error(agt_status st, const agt_error *err, const agt_sync_report *rep)
{
    const char *msg = err->message[0] ? err->message : agt_status_name(st);
    if (st == AGT_ENOTFOUND) /* no lake at the root, or nothing stored for a symbol */
        cli_error("%s (run 'aggtrades download' first or set --root)", msg);
    else if (st == AGT_EINCOMPLETE && rep && rep->units_failed)
        cli_error("%s; run 'aggtrades retry' later", msg);
    else
        cli_error("%s", msg);
    return cli_exit_for(st);
}

int cli_sync_done(cli_run *run, agt_status st, const agt_error *err, const agt_sync_report *rep)
{
    int rc = rep->unreachable ? EXIT_UNREACHABLE : cli_exit_for(st);
    if (run->ui && !run->finished) ui_progress_erase(run->ui);
    if (run->failed) {
        cli_error("out of memory");
        rc = EXIT_LAKE;
    } else if (st == AGT_ECANCELLED && run->interrupted) {
        char cmd[1024];
        cli_cmdline(run->ctx, cmd, sizeof cmd);
        cli_error("interrupted; committed hours are kept, run '%s' again to resume", cmd);
    } else if (st != AGT_OK) {
        cli_sync_error(st, err, rep);
        if (st == AGT_ECANCELLED) rc = EXIT_INTERRUPTED;
    }
    if (run->ui) {
        ui_progress_release(run->ui);
        free(run->ui);
        run->ui = NULL;
    }
    return rc;
}

void cli_cmdline(const cli_ctx *ctx, char *out, size_t n)
{
    size_t k = 0;
    out[0] = 0;
    k += (size_t)snprintf(out, n, "aggtrades");
    for (int i = 1; i < ctx->argc && k < n; i++) {
        const char *a = ctx->argv[i];
        int plain = *a != 0;
        for (const char *c = a; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                  strchr("-_./=:,@+", *c)))
                plain = 0;
        if (plain) k += (size_t)snprintf(out + k, n - k, " %s", a);
        else k += (size_t)snprintf(out + k, n - k, " '%s'", a);
    }
}
