/*
 * aggtrades/archive.h - the daily archive source: Binance's published zips
 * on data.binance.vision, an accelerator for deep history.
 *
 * For one symbol and one UTC day the archive holds
 *     {url}/data/spot/daily/aggTrades/{SYM}/{SYM}-aggTrades-{YYYY-MM-DD}.zip
 * (one headerless CSV `{SYM}-aggTrades-{YYYY-MM-DD}.csv` with the columns
 * a,p,q,f,l,T,m,M) and the same URL plus `.CHECKSUM` (sha256sum format).
 * agt_archive_fetch_day downloads both, verifies the zip's SHA-256, reads the
 * CSV inside and returns the day's trades as exactly the rows REST gives for
 * the same trades: ids, prices and quantities converted by the same exact
 * decimal code, timestamps in microseconds (the CSV is in milliseconds before
 * 2025-01-01 and in microseconds from then; ms are multiplied by 1000).
 *
 * Completeness: the archive alone never proves a day complete. Files have
 * been published truncated (spot 2021-12-14 ends at 09:29 UTC for most
 * symbols) and replaced later. agt_archive_info reports first/last id and
 * whether the ids are contiguous; a day is complete only once it is chained
 * with its neighbours (first_id == previous day's last id + 1, and the
 * trade after last_id lies after the day), which the caller proves, e.g.
 * with REST. Architecture.md §2.
 *
 * Zip reader: libzip (Debian libzip-dev). The zip is streamed to an
 * unlinked temporary file (tmp_dir below) while its SHA-256 is computed, and
 * only once verified is its member inflated, in pieces (zip_source_filep_create
 * + zip_fread), so memory does not grow with the file; libzip checks the
 * member's CRC-32 while reading; it is maintained upstream and packaged
 * everywhere. minizip (zlib's
 * contrib) needs custom I/O callbacks for memory and is packaged
 * inconsistently (minizip vs minizip-ng APIs); libarchive is a much larger
 * dependency aimed at many formats and streaming extraction. Without libzip
 * at build time agt_archive_fetch_day returns AGT_EUNSUPPORTED.
 *
 * A handle is not thread-safe; use one per thread.
 */
#ifndef AGGTRADES_ARCHIVE_H
#define AGGTRADES_ARCHIVE_H

#include "aggtrades/common.h"
#include "aggtrades/fetch.h"
#include "aggtrades/market.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct agt_archive_opts {
    const char *archive_url;  /* default "https://data.binance.vision" */
    int interval_ms;          /* minimum gap between requests; default 50 */
    int max_attempts;         /* attempts per request in total; default 4 */
    int max_ban_wait_s;       /* 429/418 asking a longer wait fail at once; default 300 */
    long connect_timeout_ms;  /* default 10000 */
    long timeout_ms;          /* whole request (a zip is tens of MB); default 600000 */
    int backoff_base_ms;      /* first retry delay before jitter; default 500 */
    uint64_t max_zip_bytes;   /* cap on a downloaded zip (on disk); default 16 GiB */
    uint64_t max_csv_bytes;   /* cap on the CSV inside (never held whole); default 256 GiB */
    long low_speed_limit;     /* bytes/s: a download slower than this for low_speed_time_s is
                                 aborted and retried; default 1024, 0 = off */
    int low_speed_time_s;     /* default 20 */
    int unit_deadline_s;      /* one day's file with its checksum, waits and retries included,
                                 fails with AGT_ENET past this; default 1800, 0 = none */
    agt_fetch_progress_fn progress; /* after every response; trades is 0 */
    void *progress_user;
    agt_market market;        /* default AGT_MARKET_SPOT: data/spot/...; um and cm read
                                 data/futures/{um,cm}/... (7-column CSV, ms) */
    const char *tmp_dir;      /* where a zip is kept while it is read, as a file without a
                                 name (freed at close, or by the kernel after a crash);
                                 NULL or missing: $TMPDIR, else /tmp. The sync engine gives
                                 the lake's metadata directory. Copied. */
} agt_archive_opts;

/* Fill `o` with the defaults above. */
AGT_API void agt_archive_opts_default(agt_archive_opts *o);

typedef struct agt_archive agt_archive;

/* Create a handle (its own HTTP connection, retry policy and spacing).
 * Copies what it needs from `o` (NULL = defaults). AGT_EINVAL for a bad URL. */
AGT_API agt_status agt_archive_new(const agt_archive_opts *o, agt_archive **out, agt_error *err);
AGT_API void agt_archive_free(agt_archive *a);

/* What a day's file held. */
typedef struct agt_archive_info {
    int64_t day_start_us;
    uint64_t rows;        /* rows returned */
    uint64_t duplicates;  /* rows dropped because their id repeated (the last one wins) */
    int64_t first_id;     /* -1 if the day has no rows */
    int64_t last_id;      /* -1 if the day has no rows */
    int64_t first_ts_us;  /* 0 if no rows */
    int64_t last_ts_us;   /* 0 if no rows */
    int contiguous;       /* 1 if last_id - first_id + 1 == rows (or no rows) */
    int ts_unit_us;       /* the file's unit: 1000 (ms) or 1 (µs) */
    int requests;         /* HTTP requests sent, retries included */
    uint64_t zip_bytes;
    uint64_t csv_bytes;
    char sha256[65];      /* the zip's verified SHA-256, lowercase hex */
} agt_archive_info;

/*
 * Download and verify the daily archive of `symbol` for the UTC day starting
 * at `day_start_us` (a whole day), and append its trades to `out` (which the
 * caller initialised) sorted by id, ids unique, every timestamp inside the
 * day. On failure `out` is left as it was. `info` may be NULL; it is filled
 * on failure too (requests sent, bytes received, rows 0). `err` may be NULL.
 * Errors: AGT_EINVAL (bad symbol or day, nothing sent), AGT_ENOTFOUND (HTTP
 * 404: the day is not published yet, or the symbol has no archive),
 * AGT_ECHECKSUM (the zip does not match its .CHECKSUM; nothing returned),
 * AGT_ECORRUPT (a verified zip that cannot be read: bad member, CRC), AGT_EPARSE
 * (a malformed .CHECKSUM after retries, or a malformed CSV row: the message
 * names the line), AGT_ENOMEM (also: a cap was hit), AGT_EIO (the temporary
 * file cannot be written), AGT_ENET, AGT_EHTTP, AGT_EBANNED, AGT_ECANCELLED,
 * AGT_EUNSUPPORTED (built without libzip). The rows are returned whole; the
 * sync engine instead reads a day hour by hour (bounded memory).
 */
AGT_API agt_status agt_archive_fetch_day(agt_archive *a, const char *symbol, int64_t day_start_us,
                                 agt_trades *out, agt_archive_info *info, agt_error *err);

/*
 * agt_archive_fetch_day for the monthly file of the calendar month starting
 * at `month_start_us` ({url}/data/.../monthly/aggTrades/{SYM}/
 * {SYM}-aggTrades-{YYYY-MM}.zip, published once the month is over): the
 * whole month's trades, checksum-verified, sorted by id, every time inside
 * the month. `info->day_start_us` is the month's start. Errors as
 * agt_archive_fetch_day (AGT_EINVAL also when `month_start_us` is not the
 * first instant of a month; AGT_ENOMEM when the zip or its CSV is above the
 * handle's caps).
 */
AGT_API agt_status agt_archive_fetch_month(agt_archive *a, const char *symbol, int64_t month_start_us,
                                           agt_trades *out, agt_archive_info *info, agt_error *err);

/*
 * Parse the text of one daily CSV of `market`, csv[0..n), for the UTC day
 * starting at `day_start_us`, appending its rows to `out` in file order (not
 * sorted, not de-duplicated). The market decides the format, never the
 * file: 8 comma-separated fields per line for spot (id, price, quantity,
 * first id, last id, time, is_buyer_maker, is_best_match), 7 for a futures
 * market (no is_best_match); "\n" or "\r\n" line ends, booleans True/False
 * or true/false, one header line of the market's width tolerated at the top;
 * the time must fall inside the day: for spot ms before 2025-01-01 and µs
 * from then, for futures ms. AGT_EPARSE naming the line number for anything
 * else (a row of the other market's width: "expected 8 fields (a spot
 * file), found 7"); AGT_EINVAL for a day that is not a whole UTC day or an
 * unknown market. `out` is unchanged on failure. Thread-safe.
 */
AGT_API agt_status agt_archive_parse_csv(const char *csv, size_t n, int64_t day_start_us,
                                         agt_market market, agt_trades *out, agt_error *err);

#ifdef __cplusplus
}
#endif
#endif
