/*
 * cmd_verify.c - "aggtrades verify SYMBOL [--start T --end T] [--repair]":
 * check the stored hours of a symbol and, with --repair, repair them. The
 * library does both (agt_sync_verify, aggtrades/verify.h: the checks, the
 * problem list, what a repair does, under one writer lock); this file
 * parses the options and prints each check as it ends, one line per
 * problem and a summary.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ui/format.h"

enum { O_START, O_END, O_REPAIR, O_SOURCE, O_NO_MONTHLY };

static const cli_option options[] = {
    [O_START] = { "start", CLI_TIME, "TIME", NULL, 0, "first hour to check (a day or a time, UTC)" },
    [O_END] = { "end", CLI_TIME, "TIME", NULL, 0, "last hour to check (inclusive)" },
    [O_REPAIR] = { "repair", CLI_FLAG, NULL, NULL, 0,
                   "repair what is found: rebuild damaged statistics from the\n"
                   "data files, set damaged and stray files aside (kept as\n"
                   ".<name>.damaged-<time>), then fetch every damaged, missing\n"
                   "or incomplete hour again and commit it; hours that still\n"
                   "fail go to <root>/.retry" },
    [O_SOURCE] = { "source", CLI_ENUM, "SRC", "auto rest archive", 0,
                   "with --repair, where whole days come from: auto (default),\n"
                   "rest or archive. A day older than the exchange's yesterday\n"
                   "whose 24 hours all need a new fetch comes from the daily\n"
                   "archive proved with two rest requests under 'auto' (see\n"
                   "'aggtrades download --help'); single hours always come\n"
                   "from rest" },
    [O_NO_MONTHLY] = CLI_NO_MONTHLY_OPTION,
    { NULL, CLI_FLAG, NULL, NULL, 0, NULL },
};

static int run_verify(cli_ctx *ctx, const cli_args *args);

const cli_command cmd_verify = {
    .name = "verify",
    .summary = "check stored hours for holes and damage; --repair them",
    .synopsis = "SYMBOL [--start TIME] [--end TIME]\n"
                "[--repair [--source SRC] [--no-monthly]]",
    .about =
        "Check the stored hours of SYMBOL: every data file is read back, its checksum\n"
        "and statistics recomputed, its trade ids checked for holes and for chaining\n"
        "with the previous hour; hours missing inside the range are listed too.\n"
        "By default the range runs from the oldest stored hour to the newest. Exit\n"
        "status 0 if nothing is wrong, 1 if problems remain.\n",
    .options = options,
    .more =
        "Examples:\n"
        "  aggtrades verify BTCUSDT\n"
        "  aggtrades verify BTCUSDT --start 2023-10-01 --end 2023-10-31 --repair\n",
    .operand = CLI_SYMBOL,
    .run = run_verify,
};

typedef struct verify_view {
    const cli_ctx *ctx;
    const char *sym;
} verify_view;

/* "2024-02-20 05:00", or "-" for no hour. */
static void hour_text(int64_t hour_us, char ts[40])
{
    if (hour_us < 0) {
        snprintf(ts, 40, "-");
        return;
    }
    fmt_ts(hour_us, 0, 0, ts, 40);
    ts[16] = 0;
}

/* One line per problem; count[] per kind. */
static void print_problems(const char *sym, const agt_verify_check *c, size_t count[AGT_PROBLEM_OTHER + 1])
{
    for (size_t i = 0; i < c->nproblems; i++) {
        const agt_verify_problem *p = &c->problems[i];
        char ts[40];
        if (p->kind <= AGT_PROBLEM_OTHER) count[p->kind]++;
        hour_text(p->hour_us, ts);
        int file = p->hour_us < 0 && p->path[0]; /* the file says where */
        printf("%s %-16s  %-10s  %s%s%s\n", sym, ts, agt_problem_name(p->kind), file ? p->path : "",
               file ? ": " : "", p->detail);
    }
}

/* A check of the hours: its problems, its open hours, the summary. */
static void print_check(const verify_view *v, const agt_verify_report *rep, const agt_verify_check *c)
{
    size_t count[AGT_PROBLEM_OTHER + 1] = { 0 };
    const char *sym = v->sym;
    print_problems(sym, c, count);
    if (v->ctx->quiet) return;
    for (size_t i = 0; i < c->nopen; i++) {
        char ts[40];
        hour_text(c->open_hours[i], ts);
        printf("%s %-16s  %-10s  not over on the exchange when fetched; 'aggtrades update %s' "
               "completes it\n", sym, ts, "open", sym);
    }
    char a[40], b[40], n[32], o[48] = "";
    hour_text(rep->start_us, a);
    hour_text(rep->end_us, b);
    agt_format_count((uint64_t)c->hours, n, sizeof n);
    if (c->nopen) snprintf(o, sizeof o, ", %zu hour%s open", c->nopen, c->nopen == 1 ? "" : "s");
    if (c->nproblems == 0) {
        printf("%s: %s hours from %s to %s verified, no problems%s\n", sym, n, a, b, o);
        return;
    }
    printf("%s: %s hours from %s to %s verified, %zu problem%s (", sym, n, a, b, c->nproblems,
           c->nproblems == 1 ? "" : "s");
    int first = 1;
    for (int k = 0; k <= AGT_PROBLEM_OTHER; k++)
        if (count[k]) {
            printf("%s%zu %s", first ? "" : ", ", count[k], agt_problem_name((agt_problem_kind)k));
            first = 0;
        }
    printf(")%s\n", o);
}

/* Each check as it ends (AGT_SYNC_CHECKED): the index, the hours, the hours after a repair. */
static void on_checked(void *user, const agt_verify_report *rep)
{
    const verify_view *v = user;
    size_t count[AGT_PROBLEM_OTHER + 1] = { 0 };
    switch (rep->stage) {
    case AGT_VERIFY_STAGE_INDEX:
        if (rep->stats_rebuilt && !v->ctx->quiet)
            printf("%s: %zu statistics file%s rebuilt\n", v->sym, rep->stats_rebuilt,
                   rep->stats_rebuilt == 1 ? "" : "s");
        print_problems(v->sym, &rep->index, count);
        break;
    case AGT_VERIFY_STAGE_HOURS: print_check(v, rep, &rep->found); break;
    case AGT_VERIFY_STAGE_AFTER: print_check(v, rep, &rep->after); break;
    default: break;
    }
    fflush(stdout); /* before the repair's display on stderr */
}

/* Problems remain (AGT_EINCOMPLETE) and nothing was fetched: say what to run. */
static void hint(const cli_ctx *ctx, const char *sym, const agt_verify_report *rep, int repair,
                 const agt_error *err)
{
    if (repair && rep->stage == AGT_VERIFY_STAGE_INDEX) cli_error("%s", err->message);
    if (repair || ctx->quiet) return;
    if (rep->stage == AGT_VERIFY_STAGE_INDEX)
        cli_error("statistics damaged; run 'aggtrades verify %s --repair' to rebuild them", sym);
    else
        cli_error("problems found; run 'aggtrades verify %s --repair' to fetch them again", sym);
}

static int run_verify(cli_ctx *ctx, const cli_args *args)
{
    const char *start_arg = args->value[O_START], *end_arg = args->value[O_END];
    const char *source_arg = args->value[O_SOURCE];
    int repair = args->value[O_REPAIR] != NULL;
    char **pos = args->pos;
    int npos = args->npos;
    agt_sync *sync = NULL;
    agt_verify_report *rep = NULL;
    int rc;
    if (npos != 1) {
        cli_error(npos == 0 ? "verify needs a symbol (see 'aggtrades verify --help')"
                            : "verify takes one symbol, not %d", npos);
        rc = EXIT_USAGE;
        goto out;
    }
    ctx->no_monthly = args->value[O_NO_MONTHLY] != NULL;
    if ((source_arg || ctx->no_monthly) && !repair) {
        cli_error("--%s only applies to --repair (see 'aggtrades verify --help')",
                  source_arg ? "source" : "no-monthly");
        rc = EXIT_USAGE;
        goto out;
    }
    char sym[24];
    if ((rc = cli_symbol(pos[0], sym))) goto out;
    int64_t start = -1, end = -1;
    if (start_arg && (rc = cli_time_arg("--start", start_arg, 0, &start, NULL))) goto out;
    if (end_arg && (rc = cli_time_arg("--end", end_arg, 1, &end, NULL))) goto out;
    if (start_arg && end_arg && end < start) {
        cli_error("reversed range: --end '%s' is before --start '%s'", end_arg, start_arg);
        rc = EXIT_USAGE;
        goto out;
    }

    cli_run run;
    verify_view view = { ctx, sym };
    if ((rc = cli_sync_open(ctx, source_arg, &run, &sync))) goto out;
    run.on_checked = on_checked;
    run.checked_user = &view;
    agt_error err;
    agt_error_clear(&err);
    agt_status st = agt_sync_verify(sync, sym, start, end, repair, &rep, &err);
    if (rep && rep->nrefetched) { /* the repair's run: its display down, its outcome said */
        rc = cli_sync_done(&run, rep->refetch_status, &rep->refetch_error, &rep->refetch);
        if (rc && rc != EXIT_FAILED) goto out;
    }
    if (st == AGT_EINCOMPLETE) {
        if (!rep->nrefetched) hint(ctx, sym, rep, repair, &err);
        rc = EXIT_FAILED;
    } else if (st != AGT_OK) {
        rc = cli_sync_error(st, &err, NULL);
    }
out:
    agt_verify_report_free(rep);
    agt_sync_close(sync);
    return rc;
}
