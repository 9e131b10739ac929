/*
 * ui/table.c - the aligned table of trade rows for people (see table.h).
 * It only formats; the caller checks the stream for errors.
 */
#include <string.h>

#include "ui/format.h"
#include "ui/table.h"

static int ts_digits(const agt_trades *t, size_t from, size_t n)
{
    for (size_t i = from; i < from + n; i++)
        if (fmt_ts_digits(t->ts_us[i]) == 6) return 6;
    return 3;
}

/* Fraction digits of a decimal text ("66481.5" -> 1). */
static int frac_digits(const char *s)
{
    const char *dot = strchr(s, '.');
    return dot && !strpbrk(s, "eE") ? (int)strlen(dot + 1) : 0;
}

/* `v` in its shortest exact form, padded with zeros to `digits` fraction
 * digits so that a column lines up on the decimal point (as pandas prints). */
static char *aligned(double v, int digits, char *out, size_t n)
{
    fmt_decimal(v, out, n);
    int have = frac_digits(out);
    if (have >= digits || strpbrk(out, "eEn")) return out;
    size_t l = strlen(out);
    if (have == 0 && l + 1 < n) out[l++] = '.';
    for (; have < digits && l + 1 < n; have++) out[l++] = '0';
    out[l] = 0;
    return out;
}

void out_table(FILE *f, const agt_trades *t, size_t n, int color)
{
    static const char *const head[5] = { "trade_id", "timestamp (UTC)", "price", "quantity",
                                         "is_buyer_maker" };
    int w[5], pd = 0, qd = 0;
    char buf[64];
    int digits = ts_digits(t, 0, n);
    for (size_t i = 0; i < n; i++) {
        int d = frac_digits(fmt_decimal(t->price[i], buf, sizeof buf));
        if (d > pd) pd = d;
        d = frac_digits(fmt_decimal(t->quantity[i], buf, sizeof buf));
        if (d > qd) qd = d;
    }
    for (int c = 0; c < 5; c++) w[c] = (int)strlen(head[c]);
    for (size_t i = 0; i < n; i++) {
        int l = snprintf(buf, sizeof buf, "%lld", (long long)t->trade_id[i]);
        if (l > w[0]) w[0] = l;
        l = (int)strlen(fmt_ts(t->ts_us[i], digits, 0, buf, sizeof buf));
        if (l > w[1]) w[1] = l;
        l = (int)strlen(aligned(t->price[i], pd, buf, sizeof buf));
        if (l > w[2]) w[2] = l;
        l = (int)strlen(aligned(t->quantity[i], qd, buf, sizeof buf));
        if (l > w[3]) w[3] = l;
    }
    if (color) fputs("\033[1m", f);
    fprintf(f, "%*s  %-*s  %*s  %*s  %s", w[0], head[0], w[1], head[1], w[2], head[2], w[3],
            head[3], head[4]);
    if (color) fputs("\033[0m", f);
    fputc('\n', f);
    for (size_t i = 0; i < n; i++) {
        char ts[40], p[64], q[64];
        fmt_ts(t->ts_us[i], digits, 0, ts, sizeof ts);
        aligned(t->price[i], pd, p, sizeof p);
        aligned(t->quantity[i], qd, q, sizeof q);
        fprintf(f, "%*lld  %-*s  %*s  %*s  %s\n", w[0], (long long)t->trade_id[i], w[1], ts, w[2],
                p, w[3], q, t->is_buyer_maker[i] ? "true" : "false");
    }
}
