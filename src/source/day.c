/*
 * day.c - agt_source_fetch_day: one UTC day as 24 proven hours from the
 * archive and REST behind one interface (source.h).
 *
 * AUTO, for a day the archive has published:
 *   1. agt_archive_fetch_day: the verified zip's rows, sorted, unique;
 *   2. two REST requests by id prove its ends (prove_ends below): the trade
 *      before the first id must lie before the day (or the first id is 0),
 *      the trade after the last id after it (or none exists and the day is
 *      over on the exchange's clock);
 *   3. agt_day_split (day_proof.c) cuts the rows into hours and narrows what
 *      could not be proved to the hours it can touch;
 *   4. those hours, and only those, are fetched again with agt_fetch_hour,
 *      whose own proof then stands for them.
 * A 404, a checksum mismatch, an unreadable zip or an empty file sends the
 * whole day to REST. REST fetches every hour with agt_fetch_hour. ARCHIVE
 * stops after step 3: unproven hours keep the file's rows, complete = 0.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source/day_int.h"
#include "source/source_int.h"

static const char SRC_ARCHIVE[] = "archive";
static const char SRC_REST[] = "rest";

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

void agt_day_result_init(agt_day_result *r)
{
    memset(r, 0, sizeof *r);
    for (int h = 0; h < 24; h++) agt_trades_init(&r->hour[h].rows);
}

void agt_day_result_release(agt_day_result *r)
{
    if (!r) return;
    for (int h = 0; h < 24; h++) agt_trades_release(&r->hour[h].rows);
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

void agt_source_free(agt_source *s)
{
    if (s) agt_day_cache_release(s);
    free(s);
}

/* ---- the proof of an archive day's ends ----------------------------------- */

/*
 * The one trade with id `id`, if the exchange has it: *found, *ts. *above =
 * the id REST served instead (the history floor, or a hole), -1 if none.
 */
static agt_status trade_at(agt_source *s, const char *symbol, int64_t id, int *found, int64_t *ts,
                           int64_t *above, agt_error *err)
{
    agt_trades t;
    agt_trades_init(&t);
    agt_status st = agt_fetch_from_id(s->c, symbol, id, 1, &t, err);
    *found = st == AGT_OK && t.len == 1 && t.trade_id[0] == id;
    *above = st == AGT_OK && t.len == 1 && t.trade_id[0] > id ? t.trade_id[0] : -1;
    *ts = *found ? t.ts_us[0] : 0;
    agt_trades_release(&t);
    return st;
}

/* A failed proof request leaves the end unproven unless the run must stop. */
static int fatal(agt_status st)
{
    return st == AGT_ECANCELLED || st == AGT_ENOMEM;
}

/* The ends of a file of the days [start_us, end_us] (one day, or a month)
 * whose ids are ai->first_id .. last_id; why an end is not proven goes to msg;
 * the requests and bytes spent are added to *r->proof_requests, proof_bytes. */
static agt_status prove_ends(agt_source *s, const char *symbol, const agt_archive_info *ai,
                             int64_t start_us, int64_t end_us, agt_day_proof *p,
                             agt_day_result *r, agt_error *err)
{
    int64_t day_end = end_us;
    uint64_t req0 = s->c->net->requests, bytes0 = s->c->net->bytes;
    agt_status st = AGT_OK;
    int found;
    int64_t ts, above;
    agt_archive_info nb;
    char *msg = r->archive_message;
    size_t mn = sizeof r->archive_message;
    memset(p, 0, sizeof *p);

    if (ai->first_id == s->c->def->first_id) { /* the symbol's first trade */
        p->start_known = 1;
        p->prev_id = -1;
    } else {
        st = trade_at(s, symbol, ai->first_id - 1, &found, &ts, &above, err);
        if (fatal(st)) goto out;
        if (found && ts < start_us) {
            p->start_known = 1;
            p->prev_id = ai->first_id - 1;
            p->prev_ts_us = ts;
        } else if (!found && agt_day_neighbour(s, symbol, start_us - AGT_US_PER_DAY, &nb) &&
                   nb.last_id == ai->first_id - 1) {
            /* REST cannot serve it (its history floor): the previous day's
             * file ends with it - the two files chain by id */
            p->start_known = 1;
            p->prev_id = nb.last_id;
            p->prev_ts_us = nb.last_ts_us;
        } else if (found) {
            snprintf(msg, mn, "the file lacks the day's first trades (trade %" PRId64 " is in the day)",
                     ai->first_id - 1);
        } else if (above >= 0) {
            snprintf(msg, mn, "trade %" PRId64 " before the file is not served by rest (it starts at %"
                     PRId64 ") and the previous day's file does not end with it",
                     ai->first_id - 1, above);
        } else {
            snprintf(msg, mn, "trade %" PRId64 " before the file could not be read%s%.150s",
                     ai->first_id - 1, st != AGT_OK ? ": " : "", st != AGT_OK ? err->message : "");
        }
    }

    st = trade_at(s, symbol, ai->last_id + 1, &found, &ts, &above, err);
    if (fatal(st)) goto out;
    if (found && ts > day_end) {
        p->end_known = 1;
    } else if (!found && (above >= 0 || st != AGT_OK) &&
               agt_day_neighbour(s, symbol, end_us + 1, &nb) &&
               nb.first_id == ai->last_id + 1) {
        p->end_known = 1; /* the next day's file starts with it */
    } else if (found) {
        char at[40];
        agt_format_time_us(ts, at, sizeof at);
        snprintf(msg, mn, "the file is truncated: it ends at trade %" PRId64 " but trade %" PRId64
                 " at %s is in the day", ai->last_id, ai->last_id + 1, at);
    } else if (above >= 0) {
        snprintf(msg, mn, "trade %" PRId64 " after the file is not served by rest (it serves %" PRId64
                 " next) and the next day's file does not start with it", ai->last_id + 1, above);
    } else if (st == AGT_OK) {
        /* nothing after the last id: complete if the day is over on the exchange */
        int64_t now;
        int64_t margin = (int64_t)s->c->opts.complete_margin_ms * AGT_US_PER_MS;
        st = agt_client_exch_now(s->c, 10 * 60 * AGT_US_PER_SEC, 0, &now, err);
        if (fatal(st)) goto out;
        p->end_known = st == AGT_OK && now >= day_end + margin;
        if (!p->end_known) snprintf(msg, mn, "no trade after the file and the day is not over");
    } else {
        snprintf(msg, mn, "trade %" PRId64 " after the file could not be read: %.150s",
                 ai->last_id + 1, err->message);
    }
    st = AGT_OK;
out:
    r->start_proven = p->start_known;
    r->end_proven = p->end_known;
    r->proof_requests += (int)(s->c->net->requests - req0);
    r->proof_bytes += s->c->net->bytes - bytes0;
    return st;
}

/* ---- the day -------------------------------------------------------------- */

/* The file's rows (r->archive holds its facts) proved and split into hours. */
static agt_status proven_hours(agt_source *s, const char *symbol, agt_day_result *r,
                               const agt_trades *rows, agt_trades hours[24], agt_hour_info info[24],
                               uint8_t unproven[24], agt_error *err)
{
    agt_day_proof proof;
    memset(&proof, 0, sizeof proof);
    if (rows->len > 0)
        AGT_TRY(prove_ends(s, symbol, &r->archive, r->day_start_us,
                           r->day_start_us + AGT_US_PER_DAY - 1, &proof, r, err));
    else snprintf(r->archive_message, sizeof r->archive_message, "the file is empty");
    agt_status st = agt_day_split(rows, r->day_start_us, &proof, hours, info, unproven);
    if (st != AGT_OK) return agt_err(err, st, "archive rows outside the day or out of memory");
    return AGT_OK;
}

/* The split hours into r (taken from `hours`); *use_rest[h] = 1 for the
 * unproven ones AUTO must fetch again (ARCHIVE keeps them, unproven). */
static void assign_hours(agt_source *s, agt_source_policy policy, agt_day_result *r,
                         agt_trades hours[24], const agt_hour_info info[24],
                         const uint8_t unproven[24], uint8_t use_rest[24])
{
    int64_t now = agt_net_exch_now(s->c->net);
    for (int h = 0; h < 24; h++) {
        agt_day_hour *dh = &r->hour[h];
        if (unproven[h] && policy == AGT_SOURCE_AUTO) {
            use_rest[h] = 1;
            continue;
        }
        agt_trades_release(&dh->rows);
        dh->rows = hours[h];
        agt_trades_init(&hours[h]);
        dh->info = info[h];
        dh->info.server_time_us = now;
        dh->source = SRC_ARCHIVE;
        dh->status = AGT_OK;
        r->archive_hours++;
        if (unproven[h]) r->unproven_hours++;
    }
}

/* The archive's rows, proved and split. *use_rest[h] = 1 for the hours AUTO
 * must fetch again. Returns AGT_OK with archive_status set, or a status that
 * ends the day (cancelled, out of memory). */
static agt_status from_archive(agt_source *s, const char *symbol, agt_source_policy policy,
                               agt_day_result *r, uint8_t use_rest[24], agt_error *err)
{
    agt_trades rows;
    agt_trades_init(&rows);
    r->archive_tried = 1;
    const agt_day_file *file = NULL;
    agt_status st = agt_day_file_get(s, symbol, r->day_start_us, &file, err);
    if (st == AGT_OK) {
        r->archive = file->info;
        if (agt_trades_append(&rows, &file->rows) != AGT_OK) st = agt_err(err, AGT_ENOMEM, "out of memory");
    }
    r->archive_status = st;
    if (st == AGT_ECANCELLED || st == AGT_ENOMEM) goto out;
    if (st != AGT_OK) {
        snprintf(r->archive_message, sizeof r->archive_message, "%.250s", err->message);
        st = AGT_OK;
        if (policy == AGT_SOURCE_ARCHIVE)
            for (int h = 0; h < 24; h++) {
                r->hour[h].status = r->archive_status;
                r->hour[h].err = *err;
            }
        else
            memset(use_rest, 1, 24);
        goto out;
    }
    agt_hour_info info[24];
    uint8_t unproven[24];
    agt_trades hours[24];
    for (int h = 0; h < 24; h++) agt_trades_init(&hours[h]);
    st = proven_hours(s, symbol, r, &rows, hours, info, unproven, err);
    if (st == AGT_OK) assign_hours(s, policy, r, hours, info, unproven, use_rest);
    for (int h = 0; h < 24; h++) agt_trades_release(&hours[h]);
out:
    agt_trades_release(&rows);
    return st;
}

/* Fetch the marked hours with REST. An exchange error or a ban is not
 * repeated for every hour: the later hours take the same status. */
static agt_status from_rest(agt_source *s, const char *symbol, agt_day_result *r,
                            const uint8_t use_rest[24])
{
    agt_status stop = AGT_OK;
    agt_error stop_err;
    agt_error_clear(&stop_err);
    for (int h = 0; h < 24; h++) {
        if (!use_rest[h]) continue;
        agt_day_hour *dh = &r->hour[h];
        dh->source = SRC_REST;
        agt_trades_clear(&dh->rows);
        memset(&dh->info, 0, sizeof dh->info);
        dh->info.hour_start_us = r->day_start_us + h * AGT_US_PER_HOUR;
        dh->info.prev_id = AGT_SOURCE_ID_UNKNOWN;
        if (stop != AGT_OK) {
            dh->status = stop;
            dh->err = stop_err;
            continue;
        }
        agt_error_clear(&dh->err);
        dh->status = agt_fetch_hour(s->c, symbol, r->day_start_us + h * AGT_US_PER_HOUR, &dh->rows,
                                    &dh->info, &dh->err);
        r->rest_hours++;
        if (dh->status == AGT_OK && !dh->info.complete) r->unproven_hours++;
        if (dh->status == AGT_EAPI || dh->status == AGT_EBANNED || dh->status == AGT_ECANCELLED ||
            dh->status == AGT_ENOMEM) {
            stop = dh->status;
            stop_err = dh->err;
        }
    }
    return stop == AGT_ECANCELLED || stop == AGT_ENOMEM ? stop : AGT_OK;
}

/* `out` emptied for the day starting at day_start_us: every hour not reached. */
static void day_reset(agt_day_result *out, int64_t day_start_us)
{
    for (int h = 0; h < 24; h++) agt_trades_release(&out->hour[h].rows);
    agt_day_result_init(out);
    out->day_start_us = day_start_us;
    for (int h = 0; h < 24; h++) {
        out->hour[h].status = AGT_ECANCELLED;
        out->hour[h].source = SRC_REST;
        out->hour[h].info.hour_start_us = day_start_us + h * AGT_US_PER_HOUR;
        out->hour[h].info.prev_id = AGT_SOURCE_ID_UNKNOWN;
    }
}

agt_status agt_source_fetch_day(agt_source *s, const char *symbol, int64_t day_start_us,
                                agt_source_policy policy, agt_day_result *out, agt_error *err)
{
    agt_error local;
    if (!err) err = &local;
    agt_error_clear(err);
    if (!s || !out) return agt_err(err, AGT_EINVAL, "null argument");
    if (!agt_symbol_valid(symbol))
        return agt_err(err, AGT_EINVAL, "invalid symbol '%.40s': expected 2-20 characters A-Z or 0-9",
                       symbol ? symbol : "(null)");
    if (day_start_us % AGT_US_PER_DAY != 0 || day_start_us < AGT_FIRST_HOUR_US ||
        day_start_us > INT64_C(4102444800000000)) /* 2100-01-01 */
        return agt_err(err, AGT_EINVAL, "day start %" PRId64 " is not a whole utc day in 2017..2099",
                       day_start_us);
    if (!agt_source_policy_name(policy))
        return agt_err(err, AGT_EINVAL, "invalid source policy %d", (int)policy);

    day_reset(out, day_start_us);
    uint8_t use_rest[24];
    memset(use_rest, 0, sizeof use_rest);
    agt_status st = AGT_OK;
    if (policy == AGT_SOURCE_REST || !s->a)
        memset(use_rest, 1, sizeof use_rest);
    else
        st = from_archive(s, symbol, policy, out, use_rest, err);
    if (st == AGT_OK) st = from_rest(s, symbol, out, use_rest);
    if (st == AGT_ECANCELLED) return agt_err(err, AGT_ECANCELLED, "cancelled");
    return st;
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
    int h = (int)((hour_start_us - day) / AGT_US_PER_HOUR);
    const agt_day_file *file = NULL;
    agt_status st = agt_day_file_get(s, symbol, day, &file, err);
    if (st == AGT_ECANCELLED || st == AGT_ENOMEM) return st;
    if (st != AGT_OK) {
        char why[300];
        snprintf(why, sizeof why, "%.290s", err->message);
        return agt_err(err, AGT_ENOTFOUND, "the archive's file cannot be used: %s", why);
    }
    agt_day_result *r = malloc(sizeof *r);
    agt_trades rows, hours[24];
    agt_hour_info info[24];
    uint8_t unproven[24];
    agt_trades_init(&rows);
    for (int k = 0; k < 24; k++) agt_trades_init(&hours[k]);
    if (!r || agt_trades_append(&rows, &file->rows) != AGT_OK) {
        st = agt_err(err, AGT_ENOMEM, "out of memory");
        goto out;
    }
    memset(r, 0, sizeof *r);
    r->day_start_us = day;
    r->archive = file->info;
    st = proven_hours(s, symbol, r, &rows, hours, info, unproven, err);
    if (st == AGT_OK && unproven[h]) {
        st = agt_err(err, AGT_ENOTFOUND, "the archive's file does not prove it either: %.200s",
                     r->archive_message[0] ? r->archive_message : "ids missing in the hour");
    } else if (st == AGT_OK) {
        agt_trades_release(&out->rows);
        out->rows = hours[h];
        agt_trades_init(&hours[h]);
        out->info = info[h];
        out->info.server_time_us = agt_net_exch_now(s->c->net);
        out->info.requests = r->proof_requests;
        out->info.bytes = r->proof_bytes;
        out->source = SRC_ARCHIVE;
        out->status = AGT_OK;
        agt_error_clear(&out->err);
    }
out:
    for (int k = 0; k < 24; k++) agt_trades_release(&hours[k]);
    agt_trades_release(&rows);
    free(r);
    return st;
}

/* ---- the month: one monthly file for up to 31 days ------------------------ */

/* Day d of a monthly file: its own rows and proof (agt_month_days). */
static agt_status month_day(agt_source *s, const char *symbol, agt_source_policy policy,
                            const agt_archive_info *mi, agt_day_result *r, const agt_trades *rows,
                            const agt_day_proof *proof, int empty_proven, agt_error *err)
{
    uint8_t use_rest[24];
    memset(use_rest, 0, sizeof use_rest);
    r->archive_tried = 1;
    r->archive_status = AGT_OK;
    r->archive = *mi;
    r->archive.day_start_us = r->day_start_us;
    r->archive.rows = rows->len;
    r->archive.first_id = rows->len ? rows->trade_id[0] : -1;
    r->archive.last_id = rows->len ? rows->trade_id[rows->len - 1] : -1;
    r->archive.contiguous = rows->len == 0 || (uint64_t)(r->archive.last_id - r->archive.first_id) + 1 == rows->len;
    r->start_proven = proof->start_known;
    r->end_proven = proof->end_known;
    agt_status st = AGT_OK;
    if (empty_proven) { /* no trade in the day, and its neighbours are consecutive */
        int64_t now = agt_net_exch_now(s->c->net);
        for (int h = 0; h < 24; h++) {
            agt_day_hour *dh = &r->hour[h];
            dh->status = AGT_OK;
            dh->source = SRC_ARCHIVE;
            dh->info.prev_id = proof->prev_id;
            dh->info.prev_ts_us = proof->prev_id >= 0 ? proof->prev_ts_us : 0;
            dh->info.server_time_us = now;
            dh->info.complete = 1;
        }
        r->archive_hours = 24;
    } else {
        agt_hour_info info[24];
        uint8_t unproven[24];
        agt_trades hours[24];
        for (int h = 0; h < 24; h++) agt_trades_init(&hours[h]);
        st = agt_day_split(rows, r->day_start_us, proof, hours, info, unproven);
        if (st == AGT_OK) assign_hours(s, policy, r, hours, info, unproven, use_rest);
        else st = agt_err(err, st, "archive rows outside the day or out of memory");
        for (int h = 0; h < 24; h++) agt_trades_release(&hours[h]);
    }
    return st == AGT_OK ? from_rest(s, symbol, r, use_rest) : st;
}

agt_status agt_source_fetch_month(agt_source *s, const char *symbol, int64_t month_start_us,
                                  agt_source_policy policy, agt_day_result days[31], int *ndays,
                                  agt_error *err)
{
    agt_error local;
    if (!err) err = &local;
    agt_error_clear(err);
    if (!s || !days || !ndays) return agt_err(err, AGT_EINVAL, "null argument");
    if (!agt_symbol_valid(symbol))
        return agt_err(err, AGT_EINVAL, "invalid symbol '%.40s': expected 2-20 of A-Z 0-9 _",
                       symbol ? symbol : "(null)");
    char at[40];
    agt_format_time_us(month_start_us, at, sizeof at);
    if (month_start_us < AGT_FIRST_HOUR_US || month_start_us > INT64_C(4102444800000000) ||
        strcmp(at + 8, "01 00:00:00.000000") != 0)
        return agt_err(err, AGT_EINVAL, "%" PRId64 " is not the start of a month in 2017..2099",
                       month_start_us);
    if (!agt_source_policy_name(policy))
        return agt_err(err, AGT_EINVAL, "invalid source policy %d", (int)policy);
    int64_t month_end = agt_month_end_us(month_start_us);
    int n = (int)((month_end + 1 - month_start_us) / AGT_US_PER_DAY);
    *ndays = n;
    for (int d = 0; d < n; d++) day_reset(&days[d], month_start_us + d * AGT_US_PER_DAY);

    agt_status st = AGT_OK;
    int monthly = policy != AGT_SOURCE_REST && s->a && s->down == AGT_OK;
    agt_trades rows, day_rows[31];
    agt_day_proof proofs[31];
    uint8_t empty[31];
    agt_trades_init(&rows);
    for (int d = 0; d < 31; d++) agt_trades_init(&day_rows[d]);
    if (monthly) {
        agt_archive_info mi;
        st = agt_archive_fetch_month(s->a, symbol, month_start_us, &rows, &mi, err);
        agt_day_archive_answered(s, st, err);
        agt_day_proof mp;
        if (st == AGT_OK && rows.len > 0)
            st = prove_ends(s, symbol, &mi, month_start_us, month_end, &mp, &days[0], err);
        if (st == AGT_OK && rows.len > 0)
            st = agt_month_days(&rows, month_start_us, n, &mp, day_rows, proofs, empty);
        monthly = st == AGT_OK && rows.len > 0;
        for (int d = 0; d < n && monthly && st == AGT_OK; d++)
            st = month_day(s, symbol, policy, &mi, &days[d], &day_rows[d], &proofs[d], empty[d], err);
        if (st == AGT_ECANCELLED) goto out;
        if (!monthly) st = AGT_OK; /* not published, refused, unreadable: the daily files */
    }
    for (int d = 0; d < n && !monthly && st == AGT_OK; d++) {
        st = agt_source_fetch_day(s, symbol, month_start_us + d * AGT_US_PER_DAY, policy, &days[d],
                                  err);
        if (st != AGT_ECANCELLED && st != AGT_ENOMEM) st = AGT_OK;
    }
out:
    agt_trades_release(&rows);
    for (int d = 0; d < 31; d++) agt_trades_release(&day_rows[d]);
    if (st == AGT_ECANCELLED) return agt_err(err, AGT_ECANCELLED, "cancelled");
    return st;
}
