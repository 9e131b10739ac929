/*
 * engine.c - running a plan (download, update, retry, repair): the plan's
 * units (an hour with rest, an archive day or month) are fetched, by one job
 * on the caller's thread or by several in parallel (pool.c), and committed
 * one by one through the lake in plan order as they arrive, so whatever was
 * committed survives an interruption and a second run resumes after it.
 *
 * Order of work:
 *   1. the first hour of every symbol is fetched before anything is
 *      written: an unknown symbol (exchange code -1121) stops the run with
 *      AGT_EINVAL and nothing written. A symbol whose first unit is a whole
 *      day needs only to be known: the exchange info read with the clock
 *      (one request for the plan's first symbol) or a probe (probe_symbol);
 *   2. then every unit in plan order: fetched (the client retries), each of
 *      its hours committed with the facts the fetch learnt (prev_id,
 *      complete), or recorded in .retry if it still fails; the run carries
 *      on. Only this thread writes to the lake and sends events;
 *   3. .retry is rewritten: units that succeeded leave it, failures are
 *      added or updated (attempts accumulate).
 * A stop asked by the event callback makes the fetches in flight stop at
 * their next response; hours already committed stay. A failing disk
 * (commit error) ends the run at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sync/sync_int.h"

/* Per symbol: the days it touches, for "dates done/total". */
typedef struct day_acc {
    int64_t day_us;
    int hours_left;
    int failed;
    uint64_t trades, bytes;
} day_acc;

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
    job_result *pre;     /* per symbol: its first hour, fetched by step 1 */
    job_unit *units;     /* the plan's units, in order */
    size_t nunits;
    job_fetcher one;     /* the session's fetcher: step 1, and every unit with one job */
    job_result fetched;  /* the unit it fetched last */
    job_pool *pool;      /* the jobs, when there are several */
    pthread_mutex_t *lake_mu; /* the pool's, while it runs */
} run_ctx;

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

/* 1 if no symbol after i has hours: step 1 checks it last. */
static int checked_last(const job_plan *plan, size_t i)
{
    for (size_t k = i + 1; k < plan->nsyms; k++)
        if (plan->syms[k].nhours) return 0;
    return 1;
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
 * (*st AGT_OK, or the unknown-symbol error in err); 0 otherwise, and the day
 * becomes 24 ordinary hours whose first the usual prefetch then tries.
 */
static int probe_symbol(agt_client *client, job_symbol *s, agt_status *st, agt_error *err)
{
    agt_trades t;
    agt_trades_init(&t);
    agt_error_clear(err);
    *st = agt_fetch_from_id(client, s->symbol, 0, 1, &t, err);
    agt_trades_release(&t);
    if (*st == AGT_OK || unknown_symbol(*st, err)) return 1;
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
    job_hour_label(symbol, hour, label, sizeof label);
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

/* Commit a fetched hour with the facts its source learnt (the only lake
 * write of a run but the ledger's; the jobs' stash waits meanwhile). */
static agt_status commit_hour(run_ctx *r, size_t i, const char *symbol, int64_t hour, day_acc *day,
                              const agt_trades *rows, const agt_hour_info *info, const char *source)
{
    agt_hour_meta meta;
    agt_commit_result res;
    agt_error e;
    uint64_t lb = 0;
    memset(&meta, 0, sizeof meta);
    memset(&res, 0, sizeof res);
    meta.prev_id = info->prev_id;
    meta.complete = info->complete;
    meta.source = source;
    meta.fetched_at_us = info->server_time_us;
    agt_error_clear(&e);
    if (r->lake_mu) pthread_mutex_lock(r->lake_mu);
    agt_status st = agt_lake_commit_hour(*r->lakep, symbol, hour, rows, &meta, &res, &e);
    sync_lake_notices(r->s, *r->lakep); /* e.g. a damaged file set aside before the commit */
    int sized = st == AGT_OK && agt_lake_disk_bytes(*r->lakep, &lb, NULL) == AGT_OK;
    if (r->lake_mu) pthread_mutex_unlock(r->lake_mu);
    if (st != AGT_OK) {
        char label[64];
        job_hour_label(symbol, hour, label, sizeof label);
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
    if (sized) {
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

/* One hour of an archive unit, decided by the source, settled: what the
 * archive and rest could not prove between them fails (--source archive
 * stores the file's rows first, as documented). `why` says what the source
 * could not prove. */
static agt_status settle_archive_hour(run_ctx *r, size_t i, const char *symbol, int64_t hour,
                                      day_acc *day, agt_day_hour *dh, const char *why)
{
    agt_status fatal = AGT_OK;
    emit_hour_begin(r, i, hour);
    if (job_unproven(dh->status, hour, &dh->info)) {
        if (r->plan->policy == AGT_SOURCE_ARCHIVE)
            fatal = commit_hour(r, i, symbol, hour, day, &dh->rows, &dh->info, dh->source);
        dh->status = agt_err(&dh->err, AGT_EINCOMPLETE, "not proven complete: %.200s",
                             why[0] ? why : "rest does not prove it");
    }
    if (fatal == AGT_OK)
        fatal = settle_hour(r, i, symbol, hour, day, dh->status, &dh->rows, &dh->info, &dh->err,
                            dh->source);
    return fatal;
}

/* An archive unit (a day, or a month) settled hour by hour as the source
 * decides each hour: streamed on this thread with one job, or by a job of
 * the pool whose hours arrive here in order (the same hours either way). */
typedef struct unit_stream {
    run_ctx *r;
    const job_unit *u;
    size_t settled;            /* hours settled */
    agt_status fatal;          /* the lake failed (message in the run's error) */
} unit_stream;

/* The sink's hour: settled. AGT_ECANCELLED once a stop was asked for. */
static agt_status settle_streamed(void *user, agt_day_hour *dh, const char *why, uint64_t bytes)
{
    unit_stream *us = user;
    run_ctx *r = us->r;
    const job_symbol *s = &r->plan->syms[us->u->sym];
    size_t k = us->u->h + (size_t)((dh->info.hour_start_us - s->hours[us->u->h].hour_us) /
                                   AGT_US_PER_HOUR);
    if (k >= s->nhours || s->hours[k].hour_us != dh->info.hour_start_us)
        return us->fatal = agt_err(r->err, AGT_EINVAL, "the source gave an hour the plan lacks");
    day_acc *day = &r->days[us->u->sym][s->hours[k].day_index];
    day->bytes += bytes;
    if (r->pool) job_pool_report(r->pool); /* with one job the client's callback does */
    agt_sync_event ev; /* rest trades reach the display through the client's callback */
    sync_event_init(&ev, AGT_SYNC_RECEIVED);
    if (dh->status == AGT_OK && !strcmp(dh->source, "archive")) ev.trades = dh->rows.len;
    sync_emit(r->s, &ev);
    agt_status fatal = settle_archive_hour(r, us->u->sym, s->symbol, s->hours[k].hour_us, day, dh,
                                           why);
    us->settled = k + 1 - us->u->h;
    if (fatal != AGT_OK) return us->fatal = fatal;
    return r->s->stopped ? AGT_ECANCELLED : AGT_OK;
}

static void log_note(void *user, const char *line)
{
    unit_stream *us = user;
    sync_log(us->r->s, AGT_SYNC_LOG, "%s", line);
}

/* The end of an archive unit's stream (st: how it ended, err: why): a stop
 * interrupts the run; a failure of the source (out of memory) fails the
 * hours left. Returns the status ending the run (the lake failed), if any. */
static agt_status end_stream(run_ctx *r, unit_stream *us, agt_status st, const agt_error *err)
{
    const job_unit *u = us->u;
    const job_symbol *s = &r->plan->syms[u->sym];
    agt_status fatal = us->fatal;
    if (fatal == AGT_OK && st == AGT_ECANCELLED && r->s->stopped) {
        r->interrupted = 1;
    } else if (fatal == AGT_OK && st != AGT_OK) {
        agt_day_hour dh;
        memset(&dh, 0, sizeof dh);
        dh.status = st;
        dh.err = *err;
        dh.source = "rest";
        for (size_t k = u->h + us->settled; k < u->h + 24 * (size_t)u->ndays && fatal == AGT_OK; k++)
            fatal = settle_hour(r, u->sym, s->symbol, s->hours[k].hour_us,
                                &r->days[u->sym][s->hours[k].day_index], st, &dh.rows, &dh.info,
                                &dh.err, dh.source);
    }
    return fatal;
}

/* A DAY or MONTH unit streamed on this thread through the session's day
 * source: at most an hour of rows held, whatever the size of the file. */
static agt_status stream_unit(run_ctx *r, const job_unit *u)
{
    agt_error err;
    unit_stream us = { r, u, 0, AGT_OK };
    unit_sink sink = { settle_streamed, log_note, &us };
    agt_error_clear(&err);
    agt_status st = job_stream_unit(&r->one, u, *r->one.received, &sink, &err);
    return end_stream(r, &us, st, &err);
}

/* Archive unit k, streamed by a job: its pieces settled as they arrive. */
static agt_status settle_pieces(run_ctx *r, const job_unit *u, size_t k)
{
    agt_error err;
    agt_status st = AGT_OK;
    unit_stream us = { r, u, 0, AGT_OK };
    job_piece *pc;
    agt_error_clear(&err);
    while ((pc = job_pool_next_piece(r->pool, k, &st, &err))) {
        agt_status hs = AGT_OK;
        if (pc->is_note) log_note(&us, pc->text);
        else hs = settle_streamed(&us, &pc->dh, pc->text, pc->bytes);
        job_pool_piece_done(r->pool, k, pc);
        if (hs == AGT_ECANCELLED) { /* a stop: what the job holds of the unit is dropped */
            r->interrupted = 1;
            return AGT_OK;
        }
        if (hs != AGT_OK) return us.fatal;
    }
    return end_stream(r, &us, st, &err);
}

/* A fetched hour unit settled: its lines for the user, then the hour. */
static agt_status settle_unit(run_ctx *r, const job_unit *u, job_result *res)
{
    const job_symbol *s = &r->plan->syms[u->sym];
    for (size_t a = 0; a < res->notes.len;) {
        const char *line = (const char *)res->notes.data + a;
        const char *nl = memchr(line, '\n', res->notes.len - a);
        size_t n = nl ? (size_t)(nl - line) : res->notes.len - a;
        sync_log(r->s, AGT_SYNC_LOG, "%.*s", (int)n, line);
        a += n + 1;
    }
    if (res->fatal) return agt_err(r->err, res->fatal, "%s", res->fatal_err.message);
    int64_t hour = s->hours[u->h].hour_us;
    day_acc *day = &r->days[u->sym][s->hours[u->h].day_index];
    day->bytes += res->bytes;
    if (res->st == AGT_ECANCELLED && r->s->stopped) {
        r->interrupted = 1;
        return AGT_OK;
    }
    return settle_hour(r, u->sym, s->symbol, hour, day, res->st, &res->rows, &res->info, &res->err,
                       res->source);
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
    }
    return AGT_OK;
}

/* Step 1: one hour of every symbol before anything is written. */
static agt_status prefetch(run_ctx *r)
{
    job_plan *plan = r->plan;
    for (size_t i = 0; i < plan->nsyms; i++) {
        job_symbol *s = &plan->syms[i];
        job_result *pf = &r->pre[i];
        agt_status st;
        if (s->nhours == 0) continue;
        /* the exchange info read with the clock said it is listed */
        if (s->hours[0].whole_day && plan->day_source && agt_client_lists(r->client, s->symbol))
            continue;
        if (s->hours[0].whole_day && plan->day_source &&
            probe_symbol(r->client, s, &st, &pf->err)) {
            if (st == AGT_OK) continue;
            return refuse_symbol(r, s->symbol);
        }
        if (emit_hour_begin(r, i, s->hours[0].hour_us)) {
            r->interrupted = 1;
            return AGT_OK;
        }
        job_unit u = {JOB_UNIT_HOUR, i, 0, 0, 1};
        AGT_TRY(job_fetch_first_hour(&r->one, &u, checked_last(plan, i), pf, r->err));
        if (pf->st == AGT_ECANCELLED && r->s->stopped) {
            r->interrupted = 1;
            return AGT_OK;
        }
        if (unknown_symbol(pf->st, &pf->err)) return refuse_symbol(r, s->symbol);
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

/* How many jobs fetch at once: the session's option, by default one per
 * online CPU (at most AGT_SYNC_JOBS_DEFAULT_MAX), and never more than the
 * units there are to fetch. */
static int jobs_for(const agt_sync *s, size_t units)
{
    long n = s->opts.jobs;
    if (n <= 0) {
        n = sysconf(_SC_NPROCESSORS_ONLN);
        if (n > AGT_SYNC_JOBS_DEFAULT_MAX) n = AGT_SYNC_JOBS_DEFAULT_MAX;
    }
    if ((size_t)n > units) n = (long)units;
    return n < 1 ? 1 : (int)n;
}

/* The plan's units with step 1's first hours marked; the jobs, if several. */
static agt_status start_units(run_ctx *r)
{
    size_t todo = 0;
    if (job_units_make(r->plan, &r->units, &r->nunits) != AGT_OK)
        return agt_err(r->err, AGT_ENOMEM, "out of memory");
    for (size_t k = 0; k < r->nunits; k++) {
        job_unit *u = &r->units[k];
        u->prefetched = u->kind == JOB_UNIT_HOUR && u->h == 0 && r->pre[u->sym].fetched;
        todo += !u->prefetched;
    }
    int jobs = jobs_for(r->s, todo);
    if (jobs < 2) return AGT_OK;
    agt_status st = job_pool_start(r->s, r->plan, r->lakep, r->units, r->nunits, jobs, &r->pool,
                                   r->err);
    if (st == AGT_OK) r->lake_mu = job_pool_lake_mutex(r->pool);
    return st;
}

/* Unit k: fetched (by step 1, a job, or here), then settled. */
static agt_status run_unit(run_ctx *r, size_t k)
{
    const job_unit *u = &r->units[k];
    const job_symbol *s = &r->plan->syms[u->sym];
    job_result *res = &r->fetched;
    agt_status fatal;
    if (emit_hour_begin(r, u->sym, s->hours[u->h].hour_us) && u->kind == JOB_UNIT_HOUR) {
        r->interrupted = 1;
        return AGT_OK;
    }
    if (u->kind != JOB_UNIT_HOUR) {
        fatal = r->pool ? settle_pieces(r, u, k) : stream_unit(r, u);
    } else {
        if (u->prefetched) {
            res = &r->pre[u->sym];
            job_prove_hour(&r->one, u, res);
        } else if (r->pool) {
            res = job_pool_wait(r->pool, k);
        } else {
            job_fetch_unit(&r->one, u, res);
        }
        fatal = settle_unit(r, u, res);
        job_result_clear(res);
    }
    if (r->pool && fatal == AGT_OK && !r->interrupted) job_pool_settled(r->pool, k);
    return fatal;
}

/* Step 2: every unit, in plan order. */
static agt_status run_all(run_ctx *r)
{
    agt_status fatal = AGT_OK;
    size_t k = 0;
    for (size_t i = 0; i < r->plan->nsyms && !r->interrupted && fatal == AGT_OK; i++) {
        emit_symbol(r, AGT_SYNC_SYMBOL_BEGIN, i);
        for (; k < r->nunits && r->units[k].sym == i && fatal == AGT_OK; k++) {
            if (r->s->stopped) {
                r->interrupted = 1;
                break;
            }
            fatal = run_unit(r, k);
            if (r->interrupted) break;
        }
        emit_symbol(r, AGT_SYNC_SYMBOL_END, i);
    }
    /* the jobs stop before the run is reported finished */
    job_pool_stop(r->pool);
    r->pool = NULL;
    r->lake_mu = NULL;
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
                       "%s hour%s failed and %s recorded in '%s/.retry'",
                       a, n == 1 ? "" : "s", n == 1 ? "is" : "are", r->s->root);
    }
    return AGT_OK;
}

/* The session's fetcher: its client, the plan's day source, on this thread. */
static void one_job(run_ctx *r)
{
    r->one.s = r->s;
    r->one.client = r->client;
    r->one.view = *r->plan;
    r->one.lakep = r->lakep;
    r->one.lake_mu = NULL;
    r->one.received = &r->rep->bytes;
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
    job_result_init(&r.fetched);
    r.days = calloc(ns ? ns : 1, sizeof *r.days);
    r.pre = calloc(ns ? ns : 1, sizeof *r.pre);
    for (size_t i = 0; r.pre && i < ns; i++) job_result_init(&r.pre[i]);
    agt_status st = !r.days || !r.pre ? agt_err(err, AGT_ENOMEM, "out of memory") : AGT_OK;
    if (st == AGT_OK) st = plan_days(&r);
    if (st == AGT_OK) st = sync_client(s, &r.client, err);
    if (st == AGT_OK) {
        one_job(&r);
        st = prefetch(&r);
    }
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
        if (st == AGT_OK) st = start_units(&r);
        if (st == AGT_OK) st = run_all(&r);
        else if (r.retry_loaded) { /* the jobs could not start: nothing fetched yet */
            job_pool_stop(r.pool);
            r.pool = NULL;
        }
        if (r.retry_loaded) st = finish(&r, st);
    }
    for (size_t i = 0; r.days && i < ns; i++) free(r.days[i]);
    for (size_t i = 0; r.pre && i < ns; i++) job_result_clear(&r.pre[i]);
    free(r.days);
    free(r.pre);
    free(r.units);
    job_result_clear(&r.fetched);
    retry_list_release(&r.rl);
    s->verb = NULL;
    return st;
}
