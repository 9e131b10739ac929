/*
 * stats.c - the statistics index: one small JSON file per symbol-day,
 *
 *   <root>/metadata/stats/symbol=SYM/_YYYY-MM-DD.json   (names: layout.c)
 *
 * holding one entry per committed hour of that day. A commit rewrites only
 * its own day's file (atomically: write a temporary, fsync, rename), so a commit
 * costs the same whatever the size of the lake, and planning a query reads
 * only the days it covers. The statistics let queries skip files, answer
 * aggregates without decoding data, find the file holding a trade id, and
 * prove completeness by chaining ids across hours without opening a file.
 * The index is derived data: every entry can be recomputed from the data
 * file and the change feed (rebuild.c), and a commit into a day whose file
 * is damaged rebuilds it first.
 *
 * Format (written exactly like this, one entry per line; the reader is
 * strict: every key required, no unknown or repeated key, no trailing
 * garbage, values range-checked):
 *
 *   {"format":1,"symbol":"BTCUSDT","date":"2023-10-01","hours":[
 *   {"hour":0,"path":"symbol=BTCUSDT/year=2023/month=10/day=1/BTCUSDT_20231001_00.parquet",
 *    "rows":N,"min_ts":µs,"max_ts":µs,"first_id":N,"last_id":N,"prev_id":N,
 *    "sum_qty":D,"quote_volume":D,["qty_e8":"N","quote_e16":"N",]"buyer_maker":N,"size":bytes,
 *    "xxh64":"16 lower-case hex digits","source":"rest","version":N,
 *    "commit_ts":µs,"fetched_at":µs,"complete":true}
 *   ]}
 *
 *   hour        0..23, entries in increasing hour order, each at most once
 *   path        the data file relative to the root ("" when rows is 0: a
 *               proven-empty hour has no file); must equal the layout's path
 *   min_ts/max_ts, first_id/last_id  over the file's rows (0/0 and -1/-1 if empty)
 *   prev_id     id of the trade just before the hour; -1 none; -2 unknown
 *   sum_qty     sum of quantity; quote_volume sum of price*quantity
 *               (doubles printed with 17 significant digits: exact round trip)
 *   qty_e8      the same sums exact (exact.c): quantity in units of 1e-8,
 *   quote_e16   quote volume in units of 1e-16, as strings of decimal digits
 *               (up to 39: JSON numbers that big lose digits in most readers).
 *               Both present, or both absent: in an empty hour, when some
 *               value of the hour is not a decimal of 8 fraction digits, and
 *               in entries written before they existed (readers then sum the
 *               file's rows).
 *   buyer_maker rows with is_buyer_maker true
 *   xxh64       XXH64, seed 0, of the whole data file
 *   version     the commit version that wrote the file; commit_ts its time
 *   complete    proven complete (docs/architecture.md, "Completeness") and ids contiguous
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lake/lake_int.h"

#define STATS_MAX_BYTES (1u << 20)

/* ---- writing ------------------------------------------------------------- */

agt_status agt_stats_format(const char *symbol, const agt_day_stats *d, agt_buf *out)
{
    out->len = 0;
    agt_tm tm;
    agt_tm_from_us(d->day_start_us, &tm);
    AGT_TRY(agt_buf_printf(out, "{\"format\":1,\"symbol\":\"%s\",\"date\":\"%04d-%02d-%02d\",\"hours\":[",
                           symbol, tm.year, tm.month, tm.day));
    for (size_t i = 0; i < d->n; i++) {
        const agt_file_stats *f = &d->h[i];
        int hour = (int)((f->hour_start_us - d->day_start_us) / AGT_US_PER_HOUR);
        char exact[128] = "";
        if (f->sums_exact) {
            char qty[48], quote[48];
            agt_u128_digits(((agt_u128)f->qty_e8_hi << 64) | f->qty_e8_lo, qty);
            agt_u128_digits(((agt_u128)f->quote_e16_hi << 64) | f->quote_e16_lo, quote);
            snprintf(exact, sizeof exact, ",\"qty_e8\":\"%s\",\"quote_e16\":\"%s\"", qty, quote);
        }
        AGT_TRY(agt_buf_printf(
            out,
            "%s\n{\"hour\":%d,\"path\":\"%s\",\"rows\":%" PRId64 ",\"min_ts\":%" PRId64
            ",\"max_ts\":%" PRId64 ",\"first_id\":%" PRId64 ",\"last_id\":%" PRId64
            ",\"prev_id\":%" PRId64 ",\"sum_qty\":%.17g,\"quote_volume\":%.17g%s"
            ",\"buyer_maker\":%" PRId64 ",\"size\":%" PRId64 ",\"xxh64\":\"%016" PRIx64
            "\",\"source\":\"%s\",\"version\":%" PRId64
            ",\"commit_ts\":%" PRId64 ",\"fetched_at\":%" PRId64 ",\"complete\":%s}",
            i ? "," : "", hour, f->path, f->rows, f->min_ts_us, f->max_ts_us, f->first_id,
            f->last_id, f->prev_id, f->sum_qty, f->quote_volume, exact, f->buyer_maker, f->size,
            f->checksum, f->source, f->version, f->commit_ts_us, f->fetched_at_us,
            f->complete ? "true" : "false"));
    }
    return agt_buf_printf(out, "\n]}\n");
}

/* ---- strict reading ------------------------------------------------------ */

typedef struct jp {
    const char *p, *end, *start;
    agt_error *err;
    agt_status st;
} jp;

static int jfail(jp *j, const char *what)
{
    if (j->st == AGT_OK) {
        j->st = AGT_ECORRUPT;
        agt_err(j->err, AGT_ECORRUPT, "statistics json: %s at byte %zu", what,
                (size_t)(j->p - j->start));
    }
    return 0;
}

static void ws(jp *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t')) j->p++;
}

static int lit(jp *j, char c)
{
    ws(j);
    if (j->p < j->end && *j->p == c) {
        j->p++;
        return 1;
    }
    return 0;
}

static int expect(jp *j, char c)
{
    if (lit(j, c)) return 1;
    char m[32];
    snprintf(m, sizeof m, "expected '%c'", c);
    return jfail(j, m);
}

/* A string of printable ASCII without escapes (all our strings are such). */
static int jstr(jp *j, char *out, size_t n)
{
    if (!expect(j, '"')) return 0;
    size_t k = 0;
    while (j->p < j->end && *j->p != '"') {
        unsigned char c = (unsigned char)*j->p;
        if (c < 0x20 || c >= 0x7f || c == '\\') return jfail(j, "unsupported character in string");
        if (k + 1 >= n) return jfail(j, "string too long");
        out[k++] = (char)c;
        j->p++;
    }
    if (j->p >= j->end) return jfail(j, "unterminated string");
    j->p++;
    out[k] = '\0';
    return 1;
}

/* JSON number grammar; returns its span. */
static int jnum_span(jp *j, const char **s, size_t *n, int *is_int)
{
    ws(j);
    const char *q = j->p;
    *is_int = 1;
    if (q < j->end && *q == '-') q++;
    if (q >= j->end) return jfail(j, "expected a number");
    if (*q == '0') q++;
    else if (*q >= '1' && *q <= '9') while (q < j->end && *q >= '0' && *q <= '9') q++;
    else return jfail(j, "expected a number");
    if (q < j->end && *q == '.') {
        *is_int = 0;
        q++;
        if (q >= j->end || *q < '0' || *q > '9') return jfail(j, "bad number");
        while (q < j->end && *q >= '0' && *q <= '9') q++;
    }
    if (q < j->end && (*q == 'e' || *q == 'E')) {
        *is_int = 0;
        q++;
        if (q < j->end && (*q == '+' || *q == '-')) q++;
        if (q >= j->end || *q < '0' || *q > '9') return jfail(j, "bad number");
        while (q < j->end && *q >= '0' && *q <= '9') q++;
    }
    if (q - j->p > 40) return jfail(j, "number too long");
    *s = j->p;
    *n = (size_t)(q - j->p);
    j->p = q;
    return 1;
}

static int jint(jp *j, int64_t *v)
{
    const char *s;
    size_t n;
    int is_int;
    if (!jnum_span(j, &s, &n, &is_int)) return 0;
    if (!is_int) return jfail(j, "expected an integer");
    char buf[48];
    memcpy(buf, s, n);
    buf[n] = '\0';
    errno = 0;
    long long x = strtoll(buf, NULL, 10);
    if (errno == ERANGE) return jfail(j, "integer out of range");
    *v = (int64_t)x;
    return 1;
}

static int jdbl(jp *j, double *v)
{
    const char *s;
    size_t n;
    int is_int;
    if (!jnum_span(j, &s, &n, &is_int)) return 0;
    char buf[48];
    memcpy(buf, s, n);
    buf[n] = '\0';
    *v = strtod(buf, NULL);
    if (!isfinite(*v)) return jfail(j, "number out of range");
    return 1;
}

static int jbool(jp *j, int *v)
{
    ws(j);
    if ((size_t)(j->end - j->p) >= 4 && memcmp(j->p, "true", 4) == 0) {
        j->p += 4;
        *v = 1;
        return 1;
    }
    if ((size_t)(j->end - j->p) >= 5 && memcmp(j->p, "false", 5) == 0) {
        j->p += 5;
        *v = 0;
        return 1;
    }
    return jfail(j, "expected true or false");
}

static const char *const entry_keys[] = {
    "hour",   "path",        "rows",   "min_ts",  "max_ts",    "first_id",   "last_id",
    "prev_id", "sum_qty",    "quote_volume", "buyer_maker", "size", "xxh64", "source",
    "version", "commit_ts",  "fetched_at", "complete", "qty_e8", "quote_e16"};
#define N_ENTRY_KEYS (sizeof entry_keys / sizeof entry_keys[0])
/* qty_e8 and quote_e16 (the last two) are optional, but only together */
#define OPTIONAL_KEYS ((1u << (N_ENTRY_KEYS - 2)) | (1u << (N_ENTRY_KEYS - 1)))

/* A u128 written as a string of decimal digits. */
static int ju128(jp *j, agt_u128 *v)
{
    char digits[48];
    if (!jstr(j, digits, sizeof digits)) return 0;
    if (!agt_u128_parse(digits, v)) return jfail(j, "expected up to 39 decimal digits");
    return 1;
}

static int parse_entry(jp *j, const char *symbol, int64_t day_us, int *hour_out,
                       agt_file_stats *f)
{
    memset(f, 0, sizeof *f);
    uint32_t seen = 0;
    int64_t hour = -1;
    agt_u128 qty_e8 = 0, quote_e16 = 0;
    if (!expect(j, '{')) return 0;
    for (;;) {
        char key[32];
        if (!jstr(j, key, sizeof key) || !expect(j, ':')) return 0;
        size_t k = 0;
        while (k < N_ENTRY_KEYS && strcmp(key, entry_keys[k]) != 0) k++;
        if (k == N_ENTRY_KEYS) return jfail(j, "unknown key");
        if (seen & (1u << k)) return jfail(j, "repeated key");
        seen |= 1u << k;
        int ok = 1;
        char hex[24];
        switch (k) {
        case 0: ok = jint(j, &hour); break;
        case 1: ok = jstr(j, f->path, sizeof f->path); break;
        case 2: ok = jint(j, &f->rows); break;
        case 3: ok = jint(j, &f->min_ts_us); break;
        case 4: ok = jint(j, &f->max_ts_us); break;
        case 5: ok = jint(j, &f->first_id); break;
        case 6: ok = jint(j, &f->last_id); break;
        case 7: ok = jint(j, &f->prev_id); break;
        case 8: ok = jdbl(j, &f->sum_qty); break;
        case 9: ok = jdbl(j, &f->quote_volume); break;
        case 10: ok = jint(j, &f->buyer_maker); break;
        case 11: ok = jint(j, &f->size); break;
        case 12:
            ok = jstr(j, hex, sizeof hex);
            if (ok) {
                if (strlen(hex) != 16 || strspn(hex, "0123456789abcdef") != 16)
                    return jfail(j, "xxh64 must be 16 hex digits");
                f->checksum = strtoull(hex, NULL, 16);
            }
            break;
        case 13: ok = jstr(j, f->source, sizeof f->source); break;
        case 14: ok = jint(j, &f->version); break;
        case 15: ok = jint(j, &f->commit_ts_us); break;
        case 16: ok = jint(j, &f->fetched_at_us); break;
        case 17: ok = jbool(j, &f->complete); break;
        case 18: ok = ju128(j, &qty_e8); break;
        case 19: ok = ju128(j, &quote_e16); break;
        }
        if (!ok) return 0;
        if (lit(j, '}')) break;
        if (!expect(j, ',')) return 0;
    }
    if ((seen | OPTIONAL_KEYS) != (1u << N_ENTRY_KEYS) - 1) return jfail(j, "missing key");
    if ((seen & OPTIONAL_KEYS) != 0 && (seen & OPTIONAL_KEYS) != OPTIONAL_KEYS)
        return jfail(j, "qty_e8 and quote_e16 go together");
    if (seen & OPTIONAL_KEYS) {
        agt_exact_sum x;
        agt_exact_init(&x);
        x.qty_e8 = qty_e8;
        x.quote_e16 = quote_e16;
        agt_exact_get(&x, &f->sums_exact, &f->qty_e8_lo, &f->qty_e8_hi, &f->quote_e16_lo,
                      &f->quote_e16_hi);
    }
    if (hour < 0 || hour > 23) return jfail(j, "hour out of range");
    f->hour_start_us = day_us + hour * AGT_US_PER_HOUR;
    int64_t hs = f->hour_start_us, he = hs + AGT_US_PER_HOUR - 1;
    if (f->rows < 0 || f->size < 0 || f->buyer_maker < 0 || f->buyer_maker > f->rows ||
        f->version < 0 || f->prev_id < -2)
        return jfail(j, "value out of range");
    if (f->sums_exact && f->rows == 0) return jfail(j, "exact sums of an empty hour");
    char want[128];
    if (f->rows > 0) {
        if (f->first_id < 0 || f->last_id < f->first_id || f->min_ts_us < hs ||
            f->max_ts_us > he || f->min_ts_us > f->max_ts_us || f->size <= 0)
            return jfail(j, "inconsistent row statistics");
        /* either market's name here; agt_stats_load checks it is the lake's */
        int named = 0;
        for (int k = 0; k < 2 && !named; k++)
            named = agt_lake_hour_rel(symbol, hs, k ? AGT_LAKE_FUTURES_EXT : AGT_LAKE_SPOT_EXT,
                                      want, sizeof want, NULL) == AGT_OK &&
                    strcmp(want, f->path) == 0;
        if (!named) return jfail(j, "path does not match the layout");
    } else if (f->path[0] || f->first_id != -1 || f->last_id != -1 || f->size != 0) {
        return jfail(j, "inconsistent empty hour");
    }
    *hour_out = (int)hour;
    return 1;
}

agt_status agt_stats_parse(const char *json, size_t n, agt_day_stats *out, char *symbol_out,
                           size_t symbol_n, agt_error *err)
{
    jp j = {json, json + n, json, err, AGT_OK};
    memset(out, 0, sizeof *out);
    char key[32], symbol[32] = "", date[16] = "";
    int64_t format = 0;
    int seen = 0, last_hour = -1;
    if (!expect(&j, '{')) return j.st;
    for (;;) {
        if (!jstr(&j, key, sizeof key) || !expect(&j, ':')) return j.st;
        int bit = strcmp(key, "format") == 0 ? 1 : strcmp(key, "symbol") == 0 ? 2
                : strcmp(key, "date") == 0 ? 4 : strcmp(key, "hours") == 0 ? 8 : 0;
        if (!bit) return jfail(&j, "unknown key"), j.st;
        if (seen & bit) return jfail(&j, "repeated key"), j.st;
        seen |= bit;
        if (bit == 1) {
            if (!jint(&j, &format)) return j.st;
            if (format != 1) return jfail(&j, "unsupported format"), j.st;
        } else if (bit == 2) {
            if (!jstr(&j, symbol, sizeof symbol)) return j.st;
            if (!agt_symbol_valid(symbol)) return jfail(&j, "invalid symbol"), j.st;
        } else if (bit == 4) {
            if (!jstr(&j, date, sizeof date)) return j.st;
            unsigned y, m, d;
            char tail;
            if (strlen(date) != 10 || sscanf(date, "%4u-%2u-%2u%c", &y, &m, &d, &tail) != 3 ||
                !agt_date_valid(y, m, d) || y < 1970)
                return jfail(&j, "invalid date"), j.st;
            out->day_start_us = agt_days_from_civil(y, m, d) * AGT_US_PER_DAY;
        } else {
            if (!(seen & 2) || !(seen & 4)) return jfail(&j, "hours before symbol and date"), j.st;
            if (!expect(&j, '[')) return j.st;
            if (!lit(&j, ']')) {
                for (;;) {
                    if (out->n >= 24) return jfail(&j, "more than 24 hours"), j.st;
                    int hour = -1;
                    if (!parse_entry(&j, symbol, out->day_start_us, &hour, &out->h[out->n]))
                        return j.st;
                    if (hour <= last_hour) return jfail(&j, "hours out of order"), j.st;
                    last_hour = hour;
                    out->n++;
                    if (lit(&j, ']')) break;
                    if (!expect(&j, ',')) return j.st;
                }
            }
        }
        if (lit(&j, '}')) break;
        if (!expect(&j, ',')) return j.st;
    }
    ws(&j);
    if (j.p != j.end) return jfail(&j, "trailing bytes"), j.st;
    if (seen != 15) return jfail(&j, "missing key"), j.st;
    if (symbol_out) snprintf(symbol_out, symbol_n, "%s", symbol);
    return AGT_OK;
}

/* ---- the index on disk --------------------------------------------------- */

agt_status agt_stats_load(agt_lake *l, const char *symbol, int64_t day_us, agt_day_stats *out,
                          agt_error *err)
{
    char rel[160], path[AGT_LAKE_PATH_MAX], sym[32];
    day_us = agt_day_floor(day_us);
    memset(out, 0, sizeof *out);
    out->day_start_us = day_us;
    agt_lake_stats_rel(l, symbol, day_us, rel, sizeof rel);
    AGT_TRY(agt_lake_path(l, path, sizeof path, rel, err));
    agt_buf b;
    agt_buf_init(&b, 0);
    agt_error e2;
    agt_error_clear(&e2);
    agt_status s = agt_lake_read_file(l, path, &b, STATS_MAX_BYTES, &e2);
    if (s == AGT_ENOTFOUND) {
        agt_buf_release(&b);
        return AGT_OK;
    }
    if (s == AGT_OK) s = agt_stats_parse((const char *)b.data, b.len, out, sym, sizeof sym, &e2);
    if (s == AGT_OK && (strcmp(sym, symbol) != 0 || out->day_start_us != day_us)) {
        s = AGT_ECORRUPT;
        agt_err(&e2, s, "statistics json: symbol or date does not match the file name");
    }
    char want[160];
    for (size_t k = 0; s == AGT_OK && k < out->n; k++)
        if (out->h[k].rows > 0 &&
            (agt_lake_data_rel(l, symbol, out->h[k].hour_start_us, want, sizeof want, NULL) != AGT_OK ||
             strcmp(want, out->h[k].path) != 0)) {
            s = AGT_ECORRUPT;
            agt_err(&e2, s, "statistics json: '%s' is not a data file name of this lake",
                    out->h[k].path);
        }
    agt_buf_release(&b);
    if (s != AGT_OK) {
        memset(out, 0, sizeof *out);
        out->day_start_us = day_us;
        return agt_err(err, s, "statistics file '%s': %s", path, e2.message);
    }
    out->on_disk = 1;
    return AGT_OK;
}

const agt_file_stats *agt_stats_find(const agt_day_stats *d, int64_t hour_start_us)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->h[i].hour_start_us == hour_start_us) return &d->h[i];
    return NULL;
}

agt_status agt_stats_write_day(agt_lake *l, const char *symbol, const agt_day_stats *d,
                               agt_error *err)
{
    agt_buf b;
    agt_buf_init(&b, 0);
    agt_status s = agt_stats_format(symbol, d, &b);
    if (s != AGT_OK) {
        agt_buf_release(&b);
        return agt_err(err, s, "out of memory");
    }
    char rel[160], path[AGT_LAKE_PATH_MAX];
    agt_lake_stats_rel(l, symbol, d->day_start_us, rel, sizeof rel);
    s = agt_lake_path(l, path, sizeof path, rel, err);
    if (s == AGT_OK) s = agt_lake_write_atomic(l, path, b.data, b.len, err);
    agt_buf_release(&b);
    return s;
}

agt_status agt_stats_put(agt_lake *l, const char *symbol, agt_day_stats *d,
                         const agt_file_stats *fs, agt_error *err)
{
    size_t i = 0;
    while (i < d->n && d->h[i].hour_start_us < fs->hour_start_us) i++;
    if (i < d->n && d->h[i].hour_start_us == fs->hour_start_us) {
        d->h[i] = *fs;
    } else {
        if (d->n >= 24) return agt_err(err, AGT_EINVAL, "more than 24 hours in a day");
        memmove(&d->h[i + 1], &d->h[i], (d->n - i) * sizeof d->h[0]);
        d->h[i] = *fs;
        d->n++;
    }
    AGT_TRY(agt_stats_write_day(l, symbol, d, err));
    d->on_disk = 1;
    return AGT_OK;
}

void agt_stats_lost(agt_file_stats *fs, int64_t hour_start_us, int64_t version)
{
    memset(fs, 0, sizeof *fs);
    fs->hour_start_us = hour_start_us;
    fs->first_id = fs->last_id = -1;
    fs->prev_id = AGT_LAKE_ID_UNKNOWN;
    snprintf(fs->source, sizeof fs->source, "rest");
    fs->version = version;
    fs->commit_ts_us = agt_lake_now_us();
}

void agt_stats_from_rows(const agt_trades *t, agt_file_stats *fs)
{
    agt_exact_sum x;
    agt_exact_init(&x);
    fs->rows = (int64_t)t->len;
    fs->sum_qty = 0;
    fs->quote_volume = 0;
    fs->buyer_maker = 0;
    if (t->len == 0) {
        fs->min_ts_us = fs->max_ts_us = 0;
        fs->first_id = fs->last_id = -1;
        fs->sums_exact = 0; /* no rows, no data file: nothing to answer from */
        fs->qty_e8_lo = fs->qty_e8_hi = fs->quote_e16_lo = fs->quote_e16_hi = 0;
        return;
    }
    fs->first_id = t->trade_id[0];
    fs->last_id = t->trade_id[t->len - 1];
    fs->min_ts_us = fs->max_ts_us = t->ts_us[0];
    for (size_t i = 0; i < t->len; i++) {
        if (t->ts_us[i] < fs->min_ts_us) fs->min_ts_us = t->ts_us[i];
        if (t->ts_us[i] > fs->max_ts_us) fs->max_ts_us = t->ts_us[i];
        if (t->trade_id[i] < fs->first_id) fs->first_id = t->trade_id[i];
        if (t->trade_id[i] > fs->last_id) fs->last_id = t->trade_id[i];
        fs->sum_qty += t->quantity[i];
        fs->quote_volume += t->price[i] * t->quantity[i];
        fs->buyer_maker += t->is_buyer_maker[i] ? 1 : 0;
        agt_exact_add_row(&x, t->price[i], t->quantity[i]);
    }
    agt_exact_get(&x, &fs->sums_exact, &fs->qty_e8_lo, &fs->qty_e8_hi, &fs->quote_e16_lo,
                  &fs->quote_e16_hi);
}

/* A statistics file name: its day; every entry counts in l->day_entries. */
static int day_of(const char *name, void *ctx, int64_t *v)
{
    agt_lake *l = ctx;
    l->day_entries++;
    return agt_lake_stats_name_day(l, name, v);
}

agt_status agt_stats_list_days(agt_lake *l, const char *symbol, int64_t **days, size_t *n,
                               agt_error *err)
{
    *days = NULL;
    *n = 0;
    char rel[96], path[AGT_LAKE_PATH_MAX];
    agt_lake_stats_dir_rel(l, symbol, rel, sizeof rel);
    AGT_TRY(agt_lake_path(l, path, sizeof path, rel, err));
    return agt_lake_list_values(path, day_of, l, days, n, err);
}

/* ---- days with data files but no statistics ----------------------------------- */

agt_status agt_stats_missing(agt_lake *l, const char *symbol, int64_t day_us, int *appeared,
                             agt_error *err)
{
    *appeared = 0;
    char rel[160], path[AGT_LAKE_PATH_MAX];
    agt_lake_stats_rel(l, symbol, day_us, rel, sizeof rel);
    AGT_TRY(agt_lake_path(l, path, sizeof path, rel, err));
    /*
     * A commit writes the data file, then the statistics file, then its
     * COMMIT record. So if no BEGIN of the day is open in the WAL *after*
     * we saw the data file, and the statistics file is still absent after
     * that, no commit can be about to write it: it is lost.
     */
    int busy = 0;
    AGT_TRY(agt_wal_in_flight(l, symbol, day_us, day_us + AGT_US_PER_DAY - 1, &busy, err));
    if (agt_lake_exists(path)) {
        *appeared = 1;
        return AGT_OK;
    }
    if (busy) return AGT_OK;
    return agt_err(err, AGT_ECORRUPT,
                   "statistics file '%s' is missing while the day has data files (rebuild it)", path);
}

agt_status agt_stats_days_checked(agt_lake *l, const char *symbol, int64_t lo_us, int64_t hi_us,
                                  int64_t **days, size_t *n, agt_error *err)
{
    *days = NULL;
    *n = 0;
    int64_t *sd = NULL, *dd = NULL;
    size_t ns = 0, ndd = 0, k = 0;
    AGT_TRY(agt_stats_list_days(l, symbol, &sd, &ns, err));
    agt_status s = agt_lake_data_days(l, symbol, lo_us, hi_us, &dd, &ndd, err);
    int64_t *out = NULL;
    if (s == AGT_OK && !(out = malloc((ns + ndd + 1) * sizeof *out)))
        s = agt_err(err, AGT_ENOMEM, "out of memory");
    for (size_t i = 0; s == AGT_OK && i < ns; i++)
        if (sd[i] + AGT_US_PER_DAY - 1 >= lo_us && sd[i] <= hi_us) out[k++] = sd[i];
    size_t listed = k;
    for (size_t i = 0; s == AGT_OK && i < ndd; i++) {
        if (bsearch(&dd[i], out, listed, sizeof *out, agt_cmp_i64) ||
            !agt_lake_day_has_data(l, symbol, dd[i]))
            continue;
        int appeared = 0;
        if ((s = agt_stats_missing(l, symbol, dd[i], &appeared, err)) == AGT_OK && appeared)
            out[k++] = dd[i];
    }
    if (s == AGT_OK && k > listed) qsort(out, k, sizeof *out, agt_cmp_i64);
    free(sd);
    free(dd);
    if (s != AGT_OK) {
        free(out);
        return s;
    }
    *days = out;
    *n = k;
    return AGT_OK;
}

/* Load a day of a probed range, with the check of agt_stats_days_checked. */
static agt_status load_checked(agt_lake *l, const char *symbol, int64_t day_us, agt_day_stats *d,
                               agt_error *err)
{
    AGT_TRY(agt_stats_load(l, symbol, day_us, d, err));
    if (d->on_disk || !agt_lake_day_has_data(l, symbol, day_us)) return AGT_OK;
    int appeared = 0;
    AGT_TRY(agt_stats_missing(l, symbol, day_us, &appeared, err));
    return appeared ? agt_stats_load(l, symbol, day_us, d, err) : AGT_OK;
}

/*
 * Why two ways. The days of a range are known from the range itself, and a
 * day's file name from its date, so a short range simply tries to open each
 * of its days' files: ENOENT means no statistics, and only then is the day's
 * data directory looked at (absent too: the day is empty). That costs one
 * open per day of the range whatever the lake holds: a 5-minute query opens
 * one file in a lake of one day or of ten years. Listing the directory
 * first, as planning did before, grew with the days stored (bench/lake.py,
 * 5-minute window: 71 µs to plan on a one-day lake, 226 µs on a one-year
 * lake; probing: 49 µs on both, the load of the one day). An open-ended
 * range (0..INT64_MAX, a whole history) would be millions of days to probe,
 * so past AGT_STATS_PROBE_DAYS (a year: probing a year of absent days costs
 * two failed opens a day, well under a millisecond) the directory is
 * listed once instead, a cost of the same order as loading the days found.
 */
agt_status agt_stats_each_day(agt_lake *l, const char *symbol, int64_t lo_us, int64_t hi_us,
                              agt_stats_day_fn fn, void *user, agt_error *err)
{
    if (lo_us < 0) lo_us = 0; /* the layout holds nothing before 1970 */
    if (hi_us < lo_us) return AGT_OK;
    int64_t d0 = agt_day_floor(lo_us), d1 = agt_day_floor(hi_us);
    agt_day_stats d;
    if ((d1 - d0) / AGT_US_PER_DAY < AGT_STATS_PROBE_DAYS) {
        for (int64_t day = d0; day <= d1; day += AGT_US_PER_DAY) {
            AGT_TRY(load_checked(l, symbol, day, &d, err));
            if (d.on_disk) AGT_TRY(fn(user, &d, err));
        }
        return AGT_OK;
    }
    int64_t *days = NULL;
    size_t n = 0;
    AGT_TRY(agt_stats_days_checked(l, symbol, lo_us, hi_us, &days, &n, err));
    agt_status s = AGT_OK;
    for (size_t i = 0; i < n && s == AGT_OK; i++)
        if ((s = agt_stats_load(l, symbol, days[i], &d, err)) == AGT_OK && d.on_disk)
            s = fn(user, &d, err);
    free(days);
    return s;
}

/* ---- public: one hour's statistics ---------------------------------------- */

agt_status agt_lake_hour_stats(agt_lake *lake, const char *symbol, int64_t hour_start_us,
                               agt_file_stats *out, agt_error *err)
{
    if (!lake || !out) return agt_err(err, AGT_EINVAL, "invalid argument");
    AGT_TRY(agt_lake_check_hour(symbol, hour_start_us, err));
    agt_day_stats d;
    AGT_TRY(agt_stats_load(lake, symbol, hour_start_us, &d, err));
    const agt_file_stats *f = agt_stats_find(&d, hour_start_us);
    if (!f) {
        char t[32];
        agt_format_time_us(hour_start_us, t, sizeof t);
        return agt_err(err, AGT_ENOTFOUND, "hour %.13s of '%s' is not in the lake", t, symbol);
    }
    *out = *f;
    return AGT_OK;
}
