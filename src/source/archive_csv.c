/*
 * archive_csv.c - the strict parser for Binance daily (and monthly) aggTrades
 * CSV, spot and futures.
 *
 * One line per aggregate trade, 8 comma-separated fields (spot) or 7
 * (futures: no M column, docs/futures.md), no quoting:
 *
 *     a,p,q,f,l,T,m,M
 *     3800397495,87648.21000000,0.08185000,5723703861,5723703861,1767225600039409,True,True
 *
 *   a  aggregate trade id      digits, no sign
 *   p  price                   decimal, converted exactly (decimal.c, as REST)
 *   q  quantity                decimal
 *   f  first trade id          digits, or -1 (trades voided by the 2022 audit)
 *   l  last trade id           same; f <= l
 *   T  time                    ms before 2025-01-01, µs from then; inside the day
 *   m  is_buyer_maker          True/False or true/false
 *   M  is_best_match           same (checked, not kept); spot only
 *
 * The market decides the format, never the file: the URL a file comes from
 * names its market, and the caller says which (agt_csv_init): a spot file
 * has 8 fields and T in µs from 2025-01-01 (ms before), a futures file 7
 * fields and T in ms whatever the day (agt_market_def.csv_fields,
 * csv_micros_from_2025). A row with another number of fields is refused,
 * naming the market's format ("expected 7 fields (a futures file), found 8"):
 * a spot file read as futures, or the reverse, fails on its first line.
 *
 * Lines end in "\n" or "\r\n"; the last may lack its end. Futures files
 * published from about 2022-08 start with a header line, spot files have
 * none; one line at the top whose first byte is a letter is taken for a
 * header when it has the market's number of fields, each a name of lower
 * case letters, digits and '_' (anything else there is refused). Anything
 * else is refused with the line number and an excerpt. The unit of T is
 * validated by requiring every time inside the day: a µs file read as ms (or
 * the reverse) lands decades away and is caught on its first row.
 *
 * The parser works on a borrowed buffer, never allocates per field, and
 * streams: agt_csv_feed parses whole lines and reports how far it got, so a
 * zip member is read in chunks without holding the whole CSV in memory.
 * A good row is read in one pass over its bytes (fast_row: each field
 * scanned where it stands, its end found by the scan); any other line -
 * the first, which may be a header, or one with something wrong - is split
 * at its commas and its fields read one by one (parse_line), which says
 * what is wrong. Both read the fields with the same scanners.
 */
#include <stdio.h>
#include <string.h>

#include "source/archive_int.h"
#include "source/source_int.h"

agt_status agt_csv_init(agt_csv *p, int64_t day_start_us, agt_market market, agt_error *err)
{
    return agt_csv_init_range(p, day_start_us, day_start_us + AGT_US_PER_DAY - 1, market, err);
}

agt_status agt_csv_init_range(agt_csv *p, int64_t start_us, int64_t end_us, agt_market market,
                              agt_error *err)
{
    memset(p, 0, sizeof *p);
    const agt_market_def *def = agt_market_def_of(market);
    if (!def) return agt_err(err, AGT_EINVAL, "invalid market %d", (int)market);
    if (start_us < 0 || start_us % AGT_US_PER_DAY != 0 ||
        start_us > INT64_C(253402214400000000) || /* 9999-12-31 */
        end_us < start_us || (end_us + 1) % AGT_US_PER_DAY != 0 ||
        end_us - start_us >= 31 * AGT_US_PER_DAY)
        return agt_err(err, AGT_EINVAL, "%lld .. %lld is not a run of whole utc days (at most 31)",
                       (long long)start_us, (long long)end_us);
    p->day_start_us = start_us;
    p->day_end_us = end_us;
    p->fields = def->csv_fields;
    p->kind = market == AGT_MARKET_SPOT ? "a spot file" : "a futures file";
    /* a month never straddles 2025-01-01, so one unit per file holds */
    p->unit_us = def->csv_micros_from_2025 && start_us >= AGT_ARCHIVE_MICROS_FROM_US
                     ? 1 : AGT_US_PER_MS;
    return AGT_OK;
}

static const char *const field_names[8] = {"id", "price", "quantity", "first trade id",
                                           "last trade id", "time", "is_buyer_maker",
                                           "is_best_match"};

/* A printable excerpt of a line for messages. */
static void excerpt(const char *s, size_t n, char *out, size_t outn)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 4 < outn; i++) {
        unsigned char c = (unsigned char)s[i];
        out[k++] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
    }
    if (k < n && k + 4 <= outn) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = 0;
}

static agt_status bad_line(agt_csv *p, agt_error *err, const char *s, size_t n, const char *what)
{
    char ex[72];
    excerpt(s, n, ex, sizeof ex);
    return agt_err(err, AGT_EPARSE, "line %llu: %s: \"%s\"", (unsigned long long)p->line, what,
                   ex);
}

/*
 * The field scanners: each reads its field at *q (before end) and moves *q
 * past it, or returns -1 (*q unmoved). A row's fields are read by them in
 * place (fast_row) or, after the line was split at its commas, one field
 * at a time (parse_line: the field must be all of its bytes).
 */

/* Digits only (no sign, no leading zero unless "0"), at most 18 of them. */
static inline int scan_uint(const char **q, const char *end, int64_t *v)
{
    const char *s = *q;
    uint64_t x = 0; /* wraps for more than 19 digits: refused below */
    size_t n = agt_digit_run(s, (size_t)(end - s), &x);
    if (n == 0 || n > 18 || (s[0] == '0' && n > 1)) return -1;
    *v = (int64_t)x;
    *q = s + n;
    return 0;
}

/* A trade id: as scan_uint, or exactly "-1". */
static inline int scan_trade_id(const char **q, const char *end, int64_t *v)
{
    if (end - *q >= 2 && (*q)[0] == '-' && (*q)[1] == '1') {
        *v = -1;
        *q += 2;
        return 0;
    }
    return scan_uint(q, end, v);
}

/* True/False or true/false. */
static inline int scan_bool(const char **q, const char *end, uint8_t *v)
{
    const char *s = *q;
    if (end - s >= 4 && (memcmp(s, "True", 4) == 0 || memcmp(s, "true", 4) == 0)) {
        *v = 1;
        *q += 4;
        return 0;
    }
    if (end - s >= 5 && (memcmp(s, "False", 5) == 0 || memcmp(s, "false", 5) == 0)) {
        *v = 0;
        *q += 5;
        return 0;
    }
    return -1;
}

/* The byte c at *q, stepped over. */
static inline int scan_char(const char **q, const char *end, char c)
{
    if (*q >= end || **q != c) return -1;
    ++*q;
    return 0;
}

/* The whole of s[0..n) is one field of the kind. */
static int parse_uint(const char *s, size_t n, int64_t *v)
{
    const char *q = s;
    return scan_uint(&q, s + n, v) || q != s + n ? -1 : 0;
}

static int parse_trade_id(const char *s, size_t n, int64_t *v)
{
    const char *q = s;
    return scan_trade_id(&q, s + n, v) || q != s + n ? -1 : 0;
}

static int parse_bool(const char *s, size_t n, uint8_t *v)
{
    const char *q = s;
    return scan_bool(&q, s + n, v) || q != s + n ? -1 : 0;
}

/* The first line starts with a letter: a header of the market's width, or refused. */
static agt_status header_line(agt_csv *p, const char *s, size_t n, agt_error *err)
{
    size_t o = (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) ? 3 : 0; /* UTF-8 BOM */
    int names = 1, ok = 1;
    size_t len = 0;
    for (size_t i = o; i < n && ok; i++) {
        char c = s[i];
        if (c == ',') {
            ok = len > 0;
            names++;
            len = 0;
        } else {
            ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
            len++;
        }
    }
    if (!ok || len == 0) return bad_line(p, err, s, n, "not a row nor a header of names");
    if (names != p->fields) {
        char what[96];
        snprintf(what, sizeof what, "a header of %d names, but %s has %d fields", names, p->kind,
                 p->fields);
        return bad_line(p, err, s, n, what);
    }
    p->header = 1;
    return AGT_OK;
}

/* One line without its end. */
static agt_status parse_line(agt_csv *p, const char *s, size_t n, agt_trades *out,
                             agt_error *err)
{
    if (n == 0) return bad_line(p, err, s, n, "empty line");
    if (n > AGT_CSV_MAX_LINE) return bad_line(p, err, s, n, "line too long");
    if (p->line == 1) {
        size_t o = (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) ? 3 : 0; /* UTF-8 BOM */
        unsigned char c = o < n ? (unsigned char)s[o] : 0;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
            return header_line(p, s, n, err);
    }
    const char *f[8];
    size_t len[8];
    size_t nf = 0, start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == ',') {
            if (nf == 8) {
                nf++;
                break;
            }
            f[nf] = s + start;
            len[nf] = i - start;
            nf++;
            start = i + 1;
        }
    }
    if (nf != (size_t)p->fields) {
        char what[64];
        if (nf > 8)
            snprintf(what, sizeof what, "expected %d fields (%s), found more than 8", p->fields,
                     p->kind);
        else
            snprintf(what, sizeof what, "expected %d fields (%s), found %zu", p->fields, p->kind,
                     nf);
        return bad_line(p, err, s, n, what);
    }

    char what[96];
    int64_t a, fi, li, t;
    double price, qty;
    uint8_t m, bm = 0;
    int bad = -1;
    if (parse_uint(f[0], len[0], &a) != 0)
        bad = 0;
    else if (agt_decimal_to_double(f[1], len[1], &price) != 0)
        bad = 1;
    else if (agt_decimal_to_double(f[2], len[2], &qty) != 0)
        bad = 2;
    else if (parse_trade_id(f[3], len[3], &fi) != 0)
        bad = 3;
    else if (parse_trade_id(f[4], len[4], &li) != 0)
        bad = 4;
    else if (parse_uint(f[5], len[5], &t) != 0)
        bad = 5;
    else if (parse_bool(f[6], len[6], &m) != 0)
        bad = 6;
    else if (p->fields == 8 && parse_bool(f[7], len[7], &bm) != 0)
        bad = 7;
    if (bad >= 0) {
        snprintf(what, sizeof what, "field %d (%s) is not %s", bad + 1, field_names[bad],
                 bad == 1 || bad == 2   ? "a decimal"
                 : bad >= 6             ? "True/False"
                 : bad == 3 || bad == 4 ? "a trade id"
                                        : "an unsigned integer");
        return bad_line(p, err, s, n, what);
    }
    (void)bm;
    if (fi > li || (fi < 0) != (li < 0))
        return bad_line(p, err, s, n, "first trade id after last trade id");
    /* Range-check before scaling: 18 digits times 1000 would overflow. */
    int64_t ts = t <= p->day_end_us / p->unit_us ? t * p->unit_us : -1;
    if (ts < p->day_start_us || ts > p->day_end_us) {
        char day[32];
        agt_format_time_us(p->day_start_us, day, sizeof day);
        day[10] = 0;
        snprintf(what, sizeof what, "time %lld is not in %s (expected %s)", (long long)t, day,
                 p->unit_us == 1 ? "microseconds" : "milliseconds");
        return bad_line(p, err, s, n, what);
    }
    if (agt_trades_push(out, a, ts, price, qty, m) != AGT_OK)
        return agt_err(err, AGT_ENOMEM, "out of memory at line %llu",
                       (unsigned long long)p->line);
    if ((int64_t)n > p->max_line) p->max_line = (int64_t)n;
    return AGT_OK;
}

/* ---- the fast path -------------------------------------------------------------- */

/*
 * The row starting at s[0..n) when it is a good one, read in one pass:
 * its fields scanned in place, no field split first, no line searched
 * first. Returns the bytes it took, its end of line included, after
 * appending the row; 0 (nothing appended, nothing counted) for anything else
 * - a header, a bad field, a time outside the span, a line without its end
 * in s - which parse_line then reads again, accepting it or saying what is
 * wrong. The fields accepted are exactly parse_line's: the same scanners,
 * the same checks (tests/unit: csv_fast_path_agrees).
 */
static size_t fast_row(agt_csv *p, const char *s, size_t n, agt_trades *out)
{
    const char *q = s, *end = s + n;
    int64_t a, fi, li, t;
    double price, qty;
    uint8_t m, bm;
    size_t k;
    if (scan_uint(&q, end, &a) || scan_char(&q, end, ',')) return 0;
    if (!(k = agt_decimal_prefix(q, (size_t)(end - q), &price))) return 0;
    q += k;
    if (scan_char(&q, end, ',') || !(k = agt_decimal_prefix(q, (size_t)(end - q), &qty))) return 0;
    q += k;
    if (scan_char(&q, end, ',') || scan_trade_id(&q, end, &fi) || scan_char(&q, end, ',') ||
        scan_trade_id(&q, end, &li) || scan_char(&q, end, ',') || scan_uint(&q, end, &t) ||
        scan_char(&q, end, ',') || scan_bool(&q, end, &m))
        return 0;
    if (p->fields == 8 && (scan_char(&q, end, ',') || scan_bool(&q, end, &bm))) return 0;
    size_t len = (size_t)(q - s);
    if (scan_char(&q, end, '\r') == 0) { /* "\r\n" */
        if (q >= end || *q != '\n') return 0;
    } else if (q >= end || *q != '\n') {
        return 0;
    }
    q++;
    if (len > AGT_CSV_MAX_LINE || fi > li || (fi < 0) != (li < 0)) return 0;
    int64_t ts = t <= p->day_end_us / p->unit_us ? t * p->unit_us : -1;
    if (ts < p->day_start_us || ts > p->day_end_us) return 0;
    if (agt_trades_push_inline(out, a, ts, price, qty, m) != AGT_OK) return 0;
    p->line++;
    if ((int64_t)len > p->max_line) p->max_line = (int64_t)len;
    return (size_t)(q - s);
}

agt_status agt_csv_feed(agt_csv *p, const char *s, size_t n, int at_end, agt_trades *out,
                        size_t *consumed, agt_error *err)
{
    size_t pos = 0;
    *consumed = 0;
    while (pos < n) {
        size_t took = p->line ? fast_row(p, s + pos, n - pos, out) : 0; /* line 1: a header? */
        if (took) {
            pos += took;
            *consumed = pos;
            continue;
        }
        const char *nl = memchr(s + pos, '\n', n - pos);
        size_t end, next;
        if (nl) {
            end = (size_t)(nl - s);
            next = end + 1;
        } else if (at_end) {
            end = next = n;
        } else {
            /* An incomplete line: wait for more, unless it can never be valid. */
            if (n - pos > AGT_CSV_MAX_LINE + 2) {
                p->line++;
                return bad_line(p, err, s + pos, n - pos, "line too long");
            }
            break;
        }
        size_t e = end;
        if (e > pos && s[e - 1] == '\r') e--;
        p->line++;
        agt_status st = parse_line(p, s + pos, e - pos, out, err);
        if (st != AGT_OK) return st;
        pos = next;
        *consumed = pos;
    }
    if (at_end) *consumed = n;
    return AGT_OK;
}

agt_status agt_archive_parse_csv(const char *csv, size_t n, int64_t day_start_us,
                                 agt_market market, agt_trades *out, agt_error *err)
{
    agt_error_clear(err);
    if (!out || (!csv && n)) return agt_err(err, AGT_EINVAL, "null argument");
    agt_csv p;
    AGT_TRY(agt_csv_init(&p, day_start_us, market, err));
    size_t before = out->len, used = 0;
    agt_status s = agt_csv_feed(&p, csv ? csv : "", n, 1, out, &used, err);
    if (s != AGT_OK) out->len = before;
    return s;
}
