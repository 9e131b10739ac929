/*
 * aggtrades/verify.h - checking the stored hours of a symbol, and repairing
 * them: what `aggtrades verify [--repair]` and the Python binding's verify()
 * run, through a session of the engine (aggtrades/sync.h).
 *
 * A check looks at the lake's statistics index first (a damaged or missing
 * day file hides the stored range), then at every hour of the range: every
 * data file re-hashed, decoded and its statistics recomputed, its ids
 * checked for holes and for chaining with the previous hour, and every hour
 * of the range missing or not proven complete listed. An hour the exchange
 * had not finished when it was fetched is *open*: exact for its time, not a
 * problem (`update` completes it).
 *
 * A repair, under one writer lock from the first check to the last:
 * rebuilds damaged statistics from the data files (no request), clears the
 * leftovers no commit owns (agt_lake_tidy), sets damaged hour files aside,
 * fetches every hour with a problem again through the session (whole old
 * days by its source policy; failures go to <root>/.retry), and checks once
 * more. What the lake set aside is told as AGT_SYNC_WARNING events; the
 * refetch sends the usual events of a run (verb "repair").
 *
 * Threads: as the session (one thread at a time per agt_sync handle); a
 * report is plain memory, owned by the caller.
 */
#ifndef AGGTRADES_VERIFY_H
#define AGGTRADES_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "aggtrades/common.h"
#include "aggtrades/sync.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What is wrong with a stored hour (or a file). */
typedef enum agt_problem_kind {
    AGT_PROBLEM_MISSING = 0,    /* never stored, or its data file is gone: fetched again */
    AGT_PROBLEM_DAMAGED = 1,    /* data file unreadable, altered or not the hour's: set aside,
                                   the hour fetched again */
    AGT_PROBLEM_GAP = 2,        /* ids of the hour not contiguous, or not chaining with the
                                   previous hour: fetched again */
    AGT_PROBLEM_INCOMPLETE = 3, /* stored, ended, but not proven complete: fetched again */
    AGT_PROBLEM_STATS = 4,      /* a day's statistics file damaged or missing (hour -1):
                                   rebuilt from the data files */
    AGT_PROBLEM_STRAY = 5,      /* a file no commit owns: removed or set aside */
    AGT_PROBLEM_WAL = 6,        /* the write-ahead log is damaged: the next writer sets it aside */
    AGT_PROBLEM_OTHER = 7
} agt_problem_kind;

/* The name verify prints for a kind: "missing", "damaged", "id gap",
 * "incomplete", "stats", "stray", "wal", "other"; NULL for anything else.
 * Pure and thread-safe. */
AGT_API const char *agt_problem_name(agt_problem_kind k);

/* One problem. */
typedef struct agt_verify_problem {
    agt_problem_kind kind;
    int64_t hour_us;    /* start of the hour; -1 when not about one hour */
    char path[256];     /* the file concerned, relative to the lake's root; "" if none */
    char detail[256];   /* what is wrong, one line */
} agt_verify_problem;

/* One look at the stored hours. */
typedef struct agt_verify_check {
    agt_verify_problem *problems; /* by hour (those of no hour first), then kind */
    size_t nproblems;
    int64_t *open_hours;          /* hours not over on the exchange when fetched (ascending):
                                     not problems */
    size_t nopen;
    int64_t hours;                /* hours looked at (0 for the index check) */
} agt_verify_check;

/* Which check a report has reached (agt_verify_report.stage). */
typedef enum agt_verify_stage {
    AGT_VERIFY_STAGE_NONE = 0,
    AGT_VERIFY_STAGE_INDEX = 1,   /* `index` is filled (and stats_rebuilt) */
    AGT_VERIFY_STAGE_HOURS = 2,   /* `found` is filled, and the range */
    AGT_VERIFY_STAGE_AFTER = 3    /* the repair ran; `after` is filled */
} agt_verify_stage;

/* What agt_sync_verify found and did. */
typedef struct agt_verify_report {
    agt_verify_stage stage;       /* the last check done */
    int64_t start_us, end_us;     /* the range checked (start at an hour); -1 before HOURS */
    agt_verify_check index;       /* the statistics index: what remains damaged (with repair,
                                     after the rebuild) */
    size_t stats_rebuilt;         /* statistics files rebuilt from the data (repair) */
    agt_verify_check found;       /* every hour of the range, before any fetch */
    int64_t *refetched;           /* hours fetched again (ascending, unique) */
    size_t nrefetched;
    agt_status refetch_status;    /* of that run (AGT_OK if none ran) */
    agt_error refetch_error;      /* its one line (as agt_sync_repair_hours gives it) */
    agt_sync_report refetch;      /* that run's report (zero if none ran) */
    agt_verify_check after;       /* the range checked again after the repair */
} agt_verify_report;

/*
 * Check the stored hours of `symbol` (any case) in [start_us, end_us]
 * (either -1: from the oldest committed hour, to the end of the newest), and
 * with `repair` non-zero repair them (above). Without `repair` the lake is
 * only read (no lock, no request). An AGT_SYNC_CHECKED event follows each
 * check, its `verify` the report so far (`stage` says which check ended).
 *
 * *out (set whenever a report was begun, else NULL) is owned by the
 * caller: agt_verify_report_free, whatever the status. Statuses:
 *   AGT_OK           no problem (left, after a repair);
 *   AGT_EINCOMPLETE  problems remain: in out->index (the statistics, which
 *                    stop the check), out->found, or out->after; or units
 *                    of the refetch failed (in .retry; err says so);
 *   AGT_EINVAL       bad input (a symbol, a reversed range): nothing
 *                    written at all;
 *   AGT_ENOTFOUND    no lake at the root, or nothing stored for the symbol:
 *                    nothing written at all;
 *   AGT_ELOCKED, AGT_EIO, AGT_ENOSPC, AGT_ECORRUPT, AGT_ENOMEM
 *                    the lake could not be opened, read or written;
 *   other statuses   the refetch stopped (out->refetch_status: interrupted,
 *                    the exchange out of reach), before the last check.
 * `err` (may be NULL) gets a one-line message. Threads: the session's rule
 * (one thread at a time per handle; the callback runs inside the call, on
 * the calling thread); a read-only check may run beside other readers and
 * one writer of the same lake, a repair is that lake's one writer
 * (AGT_ELOCKED otherwise).
 */
AGT_API agt_status agt_sync_verify(agt_sync *s, const char *symbol, int64_t start_us, int64_t end_us,
                                   int repair, agt_verify_report **out, agt_error *err);

/* Free a report and everything it holds (NULL accepted); from any thread, once
 * nothing else uses it. */
AGT_API void agt_verify_report_free(agt_verify_report *r);

#ifdef __cplusplus
}
#endif
#endif
