/*
 * sync_int.h - what the files of the sync module share: the session, the
 * plan of units a run works through, the failure ledger and the run itself.
 *
 *   session.c    the agt_sync handle, its client, the exchange's clock, the lake
 *   plan.c       plans for download, update, retry and repair
 *   day_units.c  the day source (archive + REST proof) and which days are one unit
 *   units.c      the plan cut into units of work (an hour, a day, a month)
 *   fetch_unit.c fetching an hour unit (a job's client and day source, the WAL stash)
 *   stream_unit.c an archive unit streamed hour by hour into a sink
 *   pool.c       parallel jobs: fetching and streaming threads within one budget
 *                of rows, one committer in plan order
 *   engine.c     running a plan: commit, ledger, events
 *   retry_file.c the failure ledger <root>/.retry
 *   unproven.c   hours fetched but not proven complete
 *   verify.c     checking a symbol's stored hours, and repairing them
 *   status.c     what a lake holds per symbol (aggtrades/status.h)
 */
#ifndef AGT_SYNC_INT_H
#define AGT_SYNC_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "aggtrades/fetch.h"
#include "aggtrades/lake.h"
#include "aggtrades/source.h"
#include "aggtrades/sync.h"
#include "common/common_int.h"
#include "source/source_units.h"

/* ---- the session (session.c) ---------------------------------------------------- */

struct agt_sync {
    char *root;
    agt_sync_opts opts;       /* strings point at the copies below */
    char *api_url, *archive_url;
    agt_client *client;       /* made at the first request */
    int64_t now_us;           /* the exchange's clock, -1 until asked */
    int stopped;              /* the event callback asked to stop (sticky for the run) */
    agt_sync_report *rep;     /* the report of the call in progress (received bytes,
                                 the exchange out of reach); NULL between calls */
    agt_sync_report scratch;  /* the report of a call given none */
    const char *verb;         /* of the run in progress */
};

/* Send `ev` (kind and fields set by the caller; verb filled here) to the
 * caller's callback. Returns non-zero once a stop was asked for. */
int sync_emit(agt_sync *s, agt_sync_event *ev);
/* An event of `kind` with every field "none" (hour_us and day_us -1). */
void sync_event_init(agt_sync_event *ev, agt_sync_event_kind kind);
/* A LOG (or WARNING) event with a formatted message. */
void sync_log(agt_sync *s, agt_sync_event_kind kind, const char *fmt, ...) AGT_PRINTF(3, 4);
/* The progress callback of the client and the archive (user: the session):
 * RECEIVED events, the run's received bytes, and the stop request. */
int sync_on_response(void *user, uint64_t body_bytes, uint64_t trades);
/* The session's slow-server options over a source's defaults. */
void sync_slow_server(const agt_sync *s, long *low_speed_limit, int *low_speed_time_s,
                      int *unit_deadline_s);
/* The options of the session's exchange clients, responses reported to
 * progress(user). */
void sync_client_opts(const agt_sync *s, agt_fetch_progress_fn progress, void *user,
                      agt_client_opts *o);
/* The session's exchange client, made at the first call. */
agt_status sync_client(agt_sync *s, agt_client **out, agt_error *err);
/* agt_sync_server_time, with the plan's first symbol (or NULL): the exchange
 * info the run would read before its first fetch is read now, for that
 * symbol, and brings the clock (agt_client_server_time_for). */
agt_status sync_server_time_for(agt_sync *s, const char *symbol, int64_t *now_us, agt_error *err);
/* What the lake did on its own (agt_lake_next_notice) as WARNING events. */
void sync_lake_notices(agt_sync *s, agt_lake *lake);
/* AGT_ENOTFOUND, "no lake at '<root>'". */
agt_status sync_no_lake(const agt_sync *s, agt_error *err);
/* Open the lake for writing, with the messages the tool shows. */
agt_status sync_lake_open(agt_sync *s, agt_lake **out, agt_error *err);
/* The same with agt_lake_open's flags (AGT_LAKE_READ: no lock). */
agt_status sync_lake_open_as(agt_sync *s, unsigned flags, agt_lake **out, agt_error *err);
/* 1 if a lake exists at the root (its metadata directory; an empty root is no
 * lake), or the root is not a directory (opening it then says so). */
int sync_root_exists(const agt_sync *s);
/* Before any request: can the root be used as a lake (an existing writable
 * directory, or creatable under one)? AGT_EIO with the reason otherwise. */
agt_status sync_root_check(const agt_sync *s, agt_error *err);
/* A failed lake call's status as the lake's fault (AGT_ELOCKED, AGT_EIO, AGT_ENOSPC,
 * AGT_ECORRUPT, AGT_ENOMEM kept; anything else AGT_ECORRUPT). */
agt_status sync_lake_status(agt_status st);
/* "cannot read the lake '<root>': <why>" for a failed lake call. */
agt_status sync_lake_error(const agt_sync *s, agt_status st, const agt_error *why,
                           agt_error *err);
/* The first hour holding a stored trade of `symbol` up to `end_us`, or -1. */
agt_status sync_first_stored_hour(agt_sync *s, agt_lake *lake, const char *symbol,
                                  int64_t end_us, int64_t *hour_us, agt_error *err);

/* ---- the plan (plan.c) ------------------------------------------------------------- */

/* One unit of work: a symbol-hour to fetch and commit. */
typedef struct job_hour {
    int64_t hour_us;
    int day_index; /* which of the symbol's days it belongs to (for "dates done") */
    int whole_day; /* 1 on the 24 hours of a day fetched as one unit through
                      agt_source_fetch_day (job_plan.day_source) */
} job_hour;

typedef struct job_symbol {
    char symbol[24];
    job_hour *hours;
    size_t nhours, cap;
    int days_skipped; /* days already complete */
} job_symbol;

typedef struct job_plan {
    job_symbol *syms;
    size_t nsyms;
    const char *verb; /* "download", "update", "retry", "repair" */
    agt_source *day_source;  /* for whole_day hours; NULL: everything hour by hour */
    agt_archive *archive;    /* what day_source reads from */
    agt_source_policy policy; /* what day_source is asked for */
    int monthly;             /* whole months from the monthly files (agt_sync_opts.archive_months) */
} job_plan;

agt_status job_add_hour(job_symbol *s, int64_t hour_us, int day_index);
/* The plan's entry for `symbol`, appended if new (p->syms must have room). */
job_symbol *job_plan_symbol(job_plan *p, const char *symbol);
/* Validate and upper-case symbols[0..n) into p->syms (allocated here), once
 * each, in the order given. AGT_EINVAL or AGT_ENOMEM. */
agt_status job_plan_symbols(job_plan *p, const char *const *symbols, size_t n, agt_error *err);
/* Free the plan and its day source. */
void job_plan_release(job_plan *p);
/* Sort a symbol's hours ascending and drop repeats. */
void job_sort_hours(job_symbol *s);

/*
 * agt_sync_repair_hours over a lake the caller opened for writing and keeps
 * (agt_sync_verify repairs under the lock it checked with).
 */
agt_status job_repair(agt_sync *s, agt_lake *lake, const char *symbol, const int64_t *hours,
                      size_t n, agt_sync_report *rep, agt_error *err);
/* "nothing stored for '<symbol>' in '<root>' (...)", AGT_EINVAL. */
agt_status job_nothing_stored(const agt_sync *s, const char *symbol, agt_error *err);

/* ---- day units (day_units.c) ------------------------------------------------------ */

/* Unless the session's policy is REST, make the archive handle and the day
 * source over the session's client into plan->day_source. */
agt_status job_source_open(agt_sync *s, job_plan *plan, agt_error *err);
/* An archive handle and a day source over `client` with the session's
 * options, responses reported to progress(user). */
agt_status job_source_make(agt_sync *s, agt_client *client, agt_fetch_progress_fn progress,
                           void *user, agt_archive **archive, agt_source **source, agt_error *err);
/* Free what job_source_open made. */
void job_source_close(job_plan *plan);
/* 1 if the plan has a day source and the day is older than the exchange's
 * yesterday (the archive publishes the next day). The caller checks that no
 * hour of the day is stored. */
int job_day_unit_ok(const job_plan *plan, int64_t day_us, int64_t now_us);
/* Mark every day of `s` (hours sorted, unique) whose 24 hours are all in the
 * plan and that job_day_unit_ok allows as a whole-day unit (update, repair:
 * stored hours are fetched again and merged as usual). Returns the number of
 * days marked. */
int job_mark_day_units(const job_plan *plan, job_symbol *s, int64_t now_us);

/* month_units.c: a month whose every day a symbol needs whole, from one
 * monthly file. The number of days of the month starting at day_us if it is
 * one (day_us its first day, every hour of it a whole-day unit of `s`, the
 * plan allows monthly files), else 0. */
int job_month_unit(const job_plan *plan, const job_symbol *s, int64_t day_us);

/* ---- hours fetched but not proven complete (unproven.c) ------------------------------ */

/* 1 if the hour had not ended (plus the completeness margin) on the exchange's clock
 * when it was fetched: open, exact for its time, completed by a later update. */
int job_hour_open(int64_t hour_us, const agt_hour_info *info);
/* The same from the fetch time a stored hour's statistics keep (0: unknown, not open). */
int job_fetched_open(int64_t hour_us, int64_t fetched_at_us);
/* 1 if a fetch that succeeded (st) left an ended hour unproven. */
int job_unproven(agt_status st, int64_t hour_us, const agt_hour_info *info);
/*
 * An unproven hour REST fetched: under the auto policy, for a day the archive
 * has published, the archive's file proves it (AGT_OK: *rows, *info, *source
 * replaced by the archive's hour); otherwise AGT_EINCOMPLETE with why in
 * `err` (the unit fails); AGT_ECANCELLED, AGT_ENOMEM end the run.
 */
agt_status job_fill_unproven(const job_plan *plan, const char *symbol, int64_t hour_us,
                             int64_t now_us, agt_trades *rows, agt_hour_info *info,
                             const char **source, agt_error *err);

/* ---- units of work (units.c, fetch_unit.c) ------------------------------------------ */

typedef enum job_unit_kind {
    JOB_UNIT_HOUR = 0, /* one hour with rest */
    JOB_UNIT_DAY,      /* a whole day through the day source */
    JOB_UNIT_MONTH     /* the whole-day units of a month, from its monthly file */
} job_unit_kind;

/* One unit of work. */
typedef struct job_unit {
    job_unit_kind kind;
    size_t sym;         /* its symbol in the plan */
    size_t h;           /* its first hour in syms[sym].hours */
    int ndays;          /* DAY: 1, MONTH: the month's days, HOUR: 0 */
    int prefetched;     /* step 1 fetched it (the symbol's first hour): no job does */
} job_unit;

/* What fetching an hour unit gave (one per unit in flight: a run holds at
 * most a window of them, whatever the plan's size). An archive unit (DAY,
 * MONTH) is streamed hour by hour instead (job_stream_unit). */
typedef struct job_result {
    int fetched;        /* what follows is set */
    agt_status st;
    agt_error err;
    agt_trades rows;
    agt_hour_info info;
    const char *source; /* "rest" or "archive" */
    uint64_t bytes;     /* response bytes spent on the unit */
    agt_status fatal;   /* the lake failed, or memory: ends the run (message in fatal_err) */
    agt_error fatal_err;
    agt_buf notes;      /* lines for the user, each ending in '\n', sent when it is settled */
} job_result;

/* The plan cut into units in plan order (symbol by symbol, hour by hour):
 * *out (free()). AGT_ENOMEM only. */
agt_status job_units_make(const job_plan *plan, job_unit **out, size_t *n);
/* "BTCUSDT 2024-03-01 05:00": an hour as the user's lines name it */
void job_hour_label(const char *sym, int64_t hour_us, char *out, size_t n);
/* An empty result / free what a result holds (it is then empty again). */
void job_result_init(job_result *r);
void job_result_clear(job_result *r);

/*
 * What fetches units: a client, the plan seen with a day source over that
 * client, and the lake for the WAL stash. One per job; the session's own
 * (its client, the plan's day source) when there is one job.
 */
typedef struct job_fetcher {
    agt_sync *s;
    agt_client *client;
    job_plan view;            /* the plan, with this fetcher's day source */
    agt_lake **lakep;
    pthread_mutex_t *lake_mu; /* held around every lake call; NULL with one job */
    const uint64_t *received; /* a counter of response bytes this fetcher's responses
                                 raise: a unit's bytes are its growth */
    agt_rows_gate gate;       /* asked before a page of an hour is held (NULL: never) */
    void *gate_user;
} job_fetcher;

/* A line for the user, kept in the result until its unit is settled. */
void job_note(job_result *r, const char *fmt, ...) AGT_PRINTF(2, 3);
/*
 * Fetch hour unit u through f into `out` (empty): with rest through the WAL
 * stash (resuming from the pages a broken run kept), then from the archive
 * if rest cannot prove it (unproven.c): its rows and facts, or why not.
 */
void job_fetch_unit(job_fetcher *f, const job_unit *u, job_result *out);
/* An hour unit rest fetched into u but did not prove complete (and that
 * has ended): taken from the archive if that proves it, else failed
 * (unproven.c). Nothing to do for any other. */
void job_prove_hour(job_fetcher *f, const job_unit *u, job_result *res);
/*
 * Step 1's fetch of a symbol's first hour (unit u, an hour) before the lake
 * may exist: may_open opens the lake at the first page (the last symbol
 * checked). Returns the status ending the run if the lake failed (message
 * in err). job_prove_hour is left to the run, once the lake is written.
 */
agt_status job_fetch_first_hour(job_fetcher *f, const job_unit *u, int may_open,
                                job_result *out, agt_error *err);

/* ---- an archive unit streamed (stream_unit.c) ------------------------------------- */

/* Where a streamed archive unit goes, in order: its hours as the source
 * decides them, and the lines for the user after each day. */
typedef struct unit_sink {
    /* An hour (its rows may be taken); `why`: what the source could not
     * prove of the unit so far; `bytes`: response bytes spent since the
     * hour before (the first: since the unit began). Anything but AGT_OK
     * stops the unit with that status. */
    agt_status (*hour)(void *user, agt_day_hour *dh, const char *why, uint64_t bytes);
    void (*note)(void *user, const char *line);
    void *user;
} unit_sink;

/*
 * Stream the DAY or MONTH unit u through f's day source into `sink` (a
 * month whose monthly file cannot be had: its daily files), `since` being
 * f's received bytes when the unit began. Returns AGT_OK once every hour
 * was handed on, else the sink's status or the source's (AGT_ECANCELLED,
 * AGT_ENOMEM; message in err), the hours after the last handed on left out.
 */
agt_status job_stream_unit(job_fetcher *f, const job_unit *u, uint64_t since,
                           const unit_sink *sink, agt_error *err);

/* ---- parallel jobs (pool.c) --------------------------------------------------------- */

/*
 * `jobs` fetchers on threads of their own, each with its own client (sharing
 * the session client's rate limit) and day source, taking units[0..n) in
 * order, at most a window of units ahead of the committer: an hour unit is
 * fetched whole, an archive unit streamed by its job (proofs included) and
 * its hours handed to the committer one by one. The rows the jobs hold stay
 * within one budget, the committer's current unit excepted (pool.c). The
 * committer (the caller's thread) settles each unit in turn.
 */
typedef struct job_pool job_pool;

/* What a job hands on of an archive unit: an hour, or a line for the user. */
typedef struct job_piece {
    struct job_piece *next;
    int is_note;
    agt_day_hour dh;      /* an hour (its rows taken from the source) */
    char text[512];       /* the note, or the hour's `why` (unit_sink) */
    uint64_t bytes;       /* the hour's `bytes` (unit_sink) */
} job_piece;

agt_status job_pool_start(agt_sync *s, const job_plan *plan, agt_lake **lakep,
                          const job_unit *units, size_t n, int jobs, job_pool **out,
                          agt_error *err);
/* The mutex every lake call of the run holds while the fetchers run. */
pthread_mutex_t *job_pool_lake_mutex(job_pool *p);
/* Wait until hour unit i is fetched; meanwhile what the jobs receive is
 * reported as RECEIVED events on this thread (the callback may ask to stop:
 * the jobs then stop at their next response). Its result, for the committer. */
job_result *job_pool_wait(job_pool *p, size_t i);
/* The next piece archive unit i's job handed on, waiting for it as
 * job_pool_wait does (give it back with job_pool_piece_done); NULL once the
 * job handed on all it will: *st and *err then say how its stream ended. */
job_piece *job_pool_next_piece(job_pool *p, size_t i, agt_status *st, agt_error *err);
/* A piece of unit i settled: its rows leave the budget. */
void job_pool_piece_done(job_pool *p, size_t i, job_piece *piece);
/* What the jobs received since the last report, as a RECEIVED event. */
void job_pool_report(job_pool *p);
/* Unit i is settled wholly (its result cleared): the jobs may run further
 * ahead. A unit the run stopped in is left to job_pool_stop. */
void job_pool_settled(job_pool *p, size_t i);
/* Stop the jobs, wait for them, report what they received last, free all. */
void job_pool_stop(job_pool *p);

/* ---- running a plan (engine.c) ------------------------------------------------------ */

/*
 * Run the plan: fetch every hour, commit it, record failures in .retry (and
 * drop units that succeed from it), send events. The first hour of every
 * symbol is fetched before anything is committed, so an unknown symbol ends
 * the run (AGT_EINVAL) with nothing written. If *lake is NULL the lake is
 * opened for writing only after that check (and closed by the caller).
 * Statuses as in aggtrades/sync.h; `rep` is filled.
 */
agt_status job_run(agt_sync *s, agt_lake **lake, job_plan *plan, agt_sync_report *rep,
                   agt_error *err);

/* ---- the failure ledger (retry_file.c) ---------------------------------------------- */

/*
 * <root>/.retry holds the units that failed after all their attempts, one JSON
 * object a line (docs/lake-format.md):
 *   {"symbol":"BTCUSDT","date":"2023-10-01","hour":5,"error":"...","attempts":4,
 *    "time":"2023-10-02T08:00:00Z"}
 * "hour" is 0-23 (UTC), "attempts" counts HTTP requests tried over every run,
 * "time" is when it last failed. The file is rewritten atomically through the
 * lake's I/O layer by the one writer that holds the lake lock.
 */
typedef struct retry_unit {
    char symbol[24];
    int64_t hour_us;  /* start of the hour */
    char error[256];
    int attempts;
    int64_t time_us;
} retry_unit;

typedef struct retry_list {
    retry_unit *v;
    size_t n, cap;
} retry_list;

void retry_list_release(retry_list *l);
/* Load <root>/.retry (missing file = empty list). Bad lines are skipped with a
 * WARNING event. */
agt_status retry_load(agt_sync *s, agt_lake *lake, retry_list *l, agt_error *err);
/* The same without a session: the number of each malformed line goes to
 * bad(ctx, lineno) (may be NULL). Reads only. */
agt_status retry_read(agt_lake *lake, retry_list *l, void (*bad)(void *ctx, int lineno),
                      void *ctx, agt_error *err);
/* Atomically rewrite (or remove, when empty) <root>/.retry. */
agt_status retry_save(agt_lake *lake, const retry_list *l, agt_error *err);
/* The units of a ledger's text s[0..n) added to `l`; the number of each
 * malformed line goes to bad(ctx, lineno) (may be NULL). AGT_ENOMEM only. */
agt_status retry_parse(const char *s, size_t n, retry_list *l,
                       void (*bad)(void *ctx, int lineno), void *ctx);
/* The ledger's text for `l`, replacing b's contents. AGT_ENOMEM only. */
agt_status retry_format(const retry_list *l, agt_buf *b);
/* Add or replace the entry for (symbol, hour). */
agt_status retry_put(retry_list *l, const retry_unit *u);
/* Remove the entry for (symbol, hour) if present. */
void retry_drop(retry_list *l, const char *symbol, int64_t hour_us);
/* Index of (symbol, hour) or -1. */
long retry_find(const retry_list *l, const char *symbol, int64_t hour_us);

#endif
