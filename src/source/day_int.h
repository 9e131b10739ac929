/*
 * day_int.h - the pure part of agt_source_fetch_day (not public): given an
 * archive day's rows and what REST proved about its two ends, split the rows
 * into hours, give each hour its prev_id, and say which hours are proven
 * complete. No I/O, so unit tests reach it directly.
 */
#ifndef AGT_DAY_INT_H
#define AGT_DAY_INT_H

#include <stdint.h>

#include "aggtrades/source.h"
#include "common/common_int.h"

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
 * Split `rows` (sorted by id, ids unique, every time inside the day starting
 * at `day_start_us`) into hours[0..23] (appended; the caller initialised
 * them). For every hour fill info[h].hour_start_us, prev_id, prev_ts_us and
 * complete, and set unproven[h] = 1 when the hour cannot be proved complete:
 *   - no rows at all: every hour (the day needs another source);
 *   - start not known: hours 0 .. the hour of the first row;
 *   - a gap in the ids between two rows: the hours from the first of them
 *     to the second (the missing trades lie between their times);
 *   - end not known: the hour of the last row .. 23;
 *   - an hour whose own ids are not contiguous or do not follow prev_id.
 * prev_id of an hour is the last id of the rows before it (the proof's
 * prev_id for the first hours), AGT_SOURCE_ID_UNKNOWN when the start is not
 * known and no row precedes it, or the hour is unproven. AGT_ENOMEM (tables
 * then partly filled), AGT_EINVAL for a row outside the day.
 */
agt_status agt_day_split(const agt_trades *rows, int64_t day_start_us, const agt_day_proof *p,
                         agt_trades hours[24], agt_hour_info info[24], uint8_t unproven[24]);

/* ---- the source and the archive days it has read (day_cache.c) ----------- */

#define AGT_DAY_SEEN 16 /* days whose file facts are remembered */
#define AGT_DAY_ROWS 2  /* days whose rows are kept */

/* A day's file as the archive gave it (or why not). */
typedef struct agt_day_file {
    char symbol[24];
    int64_t day_start_us;   /* -1: an empty slot */
    agt_status status;      /* AGT_OK, or why the file could not be used */
    char message[256];      /* then the error's message */
    agt_archive_info info;
    agt_trades rows;        /* in the rows slots only */
    uint64_t used;          /* for replacing the least recently used slot */
} agt_day_file;

struct agt_source {
    agt_client *c;
    agt_archive *a;
    agt_status down;     /* the archive's transport failure, after which it is not asked */
    char down_msg[200];  /* its message */
    agt_day_file seen[AGT_DAY_SEEN]; /* facts of every file read lately (no rows) */
    agt_day_file rows[AGT_DAY_ROWS]; /* the rows of the last days read */
    uint64_t clock;
};

void agt_day_cache_init(agt_source *s);
/* After an archive request that ended with `st`: a failure of the archive
 * itself (network, HTTP, ban) marks it down for the source, whose later days
 * then go to REST at once. */
void agt_day_archive_answered(agt_source *s, agt_status st, const agt_error *err);
void agt_day_cache_release(agt_source *s);

/*
 * The archive's file of `symbol` for the day at `day_start_us`, read once:
 * the rows of the last AGT_DAY_ROWS days and the facts of the last
 * AGT_DAY_SEEN are kept, so a day read to prove its neighbour, or the 24
 * hours of one day filled one by one, cost one download. Returns the
 * archive's status (a transport failure also marks the archive down for
 * the source); *file (borrowed until the next call) holds the rows and
 * facts on AGT_OK. Definite answers (the file, 404, a checksum mismatch, an
 * unreadable file) are remembered; transport failures are not.
 */
agt_status agt_day_file_get(agt_source *s, const char *symbol, int64_t day_start_us,
                            const agt_day_file **file, agt_error *err);

/*
 * The facts of the archive's file for that day without keeping its rows
 * beyond the cache: 1 and *info when the file was read and has rows, else 0.
 * Used to chain a day with its neighbour by id.
 */
int agt_day_neighbour(agt_source *s, const char *symbol, int64_t day_start_us,
                      agt_archive_info *info);

/*
 * The rows of a monthly file (sorted by id, ids unique, ordered like time,
 * every time inside the `ndays` days from `month_start_us`) with what REST
 * proved about the month's two ends (`month`), cut into days: days[d] gets
 * the rows of day d (appended; the caller initialised the tables) and
 * proofs[d] what the neighbouring rows prove about that day's ends, ready for
 * agt_day_split. A day without rows is proven empty (empty_proven[d] = 1,
 * proofs[d].prev_id = the trade before it) when the trades on either side of
 * it have consecutive ids - inside the month, or at its proven ends.
 * AGT_EINVAL when the rows are not ordered like time (the caller then takes
 * the daily files), AGT_ENOMEM.
 */
agt_status agt_month_days(const agt_trades *rows, int64_t month_start_us, int ndays,
                          const agt_day_proof *month, agt_trades days[], agt_day_proof proofs[],
                          uint8_t empty_proven[]);

#endif
