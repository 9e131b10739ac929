/*
 * ui/progress.c - the live display (see progress.h).
 *
 * The terminal block is drawn line by line, each line cleared to its end
 * and followed by a newline, so the cursor rests just below the block; a
 * redraw moves up over it and draws again. Lines are cut to the terminal's
 * width so they never wrap (a wrapped line would break the move up).
 * Messages that must stay on screen erase the block, print, and redraw it.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
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
#define MAX_SYM_LINES 8 /* at most UI_MAX_LINES - 3 */

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

static void on_tstp(int sig);
static void on_cont(int sig);

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
    if (!p->syms) return -1;
    if (mode == UI_TTY) {
        signal(SIGTSTP, on_tstp);
        signal(SIGCONT, on_cont);
    }
    return 0;
}

void ui_progress_release(ui_progress *p)
{
    ui_term_restore();
    if (p->mode == UI_TTY) {
        signal(SIGTSTP, SIG_DFL);
        signal(SIGCONT, SIG_DFL);
    }
    free(p->syms);
    free(p->fb);
    p->syms = NULL;
    p->fb = NULL;
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

/* ---- the terminal: cursor, size, one write per frame ------------------------------- */

static volatile sig_atomic_t g_cursor_hidden; /* we hid the cursor and owe a "show" */
static volatile sig_atomic_t g_resumed;       /* back from Ctrl-Z: start a fresh block */

static void write_all(const char *b, size_t n)
{
    while (n > 0) {
        ssize_t w = write(2, b, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return;
        }
        b += w;
        n -= (size_t)w;
    }
}

void ui_term_restore(void)
{
    int e = errno;
    if (g_cursor_hidden) {
        g_cursor_hidden = 0;
        write_all("\033[?25h", 6);
    }
    errno = e;
}

static void on_tstp(int sig);

static void on_cont(int sig)
{
    (void)sig;
    g_resumed = 1;
    signal(SIGTSTP, on_tstp);
}

/* Ctrl-Z: give the shell its cursor back, then stop for real. */
static void on_tstp(int sig)
{
    (void)sig;
    ui_term_restore();
    signal(SIGTSTP, SIG_DFL);
    raise(SIGTSTP); /* delivered (and stops us) when this handler returns */
}

static void term_size(int *cols, int *rows)
{
    struct winsize ws;
    *cols = 80;
    *rows = 24;
    if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
        *cols = ws.ws_col;
        if (ws.ws_row > 0) *rows = ws.ws_row;
        return;
    }
    const char *c = getenv("COLUMNS");
    int v = c ? atoi(c) : 0;
    if (v > 0) *cols = v;
}

/* The frame is built in memory and written with one write(2): the terminal
 * never shows a half-drawn block. */
static void fb_put(ui_progress *p, const char *s, size_t n)
{
    if (p->fb_n + n + 1 > p->fb_cap) {
        size_t cap = p->fb_cap ? p->fb_cap : 4096;
        while (cap < p->fb_n + n + 1) cap *= 2;
        char *b = realloc(p->fb, cap);
        if (!b) return; /* the frame is cut short; the next one may fit */
        p->fb = b;
        p->fb_cap = cap;
    }
    memcpy(p->fb + p->fb_n, s, n);
    p->fb_n += n;
}

static void fb_puts(ui_progress *p, const char *s)
{
    fb_put(p, s, strlen(s));
}

static void fb_printf(ui_progress *p, const char *fmt, ...) AGT_PRINTF(2, 3);
static void fb_printf(ui_progress *p, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0) fb_put(p, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

static void fb_flush(ui_progress *p)
{
    write_all(p->fb, p->fb_n);
    p->fb_n = 0;
}

/*
 * Move to the first row of the block on screen and clear from there down.
 * If the terminal became narrower, terminals that reflow (most do) have
 * wrapped the old lines: count the rows they take now.
 */
static void fb_erase(ui_progress *p, int cols)
{
    if (g_resumed) { /* the shell wrote below us after Ctrl-Z / fg */
        g_resumed = 0;
        p->lines = 0;
    }
    int rows = 0;
    for (int i = 0; i < p->lines; i++)
        rows += p->line_w[i] > cols ? (p->line_w[i] + cols - 1) / cols : 1;
    if (rows > 0) fb_printf(p, "\r\033[%dA\033[J", rows);
    else fb_puts(p, "\r\033[J");
    p->lines = 0;
}

/* ---- the terminal block: layout ------------------------------------------------------ */

/* A piece of a line's text; pieces with a higher `drop` go first when room is short. */
typedef struct piece {
    char s[64];
    int drop;
} piece;

/* Join the pieces with `sep`, leaving out the most droppable until it fits in `room`
 * columns (text is ASCII); cut the last resort. Returns the length. */
static int fit(const piece *pc, int n, const char *sep, int room, char *out, size_t outn)
{
    int keep_level = 99;
    for (;;) {
        size_t k = 0;
        out[0] = 0;
        for (int i = 0; i < n; i++) {
            if (pc[i].drop > keep_level || !pc[i].s[0]) continue;
            k += (size_t)snprintf(out + k, k < outn ? outn - k : 0, "%s%s", k ? sep : "", pc[i].s);
            if (k >= outn) k = outn - 1;
        }
        int maxdrop = -1;
        for (int i = 0; i < n; i++)
            if (pc[i].drop <= keep_level && pc[i].drop > maxdrop) maxdrop = pc[i].drop;
        if ((int)k <= room || maxdrop <= 0) {
            if (room >= 0 && (int)k > room) {
                out[room] = 0;
                k = (size_t)room;
            }
            return (int)k;
        }
        keep_level = maxdrop - 1;
    }
}

static int full_len(const piece *pc, int n, const char *sep)
{
    char buf[512];
    return fit(pc, n, sep, 1 << 20, buf, sizeof buf);
}

/* Geometry shared by every bar line of a frame. */
typedef struct layout {
    int cols, label_w, bar_w, text_room;
} layout;

/* One line: "  LABEL  [bar] pct  text", never wider than cols - 1. */
static void draw_line(ui_progress *p, const layout *L, const char *label, double frac,
                      const piece *pc, int npc, int bold)
{
    char text[512];
    if (!(frac >= 0)) frac = 0;
    if (frac > 1) frac = 1;
    int w = 2 + L->label_w;
    fb_puts(p, "  ");
    if (bold && p->color) fb_puts(p, "\033[1m");
    fb_printf(p, "%-*.*s", L->label_w, L->label_w, label);
    if (bold && p->color) fb_puts(p, "\033[0m");
    if (L->bar_w > 0) {
        int fill = (int)floor(frac * L->bar_w + 0.5);
        if (frac < 1 && fill == L->bar_w) fill = L->bar_w - 1;
        fb_puts(p, "  [");
        if (p->color) fb_puts(p, frac >= 1 ? "\033[32m" : "\033[36m");
        for (int k = 0; k < fill; k++) fb_puts(p, p->utf8 ? "\xe2\x96\x88" : "#");
        if (p->color) fb_puts(p, "\033[0m\033[2m");
        for (int k = fill; k < L->bar_w; k++) fb_puts(p, p->utf8 ? "\xe2\x96\x91" : "-");
        if (p->color) fb_puts(p, "\033[0m");
        fb_puts(p, "]");
        w += 2 + L->bar_w + 2;
    }
    fb_printf(p, " %3d%%", (int)floor(frac * 100.0 + 1e-9));
    w += 5;
    if (L->text_room > 0) {
        int n = fit(pc, npc, "  ", L->text_room, text, sizeof text);
        if (n > 0) {
            fb_puts(p, "  ");
            fb_puts(p, text);
            w += 2 + n;
        }
    }
    fb_puts(p, "\033[K\n");
    if (p->lines < UI_MAX_LINES) p->line_w[p->lines++] = w;
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
static void rates(const ui_progress *p, double now, double *bps, double *tps)
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

static const char *sym_state(const ui_progress *p, const ui_sym *s)
{
    if (s->units_done >= s->units_total && s->state != 0) return "done";
    if (p->stopped) return "stopped";
    return s->state == 0 ? "waiting" : "";
}

/* Pieces of symbol i's line. */
static int sym_pieces(const ui_progress *p, const ui_sym *s, piece *pc)
{
    char a[32];
    int n = 0;
    snprintf(pc[n].s, sizeof pc[n].s, "%llu/%llu h", (unsigned long long)s->units_done,
             (unsigned long long)s->units_total);
    pc[n++].drop = 0;
    snprintf(pc[n].s, sizeof pc[n].s, "%s trades", agt_format_count(s->stored, a, sizeof a));
    pc[n++].drop = 3;
    snprintf(pc[n].s, sizeof pc[n].s, "%s", fmt_bytes(s->bytes, a, sizeof a));
    pc[n++].drop = 4;
    pc[n].s[0] = 0;
    if (s->units_failed)
        snprintf(pc[n].s, sizeof pc[n].s, "%llu failed", (unsigned long long)s->units_failed);
    pc[n++].drop = 1;
    snprintf(pc[n].s, sizeof pc[n].s, "%s", sym_state(p, s));
    pc[n++].drop = 2;
    return n;
}

/* The pieces of the total line: hours, MB/s, trades/s, ETA (or the stop). */
static void total_pieces(const ui_progress *p, double now, piece tp[4])
{
    char a[32];
    double bps, tps;
    rates(p, now, &bps, &tps);
    double elapsed = now - p->t0;
    double eta = -1;
    if (p->units_done >= p->units_total) eta = 0;
    else if (p->units_done > 0)
        eta = elapsed / (double)p->units_done * (double)(p->units_total - p->units_done);
    snprintf(tp[0].s, sizeof tp[0].s, "%llu/%llu h", (unsigned long long)p->units_done,
             (unsigned long long)p->units_total);
    tp[0].drop = 0;
    snprintf(tp[1].s, sizeof tp[1].s, "%s", fmt_mbps(bps, a, sizeof a));
    tp[1].drop = 2;
    snprintf(tp[2].s, sizeof tp[2].s, "%s trades/s", fmt_si(tps, a, sizeof a));
    tp[2].drop = 3;
    if (p->stopped && p->units_done < p->units_total) snprintf(tp[3].s, sizeof tp[3].s, "stopped");
    else if (p->stopping && p->units_done < p->units_total)
        snprintf(tp[3].s, sizeof tp[3].s, "stopping (Ctrl-C again quits)");
    else snprintf(tp[3].s, sizeof tp[3].s, "ETA %s", fmt_eta(eta, a, sizeof a));
    tp[3].drop = 1;
}

/* The symbols shown, syms[*first .. *first + *nshow): the running one and its
 * neighbours when there are more than the terminal's `rows` can take. */
static void shown_symbols(const ui_progress *p, int rows, size_t *first, size_t *nshow)
{
    int max_sym = rows - 4; /* total, "... in all", panel, and the cursor's row */
    if (max_sym > MAX_SYM_LINES) max_sym = MAX_SYM_LINES;
    if (max_sym < 1) max_sym = 1;
    *nshow = p->nsyms < (size_t)max_sym ? p->nsyms : (size_t)max_sym;
    *first = 0;
    if (p->nsyms > *nshow && p->cur > 0) {
        *first = (size_t)p->cur > *nshow / 2 ? (size_t)p->cur - *nshow / 2 : 0;
        if (*first + *nshow > p->nsyms) *first = p->nsyms - *nshow;
    }
}

/* The geometry: every bar the same width, from what the longest text leaves. */
static void make_layout(const ui_progress *p, int cols, const piece tp[4], size_t first,
                        size_t nshow, layout *L)
{
    piece sp[5];
    L->cols = cols;
    L->label_w = 5;
    int maxtext = full_len(tp, 4, "  ");
    for (size_t i = first; i < first + nshow; i++) {
        int l = (int)strlen(p->syms[i].name);
        if (l > L->label_w) L->label_w = l;
        int t = full_len(sp, sym_pieces(p, &p->syms[i], sp), "  ");
        if (t > maxtext) maxtext = t;
    }
    int avail = cols - 1; /* the last column stays free: no auto-wrap surprises */
    int fixed = 2 + L->label_w + 5;
    L->bar_w = avail - fixed - 4 - 2 - maxtext;
    if (L->bar_w > 40) L->bar_w = 40;
    if (L->bar_w < 10) L->bar_w = avail - fixed - 4 - 2 >= 10 + 16 ? 10 : 0;
    L->text_room = avail - fixed - (L->bar_w ? L->bar_w + 4 : 0) - 2;
}

/* The panel under the bars: dates, the hour in flight, the lake's size, the time taken. */
static void draw_panel(ui_progress *p, double now, int avail)
{
    piece pp[4];
    char b[32], c[32], text[512];
    snprintf(pp[0].s, sizeof pp[0].s, "dates %d/%d", p->days_done, p->days_total);
    pp[0].drop = 0;
    if (p->cur >= 0 && p->cur_hour_us >= 0) {
        char ts[40];
        fmt_ts(p->cur_hour_us, 0, 0, ts, sizeof ts);
        ts[16] = 0; /* "YYYY-MM-DD HH:MM" */
        snprintf(pp[1].s, sizeof pp[1].s, "now %.23s %.16s", p->syms[p->cur].name, ts);
    } else {
        snprintf(pp[1].s, sizeof pp[1].s, "now -");
    }
    pp[1].drop = 1;
    snprintf(pp[2].s, sizeof pp[2].s, "lake %s on disk", fmt_bytes(p->lake_bytes, b, sizeof b));
    pp[2].drop = 2;
    snprintf(pp[3].s, sizeof pp[3].s, "%s", fmt_duration(now - p->t0, c, sizeof c));
    pp[3].drop = 3;
    int n = fit(pp, 4, " | ", avail - 2, text, sizeof text);
    fb_puts(p, "  ");
    if (p->color) fb_puts(p, "\033[2m");
    fb_puts(p, text);
    if (p->color) fb_puts(p, "\033[0m");
    fb_puts(p, "\033[K\n");
    p->line_w[p->lines++] = 2 + n;
}

static void draw(ui_progress *p, double now, const char *message)
{
    int cols, rows;
    piece tp[4], sp[5];
    term_size(&cols, &rows);
    if (!g_cursor_hidden) {
        fb_puts(p, "\033[?25l");
        g_cursor_hidden = 1;
    }
    fb_erase(p, cols);
    if (message) fb_puts(p, message);

    total_pieces(p, now, tp);
    size_t first, nshow;
    shown_symbols(p, rows, &first, &nshow);
    layout L;
    make_layout(p, cols, tp, first, nshow, &L);

    double frac = p->units_total ? (double)p->units_done / (double)p->units_total : 1.0;
    draw_line(p, &L, "total", frac, tp, 4, 1);
    for (size_t i = first; i < first + nshow; i++) {
        const ui_sym *s = &p->syms[i];
        double f = s->units_total ? (double)s->units_done / (double)s->units_total : 1.0;
        draw_line(p, &L, s->name, f, sp, sym_pieces(p, s, sp), 0);
    }
    if (p->nsyms > nshow) {
        char a[48];
        int n = snprintf(a, sizeof a, "  ... %zu symbols in all", p->nsyms);
        fb_puts(p, a);
        fb_puts(p, "\033[K\n");
        p->line_w[p->lines++] = n;
    }
    draw_panel(p, now, cols - 1);
    p->drawn_cols = cols;
    fb_flush(p);
    p->last_draw = now;
}

static void maybe_draw(ui_progress *p, int force)
{
    if (p->mode != UI_TTY) return;
    double now = cli_mono();
    if (!force && p->last_draw >= 0 && now - p->last_draw < REDRAW_INTERVAL) return;
    window_sample(p, now);
    draw(p, now, NULL);
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
        agt_format_count(trades, a, sizeof a);
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
    char msg[1024];
    va_list ap;
    if (p->mode == UI_QUIET) return;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg - 1, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n > sizeof msg - 2) n = (int)sizeof msg - 2;
    msg[n] = '\n';
    msg[n + 1] = 0;
    if (p->mode == UI_TTY) {
        /* above the block, in the same write as its redraw */
        double now = cli_mono();
        window_sample(p, now);
        draw(p, now, msg);
        return;
    }
    log_prefix(stderr);
    fputs(msg, stderr);
    fflush(stderr);
}

void ui_progress_erase(ui_progress *p)
{
    if (p->mode == UI_TTY && p->lines > 0) {
        int cols, rows;
        term_size(&cols, &rows);
        fb_erase(p, cols);
        fb_flush(p);
    }
    ui_term_restore();
}

/* "SYMBOL: 48 hours, 49,096 trades, 8.30 MB in 5.1s, ..." */
static void summary_line(const char *name, const ui_sym *s, double dt, int interrupted)
{
    char a[32], b[32], c[32], extra[200] = "";
    uint64_t ok = s->units_done - s->units_failed;
    agt_format_count(s->stored, a, sizeof a);
    fmt_bytes(s->bytes, b, sizeof b);
    fmt_duration(dt, c, sizeof c);
    size_t k = 0;
    if (s->days_skipped)
        k += (size_t)snprintf(extra + k, sizeof extra - k, ", %d date%s already complete",
                              s->days_skipped, s->days_skipped == 1 ? "" : "s");
    if (s->updated && k < sizeof extra)
        k += (size_t)snprintf(extra + k, sizeof extra - k, ", %lld updated", (long long)s->updated);
    if (s->units_failed && k < sizeof extra)
        k += (size_t)snprintf(extra + k, sizeof extra - k, ", %llu failed (in .retry)",
                              (unsigned long long)s->units_failed);
    if (interrupted && s->units_done < s->units_total && k < sizeof extra)
        snprintf(extra + k, sizeof extra - k, ", %llu not done (interrupted)",
                 (unsigned long long)(s->units_total - s->units_done));
    printf("%s: %llu hour%s, %s trades, %s in %s%s\n", name, (unsigned long long)ok,
           ok == 1 ? "" : "s", a, b, c, extra);
}

void ui_progress_finish(ui_progress *p, int interrupted)
{
    double now = cli_mono();
    p->stopped = interrupted;
    if (p->mode == UI_TTY) {
        p->cur_hour_us = -1;
        window_sample(p, now);
        draw(p, now, NULL);
        ui_term_restore();
    }
    if (p->mode == UI_QUIET) return;
    ui_sym all;
    memset(&all, 0, sizeof all);
    for (size_t i = 0; i < p->nsyms; i++) {
        ui_sym *s = &p->syms[i];
        summary_line(s->name, s, s->state ? (s->t_end > 0 ? s->t_end : now) - s->t_start : 0,
                     interrupted);
        all.units_total += s->units_total;
        all.units_done += s->units_done;
        all.units_failed += s->units_failed;
        all.stored += s->stored;
        all.bytes += s->bytes;
        all.updated += s->updated;
        all.days_skipped += s->days_skipped;
    }
    if (p->nsyms > 1) summary_line("total", &all, now - p->t0, interrupted);
    fflush(stdout);
}
