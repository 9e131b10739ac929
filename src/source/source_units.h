/*
 * source_units.h - what the sync engine asks of the source module beyond the
 * public API (source.h, fetch.h): the exchange's clock read with the
 * exchange info, and from the day source an archive unit - a day, or a month from its
 * monthly file - handed on hour by hour as each hour is decided, so a
 * caller that commits every hour at once holds at most one hour of rows
 * whatever the size of the file (agt_source_fetch_day and _month collect
 * the same hours into tables).
 */
#ifndef AGT_SOURCE_UNITS_H
#define AGT_SOURCE_UNITS_H

#include "aggtrades/fetch.h"
#include "aggtrades/source.h"

/*
 * One hour of a unit (hour->info.hour_start_us says which), decided: rows,
 * info, status and source as in agt_day_result. `hour` is borrowed for the
 * call; its rows may be taken (swapped out). Hours come in order. Anything
 * but AGT_OK stops the unit with that status (a commit that failed; a stop).
 */
typedef agt_status (*agt_hour_sink)(void *user, agt_day_hour *hour);

/*
 * Asked before a unit being streamed holds `rows` more rows: a batch of its
 * file about to join the hour being collected, a page of an hour REST
 * fetches for it, or the batches a file's reader may read ahead. It may
 * wait (a caller streaming several units at once keeps the rows they hold
 * within a budget); anything but AGT_OK stops the unit with that status.
 * A negative count hands rows back (the reader's, once the file is read)
 * and never waits.
 */
typedef agt_status (*agt_rows_gate)(void *user, int64_t rows);

/*
 * A fresh reading of the exchange's clock, as agt_client_server_time. If the
 * client has still to read the exchange info, it reads it now, for `symbol`,
 * and that body's "serverTime" is the reading: a run's first request then
 * brings the limits, the clock and whether the symbol is listed (GET /time
 * only when it did not).
 */
agt_status agt_client_server_time_for(agt_client *c, const char *symbol, int64_t *now_us,
                                      agt_error *err);
/* 1 if the exchange info the client read lists `symbol` (0: not read, not
 * listed, or the limits came from the process's cache). */
int agt_client_lists(const agt_client *c, const char *symbol);

/* The gate of every unit streamed through `s` from now on (NULL: none). */
void agt_source_set_gate(agt_source *s, agt_rows_gate gate, void *user);

/*
 * agt_source_fetch_day handing each hour to `fn` instead of collecting them.
 * `sum` (initialised by the caller) gets everything but the hours: archive
 * status and message, the file's facts, what was proven, the counts.
 * Returns AGT_OK when every hour was handed on, or the status of the sink or
 * of the run (AGT_ECANCELLED, AGT_ENOMEM) that stopped it.
 */
agt_status agt_source_stream_day(agt_source *s, const char *symbol, int64_t day_start_us,
                                 agt_source_policy policy, agt_hour_sink fn, void *user,
                                 agt_day_result *sum, agt_error *err);

/*
 * The calendar month starting at `month_start_us` from its one monthly file
 * (policy AUTO or ARCHIVE), handed on hour by hour: one checksum-verified
 * zip and two REST proofs for the month; a day without trades is proven
 * empty by the consecutive ids around it. *used = 0 when the monthly file
 * could not be had (not published, checksum, caps): nothing was handed on,
 * and the caller takes the daily files. `sum` as for a day (its
 * day_start_us is the month's).
 */
agt_status agt_source_stream_month(agt_source *s, const char *symbol, int64_t month_start_us,
                                   agt_source_policy policy, agt_hour_sink fn, void *user,
                                   agt_day_result *sum, int *used, agt_error *err);

#endif
