/*
 * aggtrades/common.h - status codes, the error record and the trade table
 * shared by every part of the public API.
 *
 * Conventions for the whole API:
 *   - functions return an agt_status; AGT_OK (0) is success;
 *   - details go into an agt_error the caller owns (may be NULL);
 *   - the library never prints, exits or aborts; out of memory is AGT_ENOMEM;
 *   - whoever creates frees; every _free/_close/_release accepts NULL;
 *   - timestamps are int64 microseconds since the Unix epoch, UTC.
 * Unless a function says otherwise it is safe to call from several threads on
 * distinct handles, and not safe on one handle.
 */
#ifndef AGGTRADES_COMMON_H
#define AGGTRADES_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * AGT_API marks every public function: libaggtrades.so is built with hidden
 * visibility and exports exactly these (tests/integration/test_exports.py
 * checks that `nm -D` lists nothing else).
 */
#if defined(__GNUC__)
#define AGT_API __attribute__((visibility("default")))
#else
#define AGT_API
#endif

/* Stable numeric values: the Python binding and the tool map them. */
typedef enum agt_status {
    AGT_OK = 0,
    AGT_EINVAL = 1,      /* bad argument or input (symbol, date, range, option) */
    AGT_ENOMEM = 2,      /* out of memory, or a hard size cap was hit */
    AGT_EIO = 3,         /* file system error (see agt_error.sys_errno) */
    AGT_ENOSPC = 4,      /* disk full */
    AGT_ENET = 5,        /* network failure after retries (connect, reset, timeout) */
    AGT_EHTTP = 6,       /* unexpected HTTP status after retries */
    AGT_EAPI = 7,        /* the exchange answered with an error code (agt_error.api_code) */
    AGT_EBANNED = 8,     /* 418/429 whose wait exceeds the configured maximum */
    AGT_EPARSE = 9,      /* malformed response body or input file */
    AGT_ECORRUPT = 10,   /* a stored file fails validation or its checksum */
    AGT_EUNSUPPORTED = 11, /* a valid feature we do not implement (e.g. an encoding) */
    AGT_ELOCKED = 12,    /* the lake is locked by another writer */
    AGT_ENOTFOUND = 13,  /* no such file, symbol-hour or id */
    AGT_ECANCELLED = 14, /* stopped by the caller (progress callback asked to stop) */
    AGT_ECHECKSUM = 15,  /* downloaded data does not match its published checksum */
    AGT_EINCOMPLETE = 16 /* data fetched but its completeness could not be proven */
} agt_status;

/* Short stable name of a status, e.g. "AGT_ENET". Never NULL. */
AGT_API const char *agt_status_name(agt_status s);

/* What went wrong, filled by the function that failed. Caller-owned. */
typedef struct agt_error {
    agt_status status;
    int http_status;   /* last HTTP status seen, 0 if none */
    int api_code;      /* exchange error code (e.g. -1121), 0 if none */
    int sys_errno;     /* errno of a failed system call, 0 if none */
    int attempts;      /* requests tried for the failing unit, 0 if not networked */
    char message[512]; /* one line, lower case, no final full stop */
} agt_error;

/* Reset every field to "no error". Accepts NULL. */
AGT_API void agt_error_clear(agt_error *err);

/*
 * A table of trades in columns (structure of arrays), the unit that flows from
 * sources to the lake and from the lake to readers. Columns have `len` valid
 * entries and room for `cap`. Initialise with agt_trades_init (all NULL/0) and
 * release with agt_trades_release; the table owns its arrays.
 */
typedef struct agt_trades {
    int64_t *trade_id;       /* aggregate trade id ("a") */
    int64_t *ts_us;          /* trade time, microseconds since epoch UTC ("T") */
    double *price;           /* "p", correctly rounded from the decimal string */
    double *quantity;        /* "q" */
    uint8_t *is_buyer_maker; /* "m", 0 or 1 */
    size_t len;
    size_t cap;
} agt_trades;

/* An empty table (every column NULL, len and cap 0); it allocates nothing. */
AGT_API void agt_trades_init(agt_trades *t);
/* Free the columns and leave the table empty, as agt_trades_init does. NULL accepted. */
AGT_API void agt_trades_release(agt_trades *t);
/* Ensure room for at least `cap` rows. AGT_ENOMEM on failure (table unchanged). */
AGT_API agt_status agt_trades_reserve(agt_trades *t, size_t cap);
/* Append one row, growing as needed. */
AGT_API agt_status agt_trades_push(agt_trades *t, int64_t trade_id, int64_t ts_us, double price,
                           double quantity, int is_buyer_maker);
/* Append all rows of `src`. */
AGT_API agt_status agt_trades_append(agt_trades *dst, const agt_trades *src);
AGT_API void agt_trades_clear(agt_trades *t); /* len = 0, keeps the memory */
/*
 * Sort by trade_id ascending and drop rows whose trade_id repeats, keeping the
 * last occurrence in input order (the newest data wins). Returns the number of
 * rows dropped through *dropped if not NULL.
 */
AGT_API agt_status agt_trades_sort_unique(agt_trades *t, size_t *dropped);
/* 1 if trade ids strictly increase and timestamps never decrease, else 0. */
AGT_API int agt_trades_is_sorted(const agt_trades *t);

/* Library version string "X.Y.Z". */
AGT_API const char *agt_version(void);

#ifdef __cplusplus
}
#endif
#endif
