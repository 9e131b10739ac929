/*
 * sync_int.h - what the files of the sync module share: the session, the
 * plan of units a run works through, the failure ledger and the run itself.
 *
 *   session.c    the agt_sync handle, its client, the exchange's clock, the lake
 *   plan.c       plans for download, update, retry and repair
 *   day_units.c  the day source (archive + REST proof) and which days are one unit
 *   engine.c     running a plan: fetch, stash, commit, ledger, events
 *   retry_file.c the failure ledger <root>/.retry
 *   unproven.c   hours fetched but not proven complete
 *   verify.c     checking a symbol's stored hours, and repairing them
 *   status.c     what a lake holds per symbol (aggtrades/status.h)
 */
#ifndef AGT_SYNC_INT_H
#define AGT_SYNC_INT_H

#include <stddef.h>
#include <stdint.h>

#include "aggtrades/fetch.h"
#include "aggtrades/lake.h"
#include "aggtrades/source.h"
#include "aggtrades/sync.h"
#include "common/common_int.h"

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
/* The session's exchange client, made at the first call. */
agt_status sync_client(agt_sync *s, agt_client **out, agt_error *err);
/* What the lake did on its own (agt_lake_next_notice) as WARNING events. */
void sync_lake_notices(agt_sync *s, agt_lake *lake);
/* "no lake at '<root>' (...)" with status st. */
agt_status sync_no_lake(const agt_sync *s, agt_status st, agt_error *err);
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

/* month_units.c: the days of a month a symbol needs whole, from one monthly
 * file (kept between calls in *m, freed by job_months_free); any other day
 * through agt_source_fetch_day. Statuses as agt_source_fetch_day. */
typedef struct job_months job_months;
agt_status job_fetch_day(job_months **m, const job_plan *plan, const job_symbol *s,
                         int64_t day_us, agt_day_result *res, agt_error *err);
void job_months_free(job_months *m);

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
