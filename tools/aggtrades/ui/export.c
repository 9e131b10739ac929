/*
 * ui/export.c - CSV and JSON rows formatted by hand into a large buffer
 * (see export.h). Every field has a fixed form, so printf's parsing of a
 * format string, its locale and its per-call overhead buy nothing here;
 * digits come from a two-digit table, written right to left.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aggtrades/text.h"
#include "ui/export.h"
#include "ui/format.h"

#define BUF_SIZE (1u << 20)
#define ROW_MAX 512 /* longest row: two fmt_decimal fallbacks of < 64 bytes + the rest */

static const char digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* The decimal digits of v at p, written in place right to left; returns their count. */
static unsigned put_u64(char *p, uint64_t v)
{
    unsigned n = 1;
    for (uint64_t x = v; x >= 10; x /= 10) n++;
    char *q = p + n;
    while (v >= 100) {
        q -= 2;
        memcpy(q, digit_pairs + 2 * (v % 100), 2);
        v /= 100;
    }
    if (v >= 10) memcpy(q - 2, digit_pairs + 2 * v, 2);
    else q[-1] = (char)('0' + v);
    return n;
}

/* Exactly `width` digits of v (zero-padded) at p. */
static void put_fixed(char *p, uint32_t v, int width)
{
    for (int i = width; i >= 2; i -= 2) {
        memcpy(p + i - 2, digit_pairs + 2 * (v % 100), 2);
        v /= 100;
    }
    if (width & 1) p[0] = (char)('0' + v % 10);
}

/*
 * The shortest exact text of v, the same as fmt_decimal's: for the values
 * the exchange sends (below 2^26 with at most 8 fraction digits, where no
 * two such decimals share a double) the integer m = v * 1e8 gives it
 * directly; anything else goes through fmt_decimal.
 */
static unsigned put_decimal(char *p, double v)
{
    double a = fabs(v);
    if (a > 0 && a < 6.7e7) {
        uint64_t m = (uint64_t)(a * 1e8 + 0.5);
        if ((double)m / 1e8 == a) {
            unsigned n = 0;
            if (v < 0) p[n++] = '-';
            n += put_u64(p + n, m / 100000000u);
            uint32_t fp = (uint32_t)(m % 100000000u);
            if (fp) {
                p[n] = '.';
                put_fixed(p + n + 1, fp, 8);
                n += 9;
                while (p[n - 1] == '0') n--;
            }
            return n;
        }
    }
    char s[64];
    fmt_decimal(v, s, sizeof s);
    unsigned n = (unsigned)strlen(s);
    memcpy(p, s, n);
    return n;
}

static unsigned put_num(export_num *c, char *p, double v)
{
    if (!c->valid || memcmp(&c->v, &v, sizeof v) != 0) {
        c->len = put_decimal(c->s, v);
        c->v = v;
        c->valid = 1;
    }
    /* a fixed-size copy compiles to two moves; the row buffer has room past the row */
    if (c->len <= 32) memcpy(p, c->s, 32);
    else memcpy(p, c->s, c->len);
    return c->len;
}

/* "YYYY-MM-DDTHH:MM:SS.fffZ" (or 6 fraction digits), as fmt_ts(us, fmt_ts_digits(us), 1). */
static unsigned put_ts(export_writer *w, char *p, int64_t us)
{
    int64_t sec = us / AGT_US_PER_SEC - (us % AGT_US_PER_SEC < 0);
    if (!w->sec_valid || sec != w->sec) {
        int64_t day = sec / 86400 - (sec % 86400 < 0);
        char *s = w->sec_text;
        if (!w->sec_valid || day != w->day) { /* "YYYY-MM-DDT" */
            agt_tm tm;
            agt_tm_from_us(day * AGT_US_PER_DAY, &tm);
            put_fixed(s, (uint32_t)(tm.year % 10000), 4);
            s[4] = '-';
            put_fixed(s + 5, (uint32_t)tm.month, 2);
            s[7] = '-';
            put_fixed(s + 8, (uint32_t)tm.day, 2);
            s[10] = 'T';
            w->day = day;
        }
        uint32_t in_day = (uint32_t)(sec - day * 86400);
        put_fixed(s + 11, in_day / 3600, 2);
        s[13] = ':';
        put_fixed(s + 14, in_day / 60 % 60, 2);
        s[16] = ':';
        put_fixed(s + 17, in_day % 60, 2);
        w->sec = sec;
        w->sec_valid = 1;
    }
    memcpy(p, w->sec_text, 19);
    uint32_t frac = (uint32_t)(us - sec * AGT_US_PER_SEC);
    p[19] = '.';
    if (fmt_ts_digits(us) == 3) {
        put_fixed(p + 20, frac / 1000, 3);
        p[23] = 'Z';
        return 24;
    }
    put_fixed(p + 20, frac, 6);
    p[26] = 'Z';
    return 27;
}

#define PUT(lit)                                \
    do {                                        \
        memcpy(p + n, lit, sizeof lit - 1);     \
        n += sizeof lit - 1;                    \
    } while (0)

static unsigned csv_row(export_writer *w, char *p, const agt_trades *t, size_t i)
{
    unsigned n = 0;
    if (t->trade_id[i] < 0) p[n++] = '-';
    n += put_u64(p + n, t->trade_id[i] < 0 ? 0 - (uint64_t)t->trade_id[i] : (uint64_t)t->trade_id[i]);
    p[n++] = ',';
    n += put_ts(w, p + n, t->ts_us[i]);
    p[n++] = ',';
    n += put_num(&w->price, p + n, t->price[i]);
    p[n++] = ',';
    n += put_num(&w->qty, p + n, t->quantity[i]);
    if (t->is_buyer_maker[i]) PUT(",true\n");
    else PUT(",false\n");
    return n;
}

static unsigned json_row(export_writer *w, char *p, const agt_trades *t, size_t i)
{
    unsigned n = 0;
    if (w->rows && w->fmt == EXPORT_JSON) PUT(",\n");
    PUT("{\"trade_id\":");
    if (t->trade_id[i] < 0) p[n++] = '-';
    n += put_u64(p + n, t->trade_id[i] < 0 ? 0 - (uint64_t)t->trade_id[i] : (uint64_t)t->trade_id[i]);
    PUT(",\"timestamp\":\"");
    n += put_ts(w, p + n, t->ts_us[i]);
    PUT("\",\"price\":");
    n += put_num(&w->price, p + n, t->price[i]);
    PUT(",\"quantity\":");
    n += put_num(&w->qty, p + n, t->quantity[i]);
    if (t->is_buyer_maker[i]) PUT(",\"is_buyer_maker\":true}");
    else PUT(",\"is_buyer_maker\":false}");
    if (w->fmt == EXPORT_JSONL) p[n++] = '\n';
    return n;
}

static void flush(export_writer *w)
{
    errno = 0;
    if (w->len && fwrite(w->buf, 1, w->len, w->f) != w->len && !w->write_errno)
        w->write_errno = errno ? errno : EIO;
    w->len = 0;
}

static void put_text(export_writer *w, const char *s)
{
    size_t n = strlen(s);
    if (w->len + n > BUF_SIZE) flush(w);
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

int export_begin(export_writer *w, FILE *f, export_fmt fmt)
{
    memset(w, 0, sizeof *w);
    w->buf = malloc(BUF_SIZE);
    if (!w->buf) return -1;
    w->f = f;
    w->fmt = fmt;
    static const char *const head[] = {"trade_id,timestamp,price,quantity,is_buyer_maker\n", "[\n", ""};
    put_text(w, head[fmt]);
    return 0;
}

void export_rows(export_writer *w, const agt_trades *t, size_t from, size_t n)
{
    for (size_t i = from; i < from + n; i++) {
        if (w->len + ROW_MAX > BUF_SIZE) flush(w);
        char *p = w->buf + w->len;
        w->len += w->fmt == EXPORT_CSV ? csv_row(w, p, t, i) : json_row(w, p, t, i);
        w->rows++;
    }
}

void export_end(export_writer *w)
{
    if (!w->buf) return;
    if (w->fmt == EXPORT_JSON) put_text(w, w->rows ? "\n]\n" : "]\n");
    flush(w);
    free(w->buf);
    w->buf = NULL;
}
