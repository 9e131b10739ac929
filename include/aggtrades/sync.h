/*
 * aggtrades/sync.h - keeping a lake in step with the exchange: download a
 * range of days, update to the exchange's now, retry what failed, fetch
 * again the hours verification found wrong (checking and repairing a
 * symbol as a whole: aggtrades/verify.h). The engine behind the `aggtrades`
 * tool and the Python binding's download/update/retry/verify.
 *
 * A run plans its units (a symbol-hour, or a whole UTC day taken from the
 * daily archive and proved with two REST requests), skips what the lake
 * already proves complete, then fetches and commits unit by unit: whatever
 * was committed survives an interruption and the same call resumes after
 * it (the pages of an hour in flight are kept in the lake's WAL). A unit
 * that still fails after its retries is recorded in the failure ledger
 * <root>/.retry (format in docs/lake-format.md) and the run carries on;
 * units that succeed leave the ledger.
 *
 * Progress and log lines are delivered to the caller's event callback; the
 * library never prints. A non-zero return from the callback asks the run
 * to stop: the request in flight ends at its next response, committed
 * hours stay, and the call returns AGT_ECANCELLED with report.interrupted.
 *
 * Statuses of the run functions (agt_sync_download, _update, _retry,
 * _repair_hours):
 *   AGT_OK           every unit done;
 *   AGT_EINCOMPLETE  some units failed and are listed in <root>/.retry
 *                    (report.units_failed says how many);
 *   AGT_EINVAL       bad input (symbol, range, an unknown symbol - then
 *                    err->api_code is the exchange's -1121): nothing was
 *                    written at all;
 *   AGT_ENOTFOUND    no lake at the root (update, retry, repair), or nothing
 *                    stored for a symbol to update: nothing was written;
 *   AGT_ECANCELLED   the callback asked to stop (report.interrupted);
 *   AGT_ELOCKED, AGT_EIO, AGT_ENOSPC, AGT_ECORRUPT, AGT_ENOMEM
 *                    the lake could not be opened or written: the run
 *                    stopped at once;
 *   other statuses   the exchange could not be asked at all (its clock,
 *                    the archive handle).
 * `err` (may be NULL) gets a one-line message saying what happened, fit to
 * show to a user as it is.
 *
 * Threads: an agt_sync handle is used by one thread at a time; callbacks
 * run on the calling thread, inside the call, also when several jobs fetch
 * in parallel (agt_sync_opts.jobs): the jobs' threads never call it, their
 * received bytes reach it as RECEIVED events sent by the calling thread.
 * Distinct handles on distinct lakes may run in parallel; a second writer on
 * one lake gets AGT_ELOCKED.
 */
#ifndef AGGTRADES_SYNC_H
#define AGGTRADES_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "aggtrades/common.h"
#include "aggtrades/market.h"
#include "aggtrades/source.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What an event reports. The fields of agt_sync_event each kind sets are listed. */
typedef enum agt_sync_event_kind {
    AGT_SYNC_START = 1,     /* the run begins: verb, nsyms (before any data request) */
    AGT_SYNC_SYMBOL = 2,    /* the plan of one symbol: index, symbol, units (hours to fetch),
                               days_total, days_skipped (already complete) */
    AGT_SYNC_PLANNED = 3,   /* every symbol is known to the exchange: nsyms, units (all
                               symbols), days_total, days_skipped */
    AGT_SYNC_SYMBOL_BEGIN = 4, /* work on symbol `index` starts */
    AGT_SYNC_HOUR_BEGIN = 5,   /* index, symbol, hour_us: fetching starts */
    AGT_SYNC_RECEIVED = 6,  /* one response arrived: bytes (body), trades (rows in it) */
    AGT_SYNC_HOUR_DONE = 7, /* index, symbol, hour_us, ok (1 committed, 0 failed and recorded
                               in .retry), rows, inserted, updated; message: the failure */
    AGT_SYNC_DAY_DONE = 8,  /* index, symbol, day_us, trades, bytes, failed_hours: every hour
                               of the day handled */
    AGT_SYNC_SYMBOL_END = 9, /* work on symbol `index` ends */
    AGT_SYNC_LAKE_BYTES = 10, /* bytes: the lake's size on disk after a commit */
    AGT_SYNC_LOG = 11,      /* message: a line for the user (a resumed hour, a failed unit,
                               why the archive was not used) */
    AGT_SYNC_WARNING = 12,  /* message: something was ignored (a malformed .retry line) */
    AGT_SYNC_FINISH = 13,   /* the run ends (not sent when bad input or the lake stopped it
                               before any unit): interrupted */
    AGT_SYNC_CHECKED = 14   /* agt_sync_verify (aggtrades/verify.h) ended a check: symbol,
                               verify (the report so far; its stage says which check) */
} agt_sync_event_kind;

struct agt_verify_report;

/* One event. Strings are borrowed: valid only during the callback. */
typedef struct agt_sync_event {
    agt_sync_event_kind kind;
    const char *verb;    /* "download", "update", "retry", "repair" or "verify" */
    size_t index;        /* the symbol's place in the plan (0-based) */
    size_t nsyms;        /* symbols in the plan */
    const char *symbol;  /* NULL when not about one symbol */
    int64_t hour_us;     /* start of the hour, -1 if none */
    int64_t day_us;      /* start of the UTC day, -1 if none */
    int ok;
    uint64_t units;
    uint64_t bytes;
    uint64_t trades;
    uint64_t rows;
    int64_t inserted, updated;
    int days_total, days_skipped, failed_hours;
    int interrupted;
    const char *message; /* NULL when there is none */
    const struct agt_verify_report *verify; /* AGT_SYNC_CHECKED only, else NULL */
} agt_sync_event;

/* The event callback: return 0 to go on, non-zero to stop the run. */
typedef int (*agt_sync_event_fn)(void *user, const agt_sync_event *ev);

typedef struct agt_sync_opts {
    const char *api_url;      /* REST base URL; NULL: https://api.binance.com */
    const char *archive_url;  /* daily archive base URL; NULL: https://data.binance.vision */
    int interval_ms;          /* minimum gap between requests (default 50) */
    agt_source_policy source; /* where whole old days come from (default AGT_SOURCE_AUTO);
                                 retry fetches hour by hour with REST, and under
                                 AGT_SOURCE_AUTO takes an hour REST cannot prove from
                                 the archive when the day's file proves it */
    int paging;               /* an agt_paging: how REST walks an hour (default AGT_PAGING_TIME) */
    long low_speed_limit;     /* bytes/s under which a response is aborted and retried after
                                 low_speed_time_s; -1 (default): the sources' own defaults
                                 (agt_client_opts, agt_archive_opts), 0: off */
    int low_speed_time_s;     /* -1 (default): the sources' own */
    int unit_deadline_s;      /* give up an hour (or an archive day's file) after this long,
                                 retries included, and record it in .retry; -1 (default):
                                 the sources' own (600 s an hour, 1800 s a file), 0: none */
    agt_sync_event_fn on_event; /* may be NULL */
    void *user;               /* passed to on_event */
    agt_market market;        /* default AGT_MARKET_SPOT; a futures market (AGT_MARKET_UM,
                                 AGT_MARKET_CM) keeps its own lake in the root's folder
                                 agt_market_lake_dir names (market.h), with its own .retry,
                                 and asks that market's endpoints and archive */
    int archive_months;       /* 1 (default): a month whose every day is a whole-day unit is
                                 read from the archive's monthly file (agt_source_fetch_month),
                                 the daily files as the fallback; 0: daily files only */
    int jobs;                 /* units (REST hours, archive days or months) fetched at once,
                                 each job on a thread of its own with its own connection; REST
                                 requests of all jobs share one weight budget. Units are still
                                 committed one at a time in plan order, so the lake, .retry and
                                 the events are those of one job. 0 (default): one job per
                                 online CPU, at most AGT_SYNC_JOBS_DEFAULT_MAX; 1: one unit
                                 after another on the calling thread; at most AGT_SYNC_JOBS_MAX */
} agt_sync_opts;

#define AGT_SYNC_JOBS_DEFAULT_MAX 8
#define AGT_SYNC_JOBS_MAX 64

/* Fill *o with the defaults above. */
AGT_API void agt_sync_opts_default(agt_sync_opts *o);

/* What a run did. */
typedef struct agt_sync_report {
    size_t symbols;           /* symbols in the plan */
    uint64_t units_total;     /* symbol-hours planned */
    uint64_t units_done;      /* committed */
    uint64_t units_failed;    /* recorded in .retry */
    int days_total;           /* symbol-days in the request */
    int days_skipped;         /* already complete: no request made */
    uint64_t trades;          /* rows of the hours committed */
    uint64_t bytes;           /* response bytes received (REST and archive) */
    int64_t inserted, updated; /* rows new to the lake, rows whose values changed */
    int interrupted;          /* the callback asked to stop */
    int unreachable;          /* the exchange could not be asked (its clock: network, a
                                 geo-block 451, a firewall, a ban) before any unit was tried;
                                 nothing was written and nothing is in .retry */
} agt_sync_report;

/* A session over one lake. Opaque. */
typedef struct agt_sync agt_sync;

/*
 * A session over the lake at `root` (copied) with options `o` (NULL:
 * defaults; copied, strings included). Touches neither the disk nor the
 * network; the lake is opened for writing by each run and closed at its
 * end. *out is owned by the caller: agt_sync_close. AGT_ENOMEM, or
 * AGT_EINVAL for a bad option (an empty root, a negative interval).
 */
AGT_API agt_status agt_sync_open(const char *root, const agt_sync_opts *o, agt_sync **out,
                         agt_error *err);
/* Free the session (NULL accepted). */
AGT_API void agt_sync_close(agt_sync *s);

/*
 * The exchange's clock, µs since the epoch. Asked once per session (one
 * request), then remembered: every run of the session plans against the same
 * "now". Network statuses on failure (AGT_ECANCELLED if the callback asked
 * to stop), with "cannot read the exchange's clock from '<url>': ..." in err.
 */
AGT_API agt_status agt_sync_server_time(agt_sync *s, int64_t *now_us, agt_error *err);

/*
 * Download whole UTC days [start_us, end_us] (start_us at midnight, end_us
 * the last µs of the last day, as agt_parse_time's date plus a day minus one)
 * of symbols[0..n) (any case; repeats count once) into the lake, creating it
 * if needed. Days the lake proves complete are skipped without a request;
 * of the others only the hours missing or incomplete are fetched. Hours that
 * have not ended by the exchange's clock are stored incomplete. AGT_EINVAL
 * for an invalid or unknown symbol, a start before AGT_EPOCH_DATE, a reversed
 * range or an end after the exchange's today; statuses above otherwise.
 * `rep` (may be NULL) is filled in every case.
 */
AGT_API agt_status agt_sync_download(agt_sync *s, const char *const *symbols, size_t n, int64_t start_us,
                             int64_t end_us, agt_sync_report *rep, agt_error *err);

/*
 * Bring stored symbols up to the exchange's now: from the hour of the newest
 * stored trade (force: from the first stored trade) to the current hour,
 * fetching only what is not proven complete (force: everything, merged as a
 * replacement so the change feed records every changed trade).
 * AGT_ENOTFOUND ("nothing stored for ...") for a symbol the lake does not
 * hold, or no lake at the root, before any request.
 */
AGT_API agt_status agt_sync_update(agt_sync *s, const char *const *symbols, size_t n, int force,
                           agt_sync_report *rep, agt_error *err);

/*
 * Run again every unit of <root>/.retry, hour by hour with REST. Nothing to
 * retry is AGT_OK with rep->units_total 0. AGT_ENOTFOUND if there is no lake
 * at the root.
 */
AGT_API agt_status agt_sync_retry(agt_sync *s, agt_sync_report *rep, agt_error *err);

/*
 * Fetch again the hours hours[0..n) (starts of hours, any order, repeats
 * ignored) of `symbol` and commit them as replacements: what verification
 * found damaged, missing or incomplete. Whole old days among them come from
 * the session's source policy. The lake must exist.
 */
AGT_API agt_status agt_sync_repair_hours(agt_sync *s, const char *symbol, const int64_t *hours, size_t n,
                                 agt_sync_report *rep, agt_error *err);

#ifdef __cplusplus
}
#endif
#endif
