/*
 * source_int.h - the source module inside the library (not public): exact
 * decimal conversion, the strict parser for aggTrades pages and the small
 * JSON bodies around them, and the agt_client internals that unit tests
 * reach into (an injected clock and transport instead of libcurl).
 */
#ifndef AGT_SOURCE_INT_H
#define AGT_SOURCE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "aggtrades/fetch.h"
#include "common/common_int.h"
#include "net/net_int.h"

/* ---- decimal.c ------------------------------------------------------------ */

/*
 * Convert the decimal string s[0..n) - digits, optionally one '.' followed by
 * at least one digit; no sign, no exponent, at most 100 characters - to the
 * double nearest to its exact value (ties to even), bit-identical to strtod.
 * Returns 0 on success, -1 if `s` is not such a decimal.
 */
int agt_decimal_to_double(const char *s, size_t n, double *out);
/* The same for the decimal at the start of s[0..n), ending at the first byte that
 * is neither a digit nor its one '.': the bytes it takes, 0 if none form such a
 * decimal ("1.", ".5", more than 100 characters). */
size_t agt_decimal_prefix(const char *s, size_t n, double *out);

/*
 * The run of decimal digits at the start of s[0..n): returns how many, and
 * sets *m = *m * 10^count + their value (mod 2^64, as a digit-by-digit loop
 * would). Eight bytes at a time where they are there: a CSV row holds ~65
 * digits, and the archive's parsers read every one of them.
 */
size_t agt_digit_run(const char *s, size_t n, uint64_t *m);

/* ---- json.c: the strict JSON reader the body parsers share ---------------- */

/* A body being read: s[0..n), at byte i; messages go to err, named `what`. */
typedef struct agt_json {
    const uint8_t *s;
    size_t n;
    size_t i;
    agt_error *err;
    const char *what;
} agt_json;

static inline void agt_json_ws(agt_json *j)
{
    while (j->i < j->n) {
        uint8_t c = j->s[j->i];
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t') break;
        j->i++;
    }
}

static inline int agt_json_peek(const agt_json *j)
{
    return j->i < j->n ? j->s[j->i] : -1;
}

/* Fail with AGT_EPARSE: "<what>: <msg> at byte <i>" (or "at end of body"). */
agt_status agt_json_fail(agt_json *j, const char *msg);
/* Consume the byte c, or fail with msg. */
agt_status agt_json_expect(agt_json *j, uint8_t c, const char *msg);
/* The value of a hex digit, or -1. */
int agt_json_hexval(int c);
/* A string: on success *p and *len span its raw content (between the quotes,
 * escapes not decoded) and *escaped tells whether it has any. */
agt_status agt_json_str(agt_json *j, const uint8_t **p, size_t *len, int *escaped);
/* A JSON number that must be an integer in int64 (no fraction, exponent or
 * leading zero). */
agt_status agt_json_int64(agt_json *j, int64_t *out);
/* Any JSON number. */
agt_status agt_json_number(agt_json *j);
/* Consume the literal `lit` if it is next: 1 if it was, else 0. */
int agt_json_literal(agt_json *j, const char *lit);
/* true or false. */
agt_status agt_json_bool(agt_json *j, uint8_t *out);
/* Any value, only checked; `depth` is its nesting level, refused above 32. */
agt_status agt_json_skip(agt_json *j, int depth);

/* ---- json_page.c ---------------------------------------------------------- */

/* One aggTrades object as received, before any hour-level checks. */
typedef struct agt_page_row {
    int64_t a;  /* aggregate trade id, >= 0 */
    int64_t f;  /* first trade id (may be -1 for trades the exchange voided) */
    int64_t l;  /* last trade id */
    int64_t t;  /* "T" as sent: µs, or ms from a server ignoring X-MBX-TIME-UNIT */
    double p;   /* price, finite, >= 0 */
    double q;   /* quantity, finite, >= 0 */
    uint8_t m;  /* buyer is maker */
} agt_page_row;

typedef struct agt_page {
    agt_page_row *rows;
    size_t len;
    size_t cap;
} agt_page;

void agt_page_init(agt_page *pg);
void agt_page_release(agt_page *pg);

/*
 * Parse an aggTrades response body: a JSON array of flat objects with the
 * keys a, p, q, f, l, T, m (M and unknown keys allowed and ignored, any key
 * order, any JSON whitespace). Replaces the rows of `pg`. AGT_EPARSE with a
 * message naming the byte offset for anything else; AGT_ENOMEM.
 */
agt_status agt_page_parse(agt_page *pg, const uint8_t *s, size_t n, agt_error *err);

/*
 * Parse an error body {"code": <int>, "msg": "<text>"} (other keys ignored).
 * Returns 1 and fills *code and msg (NUL-terminated, truncated to msgn,
 * escapes decoded, non-ASCII replaced by '?') if it is one, else 0.
 */
int agt_api_error_parse(const uint8_t *s, size_t n, int *code, char *msg, size_t msgn);

/* Parse {"serverTime": N}; N in ms, or µs if above 10^14. Result in µs. */
agt_status agt_server_time_parse(const uint8_t *s, size_t n, int64_t *us, agt_error *err);

/* A "T" value to µs: below 10^14 it can only be milliseconds (10^14 µs is
 * 1973, 10^14 ms the year 5138). Hours before 2017 are refused anyway. */
static inline int64_t agt_t_to_us(int64_t t)
{
    return t < INT64_C(100000000000000) ? t * 1000 : t;
}

/* ---- market.c: what differs between spot, USD-M and COIN-M ----------------- */

typedef struct agt_market_def {
    const char *name;           /* "spot", "um", "cm" */
    const char *api_url;        /* default REST host */
    const char *api_prefix;     /* "/api/v3", "/fapi/v1", "/dapi/v1" */
    const char *archive_dir;    /* "data/spot", "data/futures/um", ... */
    const char *lake_dir;       /* agt_market_lake_dir */
    int weight_aggtrades;       /* 4 spot, 20 futures */
    int weight_exchange_info;   /* 20 spot, 1 futures */
    int weight_budget;          /* documented REQUEST_WEIGHT per minute: a ceiling */
    int64_t first_id;           /* a symbol's first aggregate id: 0 spot, 1 futures */
    int window_paging;          /* 1: only startTime+endTime (< 1 h) and fromId may be sent */
    int exchange_info_per_symbol; /* 1: exchangeInfo takes ?symbol= */
    int csv_fields;             /* archive CSV columns: 8 spot, 7 futures */
    int csv_micros_from_2025;   /* archive times in µs from 2025-01-01 (spot only) */
} agt_market_def;

/* The table row of `m`; NULL for an unknown market. */
const agt_market_def *agt_market_def_of(agt_market m);

/* archive.c: the last µs of the calendar month starting at `month_start_us`. */
int64_t agt_month_end_us(int64_t month_start_us);

/* ---- client.c / rest.c ---------------------------------------------------- */

#define AGT_FIRST_HOUR_US INT64_C(1498867200000000) /* 2017-07-01 00:00 UTC */
#define AGT_PAGE_LIMIT 1000
#define AGT_WEIGHT_TIME 1

struct agt_client {
    agt_client_opts opts;
    const agt_market_def *def; /* the market asked for (opts.market) */
    char *api_url;        /* without a trailing '/' */
    agt_net *net;
    int synced;           /* exchange clock known */
    int64_t sync_mono_us; /* when it was last read */
    int64_t syncs;        /* readings so far */
    int info_clock;       /* the first reading came with the exchange info */
    char listed[64];      /* the symbol the exchange info listed ("": none) */
    agt_page page;        /* reused page buffer */
    char url[512];
};

/* From now on `c` spends the rate limit of `with` (the same exchange): the
 * clients of parallel jobs share one weight budget, one minimum interval and
 * every 429/418 wait. Both must use the same clock. */
void agt_client_share_limits(agt_client *c, agt_client *with);

/* A limit from exchangeInfo.rateLimits that the client applies. */
typedef struct agt_exch_limit {
    int per_weight;    /* 1: REQUEST_WEIGHT, 0: RAW_REQUESTS */
    int64_t window_us; /* interval x intervalNum */
    int64_t limit;
} agt_exch_limit;

/* What exch_info.c reads from an exchangeInfo body. */
typedef struct agt_exch_info {
    agt_exch_limit *limits; /* in: room for `max` limits */
    int max;
    const char *symbol;     /* in: the symbol to look for in "symbols" (NULL: none) */
    int count;              /* out: limits read */
    int64_t server_time_us; /* out: "serverTime" (ms on the wire), -1 if absent */
    int listed;             /* out: "symbols" has an entry whose "symbol" is `symbol` */
} agt_exch_info;

/*
 * exch_info.c: parse an exchangeInfo body (strict JSON, at most 1 MiB) for the
 * REQUEST_WEIGHT and RAW_REQUESTS entries of "rateLimits" (others, such as
 * ORDERS, are skipped; at most `max` kept), "serverTime" and the listing of
 * `symbol`. AGT_EPARSE, with no limit, no time and not listed, if the body is
 * not one JSON object, has no "rateLimits" array, an entry of either kind is
 * malformed, or "serverTime" is not a time between 2017 and 2100.
 */
agt_status agt_exch_info_parse(const uint8_t *s, size_t n, agt_exch_info *info, agt_error *err);
/* The limits alone (into out[max], their number into *count). */
agt_status agt_exch_limits_parse(const uint8_t *s, size_t n, agt_exch_limit *out, int max,
                                 int *count, agt_error *err);

/*
 * Before the client's first data request: read the limits the exchange
 * advertises (GET /api/v3/exchangeInfo?symbol=..., once per client) into the
 * rate limiter, which keeps the options' budget as a ceiling. Any failure
 * leaves the options in force; it never fails a fetch. Clients made with an
 * injected transport skip it unless c->net->limits_asked is reset to 0.
 */
void agt_client_read_limits(agt_client *c, const char *symbol);

/*
 * Create a client with an injected clock and transport (either may be NULL
 * for the system clock / libcurl). For tests.
 */
agt_status agt_client_new_with(const agt_client_opts *o, const agt_clock *clock,
                               agt_transport_fn transport, void *transport_ctx,
                               agt_client **out, agt_error *err);

/*
 * The exchange's clock, read from GET /api/v3/time when it was never read,
 * was read more than `max_age_us` ago, or `force` is set; otherwise
 * extrapolated on the monotonic clock.
 */
agt_status agt_client_exch_now(agt_client *c, int64_t max_age_us, int force, int64_t *now_us,
                               agt_error *err);

#endif
