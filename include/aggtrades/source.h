/*
 * aggtrades/source.h - one UTC day of one symbol from either source, REST
 * or the daily archive, as 24 hours of identical rows with the facts that
 * prove each hour complete (docs/architecture.md, "Completeness"; docs/exchange.md).
 *
 * REST (/api/v3/aggTrades) is the specified path and the only one for
 * recent days; the archive (data.binance.vision daily zips with their
 * SHA-256 .CHECKSUM) is an accelerator for deep history: one download for a
 * day instead of one request per 1000 trades. The archive alone never proves
 * anything (files have been published truncated and replaced, docs/exchange.md),
 * so an archive day is proved with REST by id, cheaply:
 *   - start: the trade just before the file's first id F (fromId = F - 1,
 *     limit 1) has T before the day, or F == 0 (the symbol's first trade);
 *   - end: the trade just after the last id L (fromId = L + 1, limit 1) has
 *     T after the day, or there is none and the exchange's clock is past the
 *     day's end plus the completeness margin;
 *   - inside: the file's ids are contiguous.
 * That is two REST requests for a whole day. Whatever cannot be proved is
 * narrowed to the hours it can affect, and only those hours are fetched
 * again with REST (agt_fetch_hour): a file cut at 09:29 keeps its hours
 * 00-08, and 09-23 come from REST. A missing (404), mismatching (checksum)
 * or unreadable file sends the whole day to REST. An archive that cannot be
 * reached at all (network, HTTP errors other than 404, a ban) is not asked
 * again by the same source: later days go to REST at once.
 *
 * A source borrows an agt_client (and optionally an agt_archive); it is not
 * thread-safe, like them.
 */
#ifndef AGGTRADES_SOURCE_H
#define AGGTRADES_SOURCE_H

#include "aggtrades/archive.h"
#include "aggtrades/common.h"
#include "aggtrades/fetch.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum agt_source_policy {
    AGT_SOURCE_AUTO = 0,   /* archive, proved by REST; REST for every hour it cannot prove */
    AGT_SOURCE_REST = 1,   /* REST only, hour by hour; the archive is never asked */
    AGT_SOURCE_ARCHIVE = 2 /* archive rows only: REST sends just the proof requests, and
                              unproven hours come back with complete = 0 */
} agt_source_policy;

/* "auto", "rest", "archive"; NULL for anything else. */
AGT_API const char *agt_source_policy_name(agt_source_policy p);
/* Parse one of those names. AGT_EINVAL for anything else. */
AGT_API agt_status agt_source_policy_parse(const char *name, agt_source_policy *out, agt_error *err);

/* prev_id of an hour whose predecessor could not be established. */
#define AGT_SOURCE_ID_UNKNOWN INT64_C(-2)

/* One hour of a day. */
typedef struct agt_day_hour {
    agt_status status;  /* AGT_OK, or why the hour has no rows (a REST failure; the archive's
                           failure under AGT_SOURCE_ARCHIVE; AGT_ECANCELLED if not reached) */
    agt_error err;      /* details when status != AGT_OK */
    agt_trades rows;    /* the hour's trades sorted by id, ids unique (owned by the result) */
    agt_hour_info info; /* as agt_fetch_hour: prev_id (AGT_SOURCE_ID_UNKNOWN if not known),
                           prev_ts_us, server_time_us, complete, and the REST requests and
                           bytes spent on this hour alone */
    const char *source; /* "archive" or "rest" (static strings) */
} agt_day_hour;

typedef struct agt_day_result {
    int64_t day_start_us;
    agt_day_hour hour[24];
    int archive_tried;          /* the archive was asked */
    agt_status archive_status;  /* AGT_OK when its rows were used, else why not */
    char archive_message[256];  /* why not, or what could not be proved; "" if nothing */
    agt_archive_info archive;   /* what the file held (when archive_tried) */
    int start_proven;           /* the trade before the file's first id lies before the day */
    int end_proven;             /* the trade after its last id lies after the day */
    int archive_hours;          /* hours served from the archive */
    int rest_hours;             /* hours fetched with REST (every one attempted) */
    int unproven_hours;         /* hours returned with complete = 0 */
    int proof_requests;         /* REST requests spent on the proofs */
    uint64_t proof_bytes;
} agt_day_result;

/* Zero everything and initialise the 24 tables. */
AGT_API void agt_day_result_init(agt_day_result *r);
/* Free the 24 tables (the result may be reused after agt_day_result_init). */
AGT_API void agt_day_result_release(agt_day_result *r);

typedef struct agt_source agt_source;

/*
 * A source over `client` (required) and `archive` (NULL: REST only; AUTO
 * then behaves like REST). Both are borrowed and must outlive the source;
 * their progress callbacks see every response, so a caller's live display
 * stays right. AGT_EINVAL without a client.
 */
AGT_API agt_status agt_source_new(agt_client *client, agt_archive *archive, agt_source **out,
                          agt_error *err);
AGT_API void agt_source_free(agt_source *s);

/*
 * Fetch the UTC day of `symbol` starting at `day_start_us` (a whole day)
 * under `policy` into `out` (initialised by the caller with
 * agt_day_result_init; its tables are cleared first). Each hour carries its
 * own status: a REST hour that fails after its retries does not stop the
 * others (an exchange error such as an unknown symbol, or a ban, does: the
 * hours after it get the same status without a request). Returns AGT_OK when
 * every hour was attempted (check each hour's status), AGT_ECANCELLED when a
 * progress callback stopped it (hours already finished keep their rows, the
 * others have status AGT_ECANCELLED), AGT_EINVAL for bad arguments (nothing
 * sent), AGT_ENOMEM.
 */
AGT_API agt_status agt_source_fetch_day(agt_source *s, const char *symbol, int64_t day_start_us,
                                agt_source_policy policy, agt_day_result *out, agt_error *err);

/*
 * An hour REST could not prove (agt_fetch_hour gave complete = 0: the REST
 * history floor, for one) taken from the archive instead: the day's file,
 * read once for all the hours of a day, proved as agt_source_fetch_day
 * proves it - by REST, or where REST cannot serve the ids around the file,
 * by the neighbouring days' files chaining with it by id. AGT_OK with `out`
 * filled (rows, info with complete = 1, source "archive", status AGT_OK)
 * when that proves the hour; AGT_ENOTFOUND when it does not (no usable
 * file, or the hour stays unproven; the message says why), `out` untouched;
 * AGT_EINVAL (bad arguments, or a source without an archive), AGT_ECANCELLED,
 * AGT_ENOMEM. `out` was initialised by the caller (its rows are replaced).
 */
AGT_API agt_status agt_source_fill_hour(agt_source *s, const char *symbol, int64_t hour_start_us,
                                agt_day_hour *out, agt_error *err);

/*
 * The calendar month starting at `month_start_us` (its first instant), as
 * agt_source_fetch_day gives each of its days, into days[0 .. *ndays) (the
 * caller initialised all 31 with agt_day_result_init). Under AUTO and
 * ARCHIVE the month's single archive file serves every day
 * (agt_archive_fetch_month): one checksum-verified zip and two REST requests
 * prove the whole month by id, a day without trades is proven empty by its
 * neighbours' consecutive ids, and what cannot be proven is narrowed to hours
 * and fetched with REST (AUTO) exactly as for a day. A month the archive
 * cannot serve (not published: the month is not over, or not yet uploaded;
 * checksum mismatch, unreadable, above the size caps, rows not ordered like
 * time) falls back to agt_source_fetch_day for each day - the daily files,
 * then REST. REST fetches every day hour by hour. Statuses as
 * agt_source_fetch_day (AGT_EINVAL also when `month_start_us` does not start
 * a month).
 */
AGT_API agt_status agt_source_fetch_month(agt_source *s, const char *symbol,
                                          int64_t month_start_us, agt_source_policy policy,
                                          agt_day_result days[31], int *ndays, agt_error *err);

#ifdef __cplusplus
}
#endif
#endif
