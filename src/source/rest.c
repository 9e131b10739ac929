/*
 * rest.c - agt_fetch_hour: every aggregate trade of one UTC hour from
 * GET /api/v3/aggTrades (spot) or /fapi/v1, /dapi/v1 (futures, see "Futures"
 * at the end of this comment), exact and with proof of completeness.
 *
 * How the hour is walked, and why
 * -------------------------------
 * The hour is [S, E] with E = S + 1 h - 1 µs. We ask for T in microseconds
 * (X-MBX-TIME-UNIT: MICROSECOND) so timestamps are exact and the hour's ends
 * are exact too; a server that ignores the header is still understood,
 * because a T below 10^14 can only be milliseconds (agt_t_to_us).
 *
 * 1. The walk (AGT_PAGING_TIME, the specified one) goes backwards by time:
 *    `endTime=E&limit=1000` gives the newest 1000 trades at or before the
 *    end of the hour, ascending; it fixes the top of the hour (no trade with
 *    T <= E has a larger id than the newest one returned). Each next page
 *    asks `endTime = T(oldest held)`, inclusive: many aggTrades share one
 *    timestamp (a taker order sweeping several price levels), and a page
 *    boundary inside a timestamp would lose the rest of it with
 *    `endTime = T - 1`. The rows of that timestamp already held come again
 *    and are dropped by id (only ids below the lowest held are taken), so
 *    nothing is lost or doubled. A full page whose rows all share one
 *    timestamp - a millisecond holding more trades than one page - cannot
 *    make progress by time; there, and only there, we go down by id:
 *    aggregate ids are consecutive on spot and ordered like time, and
 *    `fromId = lowest - 1000, limit = 1000` returns exactly the 1000 ids
 *    below (fewer near id 0), until the walk is below that timestamp and
 *    carries on by time. Cost, fault-free: each page after the first brings
 *    1000 minus the repeated rows of its boundary timestamp (one or a few),
 *    so an hour of n trades takes at most ceil(n / 1000) + 2 requests
 *    unless it holds more than about 1000 pages' worth of repeats or a
 *    burst (each burst may cost two pages more).
 *
 *    AGT_PAGING_ID keeps the older walk: the same first page, then id
 *    blocks all the way down (exactly ceil((n + 1) / 1000) requests for an
 *    hour whose trade before it is reachable).
 *
 * 2. We stop at the first page that reaches a trade with T < S: the newest
 *    such trade is the one just before the hour (prev_id, prev_ts). A page
 *    shorter than asked (or an id block that serves nothing further down)
 *    means the exchange serves nothing older. That proves the start only
 *    when the lowest id held is 0, the symbol's first trade (spot ids start
 *    at 0). Any other lowest id is the REST history floor (REST may not
 *    reach back to a symbol's listing; it then answers `fromId=0` with the
 *    oldest id it still serves and a time before that with []: see
 *    docs/exchange.md), and the hour stays unproven: complete = 0.
 *
 * 3. An empty answer proves nothing by itself - below the floor every hour
 *    looks empty. An hour with no trade is complete only when the exchange
 *    shows its two sides are consecutive: one more request, `fromId =
 *    prev_id + 1, limit = 1`, must return a trade after the hour (or none at
 *    all: prev is the newest trade there is, and the clock test holds); with
 *    nothing at or before E, `fromId=0, limit=1` must show id 0 after the
 *    hour (the symbol was listed later; or no trade at all). Anything else -
 *    the floor's oldest id, a trade inside the hour - leaves it unproven.
 *
 * In the id walk, if a block has nothing below the id we hold (a floor, or
 * a symbol whose ids do not start at 0), we ask by time once more:
 * `endTime = T(lowest) - 1`; its newest trade, if before the hour, is prev
 * (an id gap to it shows as not chained); otherwise the hour is unproven.
 *
 * Every page is validated before use (json_page.c for syntax and types,
 * page_body() here for the request it answers: T <= endTime, ids >= fromId,
 * no more rows than asked, f <= l); a page that fails is retried like a 5xx.
 * Rows are deduplicated by id (a page can repeat an id: see the newton-
 * binance sample) and the result is sorted by id.
 *
 * Complete means: the exchange's clock was past E + margin before the
 * first request, the ids in the hour are contiguous, and the start is
 * confirmed (prev_id == first_id - 1, or first_id == 0); an empty hour is
 * complete when the clock test holds and step 3 proved it.
 *
 * Resuming an interrupted hour (agt_fetch_hour_ex)
 * ------------------------------------------------
 * Every accepted page hands the rows of the hour it added to the caller
 * (page_fn), who keeps them durably (the lake's stash in the WAL). Because
 * the walk goes down from the top, by time or by id, taking only ids below
 * those it holds, and ids are ordered like time, what was received
 * before an interruption is one contiguous id range [lo, top] whose top is
 * the newest trade at or before E. Resuming seeds the walk with those rows
 * and carries on from lo (by time from T(lo), or by id). Only where the pages are cut moves;
 * with ids ordered like time (spot since 2018) the walk still sees every id
 * from lo down to the trade before the hour and stops there, so rows,
 * prev_id and complete equal a fresh fetch's. (Where ids are out of time
 * order, some hours before 2018, a different cut may see different stray
 * trades, hence another prev_id; such hours have an id inside their range
 * that is not in the hour, so they are incomplete either way.)
 *
 * What the resumed rows cannot prove by themselves is step 1's fact, "no
 * trade with T <= E has an id above top": they may have been fetched before
 * the hour had ended on the exchange's clock (an `update` of the current
 * hour interrupted, then resumed later), and then newer trades of the hour
 * exist above top. Rather than trust a flag stored with them, we re-check
 * it: after the clock test above, one request `endTime=E&limit=1` (a single
 * row, the same weight as any page) must return exactly the resumed top row
 * (id, time, price, quantity, maker flag). Since it is sent once the clock
 * is past E + margin, it establishes step 1's fact now, as a fresh first
 * page would; the rows below top need no new proof because aggregate trades
 * never change once they have an id, and a trade with an id below top
 * already existed when top was fetched. If the check fails (rows fetched
 * too early, or not the exchange's), the resumed rows are ignored and the
 * hour is walked afresh - rare, and never wrong. Resumed rows are validated
 * before any request as strictly as a page (inside the hour, ids contiguous
 * and >= 0, prices and quantities finite and >= 0, the flag 0 or 1).
 *
 * A resume therefore costs 1 + the walk of the n - r trades left (by id:
 * 1 + ceil((n - r + 1) / 1000) when the trade before the hour is reachable;
 * an empty rest still costs the request that finds it).
 *
 * Futures (walk_window)
 * ---------------------
 * The futures endpoints document only `fromId` and `startTime`+`endTime`
 * less than an hour apart (docs/futures.md), so an `endTime` alone is never
 * sent there. The hour in ms, [S, S + 3 599 999], is one legal window:
 *   1. `startTime=S&endTime=E` gives trades of the hour from its oldest; a
 *      page with fewer rows than the limit holds the whole hour, which fixes
 *      its top;
 *   2. otherwise we go up by id (`fromId = highest + 1`) until a trade after
 *      E appears, or a short page shows there is nothing newer at all;
 *   3. the trade before the hour is `fromId = lowest - 1, limit 1` (none if
 *      the lowest is the market's first id, 1 on futures);
 *   4. an empty hour is proven by the first trade after it (windows of the
 *      following hours, at most a day, then the newest trade) and the one
 *      with the id just below it, which must lie before the hour.
 * Aggregate ids are consecutive on futures too (the trade ids f..l are not:
 * fills of the insurance fund and ADL are not aggregated), so the proof is
 * the spot one. An hour of n trades costs ceil(n/1000) + 1 requests (+1 when
 * n is a multiple of 1000). A futures fetch does not resume from
 * `resume_from` (checked, then ignored): it walks the hour afresh.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "source/source_int.h"

typedef enum {
    BY_END,    /* endTime=arg (spot) */
    BY_ID,     /* fromId=arg */
    BY_WINDOW, /* startTime=arg&endTime=arg + 1 h - 1 ms (futures) */
    BY_LATEST  /* no time, no id: the newest trades */
} page_mode;

typedef struct fetch {
    agt_client *c;
    const char *symbol;
    int64_t S, E;
    /* the request in flight, for validating its answer */
    page_mode mode;
    int64_t start_us; /* BY_WINDOW: startTime */
    int64_t end_us;  /* BY_END, BY_WINDOW: endTime */
    int64_t from_id; /* BY_ID: fromId */
    int limit;
    /* progress */
    uint64_t page_rows; /* rows of the last accepted body, 0 otherwise */
    int requests;
    uint64_t bytes;
    int cancelled;
    agt_fetch_page_fn page_fn; /* may be NULL */
    void *page_user;
} fetch;

static agt_status page_body(void *user, const agt_http_resp *r, agt_error *err)
{
    fetch *f = user;
    agt_page *pg = &f->c->page;
    f->page_rows = 0;
    AGT_TRY(agt_page_parse(pg, r->body.data, r->body.len, err));
    if (pg->len > (size_t)f->limit)
        return agt_err(err, AGT_EPARSE, "aggTrades page: %zu rows for limit=%d", pg->len, f->limit);
    for (size_t i = 0; i < pg->len; i++) {
        const agt_page_row *w = &pg->rows[i];
        int64_t t = agt_t_to_us(w->t);
        if ((f->mode == BY_END || f->mode == BY_WINDOW) && t > f->end_us)
            return agt_err(err, AGT_EPARSE,
                           "aggTrades page: trade %" PRId64 " at T=%" PRId64
                           " is after the requested endTime %" PRId64,
                           w->a, w->t, f->end_us);
        if (f->mode == BY_WINDOW && t < f->start_us)
            return agt_err(err, AGT_EPARSE,
                           "aggTrades page: trade %" PRId64 " at T=%" PRId64
                           " is before the requested startTime %" PRId64,
                           w->a, w->t, f->start_us);
        if (f->mode == BY_ID && w->a < f->from_id)
            return agt_err(err, AGT_EPARSE,
                           "aggTrades page: trade %" PRId64 " is below the requested fromId %" PRId64,
                           w->a, f->from_id);
        if (!((w->f == -1 && w->l == -1) || (w->f >= 0 && w->f <= w->l)))
            return agt_err(err, AGT_EPARSE,
                           "aggTrades page: trade %" PRId64 " has first trade id %" PRId64
                           " and last %" PRId64,
                           w->a, w->f, w->l);
    }
    f->page_rows = pg->len;
    return AGT_OK;
}

static int page_observe(void *user, const agt_http_resp *r)
{
    fetch *f = user;
    f->requests++;
    f->bytes += r->body.len;
    uint64_t rows = r->status == 200 ? f->page_rows : 0;
    f->page_rows = 0;
    const agt_client_opts *o = &f->c->opts;
    if (o->progress && o->progress(o->progress_user, r->body.len, rows)) {
        f->cancelled = 1;
        return 1;
    }
    return 0;
}

/* Send one aggTrades request (with retries); the page lands in c->page. */
static agt_status get_page(fetch *f, page_mode mode, int64_t arg, int limit, agt_error *err)
{
    agt_client *c = f->c;
    const char *pre = c->def->api_prefix;
    int n;
    agt_client_read_limits(c, f->symbol);
    f->mode = mode;
    f->limit = limit;
    if (mode == BY_END) {
        f->end_us = arg;
        n = snprintf(c->url, sizeof c->url, "%s%s/aggTrades?symbol=%s&endTime=%" PRId64 "&limit=%d",
                     c->api_url, pre, f->symbol, arg, limit);
    } else if (mode == BY_WINDOW) {
        /* whole milliseconds: the futures endpoints take ms only */
        f->start_us = arg;
        f->end_us = arg + AGT_US_PER_HOUR - 1;
        n = snprintf(c->url, sizeof c->url,
                     "%s%s/aggTrades?symbol=%s&startTime=%" PRId64 "&endTime=%" PRId64 "&limit=%d",
                     c->api_url, pre, f->symbol, arg / AGT_US_PER_MS, f->end_us / AGT_US_PER_MS, limit);
    } else if (mode == BY_LATEST) {
        n = snprintf(c->url, sizeof c->url, "%s%s/aggTrades?symbol=%s&limit=%d", c->api_url, pre,
                     f->symbol, limit);
    } else {
        f->from_id = arg;
        n = snprintf(c->url, sizeof c->url, "%s%s/aggTrades?symbol=%s&fromId=%" PRId64 "&limit=%d",
                     c->api_url, pre, f->symbol, arg, limit);
    }
    if (n < 0 || (size_t)n >= sizeof c->url) return agt_err(err, AGT_EINVAL, "api url too long");
    agt_net_req rq;
    memset(&rq, 0, sizeof rq);
    rq.url = c->url;
    rq.what = "aggTrades page";
    rq.weight = c->def->weight_aggtrades;
    rq.on_body = page_body;
    rq.parse_api_error = agt_api_error_parse;
    rq.observe = page_observe;
    rq.user = f;
    return agt_net_request(c->net, &rq, err);
}

/* What the walk has established so far. */
typedef struct walk {
    agt_trades got;     /* rows inside the hour, any order, maybe repeated ids */
    int64_t lo_id;      /* lowest id received so far, -1 before any */
    int64_t lo_ts;      /* its time */
    int64_t prev_id;    /* -1: no trade before the hour exists */
    int64_t prev_ts;
    int start_known;    /* prev_id established (found, or proven absent) */
    int end_known;      /* no trade of the hour above the highest id held */
    agt_trades page;    /* the rows of the hour the last page added, for page_fn */
} walk;

/*
 * Take the rows of the current page whose id is below `below` (all rows when
 * below < 0): in-hour rows go to w->got, and the newest trade before the
 * hour, if any, becomes prev. *taken = rows taken, *top = their highest id.
 */
static agt_status take(fetch *f, walk *w, int64_t below, size_t *taken, int64_t *top)
{
    const agt_page *pg = &f->c->page;
    size_t k = 0;
    int64_t best = -1, best_ts = 0;
    *top = -1;
    for (size_t i = 0; i < pg->len; i++) {
        const agt_page_row *r = &pg->rows[i];
        if (below >= 0 && r->a >= below) continue;
        int64_t t = agt_t_to_us(r->t);
        k++;
        if (r->a > *top) *top = r->a;
        if (w->lo_id < 0 || r->a < w->lo_id) {
            w->lo_id = r->a;
            w->lo_ts = t;
        }
        if (t < f->S) {
            if (r->a > best) {
                best = r->a;
                best_ts = t;
            }
        } else if (t <= f->E) {
            if (agt_trades_push(&w->got, r->a, t, r->p, r->q, r->m) != AGT_OK)
                return AGT_ENOMEM;
        }
        /* t > E below the newest in-hour id: out of order (pre-2018 data);
         * it is not part of this hour. */
    }
    if (best >= 0) {
        w->prev_id = best;
        w->prev_ts = best_ts;
        w->start_known = 1;
    }
    *taken = k;
    return AGT_OK;
}

/*
 * Hand the rows of the hour the last page added, w->got[len0..], to page_fn:
 * sorted and unique, as the contract of agt_fetch_page_fn says.
 */
static agt_status deliver(fetch *f, walk *w, size_t len0, agt_error *err)
{
    if (!f->page_fn || w->got.len == len0) return AGT_OK;
    agt_trades added = w->got; /* a view of the new rows, not owned */
    added.trade_id += len0;
    added.ts_us += len0;
    added.price += len0;
    added.quantity += len0;
    added.is_buyer_maker += len0;
    added.len = added.cap = w->got.len - len0;
    agt_trades_clear(&w->page);
    if (agt_trades_append(&w->page, &added) != AGT_OK || agt_trades_sort_unique(&w->page, NULL) != AGT_OK)
        return agt_err(err, AGT_ENOMEM, "out of memory");
    agt_status s = f->page_fn(f->page_user, &w->page, err);
    if (s == AGT_OK || (err && err->status == s && err->message[0])) return s;
    return agt_err(err, s, "the page callback stopped the fetch");
}

/* take() the current page, then deliver what it added. */
static agt_status take_page(fetch *f, walk *w, int64_t below, size_t *taken, int64_t *top,
                            agt_error *err)
{
    size_t len0 = w->got.len;
    if (take(f, w, below, taken, top) != AGT_OK) return agt_err(err, AGT_ENOMEM, "out of memory");
    return deliver(f, w, len0, err);
}

/*
 * Nothing older than w->lo_id is served (a short page, or no id below it):
 * the start is proven only if lo_id is the symbol's first trade, id 0. Any
 * other lowest id is the REST history floor (or a hole), and the hour stays
 * unproven; with no row at all the empty-hour proof decides (prove_empty).
 */
static void nothing_older(const fetch *f, walk *w)
{
    if (w->lo_id == f->c->def->first_id) {
        w->prev_id = -1;
        w->start_known = 1;
    }
}

/*
 * One block by id: the up to 1000 ids just below w->lo_id (fromId =
 * lo_id - 1000). *more = 1 if it came down to the id it asked from, so the
 * exchange may serve more below; 0 if it serves nothing further down by id.
 */
static agt_status id_block(fetch *f, walk *w, int *more, agt_error *err)
{
    size_t taken, added;
    int64_t top;
    int64_t from = w->lo_id > AGT_PAGE_LIMIT ? w->lo_id - AGT_PAGE_LIMIT : 0;
    int limit = (int)(w->lo_id - from);
    int64_t below = w->lo_id;
    AGT_TRY(get_page(f, BY_ID, from, limit, err));
    AGT_TRY(take_page(f, w, below, &taken, &top, err));
    /* A full page that stops short of below - 1 (a repeated id took a
     * slot, as in the newton-binance capture): fetch the rest. */
    int full = f->c->page.len == (size_t)limit;
    added = taken;
    while (added > 0 && full && top < below - 1) {
        int64_t top_before = top;
        AGT_TRY(get_page(f, BY_ID, top + 1, (int)(below - 1 - top), err));
        AGT_TRY(take_page(f, w, below, &added, &top, err));
        taken += added;
        if (top <= top_before) break; /* a hole: shows as incomplete */
    }
    *more = taken > 0 && w->lo_id == from;
    return AGT_OK;
}

/* The id walk (AGT_PAGING_ID): from w->lo_id down to the trade before the hour. */
static agt_status walk_by_id(fetch *f, walk *w, agt_error *err)
{
    int more = 1;
    while (more) {
        if (w->lo_id == f->c->def->first_id) {
            nothing_older(f, w);
            return AGT_OK;
        }
        AGT_TRY(id_block(f, w, &more, err));
        if (w->start_known) return AGT_OK;
    }
    /* Nothing reachable by id below lo_id: ask by time once. */
    AGT_TRY(get_page(f, BY_END, w->lo_ts - 1, AGT_PAGE_LIMIT, err));
    const agt_page *pg = &f->c->page;
    int64_t best = -1, best_ts = 0;
    for (size_t i = 0; i < pg->len; i++)
        if (pg->rows[i].a > best) best = pg->rows[i].a, best_ts = agt_t_to_us(pg->rows[i].t);
    if (best >= 0 && best_ts < f->S) {
        w->prev_id = best; /* an id gap to it, if any, shows as not chained */
        w->prev_ts = best_ts;
        w->start_known = 1;
    }
    /* else: older trades the exchange does not serve (the history floor), or
     * trades of the hour it will not list by id: the hour stays unproven. */
    return AGT_OK;
}

/* ---- futures: windows and ids only (see "Futures" above) ------------------ */

/* 1 if a row of the current page lies after the hour. */
static int page_passes_end(const fetch *f)
{
    const agt_page *pg = &f->c->page;
    for (size_t i = 0; i < pg->len; i++)
        if (agt_t_to_us(pg->rows[i].t) > f->E) return 1;
    return 0;
}

/* 3. the trade just below w->lo_id, by id */
static agt_status window_start(fetch *f, walk *w, agt_error *err)
{
    size_t taken;
    int64_t top;
    while (!w->start_known) {
        if (w->lo_id <= f->c->def->first_id) {
            w->prev_id = -1; /* the symbol's first trade is in the hour */
            w->start_known = 1;
            break;
        }
        int64_t lo = w->lo_id;
        AGT_TRY(get_page(f, BY_ID, lo - 1, 1, err));
        AGT_TRY(take_page(f, w, lo, &taken, &top, err));
        if (taken == 0 || w->lo_id == lo) break; /* nothing below by id: unproven */
    }
    return AGT_OK;
}

/* 4. an empty hour: the trade after it and the one just below that */
static agt_status window_empty(fetch *f, walk *w, agt_error *err)
{
    const agt_page *pg = &f->c->page;
    int64_t now = agt_net_exch_now(f->c->net);
    int64_t after = -1;
    for (int k = 1; k <= 24 && after < 0 && f->S + k * AGT_US_PER_HOUR <= now; k++) {
        AGT_TRY(get_page(f, BY_WINDOW, f->S + k * AGT_US_PER_HOUR, 1, err));
        if (pg->len > 0) after = pg->rows[0].a;
    }
    if (after < 0) {
        /* quiet for a day (or up to now): the newest trade must be before the hour */
        AGT_TRY(get_page(f, BY_LATEST, 0, 1, err));
        if (pg->len == 0) {
            w->prev_id = -1; /* nothing ever traded */
            w->start_known = 1;
        } else if (agt_t_to_us(pg->rows[0].t) < f->S) {
            w->prev_id = pg->rows[0].a;
            w->prev_ts = agt_t_to_us(pg->rows[0].t);
            w->start_known = 1;
        }
        return AGT_OK;
    }
    if (after <= f->c->def->first_id) {
        w->prev_id = -1; /* the symbol's first trade comes after the hour */
        w->start_known = 1;
        return AGT_OK;
    }
    AGT_TRY(get_page(f, BY_ID, after - 1, 1, err));
    if (pg->len == 1 && pg->rows[0].a == after - 1 && agt_t_to_us(pg->rows[0].t) < f->S) {
        w->prev_id = after - 1;
        w->prev_ts = agt_t_to_us(pg->rows[0].t);
        w->start_known = 1;
    }
    return AGT_OK;
}

static agt_status walk_window(fetch *f, walk *w, agt_error *err)
{
    size_t taken;
    int64_t top;
    AGT_TRY(get_page(f, BY_WINDOW, f->S, AGT_PAGE_LIMIT, err));
    AGT_TRY(take_page(f, w, -1, &taken, &top, err));
    if (taken == 0) {
        w->end_known = 1; /* the whole hour asked by time: nothing in it */
        return window_empty(f, w, err);
    }
    /* 1.-2. the top of the hour */
    int full = f->c->page.len == AGT_PAGE_LIMIT;
    while (full && !page_passes_end(f)) {
        AGT_TRY(get_page(f, BY_ID, top + 1, AGT_PAGE_LIMIT, err));
        int64_t before = top;
        AGT_TRY(take_page(f, w, -1, &taken, &top, err));
        if (taken == 0) break; /* nothing newer at all */
        if (top <= before) return agt_err(err, AGT_EPARSE, "aggTrades page: ids did not advance");
        full = f->c->page.len == AGT_PAGE_LIMIT;
    }
    w->end_known = 1;
    return window_start(f, w, err);
}

/*
 * The time walk (AGT_PAGING_TIME, the specified one): `endTime` + limit 1000
 * backwards from the end of the hour (or from w->lo_ts when rows are already
 * held) until a page reaches a trade before the hour. Each next page ends at
 * the oldest time held, inclusive, so the rest of a millisecond that a page
 * boundary split comes with it; the rows already held are dropped by id. A
 * full page whose rows all share one time (or bring nothing new) is a
 * millisecond holding more trades than one page: time cannot get past it,
 * so id blocks go down through it, and the time walk resumes below it.
 */
static agt_status walk_by_time(fetch *f, walk *w, agt_error *err)
{
    for (;;) {
        size_t taken;
        int64_t top;
        int64_t end = w->lo_id < 0 ? f->E : w->lo_ts;
        AGT_TRY(get_page(f, BY_END, end, AGT_PAGE_LIMIT, err));
        AGT_TRY(take_page(f, w, w->lo_id, &taken, &top, err));
        if (w->start_known) return AGT_OK;
        const agt_page *pg = &f->c->page;
        if (pg->len < AGT_PAGE_LIMIT) {
            nothing_older(f, w);
            return AGT_OK;
        }
        if (taken > 0 && pg->rows[0].t != pg->rows[pg->len - 1].t) continue;
        /* the burst: by id until below its millisecond */
        int64_t burst_ts = w->lo_ts;
        while (w->lo_ts >= burst_ts) {
            int more;
            if (w->lo_id == f->c->def->first_id) {
                nothing_older(f, w);
                return AGT_OK;
            }
            AGT_TRY(id_block(f, w, &more, err));
            if (w->start_known) return AGT_OK;
            if (!more) {
                nothing_older(f, w); /* id 0 reached, or the floor inside a burst: unproven */
                return AGT_OK;
            }
        }
    }
}

static agt_status walk_from(fetch *f, walk *w, agt_error *err)
{
    if (f->c->def->window_paging) return walk_window(f, w, err);
    if (f->c->opts.paging == AGT_PAGING_ID) {
        if (w->lo_id < 0) {
            size_t taken;
            int64_t top;
            AGT_TRY(get_page(f, BY_END, f->E, AGT_PAGE_LIMIT, err));
            AGT_TRY(take_page(f, w, -1, &taken, &top, err));
            if (w->start_known) return AGT_OK;
            if (f->c->page.len < AGT_PAGE_LIMIT) {
                nothing_older(f, w);
                return AGT_OK;
            }
        }
        return walk_by_id(f, w, err);
    }
    return walk_by_time(f, w, err);
}

/*
 * An hour with no trade is empty only when the exchange proves it: the
 * trade before the hour and the one after it have consecutive ids, or the
 * symbol's first trade (id 0) is after the hour, or the exchange has no
 * trade at all after the one before (the clock test covers "yet"). One
 * request, fromId = prev + 1 (or 0) with limit 1. Sets *proven.
 */
static agt_status prove_empty(fetch *f, const walk *w, int *proven, agt_error *err)
{
    *proven = 0;
    if (w->got.len > 0 || (w->start_known && w->prev_id < 0)) return AGT_OK;
    int64_t want = w->start_known ? w->prev_id + 1 : 0;
    AGT_TRY(get_page(f, BY_ID, want, 1, err));
    const agt_page *pg = &f->c->page;
    if (pg->len == 0) *proven = 1;
    else *proven = pg->rows[0].a == want && agt_t_to_us(pg->rows[0].t) > f->E;
    return AGT_OK;
}

/* Resumed rows must be what pages of this hour could have given: see above. */
static agt_status check_resume(const fetch *f, const agt_trades *r, agt_error *err)
{
    for (size_t i = 0; i < r->len; i++) {
        int64_t a = r->trade_id[i];
        if (r->ts_us[i] < f->S || r->ts_us[i] > f->E)
            return agt_err(err, AGT_EINVAL, "resumed trade %" PRId64 " at %" PRId64 " is outside the hour",
                           a, r->ts_us[i]);
        if (a < 0 || (i > 0 && a != r->trade_id[i - 1] + 1))
            return agt_err(err, AGT_EINVAL, "resumed trade ids are not contiguous at %" PRId64, a);
        if (!isfinite(r->price[i]) || r->price[i] < 0 || !isfinite(r->quantity[i]) || r->quantity[i] < 0 ||
            r->is_buyer_maker[i] > 1)
            return agt_err(err, AGT_EINVAL, "resumed trade %" PRId64 " has an invalid value", a);
    }
    return AGT_OK;
}

/* 1 if page row `x` is row i of `r`, field for field. */
static int same_row(const agt_page_row *x, const agt_trades *r, size_t i)
{
    return x->a == r->trade_id[i] && agt_t_to_us(x->t) == r->ts_us[i] &&
           memcmp(&x->p, &r->price[i], sizeof x->p) == 0 &&
           memcmp(&x->q, &r->quantity[i], sizeof x->q) == 0 && x->m == r->is_buyer_maker[i];
}

/*
 * Resume from `r` (checked, non-empty) if its newest row is still the
 * hour's newest trade (one request), else walk the hour afresh.
 */
static agt_status walk_resumed(fetch *f, walk *w, const agt_trades *r, agt_error *err)
{
    AGT_TRY(get_page(f, BY_END, f->E, 1, err));
    const agt_page *pg = &f->c->page;
    if (pg->len != 1 || !same_row(&pg->rows[0], r, r->len - 1)) return walk_from(f, w, err);
    if (agt_trades_append(&w->got, r) != AGT_OK) return agt_err(err, AGT_ENOMEM, "out of memory");
    w->lo_id = r->trade_id[0];
    w->lo_ts = r->ts_us[0];
    return walk_from(f, w, err);
}

agt_status agt_fetch_hour(agt_client *c, const char *symbol, int64_t hour_start_us,
                          agt_trades *out, agt_hour_info *info, agt_error *err)
{
    return agt_fetch_hour_ex(c, symbol, hour_start_us, NULL, NULL, NULL, out, info, err);
}

static agt_status fetch_hour(agt_client *c, const char *symbol, int64_t hour_start_us,
                   const agt_trades *resume_from, agt_fetch_page_fn page_fn,
                   void *page_user, agt_trades *out, agt_hour_info *info,
                   agt_error *err)
{
    agt_error_clear(err);
    if (!c || !out) return agt_err(err, AGT_EINVAL, "null argument");
    if (!agt_symbol_valid(symbol))
        return agt_err(err, AGT_EINVAL, "invalid symbol '%.40s': expected 2-20 characters A-Z or 0-9",
                       symbol ? symbol : "(null)");
    if (hour_start_us % AGT_US_PER_HOUR != 0)
        return agt_err(err, AGT_EINVAL, "hour start %" PRId64 " is not a whole UTC hour", hour_start_us);
    if (hour_start_us < AGT_FIRST_HOUR_US)
        return agt_err(err, AGT_EINVAL, "hour before 2017-07-01: binance spot has no trades then");
    if (hour_start_us > INT64_MAX / 2)
        return agt_err(err, AGT_EINVAL, "hour start %" PRId64 " is out of range", hour_start_us);

    fetch f;
    memset(&f, 0, sizeof f);
    f.c = c;
    f.symbol = symbol;
    f.S = hour_start_us;
    f.E = hour_start_us + AGT_US_PER_HOUR - 1;
    f.page_fn = page_fn;
    f.page_user = page_user;
    if (resume_from) AGT_TRY(check_resume(&f, resume_from, err));
    int64_t margin = (int64_t)c->opts.complete_margin_ms * AGT_US_PER_MS;

    /* Has the hour ended on the exchange's clock? A reading up to 10 minutes
     * old is good enough for hours long past; near the boundary read afresh. */
    int64_t now;
    int64_t syncs = c->syncs;
    agt_status s = agt_client_exch_now(c, 10 * 60 * AGT_US_PER_SEC, 0, &now, err);
    if (s == AGT_OK && c->syncs == syncs && now < f.E + margin + 120 * AGT_US_PER_SEC)
        s = agt_client_exch_now(c, 0, 1, &now, err);
    if (s != AGT_OK) return s;
    int clock_ok = now >= f.E + margin;

    walk w;
    memset(&w, 0, sizeof w);
    agt_trades_init(&w.got);
    agt_trades_init(&w.page);
    w.lo_id = -1;
    w.prev_id = -1;
    w.end_known = !c->def->window_paging; /* the spot walk fixes the top first */
    if (resume_from && resume_from->len > 0 && !c->def->window_paging)
        s = walk_resumed(&f, &w, resume_from, err);
    else s = walk_from(&f, &w, err);
    agt_trades_release(&w.page);
    int empty_proven = 0;
    if (s == AGT_OK && !c->def->window_paging) s = prove_empty(&f, &w, &empty_proven, err);
    if (s == AGT_OK && agt_trades_sort_unique(&w.got, NULL) != AGT_OK)
        s = agt_err(err, AGT_ENOMEM, "out of memory");
    if (s != AGT_OK) {
        agt_trades_release(&w.got);
        if (err && f.cancelled) err->status = AGT_ECANCELLED;
        return s;
    }

    /* futures prove an empty hour in their walk (window_empty) */
    int proven = w.got.len > 0 || c->def->window_paging ? w.start_known && w.end_known : empty_proven;
    int complete = clock_ok && proven;
    if (w.got.len > 0) {
        int64_t first = w.got.trade_id[0], last = w.got.trade_id[w.got.len - 1];
        if ((uint64_t)(last - first) + 1 != w.got.len) complete = 0;        /* a hole */
        if (w.prev_id >= 0 && w.prev_id != first - 1) complete = 0;         /* not chained */
    }
    if (info) {
        info->hour_start_us = f.S;
        info->prev_id = w.prev_id;
        info->prev_ts_us = w.prev_id >= 0 ? w.prev_ts : 0;
        info->server_time_us = agt_net_exch_now(c->net);
        info->complete = complete;
        info->requests = f.requests;
        info->bytes = f.bytes;
    }
    if (out->len == 0) { /* the rows move to `out`: no second copy held */
        agt_trades t = *out;
        *out = w.got;
        w.got = t;
    } else if (agt_trades_append(out, &w.got) != AGT_OK) {
        s = agt_err(err, AGT_ENOMEM, "out of memory");
    }
    agt_trades_release(&w.got);
    return s;
}

/* The hour is one unit under the client's deadline (unit_deadline_s). */
agt_status agt_fetch_hour_ex(agt_client *c, const char *symbol, int64_t hour_start_us,
                             const agt_trades *resume_from, agt_fetch_page_fn page_fn,
                             void *page_user, agt_trades *out, agt_hour_info *info,
                             agt_error *err)
{
    if (c) agt_net_set_deadline(c->net, c->opts.unit_deadline_s);
    agt_status s = fetch_hour(c, symbol, hour_start_us, resume_from, page_fn, page_user, out, info, err);
    if (c) agt_net_set_deadline(c->net, 0);
    return s;
}

/* ---- one page by id (agt_fetch_from_id) ---------------------------------- */

agt_status agt_fetch_from_id(agt_client *c, const char *symbol, int64_t from_id, int limit,
                             agt_trades *out, agt_error *err)
{
    agt_error_clear(err);
    if (!c || !out) return agt_err(err, AGT_EINVAL, "null argument");
    if (!agt_symbol_valid(symbol))
        return agt_err(err, AGT_EINVAL, "invalid symbol '%.40s': expected 2-20 characters A-Z or 0-9",
                       symbol ? symbol : "(null)");
    if (from_id < 0 || limit < 1 || limit > AGT_PAGE_LIMIT)
        return agt_err(err, AGT_EINVAL, "fromId %" PRId64 " limit %d: expected an id >= 0 and 1..%d",
                       from_id, limit, AGT_PAGE_LIMIT);
    fetch f;
    memset(&f, 0, sizeof f);
    f.c = c;
    f.symbol = symbol;
    agt_status s = get_page(&f, BY_ID, from_id, limit, err);
    if (s != AGT_OK && f.cancelled) {
        if (err) err->status = AGT_ECANCELLED;
        return AGT_ECANCELLED;
    }
    if (s != AGT_OK) return s;
    agt_trades got;
    agt_trades_init(&got);
    const agt_page *pg = &c->page;
    for (size_t i = 0; i < pg->len && s == AGT_OK; i++) {
        const agt_page_row *r = &pg->rows[i];
        s = agt_trades_push(&got, r->a, agt_t_to_us(r->t), r->p, r->q, r->m);
    }
    if (s == AGT_OK) s = agt_trades_sort_unique(&got, NULL);
    if (s == AGT_OK) s = agt_trades_append(out, &got);
    agt_trades_release(&got);
    return s == AGT_OK ? AGT_OK : agt_err(err, AGT_ENOMEM, "out of memory");
}
