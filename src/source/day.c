/*
 * day.c - agt_source_fetch_day, _fetch_month and _fill_hour: the archive
 * units of day_unit.c collected into tables (source.h). The sync engine
 * takes the same hours one by one instead (source_units.h), so its memory
 * does not grow with the day; these are for callers that want the whole
 * day (or month) at once.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source/day_int.h"
#include "source/source_int.h"
#include "source/source_units.h"

const char *agt_source_policy_name(agt_source_policy p)
{
    switch (p) {
    case AGT_SOURCE_AUTO: return "auto";
    case AGT_SOURCE_REST: return "rest";
    case AGT_SOURCE_ARCHIVE: return "archive";
    }
    return NULL;
}

agt_status agt_source_policy_parse(const char *name, agt_source_policy *out, agt_error *err)
{
    for (int p = AGT_SOURCE_AUTO; p <= AGT_SOURCE_ARCHIVE; p++)
        if (name && !strcmp(name, agt_source_policy_name((agt_source_policy)p))) {
            *out = (agt_source_policy)p;
            return AGT_OK;
        }
    return agt_err(err, AGT_EINVAL, "invalid source '%.40s': expected auto, rest or archive",
                   name ? name : "(null)");
}

agt_status agt_source_new(agt_client *client, agt_archive *archive, agt_source **out,
                          agt_error *err)
{
    agt_error_clear(err);
    if (!out) return agt_err(err, AGT_EINVAL, "null argument");
    *out = NULL;
    if (!client) return agt_err(err, AGT_EINVAL, "a source needs an exchange client");
    agt_source *s = calloc(1, sizeof *s);
    if (!s) return agt_err(err, AGT_ENOMEM, "out of memory");
    s->c = client;
    s->a = archive;
    agt_day_cache_init(s);
    *out = s;
    return AGT_OK;
}

void agt_source_set_gate(agt_source *s, agt_rows_gate gate, void *user)
{
    s->gate = gate;
    s->gate_user = user;
}

void agt_source_free(agt_source *s)
{
    if (s) agt_day_cache_release(s);
    free(s);
}

/* ---- checks ---------------------------------------------------------------------- */

static agt_status check_symbol(const char *symbol, agt_error *err)
{
    if (!agt_symbol_valid(symbol))
        return agt_err(err, AGT_EINVAL, "invalid symbol '%.40s': expected 2-20 of A-Z 0-9 _",
                       symbol ? symbol : "(null)");
    return AGT_OK;
}

static agt_status check_day(const char *symbol, int64_t day_start_us, agt_source_policy policy,
                            agt_error *err)
{
    AGT_TRY(check_symbol(symbol, err));
    if (day_start_us % AGT_US_PER_DAY != 0 || day_start_us < AGT_FIRST_HOUR_US ||
        day_start_us > INT64_C(4102444800000000)) /* 2100-01-01 */
        return agt_err(err, AGT_EINVAL, "day start %" PRId64 " is not a whole utc day in 2017..2099",
                       day_start_us);
    if (!agt_source_policy_name(policy))
        return agt_err(err, AGT_EINVAL, "invalid source policy %d", (int)policy);
    return AGT_OK;
}

/* `out` emptied for the day starting at day_start_us: every hour not reached. */
static void day_reset(agt_day_result *out, int64_t day_start_us)
{
    agt_day_result_release(out);
    agt_day_result_init(out);
    out->day_start_us = day_start_us;
    for (int h = 0; h < 24; h++) {
        out->hour[h].status = AGT_ECANCELLED;
        out->hour[h].source = "rest";
        out->hour[h].info.hour_start_us = day_start_us + h * AGT_US_PER_HOUR;
        out->hour[h].info.prev_id = AGT_SOURCE_ID_UNKNOWN;
    }
}

/* The summary's fields (not its hours) into a day of the tables. */
static void take_summary(agt_day_result *day, const agt_day_result *sum)
{
    day->archive_tried = sum->archive_tried;
    day->archive_status = sum->archive_status;
    memcpy(day->archive_message, sum->archive_message, sizeof day->archive_message);
    day->archive = sum->archive;
    day->start_proven = sum->start_proven;
    day->end_proven = sum->end_proven;
    day->proof_requests = sum->proof_requests;
    day->proof_bytes = sum->proof_bytes;
}

/* ---- collecting the hours ---------------------------------------------------------- */

typedef struct tables {
    agt_day_result *days; /* days[0] starts at start_us */
    int64_t start_us;
} tables;

/* An hour into its day's table (the rows moved, not copied). */
static agt_status collect(void *user, agt_day_hour *hour)
{
    tables *t = user;
    int64_t rel = hour->info.hour_start_us - t->start_us;
    agt_day_result *day = &t->days[rel / AGT_US_PER_DAY];
    agt_day_hour *dh = &day->hour[(rel % AGT_US_PER_DAY) / AGT_US_PER_HOUR];
    agt_trades rows = dh->rows;
    *dh = *hour;
    hour->rows = rows;
    agt_trades_clear(&hour->rows);
    if (dh->status == AGT_OK && !strcmp(dh->source, "archive")) day->archive_hours++;
    if (!strcmp(dh->source, "rest")) day->rest_hours++;
    if (dh->status == AGT_OK && !dh->info.complete) day->unproven_hours++;
    return AGT_OK;
}

agt_status agt_source_fetch_day(agt_source *s, const char *symbol, int64_t day_start_us,
                                agt_source_policy policy, agt_day_result *out, agt_error *err)
{
    agt_error local;
    if (!err) err = &local;
    agt_error_clear(err);
    if (!s || !out) return agt_err(err, AGT_EINVAL, "null argument");
    AGT_TRY(check_day(symbol, day_start_us, policy, err));
    day_reset(out, day_start_us);
    tables t = { out, day_start_us };
    agt_day_result sum;
    agt_day_result_init(&sum);
    agt_status st = agt_source_stream_day(s, symbol, day_start_us, policy, collect, &t, &sum, err);
    take_summary(out, &sum);
    agt_day_result_release(&sum);
    return st;
}

agt_status agt_source_fetch_month(agt_source *s, const char *symbol, int64_t month_start_us,
                                  agt_source_policy policy, agt_day_result days[31], int *ndays,
                                  agt_error *err)
{
    agt_error local;
    if (!err) err = &local;
    agt_error_clear(err);
    if (!s || !days || !ndays) return agt_err(err, AGT_EINVAL, "null argument");
    AGT_TRY(check_symbol(symbol, err));
    char at[40];
    agt_format_time_us(month_start_us, at, sizeof at);
    if (month_start_us < AGT_FIRST_HOUR_US || month_start_us > INT64_C(4102444800000000) ||
        strcmp(at + 8, "01 00:00:00.000000") != 0)
        return agt_err(err, AGT_EINVAL, "%" PRId64 " is not the start of a month in 2017..2099",
                       month_start_us);
    if (!agt_source_policy_name(policy))
        return agt_err(err, AGT_EINVAL, "invalid source policy %d", (int)policy);
    int n = (int)((agt_month_end_us(month_start_us) + 1 - month_start_us) / AGT_US_PER_DAY);
    *ndays = n;
    for (int d = 0; d < n; d++) day_reset(&days[d], month_start_us + d * AGT_US_PER_DAY);
    tables t = { days, month_start_us };
    agt_day_result sum;
    agt_day_result_init(&sum);
    int used = 0;
    agt_status st = agt_source_stream_month(s, symbol, month_start_us, policy, collect, &t, &sum,
                                            &used, err);
    for (int d = 0; d < n && used; d++) {
        int a = days[d].archive_hours, rh = days[d].rest_hours, u = days[d].unproven_hours;
        take_summary(&days[d], &sum);
        days[d].archive.day_start_us = days[d].day_start_us;
        days[d].archive_hours = a, days[d].rest_hours = rh, days[d].unproven_hours = u;
    }
    agt_day_result_release(&sum);
    /* not published, refused, unreadable: the daily files */
    for (int d = 0; d < n && !used && st == AGT_OK; d++) {
        st = agt_source_fetch_day(s, symbol, month_start_us + d * AGT_US_PER_DAY, policy, &days[d],
                                  err);
        if (st != AGT_ECANCELLED && st != AGT_ENOMEM) st = AGT_OK;
    }
    if (st == AGT_ECANCELLED) return agt_err(err, AGT_ECANCELLED, "cancelled");
    return st;
}

/* ---- one hour REST could not prove ------------------------------------------------- */

typedef struct one_hour {
    int64_t hour_us;
    agt_day_hour *out;
    int got;
} one_hour;

/* Keep the wanted hour and stop there. */
static agt_status keep_one(void *user, agt_day_hour *hour)
{
    one_hour *o = user;
    if (hour->info.hour_start_us != o->hour_us) return AGT_OK;
    agt_trades rows = o->out->rows;
    *o->out = *hour;
    hour->rows = rows;
    o->got = 1;
    return AGT_ECANCELLED; /* the later hours are not needed */
}

agt_status agt_source_fill_hour(agt_source *s, const char *symbol, int64_t hour_start_us,
                                agt_day_hour *out, agt_error *err)
{
    agt_error local;
    if (!err) err = &local;
    agt_error_clear(err);
    if (!s || !out || !s->a) return agt_err(err, AGT_EINVAL, "a source with an archive is needed");
    if (!agt_symbol_valid(symbol) || hour_start_us % AGT_US_PER_HOUR != 0 ||
        hour_start_us < AGT_FIRST_HOUR_US)
        return agt_err(err, AGT_EINVAL, "invalid symbol or hour");
    int64_t day = hour_start_us - hour_start_us % AGT_US_PER_DAY;
    agt_day_file *file = NULL;
    agt_status st = agt_day_file_get(s, symbol, day, &file, err);
    if (st == AGT_ECANCELLED || st == AGT_ENOMEM) return st;
    if (st != AGT_OK) {
        char why[300];
        snprintf(why, sizeof why, "%.290s", err->message);
        return agt_err(err, AGT_ENOTFOUND, "the archive's file cannot be used: %s", why);
    }
    agt_day_hour h;
    memset(&h, 0, sizeof h);
    agt_trades_init(&h.rows);
    one_hour o = { hour_start_us, &h, 0 };
    agt_day_result sum;
    agt_day_result_init(&sum);
    st = agt_source_stream_day(s, symbol, day, AGT_SOURCE_ARCHIVE, keep_one, &o, &sum, err);
    if (o.got) {
        agt_error_clear(err);
        st = AGT_OK;
    }
    if (st == AGT_OK && (h.status != AGT_OK || !h.info.complete)) {
        st = agt_err(err, AGT_ENOTFOUND, "the archive's file does not prove it either: %.200s",
                     sum.archive_message[0] ? sum.archive_message : "ids missing in the hour");
    } else if (st == AGT_OK) {
        agt_trades_release(&out->rows);
        *out = h;
        agt_trades_init(&h.rows);
        out->info.requests = sum.proof_requests;
        out->info.bytes = sum.proof_bytes;
        agt_error_clear(&out->err);
    }
    agt_trades_release(&h.rows);
    agt_day_result_release(&sum);
    return st;
}
