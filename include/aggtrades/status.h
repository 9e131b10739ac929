/*
 * aggtrades/status.h - what a lake holds, per symbol, told from its
 * bookkeeping alone: the statistics index (metadata/stats/), the failure
 * ledger (<root>/.retry) and the names in the change feed's directory.
 * No data file is opened, read or stat'ed, so the answer costs a few small
 * JSON files a day stored whatever the size of the data (`aggtrades
 * verify` is the check that reads the data files).
 *
 * The hours of a symbol. Its span runs from `first_hour_us` to
 * `last_hour_us`: the earliest and the latest hour that is either committed
 * (has a statistics entry) or listed in the ledger. Every hour of the span
 * is counted in exactly one of four classes, taken in this order:
 *   failed    listed in <root>/.retry (a run could not fetch or prove it;
 *             `aggtrades retry` fetches it again), whatever is stored;
 *   complete  its statistics entry says proven complete, ids contiguous;
 *   open      stored but not proven complete, fetched before the hour had
 *             ended on the exchange's clock (plus the completeness margin of
 *             agt_client_opts): exact for its time, `update` completes it;
 *   missing   every other hour of the span: never committed (a gap between
 *             two stored ranges), or committed but neither complete, open
 *             nor failed (an hour whose data was lost, an unproven hour of
 *             an older version).
 * So complete + open + failed + missing = hours = the span's length in
 * hours. A complete hour is not checked against its neighbours here (id
 * chaining) nor against its data file: verify does that.
 *
 * Threads and locking: reads only; never takes the writer's lock and never
 * writes, so it works on a read-only file system and beside a running
 * writer (which it never blocks: what it reports is the state of some
 * instant during the call, day file by day file).
 */
#ifndef AGGTRADES_STATUS_H
#define AGGTRADES_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "aggtrades/common.h"
#include "aggtrades/lake.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One symbol of a lake (see the header comment for the classes of hours). */
typedef struct agt_symbol_status {
    char symbol[24];
    int64_t first_hour_us;   /* start of the span's first hour */
    int64_t last_hour_us;    /* start of the span's last hour */
    int64_t hours;           /* hours of the span, both ends included */
    int64_t complete;        /* hours proven complete */
    int64_t open;            /* hours stored before they had ended */
    int64_t failed;          /* hours listed in .retry */
    int64_t missing;         /* every other hour of the span */
    int64_t trades;          /* rows of every committed hour (the statistics' counts) */
    int64_t data_files;      /* committed hours that have a data file */
    uint64_t data_bytes;     /* their sizes as the statistics record them (file sizes, bytes) */
    int64_t change_versions; /* change-feed files of the symbol (one per commit) */
    int64_t latest_version;  /* the highest of their versions; 0 if none */
    uint64_t change_bytes;   /* their sizes (stat of each change file), apart from data_bytes */
} agt_symbol_status;

/*
 * The status of symbols[0..n) (any case; repeats count once; n = 0: every
 * symbol the lake holds, sorted, ledger-only ones included) of the lake
 * `lake` (opened AGT_LAKE_READ or AGT_LAKE_WRITE; the .retry read is the
 * one in its root, i.e. the market's for a futures lake). On AGT_OK *out
 * is a malloc'd array of *n_out entries in the order asked (NULL when
 * there are none), owned by the caller: agt_symbol_status_free.
 * Errors (nothing is allocated then):
 *   AGT_EINVAL    an invalid symbol ("invalid symbol 'X' (...)");
 *   AGT_ENOTFOUND a symbol asked for that the lake neither stores nor lists
 *                 in its .retry ("nothing stored for 'X' in '<root>'");
 *   AGT_ECORRUPT  a damaged statistics file, or one missing while its day
 *                 has data files (named; agt_lake_rebuild_stats repairs it);
 *   AGT_EIO, AGT_ENOMEM.
 * Malformed lines of .retry are skipped, as `retry` does.
 * Thread safety: as any call on `lake` (one thread per handle).
 */
AGT_API agt_status agt_lake_status(agt_lake *lake, const char *const *symbols, size_t n,
                                   agt_symbol_status **out, size_t *n_out, agt_error *err);

/* Free what agt_lake_status returned (NULL accepted). */
AGT_API void agt_symbol_status_free(agt_symbol_status *v);

#ifdef __cplusplus
}
#endif
#endif
