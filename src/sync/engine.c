/*
 * engine.c - running a plan (download, update, retry, repair): symbol-hours
 * are fetched hour by hour and every hour committed through the lake as soon
 * as it arrives, so whatever was committed survives an interruption and a
 * second run resumes after it.
 *
 * Order of work:
 *   1. the first hour of every symbol is fetched before anything is
 *      written: an unknown symbol (exchange code -1121) stops the run with
 *      AGT_EINVAL and nothing written;
 *   2. then every hour in order: fetch (the client retries), commit with the
 *      facts the fetch learnt (prev_id, complete), or record the unit in
 *      .retry if it still fails; the run carries on;
 *   3. .retry is rewritten: units that succeeded leave it, failures are
 *      added or updated (attempts accumulate).
 * A stop asked by the event callback makes the fetch in flight stop at its
 * next response; hours already committed stay. A failing disk (commit
 * error) ends the run at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sync/sync_int.h"

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
    uint64_t bytes;
} prefetched;

/* One run of a plan. */
typedef struct run_ctx {
    agt_sync *s;
    agt_client *client;
    agt_lake **lakep;
    job_plan *plan;
    agt_sync_report *rep;
    agt_error *err;      /* the run's outcome */
    retry_list rl;
    int retry_loaded;
    int interrupted;
    day_acc **days;      /* per symbol */
    prefetched *pre;     /* per symbol */
    job_months *months;  /* the days of a monthly file not yet run */
} run_ctx;

/* "BTCUSDT 2024-03-01 05:00" */
static void hour_label(const char *sym, int64_t hour_us, char *out, size_t n)
{
    agt_tm tm;
    agt_tm_from_us(hour_us, &tm);
    snprintf(out, n, "%s %04d-%02d-%02d %02d:%02d", sym, tm.year % 10000, tm.month, tm.day,
             tm.hour, tm.minute);
}

static int unknown_symbol(agt_status s, const agt_error *err)
{
    return s == AGT_EAPI && err->api_code == -1121;
}

/* A lake failure as the run reports it: a refusal of the data (AGT_EINVAL)
 * is the unit's failure, not bad input from the caller. */
static agt_status lake_failure(agt_status st)
{
    return st == AGT_EINVAL ? AGT_EINCOMPLETE : st;
}

static void emit_symbol(run_ctx *r, agt_sync_event_kind kind, size_t i)
{
    agt_sync_event ev;
    sync_event_init(&ev, kind);
    ev.index = i;
    ev.symbol = r->plan->syms[i].symbol;
    sync_emit(r->s, &ev);
}

static int emit_hour_begin(run_ctx *r, size_t i, int64_t hour_us)
{
    agt_sync_event ev;
    sync_event_init(&ev, AGT_SYNC_HOUR_BEGIN);
    ev.index = i;
    ev.symbol = r->plan->syms[i].symbol;
    ev.hour_us = hour_us;
    return sync_emit(r->s, &ev);
}

/*
 * Resuming inside an hour (docs/architecture.md, "Resuming"): every page of
 * the hour in flight goes into the lake's stash (the WAL) as it arrives, and
 * an hour is fetched from what its stash kept, so an interrupted hour only
 * fetches what it still lacks. The commit drops the stash.
 *
 * Step 1 runs before a new lake exists, and an unknown symbol must leave
 * nothing written. So with no lake yet the pages are kept only for the last
 * symbol step 1 checks, whose first page proves every symbol known (the
 * earlier ones passed their own check); the lake is opened at that page.
 */
typedef struct hour_stash {
    run_ctx *r;
    int may_open;   /* open the lake at the first page if it is not open */
    const char *symbol;
    int64_t hour_us;
    agt_status lake_st; /* the lake failed: the status that ends the run (message in r->err) */
} hour_stash;

static agt_status stash_page(void *user, const agt_trades *rows, agt_error *err)
{
    hour_stash *hs = user;
    agt_lake **lakep = hs->r->lakep;
    if (!*lakep && hs->may_open) {
        agt_status st = sync_lake_open(hs->r->s, lakep, hs->r->err);
        if (st != AGT_OK) {
            hs->lake_st = st;
            return agt_err(err, AGT_EIO, "cannot open the lake");
        }
    }
    if (!*lakep) return AGT_OK;
    agt_status s = agt_lake_stash_put(*lakep, hs->symbol, hs->hour_us, rows, err);
    if (s != AGT_OK && !hs->lake_st) {
        char label[64];
        hour_label(hs->symbol, hs->hour_us, label, sizeof label);
        hs->lake_st = agt_err(hs->r->err, lake_failure(s), "cannot keep the pages of %s in the wal: %s",
                              label, err && err->message[0] ? err->message : agt_status_name(s));
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
static void stash_load(const hour_stash *hs, agt_trades *kept)
{
    agt_error err;
    size_t pages = 0;
    char label[64];
    agt_lake *lake = *hs->r->lakep;
    if (!lake) return;
    agt_error_clear(&err);
    hour_label(hs->symbol, hs->hour_us, label, sizeof label);
    if (agt_lake_stash_get(lake, hs->symbol, hs->hour_us, kept, &pages, &err) != AGT_OK) {
        agt_trades_clear(kept);
        sync_log(hs->r->s, AGT_SYNC_LOG, "%s: cannot read the pages kept in the wal (%s); fetching afresh",
                 label, err.message);
    } else if (kept->len > 0) {
        char n[32];
        agt_format_count(kept->len, n, sizeof n);
        sync_log(hs->r->s, AGT_SYNC_LOG, "%s: resuming from %s trades kept in the wal", label, n);
    }
}

/*
 * Fetch one hour through the stash. Resumed rows were downloaded by an
 * earlier run: they count as stored rows when the hour commits, never as
 * received (only responses go through the client's callback). Kept rows the
 * fetch refuses are dropped and the hour fetched afresh. If the lake fails,
 * hs->lake_st is set (message in the run's error).
 */
static agt_status fetch_hour_kept(hour_stash *hs, agt_trades *rows, agt_hour_info *info,
                                  agt_error *err)
{
    agt_client *client = hs->r->client;
    agt_trades kept;
    agt_trades_init(&kept);
    stash_load(hs, &kept);
    agt_status st = agt_fetch_hour_ex(client, hs->symbol, hs->hour_us, &kept, stash_page, hs, rows,
                                      info, err);
    if (st == AGT_EINVAL && kept.len > 0 && !hs->lake_st) {
        char label[64];
        hour_label(hs->symbol, hs->hour_us, label, sizeof label);
        sync_log(hs->r->s, AGT_SYNC_LOG, "%s: the pages kept in the wal are unusable (%s); fetching afresh",
                 label, err->message);
        agt_lake_stash_drop(*hs->r->lakep, hs->symbol, hs->hour_us, NULL);
        agt_error_clear(err);
        memset(info, 0, sizeof *info);
        st = agt_fetch_hour_ex(client, hs->symbol, hs->hour_us, NULL, stash_page, hs, rows, info, err);
    }
    agt_trades_release(&kept);
    return st;
}

/* Step 1's verdict on a symbol the exchange does not list (the exchange's
 * code stays in the error: the caller can tell it from a bad argument). */
static agt_status refuse_symbol(run_ctx *r, const char *symbol)
{
    agt_err(r->err, AGT_EINVAL, "unknown symbol '%s' (the exchange does not list it)", symbol);
    if (r->err) r->err->api_code = -1121;
    return AGT_EINVAL;
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

static int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * AGT_US_PER_SEC + ts.tv_nsec / 1000;
}

/* A unit that failed after its attempts goes to the ledger (attempts accumulate). */
static void record_failure(run_ctx *r, size_t i, const char *symbol, int64_t hour, day_acc *day,
                           agt_status st, const agt_hour_info *info, const agt_error *err)
{
    retry_unit u;
    char label[64];
    long prev = retry_find(&r->rl, symbol, hour);
    hour_label(symbol, hour, label, sizeof label);
    memset(&u, 0, sizeof u);
    agt_strlcpy(u.symbol, sizeof u.symbol, symbol);
    u.hour_us = hour;
    agt_strlcpy(u.error, sizeof u.error, err->message[0] ? err->message : agt_status_name(st));
    u.attempts = (err->attempts > 0 ? err->attempts : info->requests > 0 ? info->requests : 1) +
                 (prev >= 0 ? r->rl.v[prev].attempts : 0);
    u.time_us = wall_us();
    retry_put(&r->rl, &u);
    sync_log(r->s, AGT_SYNC_LOG, "%s %s failed: %s (recorded in .retry)", r->plan->verb, label, u.error);
    day->failed++;
    r->rep->units_failed++;
    agt_sync_event ev;
    sync_event_init(&ev, AGT_SYNC_HOUR_DONE);
    ev.index = i;
    ev.symbol = symbol;
    ev.hour_us = hour;
    ev.message = u.error;
    sync_emit(r->s, &ev);
}

/* Commit a fetched hour with the facts its source learnt. */
static agt_status commit_hour(run_ctx *r, size_t i, const char *symbol, int64_t hour, day_acc *day,
                              const agt_trades *rows, const agt_hour_info *info, const char *source)
{
    agt_hour_meta meta;
    agt_commit_result res;
    agt_error e;
    memset(&meta, 0, sizeof meta);
    memset(&res, 0, sizeof res);
    meta.prev_id = info->prev_id;
    meta.complete = info->complete;
    meta.source = source;
    meta.fetched_at_us = info->server_time_us;
    agt_error_clear(&e);
    agt_status st = agt_lake_commit_hour(*r->lakep, symbol, hour, rows, &meta, &res, &e);
    sync_lake_notices(r->s, *r->lakep); /* e.g. a damaged file set aside before the commit */
    if (st != AGT_OK) {
        char label[64];
        hour_label(symbol, hour, label, sizeof label);
        return agt_err(r->err, lake_failure(st), "cannot commit %s: %s", label,
                       e.message[0] ? e.message : agt_status_name(st));
    }
    day->trades += rows->len;
    retry_drop(&r->rl, symbol, hour);
    r->rep->units_done++;
    r->rep->trades += rows->len;
    r->rep->inserted += res.inserted;
    r->rep->updated += res.updated;
    agt_sync_event ev;
    sync_event_init(&ev, AGT_SYNC_HOUR_DONE);
    ev.index = i;
    ev.symbol = symbol;
    ev.hour_us = hour;
    ev.ok = 1;
    ev.rows = rows->len;
    ev.inserted = res.inserted;
    ev.updated = res.updated;
    sync_emit(r->s, &ev);
    uint64_t lb = 0;
    if (agt_lake_disk_bytes(*r->lakep, &lb, NULL) == AGT_OK) {
        sync_event_init(&ev, AGT_SYNC_LAKE_BYTES);
        ev.bytes = lb;
        sync_emit(r->s, &ev);
    }
    return AGT_OK;
}

/*
 * The end of one hour, fetched (st == AGT_OK) or not: commit it, or record
 * it in .retry; then the day's count. Returns AGT_OK, or the status that
 * ends the run (the lake failed; message in r->err).
 */
static agt_status settle_hour(run_ctx *r, size_t i, const char *symbol, int64_t hour, day_acc *day,
                              agt_status st, const agt_trades *rows, const agt_hour_info *info,
                              agt_error *err, const char *source)
{
    if (st != AGT_OK) {
        record_failure(r, i, symbol, hour, day, st, info, err);
    } else {
        agt_status c = commit_hour(r, i, symbol, hour, day, rows, info, source);
        if (c != AGT_OK) return c;
    }
    if (--day->hours_left == 0) {
        agt_sync_event ev;
        sync_event_init(&ev, AGT_SYNC_DAY_DONE);
        ev.index = i;
        ev.symbol = symbol;
        ev.day_us = day->day_us;
        ev.trades = day->trades;
        ev.bytes = day->bytes;
        ev.failed_hours = day->failed;
        sync_emit(r->s, &ev);
    }
    return AGT_OK;
}

/* Say why a whole-day unit did not come wholly from the archive, if it did not. */
static void day_note(run_ctx *r, const char *symbol, const agt_day_result *res)
{
    char date[16];
    agt_tm tm;
    const char *verb = r->plan->verb;
    agt_tm_from_us(res->day_start_us, &tm);
    snprintf(date, sizeof date, "%04d-%02d-%02d", tm.year % 10000, tm.month, tm.day);
    if (res->archive_tried && res->archive_status != AGT_OK)
        sync_log(r->s, AGT_SYNC_LOG, "%s %s %s: archive not used (%s)%s", verb, symbol, date,
                 res->archive_message, r->plan->policy == AGT_SOURCE_AUTO ? "; fetched with rest" : "");
    else if (res->archive_tried && res->rest_hours > 0)
        sync_log(r->s, AGT_SYNC_LOG, "%s %s %s: %s; %d hour%s fetched with rest", verb, symbol, date,
                 res->archive_message, res->rest_hours, res->rest_hours == 1 ? "" : "s");
    else if (res->archive_tried && res->unproven_hours > 0)
        sync_log(r->s, AGT_SYNC_LOG, "%s %s %s: %s; %d hour%s stored incomplete", verb, symbol, date,
                 res->archive_message, res->unproven_hours, res->unproven_hours == 1 ? "" : "s");
}

/*
 * The 24 hours of a whole-day unit, s->hours[h .. h+23]: fetched at once
 * through the plan's day source (the archive, proved with rest), then
 * settled hour by hour like any other. Returns AGT_OK or the status that
 * ends the run; r->interrupted after a stop (hours fetched before it are kept).
 */
static agt_status run_day(run_ctx *r, size_t i, const job_symbol *s, size_t h, day_acc *day)
{
    agt_day_result res;
    agt_error err;
    agt_status fatal = AGT_OK;
    uint64_t b0 = r->rep->bytes;
    emit_hour_begin(r, i, s->hours[h].hour_us);
    agt_day_result_init(&res);
    agt_error_clear(&err);
    agt_status st = job_fetch_day(&r->months, r->plan, s, day->day_us, &res, &err);
    agt_sync_event ev; /* rest trades reach the display through the client's callback */
    sync_event_init(&ev, AGT_SYNC_RECEIVED);
    for (int k = 0; k < 24; k++)
        if (res.hour[k].status == AGT_OK && !strcmp(res.hour[k].source, "archive"))
            ev.trades += res.hour[k].rows.len;
    sync_emit(r->s, &ev);
    day->bytes += r->rep->bytes - b0;
    if (st == AGT_ECANCELLED && r->s->stopped) r->interrupted = 1;
    else if (st != AGT_OK) /* out of memory or bad input: every hour fails with it */
        for (int k = 0; k < 24; k++) {
            res.hour[k].status = st;
            res.hour[k].err = err;
        }
    else day_note(r, s->symbol, &res);
    for (int k = 0; k < 24 && fatal == AGT_OK; k++) {
        agt_day_hour *dh = &res.hour[k];
        if (r->interrupted && dh->status == AGT_ECANCELLED) continue;
        int64_t hour = s->hours[h + (size_t)k].hour_us;
        emit_hour_begin(r, i, hour);
        if (job_unproven(dh->status, hour, &dh->info)) {
            /* what the archive and rest could not prove between them fails
             * (--source archive stores the file's rows first, as documented) */
            if (r->plan->policy == AGT_SOURCE_ARCHIVE)
                fatal = commit_hour(r, i, s->symbol, hour, day, &dh->rows, &dh->info, dh->source);
            dh->status = agt_err(&dh->err, AGT_EINCOMPLETE, "not proven complete: %.200s",
                                 res.archive_message[0] ? res.archive_message
                                                        : "rest does not prove it");
        }
        if (fatal == AGT_OK)
            fatal = settle_hour(r, i, s->symbol, hour, day, dh->status, &dh->rows, &dh->info,
                                &dh->err, dh->source);
    }
    agt_day_result_release(&res);
    return fatal;
}

/* The days each symbol's hours fall on, and the plan told to the caller. */
static agt_status plan_days(run_ctx *r)
{
    job_plan *plan = r->plan;
    agt_sync_event ev;
    sync_event_init(&ev, AGT_SYNC_START);
    ev.nsyms = plan->nsyms;
    sync_emit(r->s, &ev);
    for (size_t i = 0; i < plan->nsyms; i++) {
        job_symbol *s = &plan->syms[i];
        int nd = 0;
        r->days[i] = calloc(s->nhours ? s->nhours : 1, sizeof **r->days);
        if (!r->days[i]) return agt_err(r->err, AGT_ENOMEM, "out of memory");
        for (size_t h = 0; h < s->nhours; h++) {
            int64_t d = s->hours[h].hour_us - s->hours[h].hour_us % AGT_US_PER_DAY;
            if (nd == 0 || r->days[i][nd - 1].day_us != d) r->days[i][nd++].day_us = d;
            r->days[i][nd - 1].hours_left++;
            s->hours[h].day_index = nd - 1;
        }
        sync_event_init(&ev, AGT_SYNC_SYMBOL);
        ev.index = i;
        ev.nsyms = plan->nsyms;
        ev.symbol = s->symbol;
        ev.units = s->nhours;
        ev.days_total = nd + s->days_skipped;
        ev.days_skipped = s->days_skipped;
        sync_emit(r->s, &ev);
        r->rep->units_total += s->nhours;
        r->rep->days_total += nd + s->days_skipped;
        r->rep->days_skipped += s->days_skipped;
        agt_trades_init(&r->pre[i].rows);
    }
    return AGT_OK;
}

/* Step 1: one hour of every symbol before anything is written. */
static agt_status prefetch(run_ctx *r)
{
    job_plan *plan = r->plan;
    for (size_t i = 0; i < plan->nsyms; i++) {
        job_symbol *s = &plan->syms[i];
        prefetched *pf = &r->pre[i];
        if (s->nhours == 0) continue;
        if (s->hours[0].whole_day && plan->day_source && probe_symbol(r->client, s, pf)) {
            if (pf->status == AGT_OK) continue;
            return refuse_symbol(r, s->symbol);
        }
        uint64_t b0 = r->rep->bytes;
        if (emit_hour_begin(r, i, s->hours[0].hour_us)) {
            r->interrupted = 1;
            return AGT_OK;
        }
        agt_error_clear(&pf->err);
        memset(&pf->info, 0, sizeof pf->info);
        hour_stash hs = { r, checked_last(plan, i), s->symbol, s->hours[0].hour_us, AGT_OK };
        pf->status = fetch_hour_kept(&hs, &pf->rows, &pf->info, &pf->err);
        if (hs.lake_st) return hs.lake_st;
        pf->have = 1;
        pf->bytes = r->rep->bytes - b0;
        if (pf->status == AGT_ECANCELLED && r->s->stopped) {
            r->interrupted = 1;
            return AGT_OK;
        }
        if (unknown_symbol(pf->status, &pf->err)) return refuse_symbol(r, s->symbol);
    }
    return AGT_OK;
}

/* Open the lake (if step 1 did not), load the ledger, tell the lake's size. */
static agt_status begin_writing(run_ctx *r)
{
    if (!*r->lakep) AGT_TRY(sync_lake_open(r->s, r->lakep, r->err));
    AGT_TRY(retry_load(r->s, *r->lakep, &r->rl, r->err));
    r->retry_loaded = 1;
    uint64_t lb = 0;
    if (agt_lake_disk_bytes(*r->lakep, &lb, NULL) == AGT_OK) {
        agt_sync_event ev;
        sync_event_init(&ev, AGT_SYNC_LAKE_BYTES);
        ev.bytes = lb;
        sync_emit(r->s, &ev);
    }
    return AGT_OK;
}

/* One hour of symbol i fetched with rest (or taken from step 1) and settled. */
static agt_status run_hour(run_ctx *r, size_t i, size_t h)
{
    job_symbol *s = &r->plan->syms[i];
    int64_t hour = s->hours[h].hour_us;
    day_acc *day = &r->days[i][s->hours[h].day_index];
    prefetched *pf = &r->pre[i];
    agt_trades rows;
    agt_hour_info info;
    agt_error err;
    agt_status st;
    uint64_t b0 = r->rep->bytes;
    agt_trades_init(&rows);
    agt_error_clear(&err);
    memset(&info, 0, sizeof info);
    if (h == 0 && pf->have) {
        st = pf->status;
        rows = pf->rows;
        agt_trades_init(&pf->rows);
        info = pf->info;
        err = pf->err;
        pf->have = 0;
        b0 -= pf->bytes;
    } else {
        hour_stash hs = { r, 0, s->symbol, hour, AGT_OK };
        st = fetch_hour_kept(&hs, &rows, &info, &err);
        if (hs.lake_st) {
            agt_trades_release(&rows);
            return hs.lake_st;
        }
    }
    day->bytes += r->rep->bytes - b0;
    const char *source = "rest";
    if (job_unproven(st, hour, &info)) {
        agt_error_clear(&err);
        st = job_fill_unproven(r->plan, s->symbol, hour, info.server_time_us, &rows, &info, &source,
                               &err);
        if (st == AGT_ECANCELLED || st == AGT_ENOMEM) {
            agt_trades_release(&rows);
            if (st == AGT_ECANCELLED && r->s->stopped) {
                r->interrupted = 1;
                return AGT_OK;
            }
            return agt_err(r->err, st, "%s", err.message);
        }
    }
    agt_status fatal = AGT_OK;
    if (st == AGT_ECANCELLED && r->s->stopped) r->interrupted = 1;
    else fatal = settle_hour(r, i, s->symbol, hour, day, st, &rows, &info, &err, source);
    agt_trades_release(&rows);
    return fatal;
}

/* Step 2: every hour, in order; whole-day units through the day source. */
static agt_status run_all(run_ctx *r)
{
    job_plan *plan = r->plan;
    agt_status fatal = AGT_OK;
    for (size_t i = 0; i < plan->nsyms && !r->interrupted && fatal == AGT_OK; i++) {
        job_symbol *s = &plan->syms[i];
        emit_symbol(r, AGT_SYNC_SYMBOL_BEGIN, i);
        for (size_t h = 0; h < s->nhours && fatal == AGT_OK; h++) {
            if (r->s->stopped) {
                r->interrupted = 1;
                break;
            }
            if (s->hours[h].whole_day && plan->day_source) {
                fatal = run_day(r, i, s, h, &r->days[i][s->hours[h].day_index]);
                h += 23;
            } else if (emit_hour_begin(r, i, s->hours[h].hour_us)) {
                r->interrupted = 1;
            } else {
                fatal = run_hour(r, i, h);
            }
            if (r->interrupted) break;
        }
        emit_symbol(r, AGT_SYNC_SYMBOL_END, i);
    }
    return fatal;
}

/* Step 3 and the run's verdict. */
static agt_status finish(run_ctx *r, agt_status fatal)
{
    agt_sync_event ev;
    sync_event_init(&ev, AGT_SYNC_FINISH);
    ev.interrupted = r->interrupted;
    sync_emit(r->s, &ev);
    if (r->retry_loaded) {
        agt_error e;
        agt_error_clear(&e);
        agt_status st = retry_save(*r->lakep, &r->rl, &e);
        if (st != AGT_OK && fatal == AGT_OK) fatal = agt_err(r->err, st, "%s", e.message);
    }
    r->rep->interrupted = r->interrupted;
    if (fatal != AGT_OK) return fatal;
    if (r->interrupted)
        return agt_err(r->err, AGT_ECANCELLED, "interrupted; committed hours are kept");
    if (r->rep->units_failed) {
        char a[32];
        uint64_t n = r->rep->units_failed;
        agt_format_count(n, a, sizeof a);
        return agt_err(r->err, AGT_EINCOMPLETE,
                       "%s hour%s failed and %s recorded in '%s/.retry'; run 'aggtrades retry' later",
                       a, n == 1 ? "" : "s", n == 1 ? "is" : "are", r->s->root);
    }
    return AGT_OK;
}

agt_status job_run(agt_sync *s, agt_lake **lakep, job_plan *plan, agt_sync_report *rep,
                   agt_error *err)
{
    run_ctx r;
    size_t ns = plan->nsyms;
    memset(&r, 0, sizeof r);
    r.s = s;
    r.lakep = lakep;
    r.plan = plan;
    r.rep = rep;
    r.err = err;
    rep->symbols = ns;
    s->verb = plan->verb;
    s->stopped = 0;
    r.days = calloc(ns ? ns : 1, sizeof *r.days);
    r.pre = calloc(ns ? ns : 1, sizeof *r.pre);
    agt_status st = !r.days || !r.pre ? agt_err(err, AGT_ENOMEM, "out of memory") : AGT_OK;
    if (st == AGT_OK) st = plan_days(&r);
    if (st == AGT_OK) st = sync_client(s, &r.client, err);
    if (st == AGT_OK) st = prefetch(&r);
    if (st == AGT_OK && r.interrupted) {
        st = finish(&r, AGT_OK);
    } else if (st == AGT_OK) {
        agt_sync_event ev;
        sync_event_init(&ev, AGT_SYNC_PLANNED);
        ev.nsyms = ns;
        ev.units = rep->units_total;
        ev.days_total = rep->days_total;
        ev.days_skipped = rep->days_skipped;
        sync_emit(s, &ev);
        st = begin_writing(&r); /* its failure ends the run before any unit: no FINISH */
        if (st == AGT_OK) st = finish(&r, run_all(&r));
    }
    for (size_t i = 0; r.days && i < ns; i++) free(r.days[i]);
    for (size_t i = 0; r.pre && i < ns; i++) agt_trades_release(&r.pre[i].rows);
    free(r.days);
    free(r.pre);
    job_months_free(r.months);
    retry_list_release(&r.rl);
    s->verb = NULL;
    return st;
}
