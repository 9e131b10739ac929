/*
 * cmd_verify.c - "aggtrades verify SYMBOL [--start T --end T] [--repair]":
 * check the stored hours of a symbol. The lake re-hashes and decodes every
 * data file and recomputes its statistics (damaged files, id holes inside a
 * file, broken chains between hours); the completeness scan adds the hours
 * missing inside the range. --repair fetches every such hour again and
 * commits it (a whole damaged old day through the day source, --source),
 * then checks once more.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ui/format.h"

static const char usage[] =
    "usage: aggtrades verify SYMBOL [--start TIME] [--end TIME]\n"
    "                        [--repair [--source SRC]]\n"
    "\n"
    "Check the stored hours of SYMBOL: every data file is read back, its checksum\n"
    "and statistics recomputed, its trade ids checked for holes and for chaining\n"
    "with the previous hour; hours missing inside the range are listed too.\n"
    "By default the range runs from the oldest stored hour to the newest. Exit\n"
    "status 0 if nothing is wrong, 1 if problems remain.\n"
    "\n"
    "Options:\n"
    "  --start TIME   first hour to check (a day or a time, UTC)\n"
    "  --end TIME     last hour to check (inclusive)\n"
    "  --repair       rebuild damaged statistics from the data files, set damaged\n"
    "                 and stray files aside (kept as .<name>.damaged-<time>), then\n"
    "                 fetch every damaged, missing or incomplete hour again and\n"
    "                 commit it; hours that still fail go to <root>/.retry\n"
    "  --source SRC   with --repair: auto (default), rest or archive. A day older\n"
    "                 than the exchange's yesterday whose 24 hours all need a new\n"
    "                 fetch comes from the daily archive proved with two rest\n"
    "                 requests under 'auto' (see 'aggtrades download --help');\n"
    "                 single hours always come from rest\n"
    "\n"
    "Examples:\n"
    "  aggtrades verify BTCUSDT\n"
    "  aggtrades verify BTCUSDT --start 2023-10-01 --end 2023-10-31 --repair\n";

enum { P_MISSING, P_DAMAGED, P_GAP, P_INCOMPLETE, P_STATS, P_STRAY, P_WAL, P_OTHER, P_KINDS };
static const char *const pname[P_KINDS] = { "missing", "damaged", "id gap", "incomplete", "stats",
                                            "stray", "wal",
                                            "other" };

typedef struct problem {
    int kind;
    int64_t hour_us; /* -1 if not tied to an hour */
    char what[200];
} problem;

typedef struct vstate {
    problem *v;
    size_t n, cap;
    int64_t hours_seen;
    int64_t *open;    /* hours the exchange had not finished when they were fetched */
    size_t nopen, capopen;
    int oom;
} vstate;

/*
 * An incomplete hour fetched before it had ended on the exchange's clock
 * (plus the completeness margin) is open, not damaged: it was exact for
 * its time, and `update` completes it. Told apart by the fetch time the
 * statistics keep, so verify needs no request.
 */
static int was_open(int64_t hour, const agt_file_stats *fs)
{
    agt_client_opts o;
    agt_client_opts_default(&o);
    int64_t end = hour + AGT_US_PER_HOUR - 1 + (int64_t)o.complete_margin_ms * AGT_US_PER_MS;
    return fs && fs->fetched_at_us > 0 && fs->fetched_at_us < end;
}

static void add_open(vstate *s, int64_t hour)
{
    if (s->nopen == s->capopen) {
        size_t cap = s->capopen ? s->capopen * 2 : 8;
        int64_t *v = realloc(s->open, cap * sizeof *v);
        if (!v) {
            s->oom = 1;
            return;
        }
        s->open = v;
        s->capopen = cap;
    }
    s->open[s->nopen++] = hour;
}

static void add(vstate *s, int kind, int64_t hour, const char *what)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        problem *v = realloc(s->v, cap * sizeof *v);
        if (!v) {
            s->oom = 1;
            return;
        }
        s->v = v;
        s->cap = cap;
    }
    problem *p = &s->v[s->n++];
    p->kind = kind;
    p->hour_us = hour;
    snprintf(p->what, sizeof p->what, "%s", what);
}

static int on_verify(void *user, agt_verify_kind kind, const char *path, int64_t hour,
                     const char *message)
{
    vstate *s = user;
    int k = P_OTHER;
    switch (kind) {
    case AGT_VERIFY_UNREADABLE:
    case AGT_VERIFY_CHECKSUM:
    case AGT_VERIFY_STATS: k = P_DAMAGED; break;
    case AGT_VERIFY_NOT_CONTIGUOUS:
    case AGT_VERIFY_CHAIN: k = P_GAP; break;
    case AGT_VERIFY_MISSING_FILE: k = P_MISSING; break; /* deleted: fetched again by --repair */
    case AGT_VERIFY_INDEX:
    case AGT_VERIFY_STATS_MISSING: k = P_STATS; break; /* rebuilt from the data by --repair */
    case AGT_VERIFY_ORPHAN: k = P_STRAY; break;        /* cleared by --repair (agt_lake_tidy) */
    case AGT_VERIFY_WAL: k = P_WAL; break;             /* set aside by the next writer */
    default: k = P_OTHER; break;
    }
    char what[200];
    if (hour < 0 && path && *path) snprintf(what, sizeof what, "%s: %s", path, message);
    else snprintf(what, sizeof what, "%s", message ? message : "");
    add(s, k, hour, what);
    return 0;
}

static int on_hour(void *user, int64_t hour, agt_hour_status st, const agt_file_stats *fs)
{
    vstate *s = user;
    s->hours_seen++;
    if (st == AGT_HOUR_MISSING && fs) return 0; /* its file is gone: the lake's verify said so */
    if (st == AGT_HOUR_MISSING) add(s, P_MISSING, hour, "never stored");
    else if (st == AGT_HOUR_INCOMPLETE && was_open(hour, fs)) add_open(s, hour);
    else if (st == AGT_HOUR_INCOMPLETE) add(s, P_INCOMPLETE, hour, "not proven complete");
    else if (st == AGT_HOUR_GAP)
        add(s, P_GAP, hour, "its first trade does not follow the previous hour's last");
    return s->oom;
}

static int cmp_problem(const void *a, const void *b)
{
    const problem *x = a, *y = b;
    if (x->hour_us != y->hour_us) return x->hour_us < y->hour_us ? -1 : 1;
    return x->kind - y->kind;
}

/* Run both checks over [start, end]. 0 or an exit status. */
static int check(agt_lake *lake, const char *sym, int64_t start, int64_t end, vstate *s)
{
    agt_error err;
    agt_error_clear(&err);
    agt_status st = agt_lake_verify(lake, sym, start, end, on_verify, s, NULL, &err);
    if (st == AGT_OK) st = agt_lake_scan_hours(lake, sym, start, end, on_hour, s, &err);
    if (st == AGT_OK && s->oom) st = AGT_ENOMEM;
    if (st != AGT_OK) {
        cli_error("cannot verify '%s': %s", sym, err.message[0] ? err.message : agt_status_name(st));
        return EXIT_LAKE;
    }
    if (s->n) qsort(s->v, s->n, sizeof s->v[0], cmp_problem);
    return 0;
}

/* One line per problem; count[] per kind. */
static void print_problems(const char *sym, const vstate *s, size_t count[P_KINDS])
{
    for (size_t i = 0; i < s->n; i++) {
        const problem *p = &s->v[i];
        count[p->kind]++;
        char ts[40] = "-";
        if (p->hour_us >= 0) {
            fmt_ts(p->hour_us, 0, 0, ts, sizeof ts);
            ts[16] = 0;
        }
        printf("%s %-16s  %-10s  %s\n", sym, ts, pname[p->kind], p->what);
    }
}

static void report(const char *sym, int64_t start, int64_t end, const vstate *s, int quiet)
{
    size_t count[P_KINDS] = { 0 };
    print_problems(sym, s, count);
    for (size_t i = 0; i < s->nopen && !quiet; i++) {
        char ts[40];
        fmt_ts(s->open[i], 0, 0, ts, sizeof ts);
        ts[16] = 0;
        printf("%s %-16s  %-10s  not over on the exchange when fetched; 'aggtrades update %s' "
               "completes it\n", sym, ts, "open", sym);
    }
    if (quiet) return;
    char a[40], b[40], c[32], o[48] = "";
    fmt_ts(start, 0, 0, a, sizeof a);
    fmt_ts(end, 0, 0, b, sizeof b);
    a[16] = b[16] = 0;
    agt_format_count((uint64_t)s->hours_seen, c, sizeof c);
    if (s->nopen) snprintf(o, sizeof o, ", %zu hour%s open", s->nopen, s->nopen == 1 ? "" : "s");
    if (s->n == 0) {
        printf("%s: %s hours from %s to %s verified, no problems%s\n", sym, c, a, b, o);
        return;
    }
    printf("%s: %s hours from %s to %s verified, %zu problem%s (", sym, c, a, b, s->n,
           s->n == 1 ? "" : "s");
    int first = 1;
    for (int k = 0; k < P_KINDS; k++)
        if (count[k]) {
            printf("%s%zu %s", first ? "" : ", ", count[k], pname[k]);
            first = 0;
        }
    printf(")%s\n", o);
}

/*
 * The statistics index first: a damaged or lost day file hides the stored
 * range (newest hour, first trade) and the hours of its day, so nothing
 * else can be checked until it is whole. Its problems are "stats"; --repair
 * rebuilds it from the data files (it is derived data: nothing is fetched)
 * and looks again. 0 when the index is sound or repaired, else an exit status.
 */
static int check_index(const cli_ctx *ctx, agt_lake *lake, const char *sym, int64_t lo, int64_t hi,
                       int repair)
{
    vstate s;
    agt_error err;
    int rc = 0;
    memset(&s, 0, sizeof s);
    agt_error_clear(&err);
    agt_status st = agt_lake_verify_index(lake, sym, lo, hi, on_verify, &s, NULL, &err);
    if (st == AGT_OK && s.n && repair) {
        size_t days = 0;
        if ((st = agt_lake_rebuild_stats(lake, sym, lo, hi, &days, &err)) == AGT_OK) {
            cli_lake_notices(ctx, lake); /* damaged data files set aside */
            if (!ctx->quiet)
                printf("%s: %zu statistics file%s rebuilt\n", sym, days, days == 1 ? "" : "s");
            s.n = 0;
            st = agt_lake_verify_index(lake, sym, lo, hi, on_verify, &s, NULL, &err);
        } else if (st == AGT_ECORRUPT) { /* a damaged data file: the day stays as it was */
            cli_error("cannot rebuild the statistics of '%s': %s", sym, err.message);
            st = AGT_OK;
            rc = EXIT_FAILED;
        }
    }
    if (st == AGT_OK && s.oom) st = AGT_ENOMEM;
    if (st != AGT_OK) {
        cli_error("cannot verify '%s': %s", sym, err.message[0] ? err.message : agt_status_name(st));
        rc = EXIT_LAKE;
    } else if (s.n) {
        size_t count[P_KINDS] = { 0 };
        print_problems(sym, &s, count);
        if (!ctx->quiet && !repair)
            cli_error("statistics damaged; run 'aggtrades verify %s --repair' to rebuild them", sym);
        rc = EXIT_FAILED;
    }
    free(s.v);
    return rc;
}

/* --repair: clear the leftovers no commit owns (agt_lake_tidy); 0 or an exit status. */
static int tidy(const cli_ctx *ctx, agt_lake *lake, const char *sym, int64_t lo, int64_t hi)
{
    agt_error err;
    agt_error_clear(&err);
    agt_status st = agt_lake_tidy(lake, sym, lo, hi, NULL, &err);
    cli_lake_notices(ctx, lake);
    return st == AGT_OK ? 0 : cli_lake_error(ctx, st, &err);
}

/*
 * --repair: a damaged hour file is never merged with: set aside (its hour
 * recorded as lost), so that the new fetch commits the hour afresh.
 */
static int set_aside_damaged(const cli_ctx *ctx, agt_lake *lake, const char *sym, const vstate *vs)
{
    for (size_t i = 0; i < vs->n; i++) {
        if (vs->v[i].kind != P_DAMAGED || vs->v[i].hour_us < 0) continue;
        agt_error err;
        agt_error_clear(&err);
        agt_status st = agt_lake_quarantine_hour(lake, sym, vs->v[i].hour_us, NULL, 0, &err);
        cli_lake_notices(ctx, lake);
        if (st != AGT_OK) return cli_lake_error(ctx, st, &err);
    }
    return 0;
}

int cmd_verify(int argc, char **argv, cli_ctx *ctx)
{
    const char *start_arg = NULL, *end_arg = NULL, *source_arg = NULL;
    int repair = 0;
    const cli_opt opts[] = {
        { OPT_STRING, "start", &start_arg },
        { OPT_STRING, "end", &end_arg },
        { OPT_FLAG, "repair", &repair },
        { OPT_STRING, "source", &source_arg },
        { OPT_END, NULL, NULL },
    };
    char **pos;
    int npos;
    agt_lake *lake = NULL;
    agt_sync *sync = NULL;
    int64_t *hours = NULL;
    vstate vs;
    memset(&vs, 0, sizeof vs);
    int rc = cli_parse(ctx, argc, argv, opts, usage, &pos, &npos);
    if (rc || ctx->help) goto out;
    if (npos != 1) {
        cli_error(npos == 0 ? "verify needs a symbol (see 'aggtrades verify --help')"
                            : "verify takes one symbol, not %d", npos);
        rc = EXIT_USAGE;
        goto out;
    }
    if (source_arg && !repair) {
        cli_error("--source only applies to --repair (see 'aggtrades verify --help')");
        rc = EXIT_USAGE;
        goto out;
    }
    agt_source_policy policy;
    if (source_arg && (rc = cli_source_policy(source_arg, &policy))) goto out;
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
    /* a missing lake is an error even with --repair (which would create one) */
    if ((rc = cli_lake_open_read(ctx, &lake))) goto out;
    if (repair) {
        agt_lake_close(lake);
        lake = NULL;
        if ((rc = cli_lake_open_write(ctx, &lake))) goto out;
    }
    if ((rc = check_index(ctx, lake, sym, start < 0 ? 0 : start, end < 0 ? INT64_MAX : end, repair)))
        goto out;
    if (repair && (rc = tidy(ctx, lake, sym, start < 0 ? 0 : start, end < 0 ? INT64_MAX : end)))
        goto out;

    /* the default range: what is stored */
    int64_t newest = -1;
    {
        agt_error err;
        agt_error_clear(&err);
        agt_status s = agt_lake_newest(lake, sym, &newest, NULL, NULL, &err);
        if (s == AGT_ENOTFOUND) {
            cli_error("nothing stored for '%s' in '%s'", sym, ctx->lake);
            rc = EXIT_USAGE;
            goto out;
        }
        if (s != AGT_OK) {
            rc = cli_lake_error(ctx, s, &err);
            goto out;
        }
        if (end < 0) end = newest + AGT_US_PER_HOUR - 1;
        if (start < 0) {
            if ((rc = cli_first_stored_hour(ctx, lake, sym, end, &start))) goto out;
            if (start < 0) start = newest;
        }
    }
    start -= start % AGT_US_PER_HOUR;
    if ((rc = check(lake, sym, start, end, &vs))) goto out;
    report(sym, start, end, &vs, ctx->quiet);
    if (vs.n == 0) goto out;
    if (!repair) {
        if (!ctx->quiet)
            cli_error("problems found; run 'aggtrades verify %s --repair' to fetch them again",
                      sym);
        rc = EXIT_FAILED;
        goto out;
    }

    /* repair: set every damaged file aside (its hour then reads as lost), fetch every hour
       with a problem again */
    if ((rc = set_aside_damaged(ctx, lake, sym, &vs))) goto out;
    size_t nh = 0;
    if (!(hours = calloc(vs.n, sizeof *hours))) {
        rc = EXIT_LAKE;
        goto out;
    }
    for (size_t i = 0; i < vs.n; i++)
        if (vs.v[i].hour_us >= 0) hours[nh++] = vs.v[i].hour_us;
    int r;
    if (nh > 0) { /* else nothing to fetch: what the lake could do on its own is done */
        /* the engine takes the lake for the repair, and gives it back */
        agt_lake_close(lake);
        lake = NULL;
        cli_run run;
        if ((rc = cli_sync_open(ctx, source_arg, &run, &sync))) goto out;
        agt_sync_report rep;
        agt_error err;
        agt_error_clear(&err);
        agt_status st = agt_sync_repair_hours(sync, sym, hours, nh, &rep, &err);
        rc = cli_sync_done(&run, st, &err, &rep);
        if (rc && rc != EXIT_FAILED) goto out;
        if ((r = cli_lake_open_write(ctx, &lake))) {
            rc = r;
            goto out;
        }
    }

    /* and look again */
    free(vs.v);
    free(vs.open);
    memset(&vs, 0, sizeof vs);
    r = check(lake, sym, start, end, &vs);
    if (r) {
        rc = r;
        goto out;
    }
    report(sym, start, end, &vs, ctx->quiet);
    if (vs.n) rc = EXIT_FAILED;
out:
    agt_lake_close(lake);
    agt_sync_close(sync);
    free(hours);
    free(vs.v);
    free(vs.open);
    free(pos);
    return rc;
}
