/*
 * merge.c - upsert by trade_id, the heart of a commit.
 *
 * The stored rows of an hour (sorted by id, unique) and the incoming rows
 * (any order; repeats resolved newest-wins by agt_trades_sort_unique) are
 * walked together like a merge sort. For every incoming id:
 *   - absent from the store        -> inserted
 *   - present with different values -> updated (pre-image = stored row,
 *                                      post-image = incoming row)
 *   - present with identical values -> skipped (a duplicate)
 * "Identical" compares timestamp, is_buyer_maker and the bits of price and
 * quantity. Repeats inside the input also count as skipped. The result is
 * the merged table plus the three change lists the change feed records.
 * Incoming rows already in id order are not copied: into a new hour (every
 * commit of a download) they are the merged and the inserted rows
 * themselves, and when they all come after the stored ones they are
 * appended whole instead of walked row by row.
 */
#include <string.h>

#include "lake/lake_int.h"

void agt_merge_init(agt_merge *m)
{
    memset(m, 0, sizeof *m);
    agt_trades_init(&m->merged);
    agt_trades_init(&m->ins);
    agt_trades_init(&m->pre);
    agt_trades_init(&m->post);
    agt_trades_init(&m->sorted);
    m->rows = &m->merged;
    m->inserted = &m->ins;
}

void agt_merge_release(agt_merge *m)
{
    if (!m) return;
    agt_trades_release(&m->merged);
    agt_trades_release(&m->ins);
    agt_trades_release(&m->pre);
    agt_trades_release(&m->post);
    agt_trades_release(&m->sorted);
}

static agt_status push_row(agt_trades *t, const agt_trades *s, size_t i)
{
    return agt_trades_push(t, s->trade_id[i], s->ts_us[i], s->price[i], s->quantity[i],
                           s->is_buyer_maker[i]);
}

static int same_row(const agt_trades *a, size_t i, const agt_trades *b, size_t j)
{
    return a->ts_us[i] == b->ts_us[j] && (a->is_buyer_maker[i] != 0) == (b->is_buyer_maker[j] != 0) &&
           memcmp(&a->price[i], &b->price[j], sizeof(double)) == 0 &&
           memcmp(&a->quantity[i], &b->quantity[j], sizeof(double)) == 0;
}

agt_status agt_merge_rows(const agt_trades *old, const agt_trades *incoming, agt_merge *m)
{
    /* incoming rows in id order, each id once, are merged as they are;
     * others are copied, sorted and deduplicated (newest wins) first */
    const agt_trades *in = incoming;
    size_t dropped = 0;
    if (!agt_trades_ids_unique(incoming)) {
        AGT_TRY(agt_trades_append(&m->sorted, incoming));
        AGT_TRY(agt_trades_sort_unique(&m->sorted, &dropped));
        in = &m->sorted;
    }
    m->skipped = (int64_t)dropped;
    m->rows = &m->merged;
    m->inserted = &m->ins;
    if (old->len == 0) { /* a new hour (every commit of a download): nothing copied */
        m->rows = m->inserted = in;
        return AGT_OK;
    }
    if (in->len == 0 || in->trade_id[0] > old->trade_id[old->len - 1]) {
        /* every incoming id after the stored ones: appended whole */
        m->inserted = in;
        AGT_TRY(agt_trades_reserve(&m->merged, old->len + in->len));
        AGT_TRY(agt_trades_append(&m->merged, old));
        return agt_trades_append(&m->merged, in);
    }
    agt_status s = agt_trades_reserve(&m->merged, old->len + in->len);
    size_t i = 0, j = 0;
    while (s == AGT_OK && (i < old->len || j < in->len)) {
        if (j == in->len || (i < old->len && old->trade_id[i] < in->trade_id[j])) {
            s = push_row(&m->merged, old, i++);
        } else if (i == old->len || in->trade_id[j] < old->trade_id[i]) {
            s = push_row(&m->merged, in, j);
            if (s == AGT_OK) s = push_row(&m->ins, in, j);
            j++;
        } else { /* same id */
            if (same_row(old, i, in, j)) {
                m->skipped++;
                s = push_row(&m->merged, old, i);
            } else {
                s = push_row(&m->merged, in, j);
                if (s == AGT_OK) s = push_row(&m->pre, old, i);
                if (s == AGT_OK) s = push_row(&m->post, in, j);
            }
            i++;
            j++;
        }
    }
    return s;
}

int agt_trades_contiguous(const agt_trades *t)
{
    if (t->len == 0) return 1;
    for (size_t i = 1; i < t->len; i++)
        if (t->trade_id[i] != t->trade_id[i - 1] + 1) return 0;
    return 1;
}
