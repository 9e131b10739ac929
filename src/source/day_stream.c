/*
 * day_stream.c - an archive file's rows cut into hours as they come, each
 * hour handed on with what proves it (day_int.h). The reasoning: spot
 * aggregate ids are consecutive and ordered like time, so once the trade
 * before the first id lies before the span and the trade after the last id
 * after it, the span's trades are exactly the file's ids - and a hole in
 * the ids can only hide trades timed between its two sides. Because ids
 * follow time, the first row of a later hour closes every hour before it:
 * nothing later in the file can belong to them.
 */
#include <string.h>

#include "common/common_int.h"
#include "source/day_int.h"

agt_status agt_hstream_init(agt_hour_stream *hs, int64_t start_us, int nhours,
                            const agt_hour_stream_cb *cb)
{
    memset(hs, 0, sizeof *hs);
    if (start_us % AGT_US_PER_HOUR != 0 || nhours < 1 || nhours > AGT_STREAM_MAX_HOURS)
        return AGT_EINVAL;
    hs->start_us = start_us;
    hs->nhours = nhours;
    hs->cb = *cb;
    hs->cur = -1;
    hs->chain_id = AGT_SOURCE_ID_UNKNOWN;
    hs->emitted_max = -1;
    hs->claimed = -1;
    hs->first_id = hs->last_id = -1;
    agt_trades_init(&hs->rows);
    return AGT_OK;
}

void agt_hstream_release(agt_hour_stream *hs)
{
    agt_trades_release(&hs->rows);
}

static void mark(agt_hour_stream *hs, int from, int to)
{
    for (int h = from; h <= to && h < hs->nhours; h++) hs->unproven[h] = 1;
}

/* Hand on hour h (its rows: hs->rows when h == cur, else none). */
static agt_status emit(agt_hour_stream *hs, int h, agt_trades *rows)
{
    agt_hour_info info;
    memset(&info, 0, sizeof info);
    info.hour_start_us = hs->start_us + h * AGT_US_PER_HOUR;
    info.prev_id = AGT_SOURCE_ID_UNKNOWN;
    if (hs->chain_id == AGT_SOURCE_ID_UNKNOWN) hs->unproven[h] = 1;
    if (!hs->unproven[h]) {
        info.prev_id = hs->chain_id;
        info.prev_ts_us = hs->chain_id >= 0 ? hs->chain_ts : 0;
        info.complete = 1;
    }
    hs->next = h + 1;
    agt_trades none;
    agt_trades_init(&none);
    agt_status st = hs->cb.emit(hs->cb.user, h, rows ? rows : &none, &info, hs->unproven[h]);
    agt_trades_release(&none);
    return st;
}

/* The first id is known: prove the start, then hand on the empty hours before `upto`. */
static agt_status start(agt_hour_stream *hs, int64_t first_id, int upto)
{
    agt_day_proof p;
    memset(&p, 0, sizeof p);
    AGT_TRY(hs->cb.prove_start(hs->cb.user, first_id, &p));
    hs->started = 1;
    if (p.start_known) {
        hs->chain_id = p.prev_id;
        hs->chain_ts = p.prev_ts_us;
    } else {
        mark(hs, 0, upto);
    }
    for (int h = hs->next; h < upto; h++) AGT_TRY(emit(hs, h, NULL));
    return AGT_OK;
}

/* Sort the collected hour and note the file's facts. */
static agt_status settle_rows(agt_hour_stream *hs)
{
    agt_trades *t = &hs->rows;
    size_t dropped = 0;
    if (agt_trades_sort_unique(t, &dropped) != AGT_OK) return AGT_ENOMEM;
    hs->duplicates += dropped;
    hs->nrows -= dropped;
    if (t->len == 0) return AGT_OK;
    if (hs->first_id < 0) {
        hs->first_id = t->trade_id[0];
        hs->first_ts_us = t->ts_us[0];
    }
    hs->last_id = t->trade_id[t->len - 1];
    hs->last_ts_us = t->ts_us[t->len - 1];
    return AGT_OK;
}

/*
 * Close hour cur (its rows settled) and hand it on, followed by the empty
 * hours before `next_h`, whose first row has id `next_id` (-1: the file
 * ended; the end proof covers the rest).
 */
static agt_status close_cur(agt_hour_stream *hs, int next_h, int64_t next_id)
{
    agt_trades *t = &hs->rows;
    int c = hs->cur;
    AGT_TRY(settle_rows(hs));
    int64_t first = t->trade_id[0], top = t->trade_id[t->len - 1];
    int64_t top_ts = t->ts_us[t->len - 1];
    if (!hs->started) AGT_TRY(start(hs, first, c));
    if ((uint64_t)(top - first) + 1 != t->len) hs->unproven[c] = 1;
    if (hs->chain_id == AGT_SOURCE_ID_UNKNOWN || first != hs->chain_id + 1) hs->unproven[c] = 1;
    if (next_id >= 0 && next_id != top + 1) mark(hs, c, next_h);
    AGT_TRY(emit(hs, c, t));
    agt_trades_clear(t);
    hs->chain_id = top;
    hs->chain_ts = top_ts;
    hs->emitted_max = top;
    for (int h = c + 1; h < next_h; h++) AGT_TRY(emit(hs, h, NULL));
    return AGT_OK;
}

/* Rows [from, to) of `rows` into the hour being collected, in one copy. */
static agt_status take(agt_hour_stream *hs, const agt_trades *rows, size_t from, size_t to)
{
    if (to == from) return AGT_OK;
    agt_trades run = { rows->trade_id + from, rows->ts_us + from, rows->price + from,
                       rows->quantity + from, rows->is_buyer_maker + from, to - from, to - from };
    if (agt_trades_append(&hs->rows, &run) != AGT_OK) return AGT_ENOMEM;
    hs->nrows += to - from;
    return AGT_OK;
}

agt_status agt_hstream_push(agt_hour_stream *hs, const agt_trades *rows)
{
    int64_t end = hs->start_us + hs->nhours * AGT_US_PER_HOUR;
    size_t from = 0; /* rows [from, i) belong to hour cur and are not taken yet */
    for (size_t i = 0; i < rows->len; i++) {
        int64_t id = rows->trade_id[i], ts = rows->ts_us[i];
        if (ts < hs->start_us || ts >= end) {
            AGT_TRY(take(hs, rows, from, i));
            return AGT_EINVAL;
        }
        int h = (int)((ts - hs->start_us) / AGT_US_PER_HOUR);
        if (h < hs->cur || id <= hs->emitted_max) {
            AGT_TRY(take(hs, rows, from, i));
            hs->claimed = h < hs->next ? h : -1;
            return AGT_ECORRUPT;
        }
        if (h > hs->cur) {
            AGT_TRY(take(hs, rows, from, i));
            if (hs->cur >= 0) AGT_TRY(close_cur(hs, h, id));
            hs->cur = h;
            from = i;
        }
    }
    return take(hs, rows, from, rows->len);
}

agt_status agt_hstream_finish(agt_hour_stream *hs)
{
    if (hs->cur < 0) { /* no rows: nothing proves anything */
        mark(hs, 0, hs->nhours - 1);
        for (int h = hs->next; h < hs->nhours; h++) AGT_TRY(emit(hs, h, NULL));
        return AGT_OK;
    }
    AGT_TRY(settle_rows(hs));
    if (!hs->started) AGT_TRY(start(hs, hs->rows.trade_id[0], hs->cur));
    int end_known = 0;
    AGT_TRY(hs->cb.prove_end(hs->cb.user, hs->last_id, &end_known));
    if (!end_known) mark(hs, hs->cur, hs->nhours - 1);
    return close_cur(hs, hs->nhours, -1);
}

agt_status agt_hstream_abandon(agt_hour_stream *hs, int upto)
{
    if (upto > hs->nhours) upto = hs->nhours;
    mark(hs, hs->next, upto - 1);
    for (int h = hs->next; h < upto; h++) {
        int with_rows = hs->cur == h;
        if (with_rows) AGT_TRY(settle_rows(hs));
        AGT_TRY(emit(hs, h, with_rows ? &hs->rows : NULL));
        if (with_rows) agt_trades_clear(&hs->rows);
    }
    return AGT_OK;
}

/* ---- the whole-table form (agt_day_split) ------------------------------------ */

typedef struct split_ctx {
    const agt_day_proof *p;
    agt_trades *hours;
    agt_hour_info *info;
    uint8_t *unproven;
} split_ctx;

static agt_status split_start(void *user, int64_t first_id, agt_day_proof *p)
{
    (void)first_id;
    *p = *((split_ctx *)user)->p;
    return AGT_OK;
}

static agt_status split_end(void *user, int64_t last_id, int *end_known)
{
    (void)last_id;
    *end_known = ((split_ctx *)user)->p->end_known;
    return AGT_OK;
}

static agt_status split_emit(void *user, int idx, agt_trades *rows, const agt_hour_info *info,
                             int unproven)
{
    split_ctx *c = user;
    c->info[idx] = *info;
    c->unproven[idx] = (uint8_t)unproven;
    agt_trades_clear(&c->hours[idx]);
    return agt_trades_append(&c->hours[idx], rows);
}

agt_status agt_day_split(const agt_trades *rows, int64_t day_start_us, const agt_day_proof *p,
                         agt_trades hours[24], agt_hour_info info[24], uint8_t unproven[24])
{
    split_ctx c = { p, hours, info, unproven };
    agt_hour_stream_cb cb = { split_start, split_end, split_emit, &c };
    agt_hour_stream hs;
    AGT_TRY(agt_hstream_init(&hs, day_start_us, 24, &cb));
    agt_status st = agt_hstream_push(&hs, rows);
    if (st == AGT_ECORRUPT) {
        int claimed = hs.claimed;
        st = agt_hstream_abandon(&hs, 24);
        if (st == AGT_OK && claimed >= 0) {
            unproven[claimed] = 1;
            info[claimed].complete = 0;
            info[claimed].prev_id = AGT_SOURCE_ID_UNKNOWN;
            info[claimed].prev_ts_us = 0;
        }
    } else if (st == AGT_OK) {
        st = agt_hstream_finish(&hs);
    }
    agt_hstream_release(&hs);
    return st;
}
