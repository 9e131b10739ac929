/*
 * day_unit.c - an archive unit (a day, or a month from its monthly file)
 * handed on hour by hour (source_units.h).
 *
 * AUTO, for a file the archive has published:
 *   1. the verified zip, on disk (day_cache.c, or archive.c for a month);
 *   2. its rows stream through the hour stream (day_stream.c): when the
 *      first row is read, one REST request by id proves the start (the
 *      trade before the first id lies before the span, or the first id is
 *      the symbol's first trade); each hour is handed on as soon as a row of
 *      a later hour shows it closed; at the end of the file a second request
 *      proves the end (the trade after the last id lies after the span, or
 *      none exists and the span is over on the exchange's clock);
 *   3. an hour the file does not prove is fetched with REST (agt_fetch_hour),
 *      whose own proof then stands for it, and handed on in its turn.
 * A 404 or a checksum mismatch sends the whole unit to REST (a month: to
 * the daily files); a file that fails while it is read (a malformed row, a
 * bad CRC, rows out of order) keeps the hours already handed on - proven by
 * the rows before the failure - and sends the rest to REST (a month: the
 * rest of that day, then the daily files of the days after). ARCHIVE stops before step 3: unproven hours
 * keep the file's rows with complete = 0, and after a failure of the file
 * the remaining hours fail with it. REST fetches every hour with
 * agt_fetch_hour. The file is inflated and parsed on a reader thread a few
 * batches ahead (rows_ahead.c); everything above runs on the caller's
 * thread. Memory: one hour of rows, the reader's ring of batches (~4 MB)
 * and the zip reader's buffers, whatever the size of the file. A caller
 * streaming several units at once bounds what they hold together with the
 * source's gate (agt_source_set_gate), asked before each batch joins the
 * hour being collected, each page of a REST hour, and for the reader's ring.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "source/day_int.h"
#include "source/source_int.h"
#include "source/source_units.h"

static const char SRC_ARCHIVE[] = "archive";
static const char SRC_REST[] = "rest";

typedef struct unit {
    agt_source *s;
    const char *symbol;
    agt_source_policy policy;
    agt_hour_sink fn;
    void *user;
    agt_day_result *r;     /* the summary */
    int64_t start_us, end_us; /* the span: whole days */
    agt_hour_stream hs;
    agt_day_hour hour;     /* handed to fn */
    agt_status rest_stop;  /* an exchange error or ban: later REST hours take it */
    agt_error rest_err;
    agt_status file_st;    /* the file failed while read: under ARCHIVE, later hours take it */
    agt_error file_err;
    agt_status fatal;      /* the sink's or the run's status that stops the unit */
    int handed;            /* hours handed on from the file */
    agt_error *err;
} unit;

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

static void unit_init(unit *u, agt_source *s, const char *symbol, agt_source_policy policy,
                      agt_hour_sink fn, void *user, agt_day_result *r, int64_t start_us,
                      int64_t end_us, agt_error *err)
{
    memset(u, 0, sizeof *u);
    u->s = s;
    u->symbol = symbol;
    u->policy = policy;
    u->fn = fn;
    u->user = user;
    u->r = r;
    u->start_us = start_us;
    u->end_us = end_us;
    u->err = err;
    agt_trades_init(&u->hour.rows);
    agt_day_result_release(r); /* the summary holds no hours */
    agt_day_result_init(r);
    r->day_start_us = start_us;
}

/* A failure that ends the unit rather than one hour. */
static int fatal(agt_status st)
{
    return st == AGT_ECANCELLED || st == AGT_ENOMEM;
}

/* ---- the proof of a file's ends ----------------------------------------------- */

/* What REST served for one id. */
typedef struct probe {
    int found;     /* the trade with that id */
    int64_t ts;    /* its time */
    int64_t above; /* the id REST served instead (the history floor, or a hole), -1 if none */
} probe;

/* The one trade with id `id`, if the exchange has it. */
static agt_status trade_at(agt_source *s, const char *symbol, int64_t id, probe *p, agt_error *err)
{
    agt_trades t;
    agt_trades_init(&t);
    agt_status st = agt_fetch_from_id(s->c, symbol, id, 1, &t, err);
    p->found = st == AGT_OK && t.len == 1 && t.trade_id[0] == id;
    p->above = st == AGT_OK && t.len == 1 && t.trade_id[0] > id ? t.trade_id[0] : -1;
    p->ts = p->found ? t.ts_us[0] : 0;
    agt_trades_release(&t);
    return st;
}

/* The REST requests and bytes a proof spent, into the summary. */
static void count_proof(unit *u, uint64_t req0, uint64_t bytes0)
{
    u->r->proof_requests += (int)(u->s->c->net->requests - req0);
    u->r->proof_bytes += u->s->c->net->bytes - bytes0;
}

/* Why an end is not proven, into the summary's message. */
static void why(unit *u, const char *fmt, ...) AGT_PRINTF(2, 3);
static void why(unit *u, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(u->r->archive_message, sizeof u->r->archive_message, fmt, ap);
    va_end(ap);
}

/* The start of the file whose first id is `first_id`; why it is not proven
 * goes to the summary's message. A failed request leaves it unproven. */
static agt_status prove_start(void *user, int64_t first_id, agt_day_proof *p)
{
    unit *u = user;
    agt_source *s = u->s;
    uint64_t req0 = s->c->net->requests, bytes0 = s->c->net->bytes;
    probe t;
    agt_archive_info nb;
    agt_status st = AGT_OK;
    memset(p, 0, sizeof *p);
    if (first_id == s->c->def->first_id) { /* the symbol's first trade */
        p->start_known = 1;
        p->prev_id = -1;
    } else {
        st = trade_at(s, u->symbol, first_id - 1, &t, u->err);
        if (fatal(st)) return u->fatal = st;
        if (t.found && t.ts < u->start_us) {
            p->start_known = 1;
            p->prev_id = first_id - 1;
            p->prev_ts_us = t.ts;
        } else if (!t.found && agt_day_neighbour(s, u->symbol, u->start_us - AGT_US_PER_DAY, &nb) &&
                   nb.last_id == first_id - 1) {
            /* REST cannot serve it (its history floor): the previous day's
             * file ends with it - the two files chain by id */
            p->start_known = 1;
            p->prev_id = nb.last_id;
            p->prev_ts_us = nb.last_ts_us;
        } else if (t.found) {
            why(u, "the file lacks the day's first trades (trade %" PRId64 " is in the day)",
                first_id - 1);
        } else if (t.above >= 0) {
            why(u, "trade %" PRId64 " before the file is not served by rest (it starts at %" PRId64
                ") and the previous day's file does not end with it", first_id - 1, t.above);
        } else {
            why(u, "trade %" PRId64 " before the file could not be read%s%.150s", first_id - 1,
                st != AGT_OK ? ": " : "", st != AGT_OK ? u->err->message : "");
        }
    }
    u->r->start_proven = p->start_known;
    count_proof(u, req0, bytes0);
    return AGT_OK;
}

/* The end of the file whose last id is `last_id`. */
static agt_status prove_end(void *user, int64_t last_id, int *end_known)
{
    unit *u = user;
    agt_source *s = u->s;
    uint64_t req0 = s->c->net->requests, bytes0 = s->c->net->bytes;
    probe t;
    agt_archive_info nb;
    *end_known = 0;
    agt_status st = trade_at(s, u->symbol, last_id + 1, &t, u->err);
    if (fatal(st)) return u->fatal = st;
    if (t.found && t.ts > u->end_us) {
        *end_known = 1;
    } else if (!t.found && (t.above >= 0 || st != AGT_OK) &&
               agt_day_neighbour(s, u->symbol, u->end_us + 1, &nb) && nb.first_id == last_id + 1) {
        *end_known = 1; /* the next day's file starts with it */
    } else if (t.found) {
        char at[40];
        agt_format_time_us(t.ts, at, sizeof at);
        why(u, "the file is truncated: it ends at trade %" PRId64 " but trade %" PRId64
            " at %s is in the day", last_id, last_id + 1, at);
    } else if (t.above >= 0) {
        why(u, "trade %" PRId64 " after the file is not served by rest (it serves %" PRId64
            " next) and the next day's file does not start with it", last_id + 1, t.above);
    } else if (st == AGT_OK) {
        /* nothing after the last id: complete if the span is over on the exchange */
        int64_t now;
        int64_t margin = (int64_t)s->c->opts.complete_margin_ms * AGT_US_PER_MS;
        st = agt_client_exch_now(s->c, 10 * 60 * AGT_US_PER_SEC, 0, &now, u->err);
        if (fatal(st)) return u->fatal = st;
        *end_known = st == AGT_OK && now >= u->end_us + margin;
        if (!*end_known) why(u, "no trade after the file and the day is not over");
    } else {
        why(u, "trade %" PRId64 " after the file could not be read: %.150s", last_id + 1,
            u->err->message);
    }
    u->r->end_proven = *end_known;
    count_proof(u, req0, bytes0);
    return AGT_OK;
}

/* ---- handing hours on ------------------------------------------------------------ */

/* `rows` more rows (fewer, if negative) past the source's gate, if it has one. */
static agt_status pass_gate(agt_source *s, int64_t rows, agt_error *err)
{
    agt_status st = s->gate ? s->gate(s->gate_user, rows) : AGT_OK;
    return st == AGT_OK ? st : agt_err(err, st, "cancelled");
}

/* A page of an hour REST fetches for the unit: past the source's gate. */
static agt_status gate_page(void *user, const agt_trades *rows, agt_error *err)
{
    return pass_gate(user, (int64_t)rows->len, err);
}

/* The hour fetched with REST into dh. An exchange error or a ban is not
 * repeated for every hour: the later hours take the same status. */
static agt_status rest_hour(unit *u, agt_day_hour *dh)
{
    dh->source = SRC_REST;
    if (u->rest_stop != AGT_OK) {
        dh->status = u->rest_stop;
        dh->err = u->rest_err;
        return AGT_OK;
    }
    dh->status = agt_fetch_hour_ex(u->s->c, u->symbol, dh->info.hour_start_us, NULL,
                                   u->s->gate ? gate_page : NULL, u->s, &dh->rows, &dh->info,
                                   &dh->err);
    u->r->rest_hours++;
    if (dh->status == AGT_OK && !dh->info.complete) u->r->unproven_hours++;
    if (dh->status == AGT_EAPI || dh->status == AGT_EBANNED || fatal(dh->status)) {
        u->rest_stop = dh->status;
        u->rest_err = dh->err;
    }
    return fatal(dh->status) ? dh->status : AGT_OK;
}

/* Hour idx decided by the file (rows, info, unproven): to the sink, from
 * the file or, when the file does not prove it, from REST (AUTO). */
static agt_status deliver(void *user, int idx, agt_trades *rows, const agt_hour_info *info,
                          int unproven)
{
    unit *u = user;
    agt_day_hour *dh = &u->hour;
    agt_trades_clear(&dh->rows);
    memset(&dh->info, 0, sizeof dh->info);
    agt_error_clear(&dh->err);
    dh->info.hour_start_us = u->start_us + idx * AGT_US_PER_HOUR;
    dh->info.prev_id = AGT_SOURCE_ID_UNKNOWN;
    if (unproven && u->policy != AGT_SOURCE_ARCHIVE) {
        agt_status st = rest_hour(u, dh);
        if (st != AGT_OK) return u->fatal = agt_err(u->err, st, "%s", dh->err.message);
        dh->info.hour_start_us = u->start_us + idx * AGT_US_PER_HOUR; /* whatever rest left */
    } else if (unproven && u->file_st != AGT_OK) {
        dh->status = u->file_st;
        dh->err = u->file_err;
        dh->source = SRC_ARCHIVE;
    } else {
        agt_trades t = dh->rows; /* the rows move to the hour; its old table is reused */
        dh->rows = *rows;
        *rows = t;
        dh->info = *info;
        dh->info.server_time_us = agt_net_exch_now(u->s->c->net);
        dh->source = SRC_ARCHIVE;
        dh->status = AGT_OK;
        u->r->archive_hours++;
        if (unproven) u->r->unproven_hours++;
    }
    agt_status st = u->fn(u->user, dh);
    if (st != AGT_OK) u->fatal = st;
    return st;
}

/* Every hour of the span unproven by the file (REST, or the file's failure). */
static agt_status deliver_all(unit *u, int nhours)
{
    agt_trades none;
    agt_hour_info info;
    agt_trades_init(&none);
    memset(&info, 0, sizeof info);
    agt_status st = AGT_OK;
    for (int h = 0; h < nhours && st == AGT_OK; h++) st = deliver(u, h, &none, &info, 1);
    agt_trades_release(&none);
    return st;
}

/* ---- reading the file -------------------------------------------------------------- */

static agt_status push_rows(void *user, const agt_trades *rows, agt_error *err)
{
    unit *u = user;
    agt_status g = pass_gate(u->s, (int64_t)rows->len, err);
    if (g != AGT_OK) return u->fatal = g;
    agt_status st = agt_hstream_push(&u->hs, rows);
    if (u->fatal != AGT_OK) return u->fatal;
    if (st == AGT_ECORRUPT)
        return agt_err(err, st, "rows out of order (a row of %s after later ones)",
                       u->hs.claimed >= 0 ? "an hour already read" : "an id already read");
    if (st == AGT_EINVAL) return agt_err(err, AGT_ECORRUPT, "a row outside the file's span");
    if (st != AGT_OK) return agt_err(err, st, "out of memory");
    return AGT_OK;
}

/* The file's facts, as read so far, into the summary. */
static void file_facts(unit *u, const agt_archive_zip *z)
{
    agt_archive_info *i = &u->r->archive;
    uint64_t csv = i->csv_bytes;
    *i = z->info;
    i->csv_bytes = csv;
    i->rows = u->hs.nrows;
    i->duplicates = u->hs.duplicates;
    i->first_id = u->hs.first_id;
    i->last_id = u->hs.last_id;
    i->first_ts_us = u->hs.first_ts_us;
    i->last_ts_us = u->hs.last_ts_us;
    i->contiguous = i->rows == 0 || (uint64_t)(i->last_id - i->first_id) + 1 == i->rows;
}

/* The rows the file's reader may hold ahead (rows_ahead.c: a ring of
 * AGT_ROWS_AHEAD_BATCHES batches of one MiB of CSV, ~15,000 rows each), at
 * most the file's: a row takes about 15 bytes of zip (genuine and simulated
 * files alike), so not fewer than 12. */
static int64_t ahead_rows(const agt_archive_zip *z)
{
    int64_t ring = AGT_ROWS_AHEAD_BATCHES * 15000, file = (int64_t)(z->info.zip_bytes / 12);
    return file < ring ? file : ring;
}

/*
 * Stream the verified file `z` over `nhours` hours. With `all_or_none` (a
 * month), a file that yields no hour - empty, or failing before its first
 * hour closed - hands nothing on and returns AGT_ENOTFOUND: the caller
 * takes another source. Otherwise AGT_OK, or the status that stopped the unit.
 */
static agt_status stream_file(unit *u, const agt_archive_zip *z, int nhours, int all_or_none)
{
    agt_day_result *r = u->r;
    agt_hour_stream_cb cb = { prove_start, prove_end, deliver, u };
    AGT_TRY(agt_hstream_init(&u->hs, u->start_us, nhours, &cb));
    r->archive_status = AGT_OK;
    int64_t ahead = ahead_rows(z);
    agt_status st = pass_gate(u->s, ahead, u->err);
    if (st != AGT_OK) {
        agt_hstream_release(&u->hs);
        return u->fatal = st;
    }
    st = agt_archive_zip_rows_ahead(z, push_rows, u, &r->archive.csv_bytes, u->err);
    pass_gate(u->s, -ahead, NULL); /* handing rows back never waits nor fails */
    file_facts(u, z);
    if (u->fatal != AGT_OK) {
        st = u->fatal;
    } else if (all_or_none && u->hs.next == 0 && (st != AGT_OK || u->hs.cur < 0)) {
        snprintf(r->archive_message, sizeof r->archive_message, "%.250s",
                 st != AGT_OK ? u->err->message : "the file is empty");
        r->archive_status = st != AGT_OK ? st : AGT_ENOTFOUND;
        st = AGT_ENOTFOUND;
    } else if (st == AGT_OK) {
        if (u->hs.cur < 0) snprintf(r->archive_message, sizeof r->archive_message, "the file is empty");
        st = agt_hstream_finish(&u->hs);
        file_facts(u, z);
    } else if (!fatal(st)) { /* the file failed while read: the hours left go without it */
        u->file_st = st;
        u->file_err = *u->err;
        if (u->hs.next == 0) r->archive_status = st;
        snprintf(r->archive_message, sizeof r->archive_message, "%s%.220s",
                 u->hs.next ? "the file failed while read: " : "", u->err->message);
        int claimed = u->hs.claimed;
        /* a month's whole days after the failure come from their daily files */
        int upto = all_or_none ? (u->hs.next + 23) / 24 * 24 : nhours;
        st = agt_hstream_abandon(&u->hs, upto);
        if (st == AGT_OK && claimed >= 0 && u->policy == AGT_SOURCE_AUTO) {
            agt_trades none;
            agt_hour_info info;
            agt_trades_init(&none);
            memset(&info, 0, sizeof info);
            st = deliver(u, claimed, &none, &info, 1); /* again, from REST */
            agt_trades_release(&none);
        }
    }
    u->handed = u->hs.next;
    agt_hstream_release(&u->hs);
    return u->fatal != AGT_OK ? u->fatal : st;
}

/* ---- the units ---------------------------------------------------------------------- */

agt_status agt_source_stream_day(agt_source *s, const char *symbol, int64_t day_start_us,
                                 agt_source_policy policy, agt_hour_sink fn, void *user,
                                 agt_day_result *sum, agt_error *err)
{
    unit u;
    unit_init(&u, s, symbol, policy, fn, user, sum, day_start_us,
              day_start_us + AGT_US_PER_DAY - 1, err);
    agt_status st;
    if (policy == AGT_SOURCE_REST || !s->a) {
        st = deliver_all(&u, 24);
    } else {
        sum->archive_tried = 1;
        agt_day_file *f = NULL;
        st = agt_day_file_get(s, symbol, day_start_us, &f, err);
        if (st == AGT_OK) {
            st = stream_file(&u, &f->zip, 24, 0);
            if (!fatal(st) && u.fatal == AGT_OK)
                agt_day_file_scanned(s, symbol, day_start_us,
                                     u.file_st != AGT_OK ? u.file_st : AGT_OK, u.file_err.message,
                                     &sum->archive);
        } else if (!fatal(st)) { /* no usable file: every hour from REST (or failing) */
            sum->archive_status = st;
            snprintf(sum->archive_message, sizeof sum->archive_message, "%.250s", err->message);
            u.file_st = st;
            u.file_err = *err;
            st = deliver_all(&u, 24);
        }
    }
    agt_trades_release(&u.hour.rows);
    if (st == AGT_ECANCELLED) return agt_err(err, AGT_ECANCELLED, "cancelled");
    return st;
}

agt_status agt_source_stream_month(agt_source *s, const char *symbol, int64_t month_start_us,
                                   agt_source_policy policy, agt_hour_sink fn, void *user,
                                   agt_day_result *sum, int *used, agt_error *err)
{
    *used = 0;
    int64_t month_end = agt_month_end_us(month_start_us);
    unit u;
    unit_init(&u, s, symbol, policy, fn, user, sum, month_start_us, month_end, err);
    if (policy == AGT_SOURCE_REST || !s->a || s->down != AGT_OK) return AGT_OK;
    sum->archive_tried = 1;
    agt_archive_zip z;
    agt_archive_zip_init(&z);
    agt_status st = agt_month_file_get(s, symbol, month_start_us, &z, err);
    if (st == AGT_OK) {
        int nhours = (int)((month_end + 1 - month_start_us) / AGT_US_PER_HOUR);
        st = stream_file(&u, &z, nhours, 1);
        *used = st != AGT_ENOTFOUND;
        agt_day_result day;
        agt_day_result_init(&day);
        for (int h = u.handed; *used && st == AGT_OK && h < nhours; h += 24) /* after a failure */
            st = agt_source_stream_day(s, symbol, month_start_us + h * AGT_US_PER_HOUR, policy, fn,
                                       user, &day, err);
        agt_day_result_release(&day);
    } else if (st != AGT_ECANCELLED) { /* not published, refused, above the caps: the daily files */
        sum->archive_status = st;
        snprintf(sum->archive_message, sizeof sum->archive_message, "%.250s", err->message);
        st = AGT_OK;
    }
    agt_archive_zip_close(&z);
    agt_trades_release(&u.hour.rows);
    if (st == AGT_ECANCELLED) return agt_err(err, AGT_ECANCELLED, "cancelled");
    return *used ? st : AGT_OK;
}
