/*
 * exch_info.c - what the client takes from an exchangeInfo body
 * (docs/exchange.md, "Rate limits"), read with the strict JSON reader of
 * json.c: the REQUEST_WEIGHT and RAW_REQUESTS entries of "rateLimits" (four
 * scalars in each entry of one array), "serverTime" (the exchange's clock,
 * so the run's first request also reads it), and whether "symbols" holds an
 * entry whose "symbol" is the one asked about (the symbol is listed).
 * Everything else only has to be valid JSON (nested at most 32 deep, the
 * body at most 1 MiB).
 */
#include <string.h>

#include "source/source_int.h"

#define LIMITS_BODY_CAP ((size_t)1 << 20) /* one symbol's exchangeInfo is ~5 KiB */

static int is_key(const uint8_t *k, size_t len, const char *name)
{
    return len == strlen(name) && memcmp(k, name, len) == 0;
}

/*
 * Walk the members of the object at j->i (at nesting level `depth`), calling
 * `member` on each with j at its value, which it must consume.
 */
typedef agt_status (*member_fn)(agt_json *j, const uint8_t *k, size_t klen, int depth, void *user);

static agt_status walk_object(agt_json *j, int depth, member_fn member, void *user)
{
    AGT_TRY(agt_json_expect(j, '{', "expected an object"));
    agt_json_ws(j);
    if (agt_json_peek(j) == '}') {
        j->i++;
        return AGT_OK;
    }
    for (;;) {
        const uint8_t *k;
        size_t klen;
        int esc;
        AGT_TRY(agt_json_str(j, &k, &klen, &esc));
        agt_json_ws(j);
        AGT_TRY(agt_json_expect(j, ':', "expected ':'"));
        agt_json_ws(j);
        AGT_TRY(member(j, k, klen, depth + 1, user));
        agt_json_ws(j);
        if (agt_json_peek(j) != ',') return agt_json_expect(j, '}', "expected ',' or '}'");
        j->i++;
        agt_json_ws(j);
    }
}

typedef struct entry {
    const uint8_t *type, *interval; /* raw string contents, NULL: absent */
    size_t type_len, interval_len;
    int64_t num, limit; /* -1: absent */
    int seen;           /* bit per known key, to refuse repeats */
} entry;

static agt_status entry_member(agt_json *j, const uint8_t *k, size_t klen, int depth, void *user)
{
    entry *e = user;
    static const char *const keys[] = {"rateLimitType", "interval", "intervalNum", "limit"};
    for (int b = 0; b < 4; b++) {
        if (!is_key(k, klen, keys[b])) continue;
        if (e->seen & (1 << b)) return agt_json_fail(j, "repeated rate limit field");
        e->seen |= 1 << b;
        int esc;
        if (b == 0) return agt_json_str(j, &e->type, &e->type_len, &esc);
        if (b == 1) return agt_json_str(j, &e->interval, &e->interval_len, &esc);
        return agt_json_int64(j, b == 2 ? &e->num : &e->limit);
    }
    return agt_json_skip(j, depth);
}

typedef struct info_out {
    agt_exch_info *info;
    int found, timed; /* "rateLimits", "serverTime" seen */
} info_out;

static agt_status rate_limit(agt_json *j, int depth, void *user)
{
    agt_exch_info *o = user;
    if (agt_json_peek(j) != '{') return agt_json_fail(j, "expected a rate limit object");
    entry e;
    memset(&e, 0, sizeof e);
    e.num = e.limit = -1;
    AGT_TRY(walk_object(j, depth, entry_member, &e));
    int per_weight = is_key(e.type, e.type_len, "REQUEST_WEIGHT");
    if (!per_weight && !is_key(e.type, e.type_len, "RAW_REQUESTS")) return AGT_OK; /* ORDERS, ... */
    static const char *const units[] = {"SECOND", "MINUTE", "HOUR", "DAY"};
    static const int64_t unit_s[] = {1, 60, 3600, 86400};
    int64_t unit = 0;
    for (int k = 0; k < 4; k++)
        if (is_key(e.interval, e.interval_len, units[k])) unit = unit_s[k];
    if (unit == 0 || e.num < 1 || e.num > 1000 || e.limit < 1 || e.limit > INT32_MAX)
        return agt_err(j->err, AGT_EPARSE, "exchange info: bad %.*s rate limit before byte %zu",
                       (int)e.type_len, (const char *)e.type, j->i);
    if (o->count < o->max) {
        agt_exch_limit *l = &o->limits[o->count++];
        l->per_weight = per_weight;
        l->window_us = unit * e.num * AGT_US_PER_SEC;
        l->limit = e.limit;
    }
    return AGT_OK;
}

/* Call `element` on each element of the array at j->i (nesting level `depth`),
 * with j at the element, which it must consume. */
typedef agt_status (*element_fn)(agt_json *j, int depth, void *user);

static agt_status walk_array(agt_json *j, int depth, const char *what, element_fn element,
                             void *user)
{
    if (agt_json_peek(j) != '[') return agt_json_fail(j, what);
    j->i++;
    agt_json_ws(j);
    if (agt_json_peek(j) == ']') {
        j->i++;
        return AGT_OK;
    }
    for (;;) {
        AGT_TRY(element(j, depth + 1, user));
        agt_json_ws(j);
        if (agt_json_peek(j) != ',') return agt_json_expect(j, ']', "expected ',' or ']'");
        j->i++;
        agt_json_ws(j);
    }
}

static agt_status symbol_member(agt_json *j, const uint8_t *k, size_t klen, int depth, void *user)
{
    agt_exch_info *o = user;
    if (!is_key(k, klen, "symbol")) return agt_json_skip(j, depth);
    const uint8_t *v;
    size_t len;
    int esc;
    AGT_TRY(agt_json_str(j, &v, &len, &esc));
    if (!esc && is_key(v, len, o->symbol)) o->listed = 1;
    return AGT_OK;
}

static agt_status symbol_entry(agt_json *j, int depth, void *user)
{
    if (agt_json_peek(j) != '{') return agt_json_skip(j, depth);
    return walk_object(j, depth, symbol_member, user);
}

/* serverTime in ms: after 2017 and before 2100, or the body is not believed */
#define SERVER_MS_MIN INT64_C(1483228800000)
#define SERVER_MS_MAX INT64_C(4102444800000)

static agt_status top_member(agt_json *j, const uint8_t *k, size_t klen, int depth, void *user)
{
    info_out *o = user;
    if (is_key(k, klen, "rateLimits")) {
        if (o->found++) return agt_json_fail(j, "repeated \"rateLimits\"");
        return walk_array(j, depth, "\"rateLimits\" is not an array", rate_limit, o->info);
    }
    if (is_key(k, klen, "serverTime")) {
        int64_t ms;
        if (o->timed++) return agt_json_fail(j, "repeated \"serverTime\"");
        AGT_TRY(agt_json_int64(j, &ms));
        if (ms < SERVER_MS_MIN || ms > SERVER_MS_MAX)
            return agt_json_fail(j, "\"serverTime\" out of range");
        o->info->server_time_us = ms * 1000;
        return AGT_OK;
    }
    if (is_key(k, klen, "symbols") && o->info->symbol && agt_json_peek(j) == '[')
        return walk_array(j, depth, "\"symbols\" is not an array", symbol_entry, o->info);
    return agt_json_skip(j, depth);
}

agt_status agt_exch_info_parse(const uint8_t *s, size_t n, agt_exch_info *info, agt_error *err)
{
    info->count = 0;
    info->server_time_us = -1;
    info->listed = 0;
    if (info->max < 0) info->max = 0;
    if (n > LIMITS_BODY_CAP)
        return agt_err(err, AGT_EPARSE, "exchange info: body of %zu bytes is over %zu", n,
                       LIMITS_BODY_CAP);
    agt_json j = {s, n, 0, err, "exchange info"};
    info_out o = {info, 0, 0};
    agt_status st;
    agt_json_ws(&j);
    st = walk_object(&j, 1, top_member, &o);
    agt_json_ws(&j);
    if (st == AGT_OK && j.i != j.n) st = agt_json_fail(&j, "unexpected data after the object");
    if (st == AGT_OK && !o.found) st = agt_err(err, AGT_EPARSE, "exchange info: no \"rateLimits\"");
    if (st != AGT_OK) {
        info->count = 0;
        info->server_time_us = -1;
        info->listed = 0;
    }
    return st;
}

agt_status agt_exch_limits_parse(const uint8_t *s, size_t n, agt_exch_limit *out, int max,
                                 int *count, agt_error *err)
{
    agt_exch_info info;
    memset(&info, 0, sizeof info);
    info.limits = out;
    info.max = max;
    agt_status st = agt_exch_info_parse(s, n, &info, err);
    *count = info.count;
    return st;
}
