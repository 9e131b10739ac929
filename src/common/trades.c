/*
 * trades.c - the agt_trades column table: growth, appends, and the
 * sort-by-id-and-deduplicate step every source and merge relies on.
 */
#include <stdlib.h>
#include <string.h>

#include "common/common_int.h"

void agt_trades_init(agt_trades *t)
{
    memset(t, 0, sizeof *t);
}

void agt_trades_release(agt_trades *t)
{
    if (!t) return;
    free(t->trade_id);
    free(t->ts_us);
    free(t->price);
    free(t->quantity);
    free(t->is_buyer_maker);
    agt_trades_init(t);
}

void agt_trades_clear(agt_trades *t)
{
    t->len = 0;
}

static int grow(void **p, size_t cap, size_t elem)
{
    void *q = realloc(*p, cap * elem);
    if (!q) return 0;
    *p = q;
    return 1;
}

agt_status agt_trades_reserve(agt_trades *t, size_t cap)
{
    if (cap <= t->cap) return AGT_OK;
    if (cap > SIZE_MAX / 16) return AGT_ENOMEM;
    /* Each column grows independently; on failure the ones already grown are
       merely bigger, and cap stays at the old value, so the table is intact. */
    if (!grow((void **)&t->trade_id, cap, sizeof *t->trade_id) ||
        !grow((void **)&t->ts_us, cap, sizeof *t->ts_us) ||
        !grow((void **)&t->price, cap, sizeof *t->price) ||
        !grow((void **)&t->quantity, cap, sizeof *t->quantity) ||
        !grow((void **)&t->is_buyer_maker, cap, sizeof *t->is_buyer_maker))
        return AGT_ENOMEM;
    t->cap = cap;
    return AGT_OK;
}

static agt_status ensure(agt_trades *t, size_t extra)
{
    if (t->len + extra <= t->cap) return AGT_OK;
    size_t cap = t->cap ? t->cap * 2 : 1024;
    while (cap < t->len + extra) cap *= 2;
    return agt_trades_reserve(t, cap);
}

agt_status agt_trades_push(agt_trades *t, int64_t trade_id, int64_t ts_us, double price,
                           double quantity, int is_buyer_maker)
{
    AGT_TRY(ensure(t, 1));
    agt_trades_put(t, trade_id, ts_us, price, quantity, is_buyer_maker);
    return AGT_OK;
}

agt_status agt_trades_append(agt_trades *dst, const agt_trades *src)
{
    if (!src->len) return AGT_OK;
    AGT_TRY(ensure(dst, src->len));
    size_t n = src->len, at = dst->len;
    memcpy(dst->trade_id + at, src->trade_id, n * sizeof *src->trade_id);
    memcpy(dst->ts_us + at, src->ts_us, n * sizeof *src->ts_us);
    memcpy(dst->price + at, src->price, n * sizeof *src->price);
    memcpy(dst->quantity + at, src->quantity, n * sizeof *src->quantity);
    memcpy(dst->is_buyer_maker + at, src->is_buyer_maker, n);
    dst->len += n;
    return AGT_OK;
}

int agt_trades_is_sorted(const agt_trades *t)
{
    for (size_t i = 1; i < t->len; i++)
        if (t->trade_id[i] <= t->trade_id[i - 1] || t->ts_us[i] < t->ts_us[i - 1]) return 0;
    return 1;
}

typedef struct {
    int64_t id;
    size_t pos;
} keyed;

static int cmp_keyed(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

int agt_trades_ids_unique(const agt_trades *t)
{
    for (size_t i = 1; i < t->len; i++)
        if (t->trade_id[i] <= t->trade_id[i - 1]) return 0;
    return 1;
}

agt_status agt_trades_sort_unique(agt_trades *t, size_t *dropped)
{
    if (dropped) *dropped = 0;
    size_t n = t->len;
    if (agt_trades_ids_unique(t)) return AGT_OK;

    keyed *k = malloc(n * sizeof *k);
    if (!k) return AGT_ENOMEM;
    for (size_t i = 0; i < n; i++) k[i] = (keyed){t->trade_id[i], i};
    qsort(k, n, sizeof *k, cmp_keyed);
    /* keep the last occurrence of each id: walk runs of equal ids */
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (i + 1 == n || k[i + 1].id != k[i].id) k[m++] = k[i];

    agt_trades out;
    agt_trades_init(&out);
    agt_status s = agt_trades_reserve(&out, m ? m : 1);
    if (s != AGT_OK) {
        free(k);
        return s;
    }
    for (size_t i = 0; i < m; i++) {
        size_t p = k[i].pos;
        out.trade_id[i] = t->trade_id[p];
        out.ts_us[i] = t->ts_us[p];
        out.price[i] = t->price[p];
        out.quantity[i] = t->quantity[p];
        out.is_buyer_maker[i] = t->is_buyer_maker[p];
    }
    out.len = m;
    free(k);
    agt_trades_release(t);
    *t = out;
    if (dropped) *dropped = n - m;
    return AGT_OK;
}
