/*
 * lake_int.h - pieces shared inside the lake module: the lake handle, the
 * I/O table every file write goes through, paths of the layout, the WAL,
 * the statistics index, merging and the change feed. Unit tests include it.
 *
 * The files call each other one way, from the layout up to opening a lake
 * (the layers are listed in docs/architecture.md; ctest's
 * structure_file_cycles fails on a cycle). A piece two files both need
 * goes into a lower file of its own.
 */
#ifndef AGT_LAKE_INT_H
#define AGT_LAKE_INT_H

#include <stdint.h>
#include <sys/types.h>

#include "aggtrades/lake.h"
#include "common/common_int.h"
#include "lake/lake_io.h"

#define AGT_LAKE_PATH_MAX 1024
#define AGT_LAKE_SCHEMA_VERSION 1
/* An hour of fewer rows encodes in well under a millisecond: on the committing thread. */
#define AGT_LAKE_HELPER_MIN_ROWS 8192
/* A buffer this large or smaller is kept for the next commit: a busy hour's
 * file (~3.5 MB) is not faulted in and zeroed again for every hour. */
#define AGT_LAKE_FILE_BUF_KEEP ((size_t)16 << 20)

/* ---- the handle -------------------------------------------------------- */

typedef struct agt_stash_ent {
    char symbol[24];
    int64_t hour_start_us;
    uint64_t rec_off; /* offset of the whole STASH record in the WAL file */
    uint64_t rec_len; /* its length, checksum included */
} agt_stash_ent;

typedef struct agt_wal {
    int fd;
    uint64_t size;         /* bytes of valid log (next append offset) */
    uint64_t base_version; /* from the header */
    agt_stash_ent *stash;
    size_t n_stash, cap_stash;
} agt_wal;

typedef struct agt_cdc_cache agt_cdc_cache;
typedef struct agt_lake_helper agt_lake_helper;

struct agt_lake {
    char root[AGT_LAKE_PATH_MAX];
    unsigned flags;
    const agt_lake_io *io;
    int no_fsync;
    uint64_t checkpoint_bytes;
    int lock_fd;
    agt_wal wal;
    int64_t last_version; /* highest commit version known */
    int broken;           /* a commit failed half-way: refuse writes until reopened */
    int legacy;           /* a read-only handle on a lake of the first layout (layout.c) */
    char market[8];       /* a futures market's lake: its name (AGT_LAKE_MARKET); "" spot */
    int disk_known;
    uint64_t disk_bytes;
    agt_cdc_cache *cdc_cache;   /* cdc_list.c: the last listing of a changes directory */
    unsigned long cdc_listings; /* directory listings made (tests) */
    unsigned long day_entries;  /* directory entries read listing days (stats.c, layout.c;
                                   tests: planning a short range reads none) */
    agt_buf notices;            /* quarantine.c: NUL-terminated messages not yet read */
    size_t notice_off;          /* start of the oldest unread one */
    agt_lake_helper *helper;    /* helper.c: the thread a commit encodes on, once started */
    int helper_failed;          /* none could be started: jobs run on the caller's thread */
    size_t helper_min_rows;     /* commit.c: the smallest hour encoded on the helper
                                   (AGT_LAKE_HELPER_MIN_ROWS; tests lower it) */
    agt_buf file_buf;           /* commit.c: an hour's data file bytes, kept from one
                                   commit to the next (up to AGT_LAKE_FILE_BUF_KEEP) */
};

/* ---- io.c: helpers over the I/O table ---------------------------------- */

/* Write all `n` bytes at `off` (loops over short writes). */
agt_status agt_lake_pwrite_all(agt_lake *l, int fd, const void *p, size_t n, uint64_t off,
                               const char *path, agt_error *err);
agt_status agt_lake_fsync(agt_lake *l, int fd, const char *path, agt_error *err);
agt_status agt_lake_fsync_dir(agt_lake *l, const char *dir, agt_error *err);
/* mkdir -p of `path` (absolute or relative), each created level made durable. */
agt_status agt_lake_mkdirs(agt_lake *l, const char *path, agt_error *err);
/*
 * Replace `path` atomically with `n` bytes: write its "tmp" name, fsync,
 * rename over `path`, fsync the directory. Creates the directory if missing.
 */
agt_status agt_lake_write_atomic(agt_lake *l, const char *path, const void *data, size_t n,
                                 agt_error *err);
/*
 * The same, but the file replaced (if any) first gets its "prev" second name
 * (agt_lake_aside; link(2), directory fsynced): the previous committed
 * version of a data file stays readable until its replacement is committed.
 */
agt_status agt_lake_replace_keep_prev(agt_lake *l, const char *path, const void *data, size_t n,
                                      agt_error *err);
/* Read a whole file into `out` (appends). AGT_ENOTFOUND if it does not exist. */
agt_status agt_lake_read_file(agt_lake *l, const char *path, agt_buf *out, size_t max,
                              agt_error *err);
/* Remove `path` if it exists. */
agt_status agt_lake_unlink(agt_lake *l, const char *path, agt_error *err);
int agt_lake_exists(const char *path);
/* Reads the value an entry's name stands for into *v: 1 if it does, 0 to skip it. */
typedef int (*agt_name_value_fn)(const char *name, void *ctx, int64_t *v);
/* The values `parse` reads from the entry names of `dir`, sorted ascending
 * (the caller frees *out; none if `dir` does not exist). */
agt_status agt_lake_list_values(const char *dir, agt_name_value_fn parse, void *ctx,
                                int64_t **out, size_t *n, agt_error *err);

/* ---- helper.c: a second thread for a commit's CPU work ------------------ */

/* A piece of work that only computes in memory (it writes no file). */
typedef struct agt_lake_job {
    agt_status (*fn)(void *arg);
    void *arg;
    agt_status status; /* fn's, once done */
    int done;
} agt_lake_job;
/* Start `j` on the lake's helper thread (started on first use; without one,
 * j runs here before this returns). Every job started is waited for. */
void agt_lake_job_start(agt_lake *l, agt_lake_job *j);
/* Wait for `j` to finish: its status. */
agt_status agt_lake_job_wait(agt_lake *l, agt_lake_job *j);
/* Join the helper thread (agt_lake_close); no job may be running. */
void agt_lake_helper_stop(agt_lake *l);

/* ---- layout.c ---------------------------------------------------------- */

/* "<root>/<rel>" into buf (AGT_EINVAL if too long). */
agt_status agt_lake_path(const agt_lake *l, char *buf, size_t n, const char *rel, agt_error *err);
/* Data file of an hour with extension `ext`, relative to the root. hour_start_us must be a
   whole hour >= 0. */
agt_status agt_lake_hour_rel(const char *symbol, int64_t hour_start_us, const char *ext,
                             char *buf, size_t n, agt_error *err);
/* The same with l's extension. */
agt_status agt_lake_data_rel(const agt_lake *l, const char *symbol, int64_t hour_start_us,
                             char *buf, size_t n, agt_error *err);
/* The extension of l's data files: AGT_LAKE_SPOT_EXT, or AGT_LAKE_FUTURES_EXT in a futures
   market's lake (l->market set; why: layout.c). */
const char *agt_lake_data_ext(const agt_lake *l);
#define AGT_LAKE_SPOT_EXT ".parquet"
#define AGT_LAKE_FUTURES_EXT ".parq"
/* The file naming a futures market's lake ("um\n"; absent in a spot lake: layout.c). */
#define AGT_LAKE_MARKET "metadata/_market"
/*
 * Names of the layout (the why is in layout.c). A handle with l->legacy set
 * (a reader on a lake of the first layout, not yet migrated) gets that
 * layout's names from the functions below; the macros are this layout's.
 */
#define AGT_LAKE_LOCK "metadata/_lock"
#define AGT_LAKE_WAL "metadata/wal/_wal.log"
#define AGT_LAKE_AVSC "metadata/schema_version=1/_trades.avsc"
#define AGT_LAKE_CHANGES "metadata/_changes"
#define AGT_LAKE_LEGACY_LOCK "metadata/lock"
#define AGT_LAKE_LEGACY_WAL "metadata/wal/wal.log"
#define AGT_LAKE_LEGACY_AVSC "metadata/schema_version=1/trades.avsc"
#define AGT_LAKE_LEGACY_CHANGES "metadata/changes"
/* Statistics directory of a symbol, and file of the day holding `us`, relative to the root. */
void agt_lake_stats_dir_rel(const agt_lake *l, const char *symbol, char *buf, size_t n);
void agt_lake_stats_rel(const agt_lake *l, const char *symbol, int64_t us, char *buf, size_t n);
/* Change feed directory (of every symbol, of one), and file of a commit, relative to the root. */
const char *agt_lake_changes_root(const agt_lake *l);
void agt_lake_changes_dir_rel(const agt_lake *l, const char *symbol, char *buf, size_t n);
void agt_lake_change_rel(const agt_lake *l, const char *symbol, int64_t version, char *buf,
                         size_t n);
/* The WAL, relative to the root. */
const char *agt_lake_wal_rel(const agt_lake *l);
/*
 * The second name of `path` ("tmp": being written; "prev": the version it
 * replaces, commit.c): ".<name>.<kind>" in the same directory, hidden from
 * engines ("<path>.<kind>" in the first layout).
 */
agt_status agt_lake_aside(const agt_lake *l, const char *path, const char *kind, char *buf,
                          size_t n, agt_error *err);
/* The same for the first layout (legacy = 1) or this one (0). */
agt_status agt_lake_aside_in(int legacy, const char *path, const char *kind, char *buf, size_t n,
                             agt_error *err);
#define AGT_LAKE_TMP "tmp"
#define AGT_LAKE_PREV "prev"

/* ---- futures.c ----------------------------------------------------------- */

/* l->market from AGT_LAKE_MARKET ("" when the file is absent: a spot lake). */
agt_status agt_lake_read_market(agt_lake *l, agt_error *err);
/*
 * For a writer: the lake must be `market`'s (NULL or "spot": spot); a lake of
 * another market, or a futures lake of the layout before AGT_LAKE_MARKET, is
 * refused (AGT_EINVAL). Check writes nothing (before the lock is taken);
 * claim, with the lock held, checks again and gives a futures market's new
 * lake its AGT_LAKE_MARKET, before anything else is written there.
 */
agt_status agt_lake_check_market(agt_lake *l, const char *market, agt_error *err);
agt_status agt_lake_claim_market(agt_lake *l, const char *market, agt_error *err);

/* ---- migrate.c ---------------------------------------------------------- */

/* 1 if the lake holds the first layout (not migrated, nor in the middle of it). */
int agt_lake_layout_is_legacy(const agt_lake *l);
/* For a writer holding the lock: migrate a lake of the first layout (crash-safe, resumable). */
agt_status agt_lake_migrate(agt_lake *l, agt_error *err);

/* AGT_EINVAL unless symbol is valid and hour_start_us a whole UTC hour in years 1970..9999. */
agt_status agt_lake_check_hour(const char *symbol, int64_t hour_start_us, agt_error *err);
agt_status agt_lake_check_symbol(const char *symbol, agt_error *err);
void agt_lake_disk_add(agt_lake *l, int64_t delta);
/* Day starts (sorted) of the symbol's data directories day=D lying in [lo_us, hi_us]. */
agt_status agt_lake_data_days(agt_lake *l, const char *symbol, int64_t lo_us, int64_t hi_us,
                              int64_t **days, size_t *n, agt_error *err);
/* 1 if the day's data directory holds at least one hour file of the layout. */
int agt_lake_day_has_data(agt_lake *l, const char *symbol, int64_t day_us);
/*
 * Names read back from directory listings. Each accepts exactly the names the
 * layout writes (so a foreign or hand-made name such as "month=01", "day=32"
 * or "2024- 1- 1.json" is never taken for one, and no value is read from two
 * different names) and returns 1 with the value it stands for, else 0.
 */
/* Data directory `level` 0, 1, 2: "year=YYYY" (1970..9999), "month=M" (1..12), "day=D" (1..31). */
int agt_lake_dir_name_value(const char *name, int level, long *v);
/* Statistics file "_YYYY-MM-DD.json" ("YYYY-MM-DD.json" in l's first layout) of a day in
   1970..9999: the day's start. */
int agt_lake_stats_name_day(const agt_lake *l, const char *name, int64_t *day_us);
/* Change file "vNNNNNNNNNNNNNNNNNNNN.pq" (".parquet" in l's first layout; 20 digits, at most
   INT64_MAX): its version. */
int agt_lake_change_name_version(const agt_lake *l, const char *name, int64_t *version);
/* Data file "<SYM>_YYYYMMDD_HH<agt_lake_data_ext>": its symbol (valid) and hour start. */
int agt_lake_hour_name(const agt_lake *l, const char *name, char symbol[24], int64_t *hour_us);

/* ---- quarantine.c ------------------------------------------------------ */

/*
 * Rename the file `rel` (relative to the root) within its directory to
 * ".<name>.damaged-<UTC time>[-n]", a name engines and the lake ignore, and
 * fsync the directory; `moved` (n bytes, may be NULL) receives the new
 * relative path. AGT_ENOTFOUND if the file does not exist.
 */
agt_status agt_lake_set_aside(agt_lake *l, const char *rel, char *moved, size_t n, agt_error *err);
/* Queue a message for agt_lake_next_notice (what the lake did on its own). */
void agt_lake_notice(agt_lake *l, const char *fmt, ...) AGT_PRINTF(2, 3);

/* ---- lock.c ------------------------------------------------------------ */

agt_status agt_lake_lock(agt_lake *l, agt_error *err);
void agt_lake_unlock(agt_lake *l);
/* AGT_OK if the handle may write: opened for write (so it holds the lock), and no
   write failed half-way since (l->broken: the next open recovers). */
agt_status agt_lake_writable(const agt_lake *l, agt_error *err);

/* ---- wal.c ------------------------------------------------------------- */

enum { AGT_WAL_BEGIN = 1, AGT_WAL_COMMIT = 2, AGT_WAL_STASH = 3, AGT_WAL_DROP = 4 };

#define AGT_WAL_HEADER 32
#define AGT_WAL_REC_HEAD 16
#define AGT_WAL_ROW 33
#define AGT_WAL_MAX_PAYLOAD (UINT64_C(1) << 31)
#define AGT_WAL_CHECKPOINT_DEFAULT (UINT64_C(4) << 20) /* dead bytes; see wal.c */

/* A BEGIN record decoded: the intent of one commit, rows included. */
typedef struct agt_wal_begin {
    int64_t version;
    char symbol[24];
    int64_t hour_start_us;
    int64_t prev_id;
    int complete;
    char source[16];
    int64_t fetched_at_us;
    int64_t commit_ts_us;
    agt_trades rows;
    /* A commit by reference (commit.c): the hour had no data file, so the
     * record leaves its rows out (they are in the data file the commit
     * writes); recovery finishes it if that file is in place, else undoes it. */
    int by_ref;
} agt_wal_begin;

/* Visitor of agt_wal_parse: one call per valid record. Non-zero stops (as corrupt). */
typedef int (*agt_wal_rec_fn)(void *user, uint32_t type, int64_t version, const uint8_t *payload,
                              size_t n, uint64_t payload_off);

/*
 * Parse a WAL image: the header (AGT_ECORRUPT if bad) then records until
 * the first one that is torn or fails its checksum. *valid_end receives the
 * end of the last good record; *base_version the header's version.
 */
agt_status agt_wal_parse(const uint8_t *p, size_t n, uint64_t *base_version, uint64_t *valid_end,
                         agt_wal_rec_fn fn, void *user, agt_error *err);
/* Decode a BEGIN payload (rows appended to b->rows, which must be initialised). */
agt_status agt_wal_decode_begin(const uint8_t *p, size_t n, int64_t version, agt_wal_begin *b,
                                agt_error *err);
/* Decode a STASH/DROP/COMMIT key: symbol, hour; *rows_off = offset of rows (STASH). */
agt_status agt_wal_decode_key(const uint8_t *p, size_t n, char *symbol, int64_t *hour,
                              uint64_t *nrows, size_t *rows_off, agt_error *err);
/* Decode `nrows` packed rows into `out`. */
agt_status agt_wal_decode_rows(const uint8_t *p, size_t n, uint64_t nrows, agt_trades *out,
                               agt_error *err);

/*
 * Open (creating if missing) the log (AGT_LAKE_WAL) and replay it; pending
 * BEGINs to `pending`. A log that does not replay is set aside and a new
 * one started (a notice says so).
 */
agt_status agt_wal_open(agt_lake *l, agt_wal_begin **pending, size_t *n_pending, agt_error *err);
void agt_wal_close(agt_lake *l);
/* For readers: AGT_OK if the log replays (or does not exist), else AGT_ECORRUPT
   (or a read error) with the reason in `why` (n bytes). Never writes. */
agt_status agt_wal_damaged(agt_lake *l, char *why, size_t n);
agt_status agt_wal_append_begin(agt_lake *l, const agt_wal_begin *b, agt_error *err);
agt_status agt_wal_append_commit(agt_lake *l, int64_t version, const char *symbol, int64_t hour,
                                 agt_error *err);
agt_status agt_wal_append_stash(agt_lake *l, uint32_t type, const char *symbol, int64_t hour,
                                const agt_trades *rows, agt_error *err);
/* Forget stash entries of the key (in memory). */
void agt_wal_stash_forget(agt_wal *w, const char *symbol, int64_t hour);
/*
 * Rewrite the log keeping only live stash records (atomic) when its dead
 * bytes exceed l->checkpoint_bytes, or whenever it holds any if `force`.
 */
agt_status agt_wal_checkpoint(agt_lake *l, int force, agt_error *err);
void agt_wal_begin_release(agt_wal_begin *b);
/*
 * For readers: *yes = 1 if the WAL holds a BEGIN of `symbol` for an hour in
 * [lo, hi] without its COMMIT (a commit in flight, or one the next writer
 * will finish). Reads the log; never writes.
 */
agt_status agt_wal_in_flight(agt_lake *l, const char *symbol, int64_t lo, int64_t hi, int *yes,
                             agt_error *err);

/* ---- stats.c ----------------------------------------------------------- */

/* One symbol-day of the statistics index: up to 24 entries sorted by hour. */
typedef struct agt_day_stats {
    int64_t day_start_us;
    size_t n;
    int on_disk; /* 1 if loaded from (or written to) its file; 0 if the file does not exist */
    agt_file_stats h[24];
} agt_day_stats;

/* Strict parser of a day file. AGT_ECORRUPT with a message on any deviation. */
agt_status agt_stats_parse(const char *json, size_t n, agt_day_stats *out, char *symbol_out,
                           size_t symbol_n, agt_error *err);
/* Serialise (replacing `out`'s contents). */
agt_status agt_stats_format(const char *symbol, const agt_day_stats *d, agt_buf *out);
/*
 * Load a day (AGT_OK with n = 0 and on_disk = 0 if the file does not exist;
 * AGT_ECORRUPT naming the file if it does not parse).
 */
agt_status agt_stats_load(agt_lake *l, const char *symbol, int64_t day_us, agt_day_stats *out,
                          agt_error *err);
/* Replace/insert one hour's entry of the loaded day `d` and write the day file atomically. */
agt_status agt_stats_put(agt_lake *l, const char *symbol, agt_day_stats *d,
                         const agt_file_stats *fs, agt_error *err);
/*
 * The entry of an hour whose data was lost (its file damaged and set aside,
 * or deleted): committed at `version`, no rows, not complete. The hour reads
 * as incomplete, so it is fetched again, and stays inside the stored range
 * (a missing entry at the edge of the history would shrink the range and the
 * hour would be forgotten); it breaks the id chain like a missing hour.
 */
void agt_stats_lost(agt_file_stats *fs, int64_t hour_start_us, int64_t version);
/* Write the day file atomically from `d` (format + write .tmp, fsync, rename). */
agt_status agt_stats_write_day(agt_lake *l, const char *symbol, const agt_day_stats *d,
                               agt_error *err);
/* Entry of an hour inside a loaded day, or NULL. */
const agt_file_stats *agt_stats_find(const agt_day_stats *d, int64_t hour_start_us);
/* Compute row statistics of sorted rows (rows, ts, ids, sums). */
void agt_stats_from_rows(const agt_trades *t, agt_file_stats *fs);
/*
 * A day whose data directory holds hour files but which has no statistics
 * file: AGT_OK with *appeared = 0 if a commit to it is in flight (its file
 * is not committed yet: the day reads as empty), AGT_OK with *appeared = 1
 * if the statistics file exists by now (the commit finished meanwhile),
 * otherwise AGT_ECORRUPT naming the missing statistics file.
 */
agt_status agt_stats_missing(agt_lake *l, const char *symbol, int64_t day_us, int *appeared,
                             agt_error *err);
/*
 * Sorted day starts of [lo_us, hi_us] having a statistics file, checking
 * that no day of the range has data files without one (agt_stats_missing).
 */
agt_status agt_stats_days_checked(agt_lake *l, const char *symbol, int64_t lo_us, int64_t hi_us,
                                  int64_t **days, size_t *n, agt_error *err);
/*
 * Called by agt_stats_each_day with each loaded day that has statistics
 * (d->on_disk), in day order. A non-OK status stops the walk and is returned.
 */
typedef agt_status (*agt_stats_day_fn)(void *user, const agt_day_stats *d, agt_error *err);
/*
 * The statistics of every day of [lo_us, hi_us], with the semantics of
 * agt_stats_days_checked (a day with data files but no statistics file is
 * AGT_ECORRUPT unless a commit to it is in flight). A range of at most
 * AGT_STATS_PROBE_DAYS days opens exactly its days' files and lists no
 * directory, so its cost does not depend on the size of the lake; a longer
 * one lists the symbol's statistics directory once (see stats.c).
 */
#define AGT_STATS_PROBE_DAYS 366
agt_status agt_stats_each_day(agt_lake *l, const char *symbol, int64_t lo_us, int64_t hi_us,
                              agt_stats_day_fn fn, void *user, agt_error *err);
/*
 * Sorted list of day starts (µs) having a stats file for the symbol, from
 * the file names alone (one readdir; no file is opened). Caller frees *days.
 */
agt_status agt_stats_list_days(agt_lake *l, const char *symbol, int64_t **days, size_t *n,
                               agt_error *err);

/* ---- exact.c ----------------------------------------------------------- */

/*
 * Exact sums need 128-bit integers: gcc and clang have them on every 64-bit
 * target, which is what the lake supports (it maps whole files, keeps 64-bit
 * offsets everywhere).
 */
#if !defined(__SIZEOF_INT128__)
#error "aggtrades needs unsigned __int128 (gcc or clang on a 64-bit target) for exact sums"
#endif
__extension__ typedef unsigned __int128 agt_u128;

/* Sums of quantity (units of 1e-8) and price x quantity (units of 1e-16). */
typedef struct agt_exact_sum {
    int exact; /* 0 once a value was off the 1e-8 grid or a sum would overflow */
    agt_u128 qty_e8, quote_e16;
} agt_exact_sum;

/* The integer count of 1e-8 that the double `x` stands for, if exactly one (exact.c). */
int agt_exact_units(double x, uint64_t *units);
void agt_exact_init(agt_exact_sum *s);
void agt_exact_add_row(agt_exact_sum *s, double price, double qty);
void agt_exact_add(agt_exact_sum *s, const agt_exact_sum *v);
/* To and from the split halves of the public structs (all 0 when inexact). */
void agt_exact_get(const agt_exact_sum *s, int *exact, uint64_t *qty_lo, uint64_t *qty_hi,
                   uint64_t *quote_lo, uint64_t *quote_hi);
void agt_exact_set(agt_exact_sum *s, int exact, uint64_t qty_lo, uint64_t qty_hi,
                   uint64_t quote_lo, uint64_t quote_hi);
/* Σ price·qty / Σ qty rounded once to the nearest double; 0 if inexact or no quantity. */
double agt_exact_vwap(const agt_exact_sum *s);
/* Decimal digits of v into out (at least 40 bytes); returns their number. */
size_t agt_u128_digits(agt_u128 v, char *out);
/* Parse 1..39 decimal digits without a leading zero (but "0"); 0 if malformed or too big. */
int agt_u128_parse(const char *s, agt_u128 *out);

/* ---- merge.c ----------------------------------------------------------- */

/* The result of merging incoming rows into an hour's stored rows. `rows`
 * and `inserted` may be the incoming table itself rather than a copy: read
 * them while it lives (never the stored table: that may be cleared and
 * refilled from `rows`). */
typedef struct agt_merge {
    const agt_trades *rows;     /* every row after the merge, sorted by id */
    const agt_trades *inserted; /* inserted rows */
    agt_trades pre;             /* update pre-images */
    agt_trades post;            /* update post-images (same order as pre) */
    int64_t skipped;
    agt_trades merged, ins;     /* rows and inserted, when they are copies */
    agt_trades sorted;          /* the incoming rows sorted and deduplicated, when they were not */
} agt_merge;

void agt_merge_init(agt_merge *m);
void agt_merge_release(agt_merge *m);
/* old must be sorted by id, unique; incoming any order (copied, sorted and deduplicated
   when not in id order already). */
agt_status agt_merge_rows(const agt_trades *old, const agt_trades *incoming, agt_merge *m);
/* 1 if ids are contiguous (last - first + 1 == len); 1 for an empty table. */
int agt_trades_contiguous(const agt_trades *t);

/* ---- cdc.c ------------------------------------------------------------- */

/* Encode the change file of a commit (Parquet) into `out`; `drel` is the hour's data file
   (relative to the root), `fs` its entry after the commit. */
agt_status agt_cdc_encode(const agt_wal_begin *b, const char *drel, const agt_merge *m,
                          const agt_file_stats *fs, agt_buf *out, agt_error *err);

/* ---- cdc_rows.c --------------------------------------------------------- */

struct agt_pq_file;
/* Rows of a change file and their agt_change_type (*types malloc'd; caller frees). */
agt_status agt_cdc_file_rows(const char *path, agt_trades *t, uint8_t **types, agt_error *err);
/* The same of an open change file; errors name `path`. */
agt_status agt_cdc_rows_of(struct agt_pq_file *f, const char *path, agt_trades *t,
                           uint8_t **types, agt_error *err);

/* ---- cdc_list.c --------------------------------------------------------- */

/*
 * Sorted versions > `since` of the symbol's change files (from the file
 * names; no file is opened). *v is malloc'd (NULL when *n is 0).
 */
agt_status agt_cdc_versions(agt_lake *l, const char *symbol, int64_t since, int64_t **v,
                            size_t *n, agt_error *err);
void agt_cdc_cache_free(agt_lake *l);
/* The highest version of any symbol's change file (0 if none): every commit
   writes its change file before its data file, so no version above it is on disk. */
agt_status agt_cdc_max_version(agt_lake *l, int64_t *max, agt_error *err);

/* ---- cdc_ref.c: inserts recorded by reference ------------------------- */

#define AGT_CDC_MAX_RUNS 16
#define AGT_CDC_RANGES_MAX (AGT_CDC_MAX_RUNS * 42 + 1)
/* "a-b[,c-d...]" of the ids of `ins` (sorted) into buf (AGT_CDC_RANGES_MAX); 0 if not
   representable (no rows, or more than AGT_CDC_MAX_RUNS runs). */
int agt_cdc_ref_ranges(const agt_trades *ins, char *buf, size_t n);
/* XXH64 of rows as an insert reference records it. */
uint64_t agt_cdc_rows_hash(const agt_trades *t);
/*
 * The rows inserted by the commit `version` whose change file `f` (at
 * `path`) records them by reference, appended to `out` in id order. `later`:
 * the versions after it (ascending) of commits of the same hour that updated
 * rows. *in_flight = 1 (nothing appended) if the data file does not hold the
 * commit yet and the WAL has it in flight. AGT_ECORRUPT if the rows cannot
 * be rebuilt exactly.
 */
agt_status agt_cdc_ref_resolve(agt_lake *l, const char *symbol, struct agt_pq_file *f,
                               const char *path, int64_t version, const int64_t *later,
                               size_t n_later, agt_trades *out, int *in_flight, agt_error *err);

/* ---- rebuild.c --------------------------------------------------------- */

/*
 * Re-derive the statistics of every day of `symbol` in [lo_us, hi_us] from
 * its data files and change files, ignoring change files of versions >=
 * below_version (a commit in flight), and rewrite each day file whose
 * content differs. *rewritten (may be NULL) counts the days written.
 */
agt_status agt_stats_rebuild(agt_lake *l, const char *symbol, int64_t lo_us, int64_t hi_us,
                             int64_t below_version, size_t *rewritten, agt_error *err);

/* ---- commit.c ---------------------------------------------------------- */

/* Carry out a logged commit (idempotent; used by commit and by recovery). */
agt_status agt_lake_apply(agt_lake *l, const agt_wal_begin *b, agt_commit_result *res,
                          agt_error *err);
/* Finish the commits the WAL holds without their COMMIT record (at a writer's open). */
agt_status agt_lake_recover(agt_lake *l, agt_wal_begin *pending, size_t n, agt_error *err);

/* ---- data_file.c -------------------------------------------------------- */

struct agt_pq_file;
/* The commit version a data file's footer records; -1 if it records none. */
int64_t agt_lake_file_version(const struct agt_pq_file *f);
/* Read every row of a data file (sorted by id). AGT_ENOTFOUND if absent. */
agt_status agt_lake_load_file(const char *path, agt_trades *out, int64_t *version,
                              agt_error *err);
/* Every row of an open data file (sorted by id); errors name `path`. */
agt_status agt_lake_rows_of(struct agt_pq_file *f, const char *path, agt_trades *out,
                            agt_error *err);
/*
 * For readers: open the data file of the committed version that the
 * statistics entry *f names (the protocol is in commit.c): "<path>" if its
 * footer's commit version is f->version, else "<path>.prev" if that one's
 * is; if neither, the day's statistics are read once more (a writer may have
 * completed the commit meanwhile: *f is then replaced by the new entry) and
 * the choice retried. AGT_ECORRUPT naming the path if no version matches,
 * AGT_ENOTFOUND if the file does not exist. `bytes` NULL: the file is
 * mapped; else it is read whole into `bytes`, which the handle points into.
 * `path` (n bytes) receives the path opened. The caller closes *pf.
 */
agt_status agt_lake_open_committed(agt_lake *l, const char *symbol, agt_file_stats *f,
                                   agt_buf *bytes, struct agt_pq_file **pf, char *path, size_t n,
                                   agt_error *err);
/*
 * Open the file of an hour the index lists, at the version it names
 * (agt_lake_open_committed, which may update *f). A listed file that does
 * not exist leaves the range unanswerable, like a damaged one (AGT_ECORRUPT).
 */
agt_status agt_lake_open_hour(agt_lake *l, const char *symbol, agt_file_stats *f,
                              struct agt_pq_file **pf, char *path, size_t n, agt_error *err);
/*
 * Append the rows of an open data file inside [start, end] to `out` in
 * timestamp order (then trade id), reserving no more than the rows found;
 * trade ids and timestamps outside `cols` are zeroed. `out` must have
 * those two columns (the order needs them); price, quantity or
 * is_buyer_maker left NULL (a view over a caller's arrays) are not decoded.
 * With AGT_LAKE_TS_NS in `cols` the timestamps come out in nanoseconds.
 * Errors name `path`.
 */
agt_status agt_lake_decode_range(struct agt_pq_file *pf, const char *path, int64_t start,
                                 int64_t end, unsigned cols, agt_trades *out, agt_error *err);
/* Zero rows [from, to) of the id and timestamp columns when not in `cols`. */
void agt_lake_zero_unwanted(unsigned cols, agt_trades *t, size_t from, size_t to);

/* ---- query.c, read_into.c: range reads --------------------------------- */

/* What agt_query_count fixed about one planned file (read_into.c). */
typedef struct agt_query_pin {
    struct agt_pq_file *pf; /* a file wholly inside the range, open at the version counted */
    agt_trades rows;        /* else the file's rows in the range, decoded when counting */
    size_t at, n;           /* its first row in the output and its row count */
} agt_query_pin;

struct agt_query {
    agt_lake *l;
    char symbol[24];
    int64_t start, end;
    unsigned cols;
    agt_file_stats *files; /* the plan, in hour order */
    size_t n, next;        /* planned files; the next one agt_query_next reads */
    agt_query_pin *pins;   /* agt_query_count: one per planned file, or NULL */
    size_t counted;        /* agt_query_count's total */
};

/* Close the files agt_query_count opened and drop its decoded rows. */
void agt_query_unpin(agt_query *q);

/* ---- small helpers ----------------------------------------------------- */

static inline void agt_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void agt_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint64_t agt_rd64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static inline uint32_t agt_rd32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

int64_t agt_lake_now_us(void);

/* Start of the UTC day holding `us` (floor, also for negative values). */
static inline int64_t agt_day_floor(int64_t us)
{
    return us - (((us % AGT_US_PER_DAY) + AGT_US_PER_DAY) % AGT_US_PER_DAY);
}

#endif
