/*
 * aggtrades/lake.h - the partitioned Parquet lake: commit, query, changes,
 * statistics, completeness and verification.
 *
 * A lake is a directory (docs/lake-format.md; the names in src/lake/layout.c):
 *
 *   <root>/symbol=SYM/year=YYYY/month=M/day=D/SYM_YYYYMMDD_HH.parquet
 *   <root>/metadata/wal/_wal.log       write-ahead log (commits in flight, stashed pages)
 *   <root>/metadata/schema_version=1/  _trades.avsc, the row schema in Avro
 *   <root>/metadata/stats/             per symbol-day JSON statistics of every file
 *   <root>/metadata/_changes/          change data feed, one Parquet file (.pq) per commit
 *   <root>/metadata/_lock              the writer's lock (flock) holding its pid
 *
 * Every engine opening the root (DuckDB, polars, pyarrow, pandas, Spark) sees
 * the data files only: the other names are hidden from them. A lake written
 * by version 0.1.0 or earlier is read as it is and migrated by its first
 * writer.
 * One file per symbol-hour, month and day not zero-padded, hour two digits.
 * Every commit goes through the WAL: a crash at any instant leaves every
 * committed hour intact, and the next writer to open the lake finishes (rolls
 * forward) every commit whose intent reached the WAL.
 *
 * Concurrency: one writer per lake (AGT_ELOCKED for a second one, in this
 * process or another); any number of readers, which never block and never
 * see a half-written file (files are written under a temporary name and
 * renamed). An agt_lake handle and the query handles made from it are not
 * thread-safe: use one lake handle per thread. Distinct handles may be used
 * from distinct threads freely.
 *
 * All times are int64 microseconds since the Unix epoch, UTC. Every range
 * [start_us, end_us] includes both ends. The library never prints; it
 * reports through the agt_error the caller passes (may be NULL) and through
 * callbacks.
 */
#ifndef AGGTRADES_LAKE_H
#define AGGTRADES_LAKE_H

#include <stddef.h>
#include <stdint.h>

#include "aggtrades/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- opening ---------------------------------------------------------- */

typedef struct agt_lake agt_lake;

/* Flags for agt_lake_open. */
enum {
    AGT_LAKE_READ = 1u << 0, /* read only; never locks, never writes */
    AGT_LAKE_WRITE = 1u << 1 /* take the writer lock, create the layout, run recovery */
};

/*
 * I/O table for fault-injection tests (defined in src/lake/lake_io.h, not
 * part of the stable API). NULL everywhere means the real system calls.
 */
struct agt_lake_io;

typedef struct agt_lake_opts {
    const struct agt_lake_io *io; /* NULL: POSIX; tests inject ENOSPC, EIO, crashes */
    uint64_t wal_checkpoint_bytes; /* checkpoint after a commit when the WAL holds more than
                                      this of finished commits and dropped pages; 0 = 4 MiB.
                                      A writer's close always checkpoints. */
    int no_fsync;                  /* 1: skip fsync (benchmarks only; not crash-safe) */
    const char *market;            /* writers: the market whose lake this is, agt_market_name;
                                      NULL = "spot". A futures lake records it on creation and
                                      names its data files ".parq" (docs/lake-format.md); a
                                      writer of another market is refused (AGT_EINVAL).
                                      Readers find it in the lake. */
} agt_lake_opts;

/* Fill `o` with the defaults (all zero). */
AGT_API void agt_lake_opts_default(agt_lake_opts *o);

/*
 * Open the lake at `root`.
 *   AGT_LAKE_READ:  the root must exist (AGT_ENOTFOUND otherwise). No lock.
 *   AGT_LAKE_WRITE: creates `root` and the metadata layout if missing (and
 *                   the Avro schema file), takes the lock, then recovers:
 *                   finishes every commit found unfinished in the WAL and
 *                   removes temporary files. A second writer gets
 *                   AGT_ELOCKED "lake '<root>' is locked by pid N".
 * Returns AGT_OK and a handle in *out that the caller frees with
 * agt_lake_close; on failure *out is NULL. Errors: AGT_EINVAL, AGT_ENOTFOUND,
 * AGT_ELOCKED, AGT_EIO, AGT_ENOSPC, AGT_ECORRUPT (WAL header unreadable).
 */
AGT_API agt_status agt_lake_open(const char *root, unsigned flags, agt_lake **out, agt_error *err);

/* Same with options (NULL = defaults). The options are copied; `o->io` must outlive the lake. */
AGT_API agt_status agt_lake_open_opts(const char *root, unsigned flags, const agt_lake_opts *o,
                              agt_lake **out, agt_error *err);

/*
 * Close the lake: checkpoint the WAL if writing (best effort: the log then
 * keeps only the stashed pages of hours not committed), release the
 * lock, free the handle. Every query made from it must be closed first.
 * Accepts NULL.
 */
AGT_API void agt_lake_close(agt_lake *lake);

/* The root directory the lake was opened with. Valid until close. */
AGT_API const char *agt_lake_root(const agt_lake *lake);

/*
 * What the lake did on its own to stay usable: a damaged write-ahead log or
 * a damaged or foreign data file set aside (renamed within its directory to
 * ".<name>.damaged-<UTC time>", a name engines and the lake ignore, kept for
 * inspection). Copies the oldest message not read yet into buf (n bytes,
 * truncated) and returns 1, or returns 0 when there is none. Callers show
 * them as warnings after agt_lake_open and after writes.
 */
AGT_API int agt_lake_next_notice(agt_lake *lake, char *buf, size_t n);

/* ---- committing ------------------------------------------------------- */

/* prev_id value meaning "not known" (fetch could not see before the hour). */
#define AGT_LAKE_ID_UNKNOWN INT64_C(-2)

/* What the fetch learnt about the hour being committed (agt_hour_info). */
typedef struct agt_hour_meta {
    int64_t prev_id;       /* id of the newest trade before the hour; -1 none exists;
                              AGT_LAKE_ID_UNKNOWN if not known */
    int complete;          /* 1 if the fetch proved the hour complete (docs/architecture.md) */
    const char *source;    /* "rest" or "archive" (at most 15 chars); NULL = "rest" */
    int64_t fetched_at_us; /* exchange clock when fetched; 0 if not known */
} agt_hour_meta;

typedef struct agt_commit_result {
    int64_t inserted; /* new trade ids */
    int64_t updated;  /* ids already stored with different values, now replaced */
    int64_t skipped;  /* ids already stored with identical values (and repeats in the input) */
    int64_t rows;     /* rows of the hour after the commit */
    int64_t version;  /* the commit's version (lake-wide, increasing from 1) */
} agt_commit_result;

/*
 * Merge `rows` into the hour [hour_start_us, hour_start_us + 1 h - 1 µs] of
 * `symbol` (upsert by trade_id: new ids inserted, same id with different
 * values replaced, identical rows skipped), transactionally through the WAL,
 * and record the changes in the change feed. `rows` need not be sorted; it
 * is not modified. Every timestamp must lie in the hour (AGT_EINVAL
 * otherwise, nothing written). An empty `rows` with meta->complete = 1
 * records a proven-empty hour. The hour is marked complete only if
 * meta->complete and the merged ids are contiguous. Stashed pages of the hour
 * are dropped. `meta` NULL means { AGT_LAKE_ID_UNKNOWN, 0, "rest", 0 }.
 * `res` may be NULL. Needs AGT_LAKE_WRITE (AGT_EINVAL otherwise).
 * When this returns AGT_OK the rows are durable. On an error the hour is
 * either unchanged or committed (the next open finishes it).
 */
AGT_API agt_status agt_lake_commit_hour(agt_lake *lake, const char *symbol, int64_t hour_start_us,
                                const agt_trades *rows, const agt_hour_meta *meta,
                                agt_commit_result *res, agt_error *err);

/* ---- stash: fetched pages kept for resume ----------------------------- */

/*
 * Append one fetched page of the hour to the WAL durably, so an interrupted
 * download can resume without fetching it again. Dropped when the hour is
 * committed. Needs AGT_LAKE_WRITE.
 */
AGT_API agt_status agt_lake_stash_put(agt_lake *lake, const char *symbol, int64_t hour_start_us,
                              const agt_trades *page, agt_error *err);

/*
 * Append to `out` (caller-initialised) every row stashed for the hour, sorted
 * by trade id, unique (latest page wins). Sets *n_pages to the number of
 * pages found (may be NULL); 0 pages is not an error.
 */
AGT_API agt_status agt_lake_stash_get(agt_lake *lake, const char *symbol, int64_t hour_start_us,
                              agt_trades *out, size_t *n_pages, agt_error *err);

/* Forget the stashed pages of the hour without committing. */
AGT_API agt_status agt_lake_stash_drop(agt_lake *lake, const char *symbol, int64_t hour_start_us,
                               agt_error *err);

/* ---- statistics and completeness -------------------------------------- */

/* The statistics of one symbol-hour, as kept in metadata/stats/. */
typedef struct agt_file_stats {
    int64_t hour_start_us;
    int64_t rows;              /* 0 for a proven-empty hour (no data file) */
    int64_t min_ts_us, max_ts_us; /* 0 if rows == 0 */
    int64_t first_id, last_id; /* min and max trade id; -1 if rows == 0 */
    int64_t prev_id;           /* see agt_hour_meta */
    double sum_qty;            /* sum of quantity */
    double quote_volume;       /* sum of price * quantity */
    int64_t buyer_maker;       /* rows with is_buyer_maker = 1 */
    int64_t size;              /* data file bytes; 0 if no file */
    uint64_t checksum;         /* XXH64 (seed 0) of the data file's bytes */
    char source[16];           /* "rest" or "archive" */
    int64_t version;           /* commit version that wrote the file */
    int64_t commit_ts_us;      /* when that commit happened (local clock) */
    int64_t fetched_at_us;     /* see agt_hour_meta */
    int complete;              /* 1 if proven complete and ids contiguous */
    char path[128];            /* data file path relative to the root; "" if none */
    /*
     * Exact sums (see agt_range_stats): 1 if every price and quantity of the
     * hour is a decimal with at most 8 fraction digits recovered exactly from
     * its double; 0 otherwise, for an empty hour, and for entries written
     * before exact sums existed (queries read such files' rows instead;
     * agt_lake_rebuild_stats adds them). The halves are 0 when sums_exact is 0.
     */
    int sums_exact;
    uint64_t qty_e8_lo, qty_e8_hi;     /* sum of quantity, in units of 1e-8 */
    uint64_t quote_e16_lo, quote_e16_hi; /* sum of price * quantity, in units of 1e-16 */
} agt_file_stats;

/*
 * Statistics of one hour. AGT_ENOTFOUND if the hour was never committed.
 * Reads one small JSON file; never opens the data file.
 */
AGT_API agt_status agt_lake_hour_stats(agt_lake *lake, const char *symbol, int64_t hour_start_us,
                               agt_file_stats *out, agt_error *err);

typedef enum agt_hour_status {
    AGT_HOUR_MISSING = 0,    /* never committed, or its data file is gone */
    AGT_HOUR_INCOMPLETE = 1, /* committed but not proven complete, or ids not contiguous */
    AGT_HOUR_GAP = 2,        /* complete alone, but prev_id does not chain with the last id
                                of the nearest earlier non-empty stored hour */
    AGT_HOUR_COMPLETE = 3    /* proven complete; chains with its stored neighbours */
} agt_hour_status;

/*
 * Called once per hour in order. `stats` is NULL for an hour never
 * committed; for one whose data file is not on disk with its recorded size
 * (deleted by hand) the status is AGT_HOUR_MISSING and `stats` its entry.
 * Non-zero stops.
 */
typedef int (*agt_lake_hour_fn)(void *user, int64_t hour_start_us, agt_hour_status status,
                                const agt_file_stats *stats);

/*
 * Walk every hour whose start lies in [start_us, end_us] and report its
 * status (one stat(2) per non-empty hour: an hour whose file is gone is
 * missing, so that it is fetched again rather than skipped). Chaining looks back through stored hours (empty complete hours
 * count) until the nearest earlier non-empty hour; if a missing hour is met
 * first the chain is not checked (the fetch's own proof stands).
 * AGT_ECANCELLED if the callback stopped the walk.
 */
AGT_API agt_status agt_lake_scan_hours(agt_lake *lake, const char *symbol, int64_t start_us, int64_t end_us,
                               agt_lake_hour_fn fn, void *user, agt_error *err);

/*
 * The newest stored data of `symbol`: *hour_start_us the newest committed
 * hour (empty or not), *last_ts_us and *last_id the newest stored trade (-1
 * both if no trade stored). Any output may be NULL. AGT_ENOTFOUND if the
 * symbol has no committed hour.
 */
AGT_API agt_status agt_lake_newest(agt_lake *lake, const char *symbol, int64_t *hour_start_us,
                           int64_t *last_ts_us, int64_t *last_id, agt_error *err);

/*
 * The oldest stored data of `symbol`, from the statistics alone (no data
 * file is opened): *hour_start_us the oldest committed hour, *first_ts_us
 * and *first_id the oldest stored trade (-1 both if no trade stored). Any
 * output may be NULL. AGT_ENOTFOUND if the symbol has no committed hour.
 */
AGT_API agt_status agt_lake_oldest(agt_lake *lake, const char *symbol, int64_t *hour_start_us,
                           int64_t *first_ts_us, int64_t *first_id, agt_error *err);

/*
 * The symbols present in the lake, sorted. *names is a malloc'd array of *n
 * malloc'd strings; free with agt_lake_symbols_free.
 */
AGT_API agt_status agt_lake_symbols(agt_lake *lake, char ***names, size_t *n, agt_error *err);
AGT_API void agt_lake_symbols_free(char **names, size_t n);

/*
 * Bytes of every file under the root (data, metadata, WAL). Walks the tree
 * once per handle, then tracks what this handle writes, so calling it often
 * (the live display) is cheap.
 */
AGT_API agt_status agt_lake_disk_bytes(agt_lake *lake, uint64_t *bytes, agt_error *err);

/* ---- queries ---------------------------------------------------------- */

/* Column selection (same bits as the Parquet reader's). */
enum {
    AGT_LAKE_COL_TRADE_ID = 1u << 0,
    AGT_LAKE_COL_TIMESTAMP = 1u << 1,
    AGT_LAKE_COL_PRICE = 1u << 2,
    AGT_LAKE_COL_QUANTITY = 1u << 3,
    AGT_LAKE_COL_IS_BUYER_MAKER = 1u << 4,
    AGT_LAKE_COL_ALL = 0x1fu,
    /* Not a column: with it, a query's rows carry timestamps in nanoseconds
       (the microseconds times 1000), as a dataframe of datetime64[ns] holds them. */
    AGT_LAKE_TS_NS = 1u << 5
};

typedef struct agt_query agt_query;

/*
 * Plan a scan of `symbol` over [start_us, end_us]: reads the statistics of
 * the days covered only, and keeps the files whose [min_ts, max_ts]
 * overlaps. Columns not in `cols` come back as zeros (`cols` may add
 * AGT_LAKE_TS_NS; no column at all means every column). *q is freed with
 * agt_query_close, before the lake is closed. A symbol never stored gives an
 * empty query, not an error. A covered day whose statistics file is damaged,
 * or missing while the day has data files, gives AGT_ECORRUPT naming that
 * statistics file (agt_lake_rebuild_stats repairs it); so do
 * agt_lake_read_range and agt_lake_query_stats.
 */
AGT_API agt_status agt_lake_query_open(agt_lake *lake, const char *symbol, int64_t start_us,
                               int64_t end_us, unsigned cols, agt_query **q, agt_error *err);

/*
 * Replace the contents of `batch` (caller-initialised) with the next rows in
 * timestamp order (then trade id); at most one file's rows per call, decoding
 * only the pages the page index selects. *done = 1 when no rows are left
 * (batch then empty). A damaged file gives AGT_ECORRUPT whose message names
 * its path; the query may be continued past it or closed.
 */
AGT_API agt_status agt_query_next(agt_query *q, agt_trades *batch, int *done, agt_error *err);

/* Number of data files the plan kept / opened so far. */
AGT_API size_t agt_query_files_planned(const agt_query *q);

/* Close the query and free what it holds (NULL accepted); batches stay the caller's. */
AGT_API void agt_query_close(agt_query *q);

/*
 * The trades of [start_us, end_us] (the first `limit` of them in timestamp
 * order; all if limit < 0) as one standalone Parquet file, written to the
 * open descriptor `fd` from its current offset: the lake's schema and
 * encodings, ZSTD, timestamps as UTC microseconds, a bloom filter on
 * trade_id, and key-value metadata aggtrades.symbol, aggtrades.start_us,
 * aggtrades.end_us. The rows are gathered in memory first (about 33 bytes
 * each, plus the encoded file). *rows (may be NULL) receives their number.
 * The caller makes the file durable (fsync) and names it.
 */
AGT_API agt_status agt_lake_export_parquet(agt_lake *lake, const char *symbol, int64_t start_us,
                                   int64_t end_us, int64_t limit, int fd, int64_t *rows,
                                   agt_error *err);

/* Convenience: append every row of the range to `out` (caller-initialised). */
AGT_API agt_status agt_lake_read_range(agt_lake *lake, const char *symbol, int64_t start_us, int64_t end_us,
                               unsigned cols, agt_trades *out, agt_error *err);

/*
 * The exact number of rows agt_query_read_into will give. Opens the files
 * lying wholly inside the range (their footers give their rows; they stay
 * open, so a commit meanwhile changes nothing of this read) and decodes the
 * files at its edges (at most two; their rows are kept in the query). Once
 * counted, agt_query_next has nothing more to give. Errors as
 * agt_query_next's.
 */
AGT_API agt_status agt_query_count(agt_query *q, size_t *rows, agt_error *err);

/*
 * Read every row of the query, in timestamp order (then trade id), into
 * arrays the caller owns: `dst` describes them (never grown nor freed by
 * this call): rows go to index dst->len onwards, dst->cap is the room, and
 * a NULL column is not stored. Counts first (agt_query_count) if not done;
 * AGT_EINVAL if the room is smaller than the count. On success dst->len
 * grows by the count. Files are decoded by `threads` threads at once (0:
 * one per online CPU), straight into dst's columns; a column left NULL is
 * not decoded at all. Trade ids and timestamps outside the query's `cols`
 * are zeros. A damaged file gives
 * AGT_ECORRUPT naming it (dst's contents are then unspecified). The query
 * is used up: close it next.
 */
AGT_API agt_status agt_query_read_into(agt_query *q, agt_trades *dst, unsigned threads, agt_error *err);

/*
 * Memory for one column of a result that agt_query_read_into fills and a
 * binding hands over to its dataframe library: `bytes` writable bytes
 * (16-byte aligned), or NULL if none can be had. Give it back with
 * agt_lake_column_free and the same `bytes` once nothing uses it. Large
 * columns (1 MiB or more) are mapped on their own, aligned for transparent
 * huge pages, and a freed one is kept (lazily released to the kernel, which
 * may reclaim it at any time) for the next read to reuse without page
 * faults: at most 16 blocks and 512 MiB are kept. The contents are
 * unspecified. Thread-safe.
 */
AGT_API void *agt_lake_column_alloc(size_t bytes);
/* Give back a block of agt_lake_column_alloc(bytes). NULL accepted. Thread-safe. */
AGT_API void agt_lake_column_free(void *p, size_t bytes);

typedef struct agt_range_stats {
    int64_t count;
    int64_t first_ts_us, last_ts_us; /* 0 if count == 0 */
    int64_t first_id, last_id;       /* -1 if count == 0 */
    double sum_qty;
    double quote_volume;             /* sum of price * quantity */
    int64_t buyer_maker;             /* rows with is_buyer_maker = 1 */
    int64_t files_read;              /* files whose data had to be decoded (range edges, and
                                        whole files whose entry has no exact sums) */
    int64_t files_from_stats;        /* files answered from the statistics index alone */
    /*
     * Exact sums, for ctypes as plain integers: an unsigned 128-bit value is
     * hi * 2^64 + lo. With sums_exact = 1, quantity = (qty_e8) / 10^8 and
     * quote volume = (quote_e16) / 10^16 exactly: the sums of the decimals
     * the exchange sent (agt_lake_units_decimal prints them). sums_exact is 0
     * (halves 0) if some price or quantity of the range is not such a decimal
     * (never seen from the exchange) or the sums would overflow: then only
     * the doubles above are available.
     */
    int sums_exact;
    uint64_t qty_e8_lo, qty_e8_hi;
    uint64_t quote_e16_lo, quote_e16_hi;
    double vwap; /* quote volume / quantity: with sums_exact the exact quotient rounded
                    once to the nearest double, else quote_volume / sum_qty; 0 if no quantity */
} agt_range_stats;

/*
 * Aggregate over [start_us, end_us]: files lying wholly inside the range are
 * answered from the statistics (their exact sums included, so a month costs
 * a month of small JSON files), the others by decoding their overlapping
 * pages. The exact sums and vwap equal a row-by-row integer sum; the double
 * sums are in file order, so they may differ from a row-by-row sum in the
 * last bits.
 */
AGT_API agt_status agt_lake_query_stats(agt_lake *lake, const char *symbol, int64_t start_us,
                                int64_t end_us, agt_range_stats *out, agt_error *err);

/*
 * Exact decimal text of (hi * 2^64 + lo) / 10^scale (scale 0..38), without
 * trailing fraction zeros (nor a '.' when nothing is left after it): e.g.
 * agt_lake_units_decimal(st.qty_e8_lo, st.qty_e8_hi, 8, buf, sizeof buf).
 * 48 bytes always suffice. Returns buf.
 */
AGT_API char *agt_lake_units_decimal(uint64_t lo, uint64_t hi, int scale, char *buf, size_t n);

typedef struct agt_lookup_info {
    int64_t hour_start_us;  /* hour whose id range holds the id; -1 if none */
    int stats_days_read;    /* statistics files read (binary search over days) */
    int files_opened;       /* data files opened (0 or 1) */
    int bloom_checked;      /* 1 if the bloom filter was probed */
    int bloom_negative;     /* 1 if it said "certainly absent" */
    int pages_read;         /* data pages decoded */
} agt_lookup_info;

/*
 * Find one trade by id: statistics locate the hour whose [first_id,
 * last_id] holds it (binary search over days), then the file's bloom filter
 * (if use_bloom), then the page index to decode one page. Appends the row to
 * `out` and sets *found = 1, or *found = 0 (an id outside every file, or in
 * a gap). `info` may be NULL.
 */
AGT_API agt_status agt_lake_find_trade(agt_lake *lake, const char *symbol, int64_t trade_id, int use_bloom,
                               agt_trades *out, int *found, agt_lookup_info *info, agt_error *err);

/* ---- change data feed ------------------------------------------------- */

typedef enum agt_change_type {
    AGT_CHANGE_INSERT = 0,          /* "insert" */
    AGT_CHANGE_UPDATE_PREIMAGE = 1, /* "update_preimage": the value replaced */
    AGT_CHANGE_UPDATE_POSTIMAGE = 2 /* "update_postimage": the new value */
} agt_change_type;

/* Name in the change files: "insert", "update_preimage", "update_postimage". */
AGT_API const char *agt_change_type_name(agt_change_type t);

typedef struct agt_change {
    agt_change_type type;
    int64_t version;       /* _commit_version */
    int64_t commit_ts_us;  /* _commit_timestamp */
    int64_t hour_start_us; /* the hour committed */
    int64_t trade_id, ts_us;
    double price, quantity;
    int is_buyer_maker;
} agt_change;

/* One commit of the feed (also reported for commits that changed nothing). */
typedef struct agt_commit_info {
    int64_t version, commit_ts_us, hour_start_us;
    int64_t inserted, updated, skipped; /* skipped = duplicates ignored */
    char source[16];
} agt_commit_info;

/* Per commit, then per change row of it. Non-zero stops (AGT_ECANCELLED). */
typedef int (*agt_lake_commit_fn)(void *user, const agt_commit_info *c);
typedef int (*agt_lake_change_fn)(void *user, const agt_change *c);

/*
 * Report every change of `symbol` with version > since_version in version
 * order: `on_commit` once per commit (may be NULL), then `on_change` per row
 * (may be NULL), inserts and update pre/post images in trade id order.
 */
AGT_API agt_status agt_lake_read_changes(agt_lake *lake, const char *symbol, int64_t since_version,
                                 agt_lake_commit_fn on_commit, agt_lake_change_fn on_change,
                                 void *user, agt_error *err);

/* The same as columns, for bindings: arrays of `len` entries owned by the table. */
typedef struct agt_changes {
    agt_trades rows;        /* trade_id, ts_us, price, quantity, is_buyer_maker */
    uint8_t *type;          /* agt_change_type */
    int64_t *version;
    int64_t *commit_ts_us;
    size_t len;
    size_t cap;
} agt_changes;

/* An empty change table (allocates nothing); release frees it and leaves it empty. */
AGT_API void agt_changes_init(agt_changes *c);
AGT_API void agt_changes_release(agt_changes *c);
/* Append every change with version > since_version to `out` (caller-initialised). */
AGT_API agt_status agt_lake_read_changes_table(agt_lake *lake, const char *symbol, int64_t since_version,
                                       agt_changes *out, agt_error *err);

/* ---- verification ----------------------------------------------------- */

typedef enum agt_verify_kind {
    AGT_VERIFY_UNREADABLE = 1,   /* data file unreadable, truncated or not valid Parquet */
    AGT_VERIFY_CHECKSUM = 2,     /* file bytes do not match the recorded XXH64 */
    AGT_VERIFY_STATS = 3,        /* recomputed statistics differ from the index */
    AGT_VERIFY_NOT_CONTIGUOUS = 4, /* ids of the file are not contiguous */
    AGT_VERIFY_CHAIN = 5,        /* prev_id does not chain with the previous stored hour */
    AGT_VERIFY_ORPHAN = 6,       /* data file present but absent from the statistics */
    AGT_VERIFY_INDEX = 7,        /* statistics file of a day damaged (path: that file);
                                    agt_lake_rebuild_stats repairs it */
    AGT_VERIFY_STATS_MISSING = 8, /* statistics file of a day missing while the day has data
                                    files (path: the missing file); agt_lake_rebuild_stats */
    AGT_VERIFY_MISSING_FILE = 9, /* data file listed in the statistics but absent (deleted):
                                    fetching the hour again restores it */
    AGT_VERIFY_WAL = 10          /* write-ahead log damaged (path: the log); the next writer
                                    sets it aside (it only holds uncommitted work) */
} agt_verify_kind;

/* One problem: `path` relative to the root, `hour_start_us` (-1 if none), a message. */
typedef int (*agt_lake_verify_fn)(void *user, agt_verify_kind kind, const char *path,
                                  int64_t hour_start_us, const char *message);

/*
 * Check every hour of `symbol` (NULL = every symbol) in [start_us, end_us]:
 * re-hash every data file, decode it and recompute its statistics, check
 * contiguity and chaining, look for orphan files, and for days whose
 * statistics file is damaged (AGT_VERIFY_INDEX) or missing while the day
 * has data files (AGT_VERIFY_STATS_MISSING). Calls `fn` per problem
 * (may be NULL); *problems (may be NULL) receives their number. Returns
 * AGT_OK when the walk finished (problems or not); damage never crashes.
 */
AGT_API agt_status agt_lake_verify(agt_lake *lake, const char *symbol, int64_t start_us, int64_t end_us,
                           agt_lake_verify_fn fn, void *user, size_t *problems, agt_error *err);

/*
 * The statistics part of agt_lake_verify alone: days of [start_us, end_us]
 * whose statistics file is damaged (AGT_VERIFY_INDEX) or missing while the
 * day has data files (AGT_VERIFY_STATS_MISSING). Reads statistics files and
 * directory names only, never a data file, so it is cheap over a whole
 * history and usable before the stored range is known (a damaged day makes
 * agt_lake_newest and agt_lake_query_stats fail with AGT_ECORRUPT).
 */
AGT_API agt_status agt_lake_verify_index(agt_lake *lake, const char *symbol, int64_t start_us,
                                 int64_t end_us, agt_lake_verify_fn fn, void *user,
                                 size_t *problems, agt_error *err);

/*
 * Rebuild the statistics of every day of `symbol` whose start lies in
 * [day of start_us, end_us] from the files they describe (the SQLite way:
 * the index is derived data). A day's entries are re-derived from its data
 * files (bytes hashed, footer and column statistics read, rows decoded, key-
 * value metadata for version, prev_id, completeness, source and fetch time)
 * and, for proven-empty hours, which have no data file, from the change
 * feed; the day file is rewritten atomically if it differs (so a healthy day
 * is left untouched, and rebuilding twice writes nothing the second time).
 * This repairs AGT_VERIFY_INDEX and AGT_VERIFY_STATS_MISSING. An hour whose
 * data file is gone loses its entry (it reads as missing and is fetched
 * again). *days_rewritten (may be NULL) counts the day files written or
 * removed. Needs AGT_LAKE_WRITE. Errors: AGT_ECORRUPT naming a data or
 * change file that cannot be read (that day is left as it was), AGT_EIO,
 * AGT_ENOSPC, AGT_ENOMEM, AGT_EINVAL. Commits repair their own day
 * automatically; this is for `verify --repair` and for readers' sake.
 */
AGT_API agt_status agt_lake_rebuild_stats(agt_lake *lake, const char *symbol, int64_t start_us,
                                  int64_t end_us, size_t *days_rewritten, agt_error *err);

/*
 * Set the data file of one hour aside (see agt_lake_next_notice for the
 * name; a leftover "<file>.prev" too) and remove the hour's statistics
 * entry, so that the hour reads as missing and the next fetch commits it
 * afresh. For an hour whose file verify found damaged, or holding what is
 * not the hour's committed data (another hour's file copied over it).
 * `moved` (n bytes, may be NULL) receives the new relative path of the
 * data file ("" if the hour had none). Needs AGT_LAKE_WRITE. The change
 * feed keeps the hour's earlier commits: the new fetch is recorded as
 * inserts again. Errors: AGT_EINVAL, AGT_EIO, AGT_ENOSPC.
 */
AGT_API agt_status agt_lake_quarantine_hour(agt_lake *lake, const char *symbol, int64_t hour_start_us,
                                    char *moved, size_t n, agt_error *err);

/*
 * Clear away the leftovers no commit owns (a writer has no commit in
 * flight: recovery ran at open), which agt_lake_verify reports as orphans:
 * in the data directories of `symbol`'s days in [start_us, end_us] a
 * "*.tmp" (a write that never completed) is removed, a "*.prev" and a
 * ".parquet" file the day's statistics do not list are set aside (the hour
 * then reads as missing, to be fetched again); a "*.tmp" in the symbol's
 * statistics and change directories is removed. Each is a notice
 * (agt_lake_next_notice). A day whose statistics do not load is skipped
 * (agt_lake_rebuild_stats first). *count (may be NULL) counts the files
 * handled. Needs AGT_LAKE_WRITE. Errors: AGT_EINVAL, AGT_EIO, AGT_ENOMEM.
 */
AGT_API agt_status agt_lake_tidy(agt_lake *lake, const char *symbol, int64_t start_us, int64_t end_us,
                         size_t *count, agt_error *err);

#ifdef __cplusplus
}
#endif
#endif
