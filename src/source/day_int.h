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

#endif
