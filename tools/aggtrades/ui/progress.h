/*
 * ui/progress.h - the live display of a download (download, update, retry,
 * verify --repair).
 *
 * Three modes, chosen once:
 *   UI_TTY   stderr is a terminal and --no-progress/--quiet are off: an
 *            overall bar, one bar per symbol and a status panel (dates
 *            done/total, current symbol and hour, lake size on disk),
 *            redrawn in place at most 10 times a second and once at 100 %;
 *            widths from the terminal (TIOCGWINSZ);
 *   UI_LOG   otherwise: plain timestamped log lines on stderr, no escape codes;
 *   UI_QUIET --quiet: nothing but errors.
 * The summary lines at the end go to stdout (not in UI_QUIET).
 */
#ifndef AGT_UI_PROGRESS_H
#define AGT_UI_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

enum { UI_QUIET, UI_LOG, UI_TTY };

typedef struct ui_sym {
    char name[24];
    uint64_t units_total, units_done, units_failed;
    int days_total, days_done, days_skipped;
    uint64_t trades, bytes; /* as received (pages may overlap) */
    uint64_t stored;        /* rows of the hours committed */
    int64_t inserted, updated;
    double t_start, t_end;
    int state; /* 0 waiting, 1 running, 2 finished */
} ui_sym;

#define UI_WINDOW 64
#define UI_MAX_LINES 16 /* lines of the terminal block */

typedef struct ui_progress {
    int mode;
    int color;
    int utf8;
    const char *verb; /* "download", "update", ... */
    ui_sym *syms;
    size_t nsyms;
    long cur;            /* symbol being worked on, -1 none */
    int64_t cur_hour_us; /* hour being fetched, -1 none */
    uint64_t lake_bytes;
    uint64_t bytes, trades, units_total, units_done, units_failed;
    int days_total, days_done;
    double t0, last_draw;
    int lines;                   /* lines of the block currently on screen */
    int line_w[UI_MAX_LINES];    /* their widths in columns */
    int drawn_cols;              /* the terminal's width when they were drawn */
    int stopped;                 /* interrupted: the final frame says so */
    int stopping;                /* the user asked to stop: set by the caller before each call */
    char *fb;                    /* the frame being built (one write per frame) */
    size_t fb_n, fb_cap;
    struct { double t; uint64_t bytes, trades; } win[UI_WINDOW];
    int win_n, win_i;
} ui_progress;

/* Set up for `nsyms` symbols; `mode` from ui_mode_for(). */
int ui_progress_init(ui_progress *p, int mode, int color, const char *verb, size_t nsyms);
void ui_progress_release(ui_progress *p);

/* Describe symbol i before the run. */
void ui_progress_symbol(ui_progress *p, size_t i, const char *name, uint64_t units,
                        int days_total, int days_skipped);
/* Work on symbol i starts / hour starts. */
void ui_progress_begin_symbol(ui_progress *p, size_t i);
void ui_progress_begin_hour(ui_progress *p, size_t i, int64_t hour_us);
/* Bytes and trades of one HTTP response (from the fetch callback). May redraw. */
void ui_progress_bytes(ui_progress *p, uint64_t bytes, uint64_t trades);
/* The hour ended: ok (committed) or failed; the counts of its commit. */
void ui_progress_hour_done(ui_progress *p, size_t i, int ok, uint64_t rows, int64_t inserted,
                           int64_t updated);
/* A day of symbol i is done (all its hours handled): a log line in UI_LOG. */
void ui_progress_day_done(ui_progress *p, size_t i, int64_t day_us, uint64_t trades,
                          uint64_t bytes, int failed_hours);
void ui_progress_end_symbol(ui_progress *p, size_t i);
/* The lake's size on disk. */
void ui_progress_lake_bytes(ui_progress *p, uint64_t bytes);
/* A message line (warning, failure) that must not be drawn over: stderr. */
void ui_progress_log(ui_progress *p, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Take the block off the screen (before an error message). */
void ui_progress_erase(ui_progress *p);
/* Final draw (at 100 % if all done), then the per-symbol summary lines on stdout. */
void ui_progress_finish(ui_progress *p, int interrupted);

/* Show the cursor again if the display hid it (async-signal-safe: the
 * signal handlers call it before quitting). */
void ui_term_restore(void);

/* The mode for the global options: quiet, no_progress, and whether stderr is a terminal. */
int ui_mode_for(int quiet, int no_progress);

#endif
