/*
 * archive.c - agt_archive_fetch_day (and _month): one UTC day (month) of one
 * symbol from the published zips, verified against the published SHA-256.
 *
 * Steps, and what each failure means:
 *   1. GET the zip, streamed into an unlinked temporary file in the
 *      handle's tmp_dir (the lake's metadata directory when the sync engine
 *      asks) while its SHA-256 is computed: memory stays bounded whatever
 *      the file's size, and a crash leaves nothing behind. max_zip_bytes
 *      caps it (disk, not memory). 404: the day is not published (or the
 *      symbol has none) -> AGT_ENOTFOUND; a file that cannot be written ->
 *      AGT_EIO.
 *   2. GET {SYM}-aggTrades-{DAY}.zip.CHECKSUM. 404 here too -> AGT_ENOTFOUND.
 *      A body that is not "<64 hex>  <zip name>[\n]" is retried like a 5xx,
 *      then AGT_EPARSE. Requests to the archive are spaced (interval_ms), but
 *      the zip and its checksum count as one: the checksum follows at once
 *      (agt_net_req.follows), where it used to wait out the interval after a
 *      zip that took less to arrive (50 ms of a busy day's ingest on
 *      loopback, and of every small day anywhere).
 *   3. The SHA-256 against step 2. On a mismatch the file may have been
 *      replaced between our two requests (docs/exchange.md, "The archive's
 *      publication"): both are read once more, in the same order, and if
 *      they agree now that file is used; if not, AGT_ECHECKSUM and no rows.
 *      Only a verified file is ever read.
 *   4. archive_zip.c inflates the member {SYM}-aggTrades-{DAY}.csv in pieces
 *      through the CSV parser (archive_csv.c).
 *   5. Here (the whole-table API): sort by id, drop repeated ids (the last
 *      one wins, as in REST), append. The day source (day.c) instead takes
 *      the rows hour by hour as they come (agt_archive_zip_rows).
 * All HTTP goes through agt_net_request: rate spacing, timeouts, retries with
 * backoff, Retry-After, the same as REST.
 *
 * agt_archive_fetch_month takes the same steps for the monthly file
 * ({SYM}-aggTrades-{YYYY-MM}.zip under .../monthly/...), whose rows must lie
 * inside the month: one file instead of 28-31, for long backfills.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "source/archive_int.h"
#include "source/source_int.h"

#define CHECKSUM_CAP ((size_t)64 << 10)
#define FIRST_DAY_US INT64_C(1483228800000000) /* 2017-01-01 */

struct agt_archive {
    agt_archive_opts opts;
    const agt_market_def *def; /* opts.market */
    char *base_url; /* without a trailing '/' */
    char *tmp_dir;  /* copy of opts.tmp_dir, or NULL */
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
    o->max_zip_bytes = (uint64_t)16 << 30;
    o->max_csv_bytes = (uint64_t)256 << 30;
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
    if (opts.max_csv_bytes == 0) opts.max_csv_bytes = d.max_csv_bytes;
    if (opts.unit_deadline_s < 0) opts.unit_deadline_s = d.unit_deadline_s;
    agt_archive *a = calloc(1, sizeof *a);
    if (!a) return agt_err(err, AGT_ENOMEM, "out of memory");
    a->opts = opts;
    a->def = agt_market_def_of(opts.market);
    if (opts.tmp_dir && opts.tmp_dir[0] && !(a->tmp_dir = strdup(opts.tmp_dir))) {
        free(a);
        return agt_err(err, AGT_ENOMEM, "out of memory");
    }
    a->opts.tmp_dir = a->tmp_dir;
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
    free(a->tmp_dir);
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

/* ---- the download ----------------------------------------------------------- */

typedef struct day_ctx {
    agt_archive *a;
    const char *zip_name;
    uint8_t digest[32];
    uint64_t bytes;
    /* the zip being written (sink) */
    int fd;
    agt_sha256_ctx sha;
    uint64_t written;
    char sink_msg[200]; /* why the sink refused, for the message */
} day_ctx;

static agt_status checksum_body(void *user, const agt_http_resp *r, agt_error *err)
{
    day_ctx *d = user;
    return agt_checksum_parse(r->body.data, r->body.len, d->zip_name, d->digest, err);
}

static int observe(void *user, const agt_http_resp *r)
{
    day_ctx *d = user;
    uint64_t n = r->body.len + r->sunk;
    d->bytes += n;
    if (!d->a->opts.progress) return 0;
    return d->a->opts.progress(d->a->opts.progress_user, n, 0);
}

/* The zip's body, written to the temporary file and hashed as it comes. */
static agt_status zip_sink(void *user, const uint8_t *p, size_t n)
{
    day_ctx *d = user;
    if (!p) { /* an attempt starts: drop what an earlier one wrote */
        agt_sha256_init(&d->sha);
        d->written = 0;
        if (ftruncate(d->fd, 0) != 0 || lseek(d->fd, 0, SEEK_SET) != 0) {
            snprintf(d->sink_msg, sizeof d->sink_msg, "cannot rewind the temporary file: %s",
                     strerror(errno));
            return AGT_EIO;
        }
        return AGT_OK;
    }
    if (d->written + n > d->a->opts.max_zip_bytes) {
        snprintf(d->sink_msg, sizeof d->sink_msg, "the zip is larger than the cap of %llu bytes",
                 (unsigned long long)d->a->opts.max_zip_bytes);
        return AGT_ENOMEM;
    }
    agt_sha256_update(&d->sha, p, n);
    d->written += n;
    while (n > 0) {
        ssize_t w = write(d->fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            snprintf(d->sink_msg, sizeof d->sink_msg, "cannot write the temporary file: %s",
                     w < 0 ? strerror(errno) : "no space");
            return AGT_EIO;
        }
        p += w;
        n -= (size_t)w;
    }
    return AGT_OK;
}

/* GET `url`: its body into the net layer's buffer (capped at `cap`), or
 * through `sink` when given; 404 -> ENOTFOUND. */
static agt_status get(agt_archive *a, day_ctx *d, const char *what, size_t cap,
                      agt_status (*on_body)(void *, const agt_http_resp *, agt_error *),
                      agt_status (*sink)(void *, const uint8_t *, size_t), const char *day,
                      agt_error *err)
{
    agt_net_req rq;
    memset(&rq, 0, sizeof rq);
    rq.follows = sink == NULL; /* a .CHECKSUM completes its zip */
    rq.url = a->url;
    rq.what = what;
    rq.weight = 0;
    rq.on_body = on_body;
    rq.observe = observe;
    rq.sink = sink;
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
    if ((s == AGT_EIO || s == AGT_ENOMEM) && d->sink_msg[0]) {
        int attempts = err ? err->attempts : 0;
        agt_err(err, s, "%s: %s", day, d->sink_msg);
        if (err) err->attempts = attempts;
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

/* A temporary file in the handle's tmp_dir (else $TMPDIR, else /tmp) that
 * has no name: the kernel frees it with the last descriptor, crash or not. */
static agt_status temp_file(const agt_archive *a, int *fd, agt_error *err)
{
    const char *env = getenv("TMPDIR");
    const char *dirs[3] = { a->tmp_dir, env && env[0] ? env : NULL, "/tmp" };
    int e = 0;
    for (int i = 0; i < 3; i++) {
        struct stat st;
        if (!dirs[i] || stat(dirs[i], &st) != 0 || !S_ISDIR(st.st_mode)) continue;
#ifdef O_TMPFILE
        *fd = open(dirs[i], O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (*fd >= 0) return AGT_OK;
#endif
        char path[4200];
        snprintf(path, sizeof path, "%s/.archive-XXXXXX.tmp", dirs[i]);
        *fd = mkstemps(path, 4);
        if (*fd >= 0) {
            unlink(path);
            return AGT_OK;
        }
        e = errno;
    }
    return agt_err(err, AGT_EIO, "cannot create a temporary file for the archive zip%s%s",
                   e ? ": " : "", e ? strerror(e) : "");
}

/* Arguments of a fetch: AGT_EINVAL with the message, before any request. */
static agt_status check_args(agt_archive *a, const char *symbol, int64_t start_us, agt_error *err)
{
    if (!a || !symbol) return agt_err(err, AGT_EINVAL, "null argument");
    if (!agt_symbol_valid(symbol))
        return agt_err(err, AGT_EINVAL, "invalid symbol '%.40s': expected 2-20 of A-Z 0-9 _",
                       symbol);
    if (start_us % AGT_US_PER_DAY != 0 || start_us < FIRST_DAY_US ||
        start_us > INT64_C(4102444800000000)) /* 2100-01-01 */
        return agt_err(err, AGT_EINVAL, "day start %lld is not a whole utc day in 2017..2099",
                       (long long)start_us);
    return AGT_OK;
}

int64_t agt_month_end_us(int64_t month_start_us)
{
    agt_tm tm;
    agt_tm_from_us(month_start_us, &tm);
    int y = tm.year + (tm.month == 12), m = tm.month == 12 ? 1 : tm.month + 1;
    return agt_days_from_civil(y, m, 1) * AGT_US_PER_DAY - 1;
}

/* The zip into the file, then its checksum; once more on a mismatch (see the top). */
static agt_status fetch_verified(agt_archive *a, day_ctx *d, const char *period,
                                 const char *symbol, const char *day, uint8_t got[32],
                                 agt_error *err)
{
    for (int round = 0;; round++) {
        AGT_TRY(set_url(a, period, symbol, d->zip_name, "", err));
        AGT_TRY(get(a, d, "archive zip", CHECKSUM_CAP, NULL, zip_sink, day, err));
        agt_sha256_final(&d->sha, got);
        AGT_TRY(set_url(a, period, symbol, d->zip_name, ".CHECKSUM", err));
        AGT_TRY(get(a, d, "archive checksum", CHECKSUM_CAP, checksum_body, NULL, day, err));
        if (memcmp(got, d->digest, 32) == 0) return AGT_OK;
        if (round == 0) continue; /* replaced between the two requests? read both again */
        char gh[65], wh[65];
        agt_sha256_hex(got, gh);
        agt_sha256_hex(d->digest, wh);
        return agt_err(err, AGT_ECHECKSUM, "%s: sha-256 of the zip is %s but its .CHECKSUM says %s",
                       d->zip_name, gh, wh);
    }
}

agt_status agt_archive_download(agt_archive *a, const char *symbol, int monthly,
                                int64_t start_us, agt_archive_zip *out, agt_error *err)
{
    agt_archive_zip_close(out);
    AGT_TRY(check_args(a, symbol, start_us, err));
    char date[32], base[64], zip_name[72], day[96];
    agt_format_time_us(start_us, date, sizeof date);
    if (monthly && strcmp(date + 8, "01 00:00:00.000000") != 0)
        return agt_err(err, AGT_EINVAL, "%.10s is not the first day of a month", date);
    date[monthly ? 7 : 10] = 0;
    snprintf(base, sizeof base, "%s-aggTrades-%s", symbol, date);
    snprintf(zip_name, sizeof zip_name, "%s.zip", base);
    snprintf(out->csv_name, sizeof out->csv_name, "%s.csv", base);
    snprintf(day, sizeof day, "%s %s", symbol, date);
    out->start_us = start_us;
    out->end_us = monthly ? agt_month_end_us(start_us) : start_us + AGT_US_PER_DAY - 1;
    out->max_csv = a->opts.max_csv_bytes;
    out->market = a->opts.market;
    agt_archive_info *inf = &out->info;
    inf->day_start_us = start_us;
    inf->first_id = inf->last_id = -1;
    inf->contiguous = 1;
    inf->ts_unit_us = start_us >= AGT_ARCHIVE_MICROS_FROM_US && a->def->csv_micros_from_2025 ? 1 : 1000;

    day_ctx d;
    memset(&d, 0, sizeof d);
    d.a = a;
    d.zip_name = zip_name;
    uint64_t req0 = a->net->requests;
    agt_status s = temp_file(a, &d.fd, err);
    if (s != AGT_OK) return s;
    uint8_t got[32];
    agt_net_set_deadline(a->net, a->opts.unit_deadline_s);
    s = fetch_verified(a, &d, monthly ? "monthly" : "daily", symbol, day, got, err);
    agt_net_set_deadline(a->net, 0);
    a->net->resp.body.max = AGT_NET_BODY_CAP;
    inf->requests = (int)(a->net->requests - req0);
    if (s != AGT_OK) {
        close(d.fd);
        return s;
    }
    out->fd = d.fd;
    inf->zip_bytes = d.written;
    agt_sha256_hex(got, inf->sha256);
    return AGT_OK;
}

/* ---- the whole table (agt_archive_fetch_day, _month) ----------------------- */

static agt_status collect(void *user, const agt_trades *rows, agt_error *err)
{
    if (agt_trades_append(user, rows) != AGT_OK) return agt_err(err, AGT_ENOMEM, "out of memory");
    return AGT_OK;
}

/* The verified file's rows, sorted, unique, appended to `out`. */
static agt_status fetch_table(agt_archive *a, const char *symbol, int monthly, int64_t start_us,
                              agt_trades *out, agt_archive_info *info, agt_error *err)
{
    if (!out) return agt_err(err, AGT_EINVAL, "null argument");
    agt_archive_zip z;
    agt_archive_zip_init(&z);
    agt_status s = agt_archive_download(a, symbol, monthly, start_us, &z, err);
    agt_archive_info inf = z.info;
    agt_trades tmp;
    agt_trades_init(&tmp);
    if (s == AGT_OK) s = agt_archive_zip_rows(&z, collect, &tmp, &inf.csv_bytes, err);
    agt_archive_zip_close(&z);
    size_t dropped = 0;
    if (s == AGT_OK && agt_trades_sort_unique(&tmp, &dropped) != AGT_OK)
        s = agt_err(err, AGT_ENOMEM, "out of memory");
    if (s == AGT_OK) {
        inf.rows = tmp.len;
        inf.duplicates = dropped;
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
    if (s != AGT_OK) inf.rows = 0;
    if (info) *info = inf;
    return s;
}

agt_status agt_archive_fetch_day(agt_archive *a, const char *symbol, int64_t day_start_us,
                                 agt_trades *out, agt_archive_info *info, agt_error *caller_err)
{
    agt_error local; /* the 404 mapping reads the error, so there always is one */
    agt_error *err = caller_err ? caller_err : &local;
    agt_error_clear(err);
    return fetch_table(a, symbol, 0, day_start_us, out, info, err);
}

agt_status agt_archive_fetch_month(agt_archive *a, const char *symbol, int64_t month_start_us,
                                   agt_trades *out, agt_archive_info *info, agt_error *caller_err)
{
    agt_error local;
    agt_error *err = caller_err ? caller_err : &local;
    agt_error_clear(err);
    return fetch_table(a, symbol, 1, month_start_us, out, info, err);
}
