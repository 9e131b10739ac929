/*
 * day_int.h - the archive side of the day source (not public): the pure
 * hour stream that cuts a file's rows into proven hours as they come
 * (day_stream.c; no I/O, so unit tests reach it directly), and the files a
 * source has read (day_cache.c).
 */
#ifndef AGT_DAY_INT_H
#define AGT_DAY_INT_H

#include <stdint.h>

#include "aggtrades/source.h"
#include "common/common_int.h"
#include "source/archive_int.h"
#include "source/source_units.h"

/* What REST established about the ends of an archive day. */
typedef struct agt_day_proof {
    int start_known;    /* the trade before the first id was found before the day,
                           or the first id is the symbol's first trade */
    int64_t prev_id;    /* that trade's id; -1 when none exists */
    int64_t prev_ts_us; /* its time; 0 when prev_id == -1 */
    int end_known;      /* the trade after the last id lies after the day, or none
                           exists and the day is over on the exchange's clock */
} agt_day_proof;

/*
 * The hours of an archive file decided as its rows stream by (day_stream.c).
 * Rows come in file order, which for a published file is id order (and so
 * time order): a row of a later hour closes the hours before it, each of
 * which is then final and handed to `emit` at once, so no more than one
 * hour of rows is ever held. The rules are those of a whole day split at
 * once:
 *   - no rows at all: every hour is unproven (the unit needs another source);
 *   - start not known (prove_start): hours up to the first row's;
 *   - a gap in the ids between two rows: the hours from the first of them
 *     to the second (the missing trades lie between their times);
 *   - end not known (prove_end): the hour of the last row and after;
 *   - an hour whose own ids are not contiguous or do not follow the last id
 *     before it.
 * Inside the hour being collected any order is accepted (sorted, repeated
 * ids dropped, the last one winning). A row of an hour already closed, or
 * an id not above those already handed on, is out of order: the push fails
 * with AGT_ECORRUPT and the caller abandons the rest of the file
 * (agt_hstream_abandon), `claimed` telling which handed-on hour the row
 * named.
 */
typedef struct agt_hour_stream_cb {
    /* The file's first id is known (the least of the first hour's): fill
     * p->start_known, prev_id, prev_ts_us. Anything but AGT_OK ends the stream. */
    agt_status (*prove_start)(void *user, int64_t first_id, agt_day_proof *p);
    /* The file's last id is known: *end_known = the trade after it lies after
     * the file's span (or none exists and the span is over). */
    agt_status (*prove_end)(void *user, int64_t last_id, int *end_known);
    /* Hour `idx` is final. `rows` (sorted by id, unique) may be taken (swapped
     * out); info: hour_start_us, prev_id (AGT_SOURCE_ID_UNKNOWN when not
     * known), prev_ts_us, complete = !unproven. Anything but AGT_OK ends the
     * stream with that status. */
    agt_status (*emit)(void *user, int idx, agt_trades *rows, const agt_hour_info *info,
                       int unproven);
    void *user;
} agt_hour_stream_cb;

#define AGT_STREAM_MAX_HOURS (31 * 24)

typedef struct agt_hour_stream {
    int64_t start_us;  /* the first hour */
    int nhours;        /* 24 for a day, up to AGT_STREAM_MAX_HOURS for a month */
    agt_hour_stream_cb cb;
    int started;       /* the start was proved */
    int cur;           /* hour whose rows are collected; -1 before the first row */
    int next;          /* first hour not handed on */
    agt_trades rows;   /* rows of hour cur */
    int64_t chain_id;  /* the last id before hour cur (AGT_SOURCE_ID_UNKNOWN) */
    int64_t chain_ts;
    int64_t emitted_max; /* the highest id handed on, -1 */
    int claimed;       /* after AGT_ECORRUPT: the handed-on hour an out-of-order row named, or -1 */
    uint8_t unproven[AGT_STREAM_MAX_HOURS];
    /* what the file held so far (agt_archive_info's terms) */
    uint64_t nrows, duplicates;
    int64_t first_id, last_id, first_ts_us, last_ts_us; /* -1 / 0 when no rows */
} agt_hour_stream;

/* AGT_EINVAL unless start_us is a whole hour and 1 <= nhours <= AGT_STREAM_MAX_HOURS. */
agt_status agt_hstream_init(agt_hour_stream *hs, int64_t start_us, int nhours,
                            const agt_hour_stream_cb *cb);
void agt_hstream_release(agt_hour_stream *hs);
/* The next rows of the file, in file order. AGT_EINVAL for a row outside the
 * span, AGT_ECORRUPT for one out of order, AGT_ENOMEM, or a callback's status. */
agt_status agt_hstream_push(agt_hour_stream *hs, const agt_trades *rows);
/* The file ended: prove its end and hand on every hour left. */
agt_status agt_hstream_finish(agt_hour_stream *hs);
/* The rest of the file is not used (it failed, or is out of order): every
 * hour not handed on yet before hour `upto` goes out unproven (the hour in
 * collection with the rows it has); hs->next then says where it stopped. */
agt_status agt_hstream_abandon(agt_hour_stream *hs, int upto);

/*
 * The whole-table form, for rows already read (sorted by id, ids unique,
 * every time inside the day starting at `day_start_us`) with what REST
 * proved about the day's ends: hours[0..23] (appended; the caller
 * initialised them), info[h] and unproven[h] as the stream hands them on.
 * AGT_ENOMEM (tables then partly filled), AGT_EINVAL for a row outside the
 * day; rows out of order leave the hour they name and every later hour
 * unproven.
 */
agt_status agt_day_split(const agt_trades *rows, int64_t day_start_us, const agt_day_proof *p,
                         agt_trades hours[24], agt_hour_info info[24], uint8_t unproven[24]);

/*
 * agt_archive_zip_rows (archive_int.h) with the inflating and parsing on a
 * thread of its own, a few batches ahead of `fn` (rows_ahead.c): `fn` is
 * called on the calling thread with the same batches in the same order,
 * and the result is the same, only sooner. The reader holds up to
 * AGT_ROWS_AHEAD_BATCHES batches ahead, each the rows of one MiB of CSV.
 */
#define AGT_ROWS_AHEAD_BATCHES 8
agt_status agt_archive_zip_rows_ahead(const agt_archive_zip *z, agt_rows_fn fn, void *user,
                                      uint64_t *csv_bytes, agt_error *err);

/* ---- the source and the archive files it has read (day_cache.c) --------- */

#define AGT_DAY_SEEN 16 /* days whose file facts are remembered */
#define AGT_DAY_ZIPS 2  /* verified daily zips kept on disk (unlinked temporary files) */

/* A day's file as the archive gave it (or why not). */
typedef struct agt_day_file {
    char symbol[24];
    int64_t day_start_us;   /* -1: an empty slot */
    agt_status status;      /* AGT_OK, or why the file could not be used */
    char message[256];      /* then the error's message */
    int scanned;            /* info holds the rows' facts (rows, first/last id and time) */
    agt_archive_info info;
    agt_archive_zip zip;    /* in the zip slots only */
    uint64_t used;          /* for replacing the least recently used slot */
} agt_day_file;

struct agt_source {
    agt_client *c;
    agt_archive *a;
    agt_status down;     /* the archive's transport failure, after which it is not asked */
    char down_msg[200];  /* its message */
    agt_day_file seen[AGT_DAY_SEEN]; /* facts of every file read lately */
    agt_day_file zips[AGT_DAY_ZIPS]; /* the last daily files downloaded */
    uint64_t clock;
    agt_rows_gate gate;              /* asked before a unit holds more rows (NULL: never) */
    void *gate_user;
};

void agt_day_cache_init(agt_source *s);
/* After an archive request that ended with `st`: a failure of the archive
 * itself (network, HTTP, ban) marks it down for the source, whose later days
 * then go to REST at once. */
void agt_day_archive_answered(agt_source *s, agt_status st, const agt_error *err);
void agt_day_cache_release(agt_source *s);

/*
 * The archive's verified file of `symbol` for the day at `day_start_us`,
 * downloaded once: the last AGT_DAY_ZIPS stay on disk, so a day read to
 * prove its neighbour, or the 24 hours of one day filled one by one, cost
 * one download. Returns the archive's status (a transport failure also marks
 * the archive down for the source); *file (borrowed until the next call)
 * holds the zip on AGT_OK. Definite answers (the file, 404, a checksum
 * mismatch) are remembered; transport failures are not.
 */
agt_status agt_day_file_get(agt_source *s, const char *symbol, int64_t day_start_us,
                            agt_day_file **file, agt_error *err);

/*
 * The monthly file of `symbol` for the month at `month_start_us`, downloaded
 * into `out` (closed first). Returns the archive's status (a transport failure marks
 * the archive down for the source).
 */
agt_status agt_month_file_get(agt_source *s, const char *symbol, int64_t month_start_us,
                              agt_archive_zip *out, agt_error *err);

/* What reading a day's file found: its facts (rows, ids, times), or that it
 * could not be read (status, message). */
void agt_day_file_scanned(agt_source *s, const char *symbol, int64_t day_start_us,
                          agt_status st, const char *message, const agt_archive_info *info);

/*
 * The facts of the archive's file for that day (read through once, no rows
 * kept, if no earlier reading left them): 1 and *info when the file was
 * read and has rows, else 0. Used to chain a day with its neighbour by id.
 */
int agt_day_neighbour(agt_source *s, const char *symbol, int64_t day_start_us,
                      agt_archive_info *info);

#endif
