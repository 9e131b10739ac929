/*
 * quarantine_hour.c - agt_lake_quarantine_hour: the data of an hour that
 * cannot be trusted is set aside (quarantine.c) and its loss recorded in the
 * statistics index (agt_stats_lost), so that the hour reads as incomplete
 * and the next fetch commits it afresh.
 */
#include <stdio.h>
#include <stdint.h>

#include "lake/lake_int.h"

agt_status agt_lake_quarantine_hour(agt_lake *lake, const char *symbol, int64_t hour_start_us,
                                    char *moved, size_t n, agt_error *err)
{
    if (moved && n) moved[0] = '\0';
    if (!lake) return agt_err(err, AGT_EINVAL, "invalid argument");
    AGT_TRY(agt_lake_writable(lake, err));
    AGT_TRY(agt_lake_check_hour(symbol, hour_start_us, err));
    char rel[160], prel[168], path[AGT_LAKE_PATH_MAX];
    AGT_TRY(agt_lake_data_rel(lake, symbol, hour_start_us, rel, sizeof rel, err));
    /* A writer has no commit in flight here (recovery ran at open): a "prev"
       name is a leftover, its content no more trusted than the file's. */
    AGT_TRY(agt_lake_aside(lake, rel, AGT_LAKE_PREV, prel, sizeof prel, err));
    for (int prev = 0; prev < 2; prev++) {
        const char *r = prev ? prel : rel;
        char to[AGT_LAKE_PATH_MAX];
        AGT_TRY(agt_lake_path(lake, path, sizeof path, r, err));
        if (!agt_lake_exists(path)) continue;
        AGT_TRY(agt_lake_set_aside(lake, r, to, sizeof to, err));
        agt_lake_notice(lake, "moved '%s' aside to '%s'", r, to);
        if (!prev && moved && n) snprintf(moved, n, "%s", to);
    }
    /* Then record the loss: the hour reads as incomplete and is fetched
       again (agt_stats_lost). A crash between the two steps leaves an entry
       without its file, which readers, verify and download all take as a
       missing hour. */
    agt_day_stats d;
    agt_status s = agt_stats_load(lake, symbol, hour_start_us, &d, err);
    if (s == AGT_ECORRUPT) /* the day is rebuilt from its files, this one no longer among them */
        return agt_stats_rebuild(lake, symbol, hour_start_us, hour_start_us, INT64_MAX, NULL, err);
    if (s != AGT_OK) return s;
    const agt_file_stats *old = agt_stats_find(&d, hour_start_us);
    if (!old || old->rows == 0) return AGT_OK; /* no data of the hour was ever stored */
    agt_file_stats lost;
    agt_stats_lost(&lost, hour_start_us, old->version);
    lost.fetched_at_us = old->fetched_at_us; /* when the data now lost was fetched */
    return agt_stats_put(lake, symbol, &d, &lost, err);
}
