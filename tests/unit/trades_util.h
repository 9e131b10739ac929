/*
 * trades_util.h - comparing trade tables in unit tests: "the same rows" means
 * the same ids, timestamps and flags and the same doubles bit for bit (so a
 * -0.0 or a NaN payload that changed on the way is caught, which == would
 * miss or trip over).
 */
#ifndef AGT_TEST_TRADES_UTIL_H
#define AGT_TEST_TRADES_UTIL_H

#include <stddef.h>
#include <string.h>

#include "aggtrades/common.h"

/* 1 if rows a[a_off .. a_off + n) equal rows b[0 .. n), bit for bit. */
static inline int trades_rows_equal(const agt_trades *a, size_t a_off, const agt_trades *b,
                                    size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t k = a_off + i;
        if (a->trade_id[k] != b->trade_id[i] || a->ts_us[k] != b->ts_us[i] ||
            memcmp(&a->price[k], &b->price[i], sizeof(double)) != 0 ||
            memcmp(&a->quantity[k], &b->quantity[i], sizeof(double)) != 0 ||
            a->is_buyer_maker[k] != b->is_buyer_maker[i])
            return 0;
    }
    return 1;
}

/* 1 if `a` and `b` hold the same rows, bit for bit. */
static inline int trades_equal(const agt_trades *a, const agt_trades *b)
{
    return a->len == b->len && trades_rows_equal(a, 0, b, a->len);
}

#endif
