/*
 * session.c - the agt_sync handle: its options, the exchange client and
 * clock it shares between runs, event delivery, and opening the lake with
 * the messages a user sees.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sync/sync_int.h"

void agt_sync_opts_default(agt_sync_opts *o)
{
    memset(o, 0, sizeof *o);
    o->interval_ms = 50;
    o->source = AGT_SOURCE_AUTO;
    o->paging = AGT_PAGING_TIME;
    o->low_speed_limit = -1;
    o->low_speed_time_s = -1;
    o->unit_deadline_s = -1;
    o->archive_months = 1;
}

void sync_slow_server(const agt_sync *s, long *low_speed_limit, int *low_speed_time_s,
                      int *unit_deadline_s)
{
    if (s->opts.low_speed_limit >= 0) *low_speed_limit = s->opts.low_speed_limit;
    if (s->opts.low_speed_time_s >= 0) *low_speed_time_s = s->opts.low_speed_time_s;
    if (s->opts.unit_deadline_s >= 0) *unit_deadline_s = s->opts.unit_deadline_s;
}

static char *dup_or_null(const char *s, int *oom)
{
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) *oom = 1;
    return d;
}

agt_status agt_sync_open(const char *root, const agt_sync_opts *o, agt_sync **out, agt_error *err)
{
    agt_sync_opts def;
    int oom = 0;
    *out = NULL;
    if (!o) {
        agt_sync_opts_default(&def);
        o = &def;
    }
    if (!root || !*root) return agt_err(err, AGT_EINVAL, "the lake's root is empty");
    if (o->interval_ms < 0)
        return agt_err(err, AGT_EINVAL, "invalid interval %d ms (expected 0 or more)",
                       o->interval_ms);
    if (!agt_source_policy_name(o->source))
        return agt_err(err, AGT_EINVAL, "invalid source policy %d", (int)o->source);
    if (o->paging != AGT_PAGING_TIME && o->paging != AGT_PAGING_ID)
        return agt_err(err, AGT_EINVAL, "invalid paging %d", o->paging);
    if (o->jobs < 0 || o->jobs > AGT_SYNC_JOBS_MAX)
        return agt_err(err, AGT_EINVAL, "invalid number of jobs %d (expected 1 to %d, or 0 for one per CPU)",
                       o->jobs, AGT_SYNC_JOBS_MAX);
    const char *market_dir = agt_market_lake_dir(o->market);
    if (!market_dir) return agt_err(err, AGT_EINVAL, "invalid market %d", (int)o->market);
    agt_sync *s = calloc(1, sizeof *s);
    if (!s) return agt_err(err, AGT_ENOMEM, "out of memory");
    s->opts = *o;
    /* a futures market's lake lives under the root (market.h) */
    size_t rn = strlen(root) + strlen(market_dir) + 2;
    s->root = malloc(rn);
    if (s->root) snprintf(s->root, rn, "%s%s%s", root, *market_dir ? "/" : "", market_dir);
    oom |= !s->root;
    s->api_url = dup_or_null(o->api_url, &oom);
    s->archive_url = dup_or_null(o->archive_url, &oom);
    s->opts.api_url = s->api_url;
    s->opts.archive_url = s->archive_url;
    s->now_us = -1;
    if (oom) {
        agt_sync_close(s);
        return agt_err(err, AGT_ENOMEM, "out of memory");
    }
    *out = s;
    return AGT_OK;
}

void agt_sync_close(agt_sync *s)
{
    if (!s) return;
    agt_client_free(s->client);
    free(s->root);
    free(s->api_url);
    free(s->archive_url);
    free(s);
}

/* ---- events ------------------------------------------------------------------------ */

void sync_event_init(agt_sync_event *ev, agt_sync_event_kind kind)
{
    memset(ev, 0, sizeof *ev);
    ev->kind = kind;
    ev->hour_us = -1;
    ev->day_us = -1;
}

int sync_emit(agt_sync *s, agt_sync_event *ev)
{
    ev->verb = s->verb ? s->verb : "";
    if (s->opts.on_event && s->opts.on_event(s->opts.user, ev)) s->stopped = 1;
    return s->stopped;
}

void sync_log(agt_sync *s, agt_sync_event_kind kind, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    agt_sync_event ev;
    sync_event_init(&ev, kind);
    ev.message = msg;
    sync_emit(s, &ev);
}

int sync_on_response(void *user, uint64_t body_bytes, uint64_t trades)
{
    agt_sync *s = user;
    agt_sync_event ev;
    if (s->rep) s->rep->bytes += body_bytes;
    sync_event_init(&ev, AGT_SYNC_RECEIVED);
    ev.bytes = body_bytes;
    ev.trades = trades;
    return sync_emit(s, &ev);
}

/* ---- the exchange -------------------------------------------------------------------- */

void sync_client_opts(const agt_sync *s, agt_fetch_progress_fn progress, void *user,
                      agt_client_opts *o)
{
    agt_client_opts_default(o);
    if (s->opts.api_url) o->api_url = s->opts.api_url;
    o->interval_ms = s->opts.interval_ms;
    o->paging = s->opts.paging;
    o->market = s->opts.market;
    sync_slow_server(s, &o->low_speed_limit, &o->low_speed_time_s, &o->unit_deadline_s);
    o->progress = progress;
    o->progress_user = user;
}

agt_status sync_client(agt_sync *s, agt_client **out, agt_error *err)
{
    if (!s->client) {
        agt_client_opts o;
        agt_error e;
        agt_error_clear(&e);
        sync_client_opts(s, sync_on_response, s, &o);
        agt_status st = agt_client_new(&o, &s->client, &e);
        if (st != AGT_OK)
            return agt_err(err, st, "cannot create the exchange client: %s", e.message);
    }
    *out = s->client;
    return AGT_OK;
}

agt_status sync_server_time_for(agt_sync *s, const char *symbol, int64_t *now_us, agt_error *err)
{
    if (s->now_us < 0) {
        agt_client *c = NULL; /* set by sync_client on success; NULL quiets the release build */
        agt_error e;
        AGT_TRY(sync_client(s, &c, err));
        agt_error_clear(&e);
        agt_status st = agt_client_server_time_for(c, symbol, &s->now_us, &e);
        if (st != AGT_OK) {
            s->now_us = -1;
            if (s->rep && st != AGT_ECANCELLED) s->rep->unreachable = 1;
            return agt_err(err, st, "cannot read the exchange's clock from '%s': %s",
                           s->opts.api_url ? s->opts.api_url : "https://api.binance.com",
                           e.message[0] ? e.message : agt_status_name(st));
        }
    }
    *now_us = s->now_us;
    return AGT_OK;
}

agt_status agt_sync_server_time(agt_sync *s, int64_t *now_us, agt_error *err)
{
    return sync_server_time_for(s, NULL, now_us, err);
}

/* ---- the lake ---------------------------------------------------------------------- */

int sync_root_exists(const agt_sync *s)
{
    /* the lake's metadata directory, not just the root: an empty directory
     * given as the root is not a lake yet, and bad input must leave it empty */
    char path[4096];
    struct stat st;
    if (stat(s->root, &st) == 0 && !S_ISDIR(st.st_mode)) return 1; /* opening it says why not */
    int n = snprintf(path, sizeof path, "%s/metadata", s->root);
    return n > 0 && (size_t)n < sizeof path && stat(path, &st) == 0;
}

/* The root exists but is not a directory. */
static int root_not_dir(const agt_sync *s)
{
    struct stat st;
    return stat(s->root, &st) == 0 && !S_ISDIR(st.st_mode);
}

void sync_lake_notices(agt_sync *s, agt_lake *lake)
{
    char msg[700];
    while (agt_lake_next_notice(lake, msg, sizeof msg)) sync_log(s, AGT_SYNC_WARNING, "%s", msg);
}

agt_status sync_no_lake(const agt_sync *s, agt_error *err)
{
    return agt_err(err, AGT_ENOTFOUND, "no lake at '%s'", s->root);
}

agt_status sync_lake_open(agt_sync *s, agt_lake **out, agt_error *err)
{
    return sync_lake_open_as(s, AGT_LAKE_WRITE, out, err);
}

agt_status sync_lake_open_as(agt_sync *s, unsigned flags, agt_lake **out, agt_error *err)
{
    agt_error e;
    if (root_not_dir(s))
        return agt_err(err, AGT_EIO, "cannot use '%s' as the lake: not a directory", s->root);
    agt_error_clear(&e);
    agt_lake_opts lo;
    agt_lake_opts_default(&lo);
    lo.market = agt_market_name(s->opts.market); /* a futures lake's names (market.h) */
    agt_status st = agt_lake_open_opts(s->root, flags, &lo, out, &e);
    switch (st) {
    case AGT_OK:
        sync_lake_notices(s, *out); /* e.g. a damaged write-ahead log set aside */
        return AGT_OK;
    case AGT_ENOTFOUND: return sync_no_lake(s, err);
    case AGT_EINVAL: case AGT_ELOCKED: case AGT_EIO: case AGT_ENOSPC: case AGT_ECORRUPT:
    case AGT_ENOMEM: break;
    default: st = AGT_EIO; break;
    }
    if (err) {
        *err = e;
        err->status = st;
        if (!err->message[0]) snprintf(err->message, sizeof err->message, "%s", agt_status_name(st));
    }
    return st;
}

agt_status sync_lake_status(agt_status st)
{
    switch (st) {
    case AGT_ELOCKED: case AGT_EIO: case AGT_ENOSPC: case AGT_ECORRUPT: case AGT_ENOMEM: return st;
    default: return AGT_ECORRUPT;
    }
}

agt_status sync_lake_error(const agt_sync *s, agt_status st, const agt_error *why, agt_error *err)
{
    const char *msg = why->message[0] ? why->message : agt_status_name(st);
    /* the lake's fault, not the input's: a lake status whatever the cause */
    return agt_err(err, sync_lake_status(st), "cannot read the lake '%s': %s", s->root, msg);
}

agt_status sync_first_stored_hour(agt_sync *s, agt_lake *lake, const char *symbol,
                                  int64_t end_us, int64_t *hour_us, agt_error *err)
{
    agt_error e;
    int64_t first_ts = -1;
    agt_error_clear(&e);
    agt_status r = agt_lake_oldest(lake, symbol, NULL, &first_ts, NULL, &e);
    if (r != AGT_OK && r != AGT_ENOTFOUND) return sync_lake_error(s, r, &e, err);
    *hour_us = first_ts >= 0 && first_ts <= end_us ? first_ts - first_ts % AGT_US_PER_HOUR : -1;
    return AGT_OK;
}

agt_status sync_root_check(const agt_sync *s, agt_error *err)
{
    struct stat st;
    if (root_not_dir(s))
        return agt_err(err, AGT_EIO, "cannot use '%s' as the lake: not a directory", s->root);
    if (stat(s->root, &st) == 0) {
        if (access(s->root, W_OK | X_OK) != 0)
            return agt_err_sys(err, errno, "cannot write to '%s'", s->root);
        return AGT_OK;
    }
    /* the nearest existing ancestor must be a writable directory */
    size_t n = strlen(s->root);
    char *p = malloc(n + 2);
    if (!p) return agt_err(err, AGT_ENOMEM, "out of memory");
    memcpy(p, s->root, n + 1);
    for (;;) {
        char *slash = strrchr(p, '/');
        while (slash && slash > p && slash[1] == 0) { /* trailing slashes */
            *slash = 0;
            slash = strrchr(p, '/');
        }
        if (!slash) {
            p[0] = '.';
            p[1] = 0;
        } else if (slash == p) {
            p[1] = 0;
        } else {
            *slash = 0;
        }
        if (stat(p, &st) == 0) break;
        if (!strcmp(p, ".") || !strcmp(p, "/")) break;
    }
    agt_status r = AGT_OK;
    if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))
        r = agt_err(err, AGT_EIO, "cannot create the lake '%s': '%s' is not a directory", s->root, p);
    else if (access(p, W_OK | X_OK) != 0)
        r = agt_err_sys(err, errno, "cannot create the lake '%s'", s->root);
    free(p);
    return r;
}
