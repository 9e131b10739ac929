/*
 * common_int.h - helpers shared inside the library (not public): error
 * reporting macros, UTC calendar, growable byte buffers with a hard cap,
 * and the banned-function list.
 */
#ifndef AGT_COMMON_INT_H
#define AGT_COMMON_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aggtrades/common.h"
#include "aggtrades/text.h"

/* ---- errors ------------------------------------------------------------ */

#if defined(__GNUC__)
#define AGT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define AGT_PRINTF(a, b)
#endif

/* Record `s` and a formatted one-line message in `err` (may be NULL); returns s. */
agt_status agt_err(agt_error *err, agt_status s, const char *fmt, ...) AGT_PRINTF(3, 4);
/* Same, also recording errno `e` and appending ": strerror(e)". AGT_ENOSPC if e == ENOSPC. */
agt_status agt_err_sys(agt_error *err, int e, const char *fmt, ...) AGT_PRINTF(3, 4);

/* Return the status of `expr` if it is not AGT_OK. */
#define AGT_TRY(expr)                                                                    \
    do {                                                                                 \
        agt_status agt_try_s_ = (expr);                                                  \
        if (agt_try_s_ != AGT_OK) return agt_try_s_;                                      \
    } while (0)

/* ---- UTC calendar (no TZ, no localtime) -------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (any year, month 1-12, day 1-31). */
int64_t agt_days_from_civil(int64_t y, unsigned m, unsigned d);
/* Inverse of agt_days_from_civil. */
void agt_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);
/* 1 if y-m-d is a real calendar date. */
int agt_date_valid(int64_t y, unsigned m, unsigned d);

/* ---- strings ------------------------------------------------------------ */

/* The n (at most 18) decimal digits at p as a number; -1 if n is larger or
 * one of them is not a digit (read no further than the first that is not). */
int64_t agt_digits_value(const char *p, size_t n);

/* Copy `src` into dst[n] (n > 0), cut if needed, always NUL-terminated. */
void agt_strlcpy(char *dst, size_t n, const char *src);

/* ---- trade tables (trades.c) --------------------------------------------- */

/* 1 if the trade ids of t strictly increase (agt_trades_sort_unique has nothing to do). */
int agt_trades_ids_unique(const agt_trades *t);

/* Row `len` written and counted; the caller made room (len < cap). */
static inline void agt_trades_put(agt_trades *t, int64_t trade_id, int64_t ts_us, double price,
                                  double quantity, int is_buyer_maker)
{
    size_t i = t->len++;
    t->trade_id[i] = trade_id;
    t->ts_us[i] = ts_us;
    t->price[i] = price;
    t->quantity[i] = quantity;
    t->is_buyer_maker[i] = is_buyer_maker ? 1 : 0;
}

/* agt_trades_push with the room checked here, not in a call: a parser's row. */
static inline agt_status agt_trades_push_inline(agt_trades *t, int64_t trade_id, int64_t ts_us,
                                                double price, double quantity, int is_buyer_maker)
{
    if (t->len == t->cap) return agt_trades_push(t, trade_id, ts_us, price, quantity, is_buyer_maker);
    agt_trades_put(t, trade_id, ts_us, price, quantity, is_buyer_maker);
    return AGT_OK;
}

/* ---- growable byte buffer with a hard cap ------------------------------ */

typedef struct agt_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t max; /* hard limit on len; 0 means SIZE_MAX/2 */
} agt_buf;

void agt_buf_init(agt_buf *b, size_t max);
void agt_buf_release(agt_buf *b);
agt_status agt_buf_reserve(agt_buf *b, size_t extra); /* room for len + extra */
agt_status agt_buf_append(agt_buf *b, const void *p, size_t n);
agt_status agt_buf_putc(agt_buf *b, uint8_t c);
agt_status agt_buf_printf(agt_buf *b, const char *fmt, ...) AGT_PRINTF(2, 3);

/* ---- int64 arrays (i64s.c) ------------------------------------------------ */

/* qsort/bsearch order of int64 values. */
int agt_cmp_i64(const void *a, const void *b);
/* Append add[0..k) to the array *v of *n values (room for *cap), growing it.
 * AGT_ENOMEM (no message) leaves it as it was. */
agt_status agt_i64s_append(int64_t **v, size_t *n, size_t *cap, const int64_t *add, size_t k);

#include "common/banned.h"

#endif
