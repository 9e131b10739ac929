/*
 * archive.c - agt_archive_fetch_day (and _month): one UTC day (month) of one
 * symbol from the published zips, verified against the published SHA-256.
 *
 * Steps, and what each failure means:
 *   1. GET {SYM}-aggTrades-{DAY}.zip.CHECKSUM. 404: the day is not published
 *      (or the symbol has none) -> AGT_ENOTFOUND. A body that is not
 *      "<64 hex>  <zip name>[\n]" is retried like a 5xx, then AGT_EPARSE.
 *   2. GET the zip, into the net layer's response buffer (capped by
 *      max_zip_bytes; the default 16 MiB cap of REST pages is raised for this
 *      request only). 404 here too -> AGT_ENOTFOUND.
 *   3. SHA-256 of the zip bytes against step 1. On a mismatch the CHECKSUM is
 *      read once more: if it changed, the file was replaced between our two
 *      requests (docs/exchange.md, "The archive's publication") and the day is fetched again, once; if
 *      it did not, AGT_ECHECKSUM and no rows.
 *   4. libzip opens the zip from memory; the member must be named
 *      {SYM}-aggTrades-{DAY}.csv. It is read in 1 MiB pieces and streamed
 *      through the CSV parser (archive_csv.c) into a scratch table, so
 *      neither the uncompressed CSV nor a partial result is ever exposed.
 *      libzip checks the CRC-32 at the end of the member -> AGT_ECORRUPT.
 *   5. Sort by id, drop repeated ids (the last one wins, as in REST), append.
 * All HTTP goes through agt_net_request: rate spacing, timeouts, retries with
 * backoff, Retry-After, the same as REST.
 *
 * agt_archive_fetch_month takes the same steps for the monthly file
 * ({SYM}-aggTrades-{YYYY-MM}.zip under .../monthly/...), whose rows must lie
 * inside the month: one file instead of 28-31, for long backfills. It holds
 * the month in memory; a zip above max_zip_bytes is refused (AGT_ENOMEM) and
 * the caller takes the daily files instead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__has_include)
#if __has_include(<zip.h>)
#include <zip.h>
#define AGT_HAVE_LIBZIP 1
#endif
#endif

#include "source/archive_int.h"
#include "source/source_int.h"

#define CHECKSUM_CAP ((size_t)64 << 10)
#define ZIP_CHUNK ((size_t)1 << 20)
#define FIRST_DAY_US INT64_C(1483228800000000) /* 2017-01-01 */

struct agt_archive {
    agt_archive_opts opts;
    const agt_market_def *def; /* opts.market */
    char *base_url; /* without a trailing '/' */
    agt_net *net;
    char url[640];
};

void agt_archive_opts_default(agt_archive_opts *o)
{
    memset(o, 0, sizeof *o);
    o->archive_url = "https://data.binance.vision";
    o->interval_ms = 50;
    o->max_attempts = 4;
    o->max_ban_wait_s = 300;
    o->connect_timeout_ms = 10000;
    o->timeout_ms = 600000;
    o->backoff_base_ms = 500;
    o->max_zip_bytes = (uint64_t)512 << 20;
    o->max_csv_bytes = (uint64_t)4 << 30;
    o->low_speed_limit = 1024;
    o->low_speed_time_s = 20;
    o->unit_deadline_s = 1800;
}

/* data.binance.vision counts no weight. */
#define WEIGHT_BUDGET 1000000

agt_status agt_archive_new_with(const agt_archive_opts *o, const agt_clock *clock,
                                agt_transport_fn transport, void *transport_ctx,
                                agt_archive **out, agt_error *err)
{
    agt_error_clear(err);
    if (!out) return agt_err(err, AGT_EINVAL, "null argument");
    *out = NULL;
    agt_archive_opts d;
    agt_archive_opts_default(&d);
    agt_archive_opts opts = o ? *o : d;
    if (!agt_market_def_of(opts.market))
        return agt_err(err, AGT_EINVAL, "unknown market %d", (int)opts.market);
    /* Nonsensical values are replaced by the defaults. */
    if (!opts.archive_url || !opts.archive_url[0]) opts.archive_url = d.archive_url;
    if (opts.max_zip_bytes == 0) opts.max_zip_bytes = d.max_zip_bytes;
    if (opts.max_zip_bytes > SIZE_MAX / 4) opts.max_zip_bytes = SIZE_MAX / 4;
    if (opts.max_csv_bytes == 0) opts.max_csv_bytes = d.max_csv_bytes;
    if (opts.unit_deadline_s < 0) opts.unit_deadline_s = d.unit_deadline_s;
    agt_archive *a = calloc(1, sizeof *a);
    if (!a) return agt_err(err, AGT_ENOMEM, "out of memory");
    a->opts = opts;
    a->def = agt_market_def_of(opts.market);
    agt_net_conn conn_default = AGT_NET_CONN_OF(&d, WEIGHT_BUDGET);
    agt_status s = agt_net_open_conn(opts.archive_url, "archive url",
                                     AGT_NET_CONN_OF(&opts, WEIGHT_BUDGET), &conn_default, clock,
                                     transport, transport_ctx, &a->base_url, &a->net, err);
    if (s != AGT_OK) {
        agt_archive_free(a);
        return s;
    }
    a->opts.archive_url = a->base_url;
    *out = a;
    return AGT_OK;
}

agt_status agt_archive_new(const agt_archive_opts *o, agt_archive **out, agt_error *err)
{
    return agt_archive_new_with(o, NULL, NULL, NULL, out, err);
}

void agt_archive_free(agt_archive *a)
{
    if (!a) return;
    agt_net_free(a->net);
    free(a->base_url);
    free(a);
}

/* ---- .CHECKSUM ------------------------------------------------------------ */

agt_status agt_checksum_parse(const uint8_t *s, size_t n, const char *expect_name,
                              uint8_t digest[32], agt_error *err)
{
    if (n >= 2 && s[n - 2] == '\r' && s[n - 1] == '\n')
        n -= 2;
    else if (n >= 1 && s[n - 1] == '\n')
        n -= 1;
    if (n < 67) return agt_err(err, AGT_EPARSE, "checksum file too short (%zu bytes)", n);
    for (int i = 0; i < 32; i++) {
        int hi = agt_json_hexval(s[2 * i]), lo = agt_json_hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return agt_err(err, AGT_EPARSE, "checksum file: byte %d is not a hex digit",
                           hi < 0 ? 2 * i + 1 : 2 * i + 2);
        digest[i] = (uint8_t)(hi << 4 | lo);
    }
    if (s[64] != ' ' || (s[65] != ' ' && s[65] != '*'))
        return agt_err(err, AGT_EPARSE,
                       "checksum file: expected two spaces after the 64 hex digits");
    const uint8_t *name = s + 66;
    size_t nn = n - 66;
    for (size_t i = 0; i < nn; i++)
        if (name[i] < 0x21 || name[i] >= 0x7f)
            return agt_err(err, AGT_EPARSE, "checksum file: bad character in the file name");
    if (expect_name && (strlen(expect_name) != nn || memcmp(name, expect_name, nn) != 0))
        return agt_err(err, AGT_EPARSE, "checksum file names '%.*s', expected '%s'",
                       (int)(nn > 100 ? 100 : nn), (const char *)name, expect_name);
    return AGT_OK;
}

/* ---- the zip -------------------------------------------------------------- */

#ifdef AGT_HAVE_LIBZIP

static agt_status zip_fail(agt_error *err, zip_error_t *ze, const char *what)
{
    agt_status s = zip_error_code_zip(ze) == ZIP_ER_MEMORY ? AGT_ENOMEM : AGT_ECORRUPT;
    const char *m = zip_error_strerror(ze);
    char low[200];
    snprintf(low, sizeof low, "%s", m ? m : "unknown error");
    if (low[0] >= 'A' && low[0] <= 'Z') low[0] = (char)(low[0] + 32);
    return agt_err(err, s, "%s: %s", what, low);
}

/* Stream the member through the parser into `tmp`. */
static agt_status read_member(zip_t *z, zip_uint64_t idx, const char *member, agt_csv *p,
                              uint64_t max_csv, agt_trades *tmp, uint64_t *csv_bytes,
                              agt_error *err)
{
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(z, idx, 0, &st) != 0) return zip_fail(err, zip_get_error(z), "zip");
    if ((st.valid & ZIP_STAT_SIZE) && st.size > max_csv)
        return agt_err(err, AGT_ENOMEM, "'%s' is %llu bytes uncompressed, above the cap of %llu",
                       member, (unsigned long long)st.size, (unsigned long long)max_csv);
    if ((st.valid & ZIP_STAT_SIZE) && st.size / 40 > 0)
        AGT_TRY(agt_trades_reserve(tmp, (size_t)(st.size / 90) + 16)); /* rows ~ 85-90 bytes */

    zip_file_t *f = zip_fopen_index(z, idx, 0);
    if (!f) return zip_fail(err, zip_get_error(z), member);
    char *buf = malloc(ZIP_CHUNK + AGT_CSV_MAX_LINE + 8);
    if (!buf) {
        zip_fclose(f);
        return agt_err(err, AGT_ENOMEM, "out of memory");
    }
    agt_status s = AGT_OK;
    size_t have = 0; /* unparsed bytes at the front of buf */
    uint64_t total = 0;
    for (;;) {
        zip_int64_t got = zip_fread(f, buf + have, ZIP_CHUNK);
        if (got < 0) {
            s = zip_fail(err, zip_file_get_error(f), member);
            break;
        }
        total += (uint64_t)got;
        if (total > max_csv) {
            s = agt_err(err, AGT_ENOMEM, "'%s' is larger than the cap of %llu bytes", member,
                        (unsigned long long)max_csv);
            break;
        }
        size_t n = have + (size_t)got, used = 0;
        s = agt_csv_feed(p, buf, n, got == 0, tmp, &used, err);
        if (s != AGT_OK || got == 0) break;
        have = n - used;
        if (have) memmove(buf, buf + used, have);
    }
    free(buf);
    if (zip_fclose(f) != 0 && s == AGT_OK)
        s = agt_err(err, AGT_ECORRUPT, "'%s': crc or read error while closing", member);
    if (s == AGT_EPARSE) {
        /* Name the member the line number refers to. */
        char m[sizeof err->message];
        snprintf(m, sizeof m, "%s", err ? err->message : "");
        agt_err(err, AGT_EPARSE, "%s %s", member, m);
    }
    if (csv_bytes) *csv_bytes = total;
    return s;
}

agt_status agt_archive_read_zip_range(const uint8_t *zip, size_t n, const char *member,
                                      int64_t start_us, int64_t end_us, agt_market market,
                                      uint64_t max_csv, agt_trades *out, uint64_t *csv_bytes,
                                      agt_error *err)
{
    agt_csv p;
    AGT_TRY(agt_csv_init_range(&p, start_us, end_us, market, err));
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(zip, n, 0, &ze);
    if (!src) {
        agt_status s = zip_fail(err, &ze, "zip");
        zip_error_fini(&ze);
        return s;
    }
    zip_t *z = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze);
    if (!z) {
        agt_status s = zip_fail(err, &ze, "not a readable zip");
        zip_source_free(src);
        zip_error_fini(&ze);
        return s;
    }
    zip_error_fini(&ze);

    agt_status s;
    zip_int64_t idx = zip_name_locate(z, member, 0);
    if (idx < 0) {
        zip_int64_t k = zip_get_num_entries(z, 0);
        const char *first = k > 0 ? zip_get_name(z, 0, 0) : NULL;
        s = agt_err(err, AGT_ECORRUPT, "zip has no member '%s' (%lld members%s%.100s%s)", member,
                    (long long)k, first ? ", the first is '" : "", first ? first : "",
                    first ? "'" : "");
    } else {
        agt_trades tmp;
        agt_trades_init(&tmp);
        s = read_member(z, (zip_uint64_t)idx, member, &p, max_csv, &tmp, csv_bytes, err);
        if (s == AGT_OK && agt_trades_append(out, &tmp) != AGT_OK)
            s = agt_err(err, AGT_ENOMEM, "out of memory");
        agt_trades_release(&tmp);
    }
    zip_discard(z);
    return s;
}

#else /* no libzip */

agt_status agt_archive_read_zip_range(const uint8_t *zip, size_t n, const char *member,
                                      int64_t start_us, int64_t end_us, agt_market market,
                                      uint64_t max_csv, agt_trades *out, uint64_t *csv_bytes,
                                      agt_error *err)
{
    return agt_err(err, AGT_EUNSUPPORTED, "built without libzip: cannot read archive zips");
}

#endif

agt_status agt_archive_read_zip(const uint8_t *zip, size_t n, const char *member,
                                int64_t day_start_us, agt_market market, uint64_t max_csv,
                                agt_trades *out, uint64_t *csv_bytes, agt_error *err)
{
    return agt_archive_read_zip_range(zip, n, member, day_start_us,
                                      day_start_us + AGT_US_PER_DAY - 1, market, max_csv, out,
                                      csv_bytes, err);
}

/* ---- the day ---------------------------------------------------------------- */

typedef struct day_ctx {
    agt_archive *a;
    const char *zip_name;
    uint8_t digest[32];
    uint64_t bytes;
} day_ctx;

static agt_status checksum_body(void *user, const agt_http_resp *r, agt_error *err)
{
    day_ctx *d = user;
    return agt_checksum_parse(r->body.data, r->body.len, d->zip_name, d->digest, err);
}

static int observe(void *user, const agt_http_resp *r)
{
    day_ctx *d = user;
    d->bytes += r->body.len;
    if (!d->a->opts.progress) return 0;
    return d->a->opts.progress(d->a->opts.progress_user, r->body.len, 0);
}

/* GET `url` into the net layer's buffer with body cap `cap`; 404 -> ENOTFOUND. */
static agt_status get(agt_archive *a, day_ctx *d, const char *what, size_t cap,
                      agt_status (*on_body)(void *, const agt_http_resp *, agt_error *),
                      const char *day, agt_error *err)
{
    agt_net_req rq;
    memset(&rq, 0, sizeof rq);
    rq.url = a->url;
    rq.what = what;
    rq.weight = 0;
    rq.on_body = on_body;
    rq.observe = observe;
    rq.user = d;
    a->net->resp.body.max = cap;
    agt_status s = agt_net_request(a->net, &rq, err);
    if (s != AGT_OK && err && err->http_status == 404) {
        int attempts = err->attempts;
        agt_err(err, AGT_ENOTFOUND, "%s is not published in the archive yet (http 404 for %.300s)",
                day, a->url);
        err->http_status = 404;
        err->attempts = attempts;
        return AGT_ENOTFOUND;
    }
    return s;
}

static agt_status set_url(agt_archive *a, const char *period, const char *symbol,
                          const char *name, const char *ext, agt_error *err)
{
    int n = snprintf(a->url, sizeof a->url, "%s/%s/%s/aggTrades/%s/%s%s", a->base_url,
                     a->def->archive_dir, period, symbol, name, ext);
    if (n < 0 || (size_t)n >= sizeof a->url) return agt_err(err, AGT_EINVAL, "archive url too long");
    return AGT_OK;
}

/* Give back the zip's memory: the next request starts from a small buffer. */
static void give_back_body(agt_archive *a)
{
    if (a->net->resp.body.cap > ((size_t)1 << 20)) {
        agt_buf_release(&a->net->resp.body);
        agt_http_resp_reset(&a->net->resp);
    }
}

/* Arguments of a fetch: AGT_EINVAL with the message, before any request. */
static agt_status check_args(agt_archive *a, const char *symbol, int64_t start_us, agt_trades *out,
                             agt_error *err)
{
    if (!a || !symbol || !out) return agt_err(err, AGT_EINVAL, "null argument");
    if (!agt_symbol_valid(symbol))
        return agt_err(err, AGT_EINVAL, "invalid symbol '%.40s': expected 2-20 of A-Z 0-9 _",
                       symbol);
    if (start_us % AGT_US_PER_DAY != 0 || start_us < FIRST_DAY_US ||
        start_us > INT64_C(4102444800000000)) /* 2100-01-01 */
        return agt_err(err, AGT_EINVAL, "day start %lld is not a whole utc day in 2017..2099",
                       (long long)start_us);
    return AGT_OK;
}

/*
 * One published file: `period` "daily" (date YYYY-MM-DD) or "monthly" (date
 * YYYY-MM), covering the whole days [start_us, end_us]. The checksum first,
 * then the zip, verified, read and sorted (see agt_archive_fetch_day).
 */
static agt_status fetch_file(agt_archive *a, const char *symbol, const char *period,
                             const char *date, int64_t start_us, int64_t end_us, agt_trades *out,
                             agt_archive_info *info, agt_error *err)
{
    char base[64], zip_name[72], csv_name[72], day[96];
    snprintf(base, sizeof base, "%s-aggTrades-%s", symbol, date);
    snprintf(zip_name, sizeof zip_name, "%s.zip", base);
    snprintf(csv_name, sizeof csv_name, "%s.csv", base);
    snprintf(day, sizeof day, "%s %s", symbol, date);

    agt_archive_info inf;
    memset(&inf, 0, sizeof inf);
    inf.day_start_us = start_us;
    inf.first_id = inf.last_id = -1;
    inf.ts_unit_us = start_us >= AGT_ARCHIVE_MICROS_FROM_US && a->def->csv_micros_from_2025 ? 1 : 1000;

    day_ctx d;
    memset(&d, 0, sizeof d);
    d.a = a;
    d.zip_name = zip_name;
    uint64_t req0 = a->net->requests;
    agt_net_set_deadline(a->net, a->opts.unit_deadline_s);
    uint8_t got[32];
    agt_status s = AGT_OK;
    for (int round = 0;; round++) {
        if ((s = set_url(a, period, symbol, zip_name, ".CHECKSUM", err)) != AGT_OK) goto done;
        s = get(a, &d, "archive checksum", CHECKSUM_CAP, checksum_body, day, err);
        if (s != AGT_OK) goto done;
        uint8_t want[32];
        memcpy(want, d.digest, 32);
        if ((s = set_url(a, period, symbol, zip_name, "", err)) != AGT_OK) goto done;
        s = get(a, &d, "archive zip", (size_t)a->opts.max_zip_bytes, NULL, day, err);
        if (s != AGT_OK) goto done;
        inf.zip_bytes = a->net->resp.body.len;
        agt_sha256(a->net->resp.body.data, a->net->resp.body.len, got);
        if (memcmp(got, want, 32) == 0) break;
        /* Replaced between our two requests? Read the checksum again. */
        char gh[65], wh[65];
        agt_sha256_hex(got, gh);
        agt_sha256_hex(want, wh);
        if (round == 0) {
            if ((s = set_url(a, period, symbol, zip_name, ".CHECKSUM", err)) != AGT_OK) goto done;
            s = get(a, &d, "archive checksum", CHECKSUM_CAP, checksum_body, day, err);
            if (s != AGT_OK) goto done;
            if (memcmp(d.digest, want, 32) != 0) continue; /* it changed: start again */
        }
        s = agt_err(err, AGT_ECHECKSUM, "%s: sha-256 of the zip is %s but its .CHECKSUM says %s",
                    zip_name, gh, wh);
        goto done;
    }
    agt_sha256_hex(got, inf.sha256);

    {
        agt_trades tmp;
        agt_trades_init(&tmp);
        s = agt_archive_read_zip_range(a->net->resp.body.data, a->net->resp.body.len, csv_name,
                                       start_us, end_us, a->opts.market, a->opts.max_csv_bytes, &tmp,
                                       &inf.csv_bytes, err);
        give_back_body(a); /* the rows are out: the zip's memory is not needed any more */
        size_t dropped = 0;
        if (s == AGT_OK && agt_trades_sort_unique(&tmp, &dropped) != AGT_OK)
            s = agt_err(err, AGT_ENOMEM, "out of memory");
        if (s == AGT_OK) {
            inf.rows = tmp.len;
            inf.duplicates = dropped;
            inf.contiguous = 1;
            if (tmp.len) {
                inf.first_id = tmp.trade_id[0];
                inf.last_id = tmp.trade_id[tmp.len - 1];
                inf.first_ts_us = tmp.ts_us[0];
                inf.last_ts_us = tmp.ts_us[tmp.len - 1];
                inf.contiguous = (uint64_t)(inf.last_id - inf.first_id) + 1 == tmp.len;
            }
        }
        if (s == AGT_OK && out->len == 0) { /* the usual case: hand the rows over, no copy */
            agt_trades_release(out);
            *out = tmp;
            agt_trades_init(&tmp);
        } else if (s == AGT_OK && agt_trades_append(out, &tmp) != AGT_OK) {
            s = agt_err(err, AGT_ENOMEM, "out of memory");
        }
        agt_trades_release(&tmp);
    }

done:
    agt_net_set_deadline(a->net, 0);
    give_back_body(a);
    a->net->resp.body.max = AGT_NET_BODY_CAP;
    inf.requests = (int)(a->net->requests - req0);
    if (info) *info = inf;
    return s;
}

agt_status agt_archive_fetch_day(agt_archive *a, const char *symbol, int64_t day_start_us,
                                 agt_trades *out, agt_archive_info *info, agt_error *caller_err)
{
    agt_error local; /* the 404 mapping reads the error, so there always is one */
    agt_error *err = caller_err ? caller_err : &local;
    agt_error_clear(err);
    AGT_TRY(check_args(a, symbol, day_start_us, out, err));
    char date[32];
    agt_format_time_us(day_start_us, date, sizeof date);
    date[10] = 0;
    return fetch_file(a, symbol, "daily", date, day_start_us, day_start_us + AGT_US_PER_DAY - 1,
                      out, info, err);
}

int64_t agt_month_end_us(int64_t month_start_us)
{
    agt_tm tm;
    agt_tm_from_us(month_start_us, &tm);
    int y = tm.year + (tm.month == 12), m = tm.month == 12 ? 1 : tm.month + 1;
    return agt_days_from_civil(y, m, 1) * AGT_US_PER_DAY - 1;
}

agt_status agt_archive_fetch_month(agt_archive *a, const char *symbol, int64_t month_start_us,
                                   agt_trades *out, agt_archive_info *info, agt_error *caller_err)
{
    agt_error local;
    agt_error *err = caller_err ? caller_err : &local;
    agt_error_clear(err);
    AGT_TRY(check_args(a, symbol, month_start_us, out, err));
    char date[32];
    agt_format_time_us(month_start_us, date, sizeof date);
    if (strcmp(date + 8, "01 00:00:00.000000") != 0)
        return agt_err(err, AGT_EINVAL, "%.10s is not the first day of a month", date);
    date[7] = 0;
    return fetch_file(a, symbol, "monthly", date, month_start_us, agt_month_end_us(month_start_us),
                      out, info, err);
}
