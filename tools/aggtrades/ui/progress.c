/*
 * ui/progress.c - the live display (see progress.h).
 *
 * The terminal block is drawn line by line, each line cleared to its end
 * and followed by a newline, so the cursor rests just below the block; a
 * redraw moves up over it and draws again. Lines are cut to the terminal's
 * width so they never wrap (a wrapped line would break the move up).
 * Messages that must stay on screen erase the block, print, and redraw it.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"
#include "ui/format.h"
#include "ui/progress.h"

#define REDRAW_INTERVAL 0.1 /* seconds: at most 10 redraws a second */
#define MAX_SYM_LINES 8

int ui_mode_for(int quiet, int no_progress)
{
    if (quiet) return UI_QUIET;
    if (no_progress || !isatty(2)) return UI_LOG;
    const char *term = getenv("TERM");
    if (term && !strcmp(term, "dumb")) return UI_LOG;
    return UI_TTY;
}

static int locale_utf8(void)
{
    const char *vars[] = { "LC_ALL", "LC_CTYPE", "LANG" };
    for (int i = 0; i < 3; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) return strstr(v, "UTF-8") || strstr(v, "utf8") || strstr(v, "UTF8") ||
                            strstr(v, "utf-8");
    }
    return 0;
}

int ui_progress_init(ui_progress *p, int mode, int color, const char *verb, size_t nsyms)
{
    memset(p, 0, sizeof *p);
    p->mode = mode;
    p->color = color && mode == UI_TTY;
    p->utf8 = locale_utf8();
    p->verb = verb;
    p->cur = -1;
    p->cur_hour_us = -1;
    p->t0 = cli_mono();
    p->last_draw = -1;
    p->nsyms = nsyms;
    p->syms = calloc(nsyms ? nsyms : 1, sizeof *p->syms);
    return p->syms ? 0 : -1;
}

void ui_progress_release(ui_progress *p)
{
    free(p->syms);
    p->syms = NULL;
}

void ui_progress_symbol(ui_progress *p, size_t i, const char *name, uint64_t units,
                        int days_total, int days_skipped)
{
    ui_sym *s = &p->syms[i];
    snprintf(s->name, sizeof s->name, "%s", name);
    s->units_total = units;
    s->days_total = days_total;
    s->days_done = days_skipped;
    s->days_skipped = days_skipped;
    p->units_total += units;
    p->days_total += days_total;
    p->days_done += days_skipped;
}

/* ---- log lines -------------------------------------------------------------------- */

static void log_prefix(FILE *f)
{
    char t[40];
    fmt_ts(cli_wall_us(), 0, 1, t, sizeof t);
    fprintf(f, "%s ", t);
}

/* ---- the terminal block ------------------------------------------------------------------ */

static int term_cols(void)
{
    struct winsize ws;
    if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) return ws.ws_col;
    const char *c = getenv("COLUMNS");
    int v = c ? atoi(c) : 0;
    return v >= 20 ? v : 80;
}

static void erase_block(ui_progress *p)
{
    if (p->lines > 0) fprintf(stderr, "\r\033[%dA\033[J", p->lines);
    p->lines = 0;
}

/* One line: "  LABEL  [bar] pct  text", cut to `cols`. */
static void draw_line(ui_progress *p, int cols, const char *label, double frac, const char *text,
                      int bold)
{
    char pct[16];
    if (frac < 0) frac = 0;
    if (frac > 1) frac = 1;
    snprintf(pct, sizeof pct, "%3d%%", (int)floor(frac * 100.0 + 1e-9));
    int avail = cols - 1;
    int label_w = 11; /* "  " + 9 */
    /* every bar gets the same width: what is left after room for a typical text */
    int bar_w = avail - label_w - 2 - 5 - 2 - 44;
    if (bar_w > 40) bar_w = 40;
    if (bar_w < 6) bar_w = 0;

    if (bold && p->color) fputs("\033[1m", stderr);
    fprintf(stderr, "  %-9.9s", label);
    if (bold && p->color) fputs("\033[0m", stderr);
    int used = label_w;
    if (bar_w > 0) {
        int fill = (int)floor(frac * bar_w + 0.5);
        if (frac < 1 && fill == bar_w) fill = bar_w - 1;
        fputc('[', stderr);
        if (p->color) fputs(frac >= 1 ? "\033[32m" : "\033[36m", stderr);
        for (int k = 0; k < fill; k++) fputs(p->utf8 ? "\xe2\x96\x88" : "#", stderr);
        if (p->color) fputs("\033[0m\033[2m", stderr);
        for (int k = fill; k < bar_w; k++) fputs(p->utf8 ? "\xe2\x96\x91" : "-", stderr);
        if (p->color) fputs("\033[0m", stderr);
        fputc(']', stderr);
        used += bar_w + 2;
    }
    if (used + 5 <= avail) {
        fprintf(stderr, " %s", pct);
        used += 5;
    }
    if (used + 2 < avail) {
        int room = avail - used - 2;
        fprintf(stderr, "  %.*s", room, text);
    }
    fputs("\033[K\n", stderr);
}

static void window_sample(ui_progress *p, double now)
{
    p->win[p->win_i].t = now;
    p->win[p->win_i].bytes = p->bytes;
    p->win[p->win_i].trades = p->trades;
    p->win_i = (p->win_i + 1) % UI_WINDOW;
    if (p->win_n < UI_WINDOW) p->win_n++;
}

/* Rates over the last few seconds (the whole run while it is young). */
static void rates(ui_progress *p, double now, double *bps, double *tps)
{
    double t_old = p->t0;
    uint64_t b_old = 0, tr_old = 0;
    for (int k = 0; k < p->win_n; k++) {
        int idx = (p->win_i - p->win_n + k + UI_WINDOW) % UI_WINDOW;
        if (now - p->win[idx].t <= 5.0) {
            t_old = p->win[idx].t;
            b_old = p->win[idx].bytes;
            tr_old = p->win[idx].trades;
            break;
        }
    }
    double dt = now - t_old;
    if (dt < 0.5) { /* too short a window: use the whole run */
        dt = now - p->t0;
        b_old = 0;
        tr_old = 0;
    }
    if (dt <= 0) dt = 1e-3;
    *bps = (double)(p->bytes - b_old) / dt;
    *tps = (double)(p->trades - tr_old) / dt;
}

static void draw(ui_progress *p, double now)
{
    int cols = term_cols();
    char text[256], a[32], b[32], c[32], d[32];
    double bps, tps;
    rates(p, now, &bps, &tps);
    erase_block(p);

    /* overall */
    double frac = p->units_total ? (double)p->units_done / (double)p->units_total : 1.0;
    double elapsed = now - p->t0;
    double eta = -1;
    if (p->units_done >= p->units_total) eta = 0;
    else if (p->units_done > 0)
        eta = elapsed / (double)p->units_done * (double)(p->units_total - p->units_done);
    fmt_mbps(bps, a, sizeof a);
    fmt_si(tps, b, sizeof b);
    fmt_eta(eta, c, sizeof c);
    snprintf(text, sizeof text, "%llu/%llu h  %s  %s trades/s  ETA %s",
             (unsigned long long)p->units_done, (unsigned long long)p->units_total, a, b, c);
    draw_line(p, cols, "total", frac, text, 1);
    int lines = 1;

    /* symbols: the running one and its neighbours when there are many */
    size_t first = 0;
    if (p->nsyms > MAX_SYM_LINES && p->cur > 0) {
        first = (size_t)p->cur > MAX_SYM_LINES / 2 ? (size_t)p->cur - MAX_SYM_LINES / 2 : 0;
        if (first + MAX_SYM_LINES > p->nsyms) first = p->nsyms - MAX_SYM_LINES;
    }
    for (size_t i = first; i < p->nsyms && i < first + MAX_SYM_LINES; i++) {
        ui_sym *s = &p->syms[i];
        double f = s->units_total ? (double)s->units_done / (double)s->units_total : 1.0;
        fmt_count(s->stored, a, sizeof a);
        fmt_bytes(s->bytes, b, sizeof b);
        if (s->units_failed)
            snprintf(d, sizeof d, "  %llu failed", (unsigned long long)s->units_failed);
        else
            d[0] = 0;
        snprintf(text, sizeof text, "%llu/%llu h  %s trades  %s%s%s",
                 (unsigned long long)s->units_done, (unsigned long long)s->units_total, a, b, d,
                 s->state == 2 ? "  done" : s->state == 0 ? "  waiting" : "");
        draw_line(p, cols, s->name, f, text, 0);
        lines++;
    }
    if (p->nsyms > MAX_SYM_LINES) {
        fprintf(stderr, "  ... %zu symbols in all\033[K\n", p->nsyms);
        lines++;
    }

    /* panel */
    char cur[64] = "";
    if (p->cur >= 0 && p->cur_hour_us >= 0) {
        char ts[40];
        fmt_ts(p->cur_hour_us, 0, 0, ts, sizeof ts);
        ts[16] = 0; /* "YYYY-MM-DD HH:MM" */
        snprintf(cur, sizeof cur, "%s %s", p->syms[p->cur].name, ts);
    } else {
        snprintf(cur, sizeof cur, "-");
    }
    fmt_bytes(p->lake_bytes, a, sizeof a);
    fmt_duration(elapsed, b, sizeof b);
    snprintf(text, sizeof text, "  dates %d/%d | now %s | lake %s on disk | %s", p->days_done,
             p->days_total, cur, a, b);
    if ((int)strlen(text) > cols - 1) text[cols - 1] = 0;
    if (p->color) fputs("\033[2m", stderr);
    fputs(text, stderr);
    if (p->color) fputs("\033[0m", stderr);
    fputs("\033[K\n", stderr);
    lines++;
    fflush(stderr);
    p->lines = lines;
    p->last_draw = now;
}

static void maybe_draw(ui_progress *p, int force)
{
    if (p->mode != UI_TTY) return;
    double now = cli_mono();
    if (!force && p->last_draw >= 0 && now - p->last_draw < REDRAW_INTERVAL) return;
    window_sample(p, now);
    draw(p, now);
}

/* ---- events --------------------------------------------------------------------------------- */

void ui_progress_begin_symbol(ui_progress *p, size_t i)
{
    p->cur = (long)i;
    p->syms[i].state = 1;
    p->syms[i].t_start = cli_mono();
    maybe_draw(p, 0);
}

void ui_progress_begin_hour(ui_progress *p, size_t i, int64_t hour_us)
{
    p->cur = (long)i;
    p->cur_hour_us = hour_us;
    maybe_draw(p, 0);
}

void ui_progress_bytes(ui_progress *p, uint64_t bytes, uint64_t trades)
{
    p->bytes += bytes;
    p->trades += trades;
    if (p->cur >= 0) {
        p->syms[p->cur].bytes += bytes;
        p->syms[p->cur].trades += trades;
    }
    maybe_draw(p, 0);
}

void ui_progress_hour_done(ui_progress *p, size_t i, int ok, uint64_t rows, int64_t inserted,
                           int64_t updated)
{
    ui_sym *s = &p->syms[i];
    s->units_done++;
    p->units_done++;
    if (!ok) {
        s->units_failed++;
        p->units_failed++;
    } else {
        s->stored += rows;
        s->inserted += inserted;
        s->updated += updated;
    }
    maybe_draw(p, 0);
}

void ui_progress_day_done(ui_progress *p, size_t i, int64_t day_us, uint64_t trades,
                          uint64_t bytes, int failed_hours)
{
    ui_sym *s = &p->syms[i];
    s->days_done++;
    p->days_done++;
    if (p->mode == UI_LOG) {
        char date[16], a[32], b[32];
        cli_date_str(day_us, date);
        fmt_count(trades, a, sizeof a);
        fmt_bytes(bytes, b, sizeof b);
        log_prefix(stderr);
        if (failed_hours)
            fprintf(stderr, "%s %s %s: %s trades, %s, %d hour%s failed (dates %d/%d)\n", p->verb,
                    s->name, date, a, b, failed_hours, failed_hours == 1 ? "" : "s", p->days_done,
                    p->days_total);
        else
            fprintf(stderr, "%s %s %s: %s trades, %s (dates %d/%d)\n", p->verb, s->name, date, a,
                    b, p->days_done, p->days_total);
        fflush(stderr);
    }
    maybe_draw(p, 0);
}

void ui_progress_end_symbol(ui_progress *p, size_t i)
{
    p->syms[i].state = 2;
    p->syms[i].t_end = cli_mono();
    maybe_draw(p, 0);
}

void ui_progress_lake_bytes(ui_progress *p, uint64_t bytes)
{
    p->lake_bytes = bytes;
}

void ui_progress_log(ui_progress *p, const char *fmt, ...)
{
    va_list ap;
    if (p->mode == UI_QUIET) return;
    if (p->mode == UI_TTY) erase_block(p);
    else log_prefix(stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (p->mode == UI_TTY && p->last_draw >= 0) draw(p, cli_mono());
    fflush(stderr);
}

void ui_progress_erase(ui_progress *p)
{
    if (p->mode == UI_TTY) {
        erase_block(p);
        fflush(stderr);
    }
}

void ui_progress_finish(ui_progress *p, int interrupted)
{
    double now = cli_mono();
    if (p->mode == UI_TTY) {
        p->cur_hour_us = -1;
        window_sample(p, now);
        draw(p, now);
    }
    if (p->mode == UI_QUIET) return;
    for (size_t i = 0; i < p->nsyms; i++) {
        ui_sym *s = &p->syms[i];
        char a[32], b[32], c[32], extra[160] = "";
        double dt = (s->state ? (s->t_end > 0 ? s->t_end : now) - s->t_start : 0);
        fmt_count(s->stored, a, sizeof a);
        fmt_bytes(s->bytes, b, sizeof b);
        fmt_duration(dt, c, sizeof c);
        size_t k = 0;
        if (s->days_skipped)
            k += (size_t)snprintf(extra + k, sizeof extra - k, ", %d date%s already complete",
                                  s->days_skipped, s->days_skipped == 1 ? "" : "s");
        if (s->updated)
            k += (size_t)snprintf(extra + k, sizeof extra - k, ", %lld updated",
                                  (long long)s->updated);
        if (s->units_failed && k < sizeof extra)
            k += (size_t)snprintf(extra + k, sizeof extra - k, ", %llu failed (in .retry)",
                                  (unsigned long long)s->units_failed);
        if (interrupted && s->units_done < s->units_total && k < sizeof extra)
            snprintf(extra + k, sizeof extra - k, ", %llu not done (interrupted)",
                     (unsigned long long)(s->units_total - s->units_done));
        printf("%s: %llu hour%s, %s trades, %s in %s%s\n", s->name,
               (unsigned long long)(s->units_done - s->units_failed),
               s->units_done - s->units_failed == 1 ? "" : "s", a, b, c, extra);
    }
    fflush(stdout);
}
