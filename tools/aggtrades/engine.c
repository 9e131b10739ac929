/*
 * engine.c - the download engine shared by download, update, retry and
 * verify --repair: a plan of symbol-hours is fetched hour by hour and every
 * hour committed through the lake as soon as it arrives, so whatever was
 * committed survives an interruption and a second run resumes after it.
 *
 * Order of work:
 *   1. the first hour of every symbol is fetched before anything is
 *      written: an unknown symbol (exchange code -1121) stops the run with
 *      exit 2 and nothing written;
 *   2. then every hour in order: fetch (the client retries), commit with the
 *      facts the fetch learnt (prev_id, complete), or record the unit in
 *      .retry if it still fails; the run carries on;
 *   3. .retry is rewritten: units that succeeded leave it, failures are
 *      added or updated (attempts accumulate).
 * A first Ctrl-C makes the fetch in flight stop at its next response; hours
 * already committed stay, and the user is told how to resume. A failing
 * disk (commit error) ends the run at once with exit 3.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ui/format.h"
#include "ui/progress.h"

static ui_progress *g_ui;

int job_progress_cb(void *user, uint64_t body_bytes, uint64_t trades)
{
    (void)user;
    if (g_ui) ui_progress_bytes(g_ui, body_bytes, trades);
    return cli_stop_requested();
}

int job_add_hour(job_symbol *s, int64_t hour_us, int day_index)
{
    if (s->nhours == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        job_hour *h = realloc(s->hours, cap * sizeof *h);
        if (!h) return -1;
        s->hours = h;
        s->cap = cap;
    }
    s->hours[s->nhours].hour_us = hour_us;
    s->hours[s->nhours].day_index = day_index;
    s->hours[s->nhours].whole_day = 0; /* an hour unless the command marks its day */
    s->nhours++;
    return 0;
}

static int cmp_hour(const void *a, const void *b)
{
    const job_hour *x = a, *y = b;
    return x->hour_us < y->hour_us ? -1 : x->hour_us > y->hour_us;
}

void job_sort_hours(job_symbol *s)
{
    if (s->nhours == 0) return;
    qsort(s->hours, s->nhours, sizeof s->hours[0], cmp_hour);
    size_t k = 1;
    for (size_t i = 1; i < s->nhours; i++)
        if (s->hours[i].hour_us != s->hours[k - 1].hour_us) s->hours[k++] = s->hours[i];
    s->nhours = k;
}

job_symbol *job_plan_symbol(job_plan *p, const char *symbol)
{
    size_t k = 0;
    while (k < p->nsyms && strcmp(p->syms[k].symbol, symbol)) k++;
    if (k == p->nsyms) cli_strlcpy(p->syms[p->nsyms++].symbol, sizeof p->syms[k].symbol, symbol);
    return &p->syms[k];
}

int job_plan_symbols(job_plan *p, char **args, int n)
{
    p->syms = calloc((size_t)n, sizeof *p->syms);
    if (!p->syms) return EXIT_LAKE;
    for (int i = 0; i < n; i++) {
        char sym[24];
        int rc = cli_symbol(args[i], sym);
        if (rc) return rc;
        job_plan_symbol(p, sym);
    }
    return 0;
}

void job_plan_release(job_plan *p)
{
    for (size_t i = 0; i < p->nsyms; i++) free(p->syms[i].hours);
    free(p->syms);
    p->syms = NULL;
    p->nsyms = 0;
}

void job_release(job_plan *plan, agt_lake *lake, agt_client *client)
{
    agt_lake_close(lake);
    job_source_close(plan);
    agt_client_free(client);
    job_plan_release(plan);
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
            if (!(( *c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                  strchr("-_./=:,@+", *c)))
                plain = 0;
        if (plain) k += (size_t)snprintf(out + k, n - k, " %s", a);
        else k += (size_t)snprintf(out + k, n - k, " '%s'", a);
    }
}

/* Per symbol: the days it touches, for "dates done/total". */
typedef struct day_acc {
    int64_t day_us;
    int hours_left;
    int failed;
    uint64_t trades, bytes;
} day_acc;

/* Fetched ahead (step 1). */
typedef struct prefetched {
    int have;
    agt_status status;
    agt_trades rows;
    agt_hour_info info;
    agt_error err;
    uint64_t bytes, trades;
} prefetched;

static void hour_label(const char *sym, int64_t hour_us, char *out, size_t n)
{
    char ts[40];
    fmt_ts(hour_us, 0, 0, ts, sizeof ts);
    ts[16] = 0;
    snprintf(out, n, "%s %s", sym, ts);
}

static int unknown_symbol(agt_status s, const agt_error *err)
{
    return s == AGT_EAPI && err->api_code == -1121;
}

/*
 * Resuming inside an hour (architecture.md §1.2): every page of the hour in
 * flight goes into the lake's stash (the WAL) as it arrives, and an hour is
 * fetched from what its stash kept, so an interrupted hour only fetches
 * what it still lacks. The commit drops the stash.
 *
 * Step 1 runs before a new lake exists, and an unknown symbol must leave
 * nothing written. So with no lake yet the pages are kept only for the last
 * symbol step 1 checks, whose first page proves every symbol known (the
 * earlier ones passed their own check); the lake is opened at that page.
 */
typedef struct hour_stash {
    const cli_ctx *ctx;
    agt_lake **lakep;
    int may_open;   /* open the lake at the first page if it is not open */
    const char *symbol;
    int64_t hour_us;
    int failed;     /* the lake could not keep a page (message in the fetch's error) */
    int lake_rc;    /* then the exit status that ends the run */
} hour_stash;

static agt_status stash_page(void *user, const agt_trades *rows, agt_error *err)
{
    hour_stash *hs = user;
    if (!*hs->lakep && hs->may_open && (hs->lake_rc = cli_lake_open_write(hs->ctx, hs->lakep)) != 0) {
        err->status = AGT_EIO; /* cli_lake_open_write said why */
        snprintf(err->message, sizeof err->message, "cannot open the lake");
        return AGT_EIO;
    }
    if (!*hs->lakep) return AGT_OK;
    agt_status s = agt_lake_stash_put(*hs->lakep, hs->symbol, hs->hour_us, rows, err);
    if (s != AGT_OK && !hs->lake_rc) {
        hs->failed = 1;
        hs->lake_rc = cli_exit_for(s) == EXIT_USAGE ? EXIT_FAILED : EXIT_LAKE;
    }
    return s;
}

/* 1 if no symbol after i has hours: step 1 checks it last. */
static int checked_last(const job_plan *plan, size_t i)
{
    for (size_t k = i + 1; k < plan->nsyms; k++)
        if (plan->syms[k].nhours) return 0;
    return 1;
}

/* The rows the stash kept of the hour (none if it cannot be read). */
static void stash_load(ui_progress *ui, const hour_stash *hs, agt_trades *kept)
{
    agt_error err;
    size_t pages = 0;
    char label[64];
    if (!*hs->lakep) return;
    agt_error_clear(&err);
    hour_label(hs->symbol, hs->hour_us, label, sizeof label);
    if (agt_lake_stash_get(*hs->lakep, hs->symbol, hs->hour_us, kept, &pages, &err) != AGT_OK) {
        agt_trades_clear(kept);
        ui_progress_log(ui, "%s: cannot read the pages kept in the wal (%s); fetching afresh", label,
                        err.message);
    } else if (kept->len > 0) {
        char n[32];
        fmt_count(kept->len, n, sizeof n);
        ui_progress_log(ui, "%s: resuming from %s trades kept in the wal", label, n);
    }
}

/*
 * Fetch one hour through the stash. Resumed rows were downloaded by an
 * earlier run: they reach the display as stored rows when the hour commits,
 * never as received (only responses go through the client's callback).
 * Kept rows the fetch refuses are dropped and the hour fetched afresh. If
 * the lake fails, hs->lake_rc is the exit status, said on stderr.
 */
static agt_status fetch_hour_kept(ui_progress *ui, agt_client *client, hour_stash *hs,
                                  agt_trades *rows, agt_hour_info *info, agt_error *err)
{
    agt_trades kept;
    agt_trades_init(&kept);
    stash_load(ui, hs, &kept);
    agt_status st = agt_fetch_hour_ex(client, hs->symbol, hs->hour_us, &kept, stash_page, hs, rows,
                                      info, err);
    if (st == AGT_EINVAL && kept.len > 0 && !hs->lake_rc) {
        char label[64];
        hour_label(hs->symbol, hs->hour_us, label, sizeof label);
        ui_progress_log(ui, "%s: the pages kept in the wal are unusable (%s); fetching afresh", label,
                        err->message);
        agt_lake_stash_drop(*hs->lakep, hs->symbol, hs->hour_us, NULL);
        agt_error_clear(err);
        memset(info, 0, sizeof *info);
        st = agt_fetch_hour_ex(client, hs->symbol, hs->hour_us, NULL, stash_page, hs, rows, info, err);
    }
    if (hs->failed) {
        char label[64];
        hour_label(hs->symbol, hs->hour_us, label, sizeof label);
        ui_progress_erase(ui);
        cli_error("cannot keep the pages of %s in the wal: %s", label,
                  err->message[0] ? err->message : agt_status_name(st));
    }
    agt_trades_release(&kept);
    return st;
}

/* Step 1's verdict on a symbol the exchange does not list. */
static int refuse_symbol(ui_progress *ui, const char *symbol)
{
    ui_progress_erase(ui);
    cli_error("unknown symbol '%s' (the exchange does not list it)", symbol);
    return EXIT_USAGE;
}

/*
 * Step 1 for a symbol whose first unit is a whole day: one small request
 * (its first trade by id) tells whether the exchange lists it, without
 * fetching with rest an hour the archive will bring. 1 when that decided it
 * (pf->status AGT_OK, or the unknown-symbol error); 0 otherwise, and the day
 * becomes 24 ordinary hours whose first the usual prefetch then tries.
 */
static int probe_symbol(agt_client *client, job_symbol *s, prefetched *pf)
{
    agt_trades t;
    agt_trades_init(&t);
    agt_error_clear(&pf->err);
    pf->status = agt_fetch_from_id(client, s->symbol, 0, 1, &t, &pf->err);
    agt_trades_release(&t);
    if (pf->status == AGT_OK || unknown_symbol(pf->status, &pf->err)) return 1;
    for (size_t k = 0; k < 24 && k < s->nhours; k++) s->hours[k].whole_day = 0;
    return 0;
}

/* What settling an hour needs from the run. */
typedef struct run_ctx {
    const cli_ctx *ctx;
    agt_lake *lake;
    ui_progress *ui;
    retry_list *rl;
    const job_plan *plan;
} run_ctx;

/*
 * The end of one hour, fetched (st == AGT_OK) or not: commit it with the
 * facts its source learnt, or record it in .retry; then the display and the
 * day's count. Returns 0, or the exit status that ends the run (the lake
 * failed).
 */
static int settle_hour(run_ctx *r, size_t i, const char *symbol, int64_t hour, day_acc *day,
                       agt_status st, const agt_trades *rows, const agt_hour_info *info,
                       agt_error *err, const char *source)
{
    ui_progress *ui = r->ui;
    char label[64];
    hour_label(symbol, hour, label, sizeof label);
    if (st != AGT_OK) {
        retry_unit u;
        long prev = retry_find(r->rl, symbol, hour);
        memset(&u, 0, sizeof u);
        cli_strlcpy(u.symbol, sizeof u.symbol, symbol);
        u.hour_us = hour;
        cli_strlcpy(u.error, sizeof u.error, err->message[0] ? err->message : agt_status_name(st));
        u.attempts = (err->attempts > 0 ? err->attempts : info->requests > 0 ? info->requests : 1) +
                     (prev >= 0 ? r->rl->v[prev].attempts : 0);
        u.time_us = cli_wall_us();
        retry_put(r->rl, &u);
        ui_progress_log(ui, "%s %s failed: %s (recorded in .retry)", r->plan->verb, label, u.error);
        day->failed++;
        ui_progress_hour_done(ui, i, 0, 0, 0, 0);
    } else {
        agt_hour_meta meta;
        agt_commit_result res;
        memset(&meta, 0, sizeof meta);
        memset(&res, 0, sizeof res);
        meta.prev_id = info->prev_id;
        meta.complete = info->complete;
        meta.source = source;
        meta.fetched_at_us = info->server_time_us;
        agt_error_clear(err);
        st = agt_lake_commit_hour(r->lake, symbol, hour, rows, &meta, &res, err);
        if (st != AGT_OK) {
            ui_progress_erase(ui);
            cli_error("cannot commit %s: %s", label,
                      err->message[0] ? err->message : agt_status_name(st));
            return cli_exit_for(st) == EXIT_USAGE ? EXIT_FAILED : EXIT_LAKE;
        }
        day->trades += rows->len;
        retry_drop(r->rl, symbol, hour);
        ui_progress_hour_done(ui, i, 1, rows->len, res.inserted, res.updated);
        uint64_t lb = 0;
        if (agt_lake_disk_bytes(r->lake, &lb, NULL) == AGT_OK) ui_progress_lake_bytes(ui, lb);
    }
    if (--day->hours_left == 0)
        ui_progress_day_done(ui, i, day->day_us, day->trades, day->bytes, day->failed);
    return 0;
}

/* Say why a whole-day unit did not come wholly from the archive, if it did not. */
static void day_note(run_ctx *r, const char *symbol, const agt_day_result *res)
{
    char date[16];
    cli_date_str(res->day_start_us, date);
    if (res->archive_tried && res->archive_status != AGT_OK)
        ui_progress_log(r->ui, "%s %s %s: archive not used (%s)%s", r->plan->verb, symbol, date,
                        res->archive_message,
                        r->plan->policy == AGT_SOURCE_AUTO ? "; fetched with rest" : "");
    else if (res->archive_tried && res->rest_hours > 0)
        ui_progress_log(r->ui, "%s %s %s: %s; %d hour%s fetched with rest", r->plan->verb, symbol,
                        date, res->archive_message, res->rest_hours, res->rest_hours == 1 ? "" : "s");
    else if (res->archive_tried && res->unproven_hours > 0)
        ui_progress_log(r->ui, "%s %s %s: %s; %d hour%s stored incomplete", r->plan->verb, symbol,
                        date, res->archive_message, res->unproven_hours,
                        res->unproven_hours == 1 ? "" : "s");
}

/*
 * The 24 hours of a whole-day unit, s->hours[h .. h+23]: fetched at once
 * through the plan's day source (the archive, proved with rest), then
 * settled hour by hour like any other. Returns 0 or the exit status that
 * ends the run; *interrupted after Ctrl-C (hours fetched before it are kept).
 */
static int run_day(run_ctx *r, size_t i, const job_symbol *s, size_t h, day_acc *day,
                   int *interrupted)
{
    ui_progress *ui = r->ui;
    agt_day_result res;
    agt_error err;
    int fatal = 0;
    uint64_t b0 = ui->syms[i].bytes;
    ui_progress_begin_hour(ui, i, s->hours[h].hour_us);
    agt_day_result_init(&res);
    agt_error_clear(&err);
    agt_status st = agt_source_fetch_day(r->plan->day_source, s->symbol, day->day_us,
                                         r->plan->policy, &res, &err);
    uint64_t archived = 0; /* rest trades reach the display through the client's callback */
    for (int k = 0; k < 24; k++)
        if (res.hour[k].status == AGT_OK && !strcmp(res.hour[k].source, "archive"))
            archived += res.hour[k].rows.len;
    ui_progress_bytes(ui, 0, archived);
    day->bytes += ui->syms[i].bytes - b0;
    if (st == AGT_ECANCELLED && cli_stop_requested()) *interrupted = 1;
    else if (st != AGT_OK) /* out of memory or bad input: every hour fails with it */
        for (int k = 0; k < 24; k++) {
            res.hour[k].status = st;
            res.hour[k].err = err;
        }
    else day_note(r, s->symbol, &res);
    for (int k = 0; k < 24 && !fatal; k++) {
        agt_day_hour *dh = &res.hour[k];
        if (*interrupted && dh->status == AGT_ECANCELLED) continue;
        ui_progress_begin_hour(ui, i, s->hours[h + (size_t)k].hour_us);
        fatal = settle_hour(r, i, s->symbol, s->hours[h + (size_t)k].hour_us, day, dh->status,
                            &dh->rows, &dh->info, &dh->err, dh->source);
    }
    agt_day_result_release(&res);
    return fatal;
}

int job_run(const cli_ctx *ctx, agt_lake **lakep, agt_client *client, job_plan *plan)
{
    retry_list rl;
    ui_progress ui;
    int rc = EXIT_DONE, interrupted = 0, fatal = 0;
    int retry_loaded = 0;
    size_t ns = plan->nsyms;
    day_acc **days = calloc(ns ? ns : 1, sizeof *days);
    int *ndays = calloc(ns ? ns : 1, sizeof *ndays);
    prefetched *pre = calloc(ns ? ns : 1, sizeof *pre);
    memset(&rl, 0, sizeof rl);
    if (!days || !ndays || !pre ||
        ui_progress_init(&ui, ui_mode_for(ctx->quiet, ctx->no_progress), cli_color(ctx, 2),
                         plan->verb, ns) != 0) {
        free(days);
        free(ndays);
        free(pre);
        cli_error("out of memory");
        return EXIT_LAKE;
    }

    /* the days each symbol's hours fall on */
    uint64_t total_units = 0;
    int total_days = 0, skipped_days = 0;
    for (size_t i = 0; i < ns; i++) {
        job_symbol *s = &plan->syms[i];
        days[i] = calloc(s->nhours ? s->nhours : 1, sizeof **days);
        if (!days[i]) {
            cli_error("out of memory");
            rc = EXIT_LAKE;
            goto out;
        }
        for (size_t h = 0; h < s->nhours; h++) {
            int64_t d = s->hours[h].hour_us - s->hours[h].hour_us % AGT_US_PER_DAY;
            if (ndays[i] == 0 || days[i][ndays[i] - 1].day_us != d) days[i][ndays[i]++].day_us = d;
            days[i][ndays[i] - 1].hours_left++;
            s->hours[h].day_index = ndays[i] - 1;
        }
        ui_progress_symbol(&ui, i, s->symbol, s->nhours, ndays[i] + s->days_skipped,
                           s->days_skipped);
        total_units += s->nhours;
        total_days += ndays[i] + s->days_skipped;
        skipped_days += s->days_skipped;
        agt_trades_init(&pre[i].rows);
    }
    g_ui = &ui;

    /* 1. one hour of every symbol before anything is written */
    for (size_t i = 0; i < ns && !interrupted; i++) {
        job_symbol *s = &plan->syms[i];
        if (s->nhours == 0) continue;
        if (cli_stop_requested()) {
            interrupted = 1;
            break;
        }
        prefetched *pf = &pre[i];
        if (s->hours[0].whole_day && plan->day_source && probe_symbol(client, s, pf)) {
            if (pf->status == AGT_OK) continue;
            rc = refuse_symbol(&ui, s->symbol);
            goto out;
        }
        uint64_t b0 = ui.syms[i].bytes, t0 = ui.syms[i].trades;
        ui_progress_begin_hour(&ui, i, s->hours[0].hour_us);
        agt_error_clear(&pf->err);
        memset(&pf->info, 0, sizeof pf->info);
        hour_stash hs = {ctx, lakep, checked_last(plan, i), s->symbol, s->hours[0].hour_us, 0, 0};
        pf->status = fetch_hour_kept(&ui, client, &hs, &pf->rows, &pf->info, &pf->err);
        if (hs.lake_rc) {
            rc = hs.lake_rc;
            goto out;
        }
        pf->have = 1;
        pf->bytes = ui.syms[i].bytes - b0;
        pf->trades = ui.syms[i].trades - t0;
        if (pf->status == AGT_ECANCELLED && cli_stop_requested()) {
            interrupted = 1;
            break;
        }
        if (unknown_symbol(pf->status, &pf->err)) {
            rc = refuse_symbol(&ui, s->symbol);
            goto out;
        }
    }
    if (interrupted) goto finish;
    if (ui.mode == UI_LOG) {
        char a[32];
        fmt_count(total_units, a, sizeof a);
        ui_progress_log(&ui, "%s: %zu symbol%s, %s hour%s to fetch, %d/%d dates already complete",
                        plan->verb, ns, ns == 1 ? "" : "s", a, total_units == 1 ? "" : "s",
                        skipped_days, total_days);
    }


    if (!*lakep) {
        int r = cli_lake_open_write(ctx, lakep);
        if (r) {
            rc = r;
            goto out;
        }
    }
    {
        int r = retry_load(ctx, &rl);
        if (r) {
            rc = r;
            goto out;
        }
        retry_loaded = 1;
    }
    {
        uint64_t lb = 0;
        if (agt_lake_disk_bytes(*lakep, &lb, NULL) == AGT_OK) ui_progress_lake_bytes(&ui, lb);
    }

    /* 2. every hour, in order; whole-day units through the day source */
    run_ctx run = { ctx, *lakep, &ui, &rl, plan };
    for (size_t i = 0; i < ns && !interrupted && !fatal; i++) {
        job_symbol *s = &plan->syms[i];
        ui_progress_begin_symbol(&ui, i);
        for (size_t h = 0; h < s->nhours; h++) {
            int64_t hour = s->hours[h].hour_us;
            day_acc *day = &days[i][s->hours[h].day_index];
            agt_trades rows;
            agt_hour_info info;
            agt_error err;
            agt_status st;
            uint64_t b0 = ui.syms[i].bytes, t0 = ui.syms[i].trades;

            if (cli_stop_requested()) {
                interrupted = 1;
                break;
            }
            if (s->hours[h].whole_day && plan->day_source) {
                fatal = run_day(&run, i, s, h, day, &interrupted);
                if (fatal || interrupted) break;
                h += 23;
                continue;
            }
            ui_progress_begin_hour(&ui, i, hour);
            agt_trades_init(&rows);
            agt_error_clear(&err);
            memset(&info, 0, sizeof info);
            if (h == 0 && pre[i].have) {
                st = pre[i].status;
                rows = pre[i].rows;
                agt_trades_init(&pre[i].rows);
                info = pre[i].info;
                err = pre[i].err;
                pre[i].have = 0;
                b0 -= pre[i].bytes;
                t0 -= pre[i].trades;
            } else {
                hour_stash hs = {ctx, lakep, 0, s->symbol, hour, 0, 0};
                st = fetch_hour_kept(&ui, client, &hs, &rows, &info, &err);
                if (hs.lake_rc) {
                    agt_trades_release(&rows);
                    fatal = hs.lake_rc;
                    break;
                }
            }
            day->bytes += ui.syms[i].bytes - b0;

            if (st == AGT_ECANCELLED && cli_stop_requested()) {
                agt_trades_release(&rows);
                interrupted = 1;
                break;
            }
            fatal = settle_hour(&run, i, s->symbol, hour, day, st, &rows, &info, &err, "rest");
            agt_trades_release(&rows);
            if (fatal) break;
        }
        ui_progress_end_symbol(&ui, i);
    }

finish:
    g_ui = NULL;
    ui_progress_finish(&ui, interrupted);
    if (retry_loaded) {
        int r = retry_save(ctx, &rl);
        if (r && !fatal) fatal = r;
    }
    if (fatal) {
        rc = fatal;
    } else if (interrupted) {
        char cmd[1024];
        cli_cmdline(ctx, cmd, sizeof cmd);
        cli_error("interrupted; committed hours are kept, run '%s' again to resume", cmd);
        rc = EXIT_INTERRUPTED;
    } else if (ui.units_failed) {
        char a[32];
        fmt_count(ui.units_failed, a, sizeof a);
        cli_error("%s hour%s failed and %s recorded in '%s/.retry'; run 'aggtrades retry' later",
                  a, ui.units_failed == 1 ? "" : "s", ui.units_failed == 1 ? "is" : "are",
                  ctx->root);
        rc = EXIT_FAILED;
    }
out:
    g_ui = NULL;
    for (size_t i = 0; i < ns; i++) {
        free(days[i]);
        agt_trades_release(&pre[i].rows);
    }
    free(days);
    free(ndays);
    free(pre);
    retry_list_release(&rl);
    ui_progress_release(&ui);
    return rc;
}
