/*
 * read_into.c - a whole range read at once into arrays the caller owns,
 * several files decoded at the same time: what a dataframe binding needs
 * (allocate the result once, exactly, and have it filled in place).
 *
 * agt_query_count fixes what will be read: each planned file lying wholly
 * inside the range is opened (mapped) at the version its statistics entry
 * names and stays open, so its row count is the footer's and a writer
 * committing meanwhile cannot change it (a replaced file stays readable
 * through its mapping); each file at an edge of the range is decoded right
 * away and its matching rows are kept (at most two files: hours are
 * disjoint). The total is then exact, and every file's place in the output
 * is known before any is decoded.
 *
 * agt_query_read_into hands the files to worker threads, each taking the
 * next file not yet taken. A worker decodes straight into the caller's
 * arrays at the file's place, through a view of exactly the file's rows
 * (the Parquet reader reserves exactly the rows it emits, never more than
 * the file holds, so the view is never grown). A column the caller left
 * out is not decoded at all, except the trade ids and timestamps, which
 * the reader needs to select and order rows: those go to the worker's own
 * scratch arrays. Each file is closed (its mapping dropped) as soon as it
 * is decoded, so the memory beyond the output is the files being decoded
 * plus, for a read without ids or timestamps, one file's of them a worker.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lake/lake_int.h"
#include "parquet/parquet.h"

#define MAX_THREADS 16
#define PATH_LEN (AGT_LAKE_PATH_MAX + sizeof(((agt_file_stats *)0)->path) + 8)

void agt_query_unpin(agt_query *q)
{
    if (!q->pins) return;
    for (size_t i = 0; i < q->n; i++) {
        agt_pq_close(q->pins[i].pf);
        agt_trades_release(&q->pins[i].rows);
    }
    free(q->pins);
    q->pins = NULL;
    q->counted = 0;
}

static void full_path(const agt_query *q, size_t i, char *path, size_t n)
{
    snprintf(path, n, "%s/%s", q->l->root, q->files[i].path);
}

agt_status agt_query_count(agt_query *q, size_t *rows, agt_error *err)
{
    if (!q || !rows) return agt_err(err, AGT_EINVAL, "invalid argument");
    if (q->pins) {
        *rows = q->counted;
        return AGT_OK;
    }
    if (q->next > 0) return agt_err(err, AGT_EINVAL, "query already read with agt_query_next");
    q->pins = calloc(q->n ? q->n : 1, sizeof *q->pins);
    if (!q->pins) return agt_err(err, AGT_ENOMEM, "out of memory");
    size_t total = 0;
    char path[AGT_LAKE_PATH_MAX + 8];
    agt_status s = AGT_OK;
    for (size_t i = 0; i < q->n && s == AGT_OK; i++) {
        agt_file_stats *f = &q->files[i];
        agt_query_pin *p = &q->pins[i];
        agt_trades_init(&p->rows);
        s = agt_lake_open_hour(q->l, q->symbol, f, &p->pf, path, sizeof path, err);
        if (s != AGT_OK) break;
        p->at = total;
        if (f->min_ts_us >= q->start && f->max_ts_us <= q->end) {
            p->n = (size_t)agt_pq_num_rows(p->pf);
        } else {
            s = agt_lake_decode_range(p->pf, path, q->start, q->end, q->cols, &p->rows, err);
            agt_pq_close(p->pf);
            p->pf = NULL;
            p->n = p->rows.len;
        }
        total += p->n;
    }
    if (s != AGT_OK) {
        agt_query_unpin(q);
        return s;
    }
    q->next = q->n; /* agt_query_next has nothing left to give */
    q->counted = total;
    *rows = total;
    return AGT_OK;
}

/* Shared by the workers of one agt_query_read_into. */
typedef struct reader {
    agt_query *q;
    agt_trades *dst; /* rows go to dst columns + dst->len + pin->at */
    pthread_mutex_t mu;
    size_t next;     /* next pin to take */
    agt_status status;
    agt_error err;   /* the first failure */
} reader;

static void copy_rows(agt_trades *dst, size_t at, const agt_trades *src, size_t n)
{
    if (dst->trade_id) memcpy(dst->trade_id + at, src->trade_id, n * sizeof *src->trade_id);
    if (dst->ts_us) memcpy(dst->ts_us + at, src->ts_us, n * sizeof *src->ts_us);
    if (dst->price) memcpy(dst->price + at, src->price, n * sizeof *src->price);
    if (dst->quantity) memcpy(dst->quantity + at, src->quantity, n * sizeof *src->quantity);
    if (dst->is_buyer_maker) memcpy(dst->is_buyer_maker + at, src->is_buyer_maker, n);
}

/* A worker's room for a file's trade ids and timestamps when the caller left them out. */
typedef struct keys {
    int64_t *id, *ts;
    size_t cap;
} keys;

static agt_status keys_room(keys *k, size_t n)
{
    if (n <= k->cap) return AGT_OK;
    free(k->id);
    free(k->ts);
    k->id = malloc(n * sizeof *k->id);
    k->ts = malloc(n * sizeof *k->ts);
    k->cap = k->id && k->ts ? n : 0;
    return k->cap ? AGT_OK : AGT_ENOMEM;
}

/* Decode the pinned file i into its place. */
static agt_status fill(reader *r, size_t i, keys *k, agt_error *err)
{
    agt_query *q = r->q;
    agt_query_pin *p = &q->pins[i];
    agt_trades *d = r->dst;
    size_t at = d->len + p->at;
    if (!p->pf) {
        copy_rows(d, at, &p->rows, p->n);
        return AGT_OK;
    }
    if (p->n == 0) return AGT_OK;
    char path[PATH_LEN];
    full_path(q, i, path, sizeof path);
    unsigned cols = q->cols;
    if ((!d->trade_id || !d->ts_us) && keys_room(k, p->n) != AGT_OK)
        return agt_err(err, AGT_ENOMEM, "out of memory");
    /* ids and timestamps the caller left out go to scratch: neither zeroed nor scaled */
    if (!d->trade_id) cols |= AGT_LAKE_COL_TRADE_ID;
    if (!d->ts_us) cols = (cols | AGT_LAKE_COL_TIMESTAMP) & ~(unsigned)AGT_LAKE_TS_NS;
    agt_trades view = {d->trade_id ? d->trade_id + at : k->id,
                       d->ts_us ? d->ts_us + at : k->ts,
                       d->price ? d->price + at : NULL,
                       d->quantity ? d->quantity + at : NULL,
                       d->is_buyer_maker ? d->is_buyer_maker + at : NULL,
                       0, p->n};
    agt_status s = agt_lake_decode_range(p->pf, path, q->start, q->end, cols, &view, err);
    if (s == AGT_OK && view.len != p->n)
        s = agt_err(err, AGT_ECORRUPT,
                    "data file '%s' is damaged: %zu of its %zu rows lie in the time range its "
                    "statistics give", path, view.len, p->n);
    return s;
}

static void *work(void *arg)
{
    reader *r = arg;
    keys k = {NULL, NULL, 0};
    agt_error err;
    agt_error_clear(&err);
    for (;;) {
        pthread_mutex_lock(&r->mu);
        size_t i = r->status == AGT_OK ? r->next++ : r->q->n;
        pthread_mutex_unlock(&r->mu);
        if (i >= r->q->n) break;
        agt_status s = fill(r, i, &k, &err);
        agt_query_pin *p = &r->q->pins[i];
        agt_pq_close(p->pf);
        p->pf = NULL;
        agt_trades_release(&p->rows);
        if (s != AGT_OK) {
            pthread_mutex_lock(&r->mu);
            if (r->status == AGT_OK) {
                r->status = s;
                r->err = err;
            }
            pthread_mutex_unlock(&r->mu);
        }
    }
    free(k.id);
    free(k.ts);
    return NULL;
}

agt_status agt_query_read_into(agt_query *q, agt_trades *dst, unsigned threads, agt_error *err)
{
    if (!q || !dst || dst->len > dst->cap) return agt_err(err, AGT_EINVAL, "invalid argument");
    size_t n;
    AGT_TRY(agt_query_count(q, &n, err));
    if (n > dst->cap - dst->len)
        return agt_err(err, AGT_EINVAL, "room for %zu rows, the range has %zu",
                       dst->cap - dst->len, n);
    if (threads == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cpus > 0 ? (unsigned)cpus : 1;
    }
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    if (threads > q->n) threads = q->n ? (unsigned)q->n : 1;

    reader r;
    memset(&r, 0, sizeof r);
    r.q = q;
    r.dst = dst;
    r.status = AGT_OK;
    pthread_mutex_init(&r.mu, NULL);
    pthread_t tid[MAX_THREADS];
    unsigned started = 0;
    for (; started + 1 < threads; started++)
        if (pthread_create(&tid[started], NULL, work, &r) != 0) break; /* fewer helpers will do */
    work(&r); /* the calling thread is a worker too */
    for (unsigned k = 0; k < started; k++) pthread_join(tid[k], NULL);
    pthread_mutex_destroy(&r.mu);
    agt_query_unpin(q);
    if (r.status != AGT_OK) {
        if (err) *err = r.err;
        return r.status;
    }
    dst->len += n;
    return AGT_OK;
}
