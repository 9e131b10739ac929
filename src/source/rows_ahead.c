/*
 * rows_ahead.c - an archive file's rows read ahead on a thread of their own
 * (day_int.h: agt_archive_zip_rows_ahead).
 *
 * Ingesting an archive file is two halves of about equal CPU: inflating and
 * parsing its CSV (archive_zip.c), and deciding, encoding and committing its
 * hours (the hour stream and the caller's sink), the second of which also
 * waits on the disk (every commit fsyncs). Done one after the other they
 * leave a core idle on a machine with two; here they overlap:
 *
 *   reader thread:  inflate -> parse -> batch --+
 *                                               | ring of RING batches
 *   caller's thread:  fn(batch) <---------------+  (the hour stream, the
 *                                                   REST proofs, the commits)
 *
 * The reader fills the ring while the caller works on an earlier batch; it
 * waits when the ring is full, the caller when it is empty. Everything but
 * the reading stays on the caller's thread, in file order: `fn` sees the
 * same batches, in the same order, as agt_archive_zip_rows hands them, so
 * the REST requests, the commits and their events are where they were and
 * the lake keeps one writer. Memory: RING batches (each the rows of one
 * MiB of CSV, ~15,000 rows, ~0.5 MB) besides the reader's own.
 *
 * Stopping: when `fn` fails, the caller raises `stop` and waits for the
 * reader, whose next hand-over returns AGT_ECANCELLED (it drops the rest of
 * the file); the caller returns fn's status. A failure of the reader (a bad
 * row, a CRC) reaches the caller after every batch before it was handed on,
 * as it does unthreaded.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "source/day_int.h"

/* Batches between the reader and the caller: ~8 MiB of CSV, about one busy
 * hour (~70,000 rows) read ahead while the caller commits the previous one. */
#define RING AGT_ROWS_AHEAD_BATCHES

typedef struct ahead {
    agt_archive_zip zip;  /* the caller's, with a descriptor of its own */
    pthread_mutex_t mu;
    pthread_cond_t filled, drained;
    agt_trades ring[RING];
    size_t head, count;   /* the oldest filled batch, how many are filled */
    int done;             /* the reader has returned: `st`, `err`, `csv_bytes` hold */
    int stop;             /* the caller wants no more */
    agt_status st;
    agt_error err;
    uint64_t csv_bytes;
} ahead;

/* The reader's hand-over: a copy of the batch into the ring. */
static agt_status put(void *user, const agt_trades *rows, agt_error *err)
{
    ahead *a = user;
    pthread_mutex_lock(&a->mu);
    while (a->count == RING && !a->stop) pthread_cond_wait(&a->drained, &a->mu);
    if (a->stop) {
        pthread_mutex_unlock(&a->mu);
        return agt_err(err, AGT_ECANCELLED, "cancelled");
    }
    agt_trades *slot = &a->ring[(a->head + a->count) % RING];
    pthread_mutex_unlock(&a->mu);
    /* the slot is the reader's until counted: the caller touches only filled ones */
    agt_trades_clear(slot);
    if (agt_trades_append(slot, rows) != AGT_OK) return agt_err(err, AGT_ENOMEM, "out of memory");
    pthread_mutex_lock(&a->mu);
    a->count++;
    pthread_cond_signal(&a->filled);
    pthread_mutex_unlock(&a->mu);
    return AGT_OK;
}

static void *reader(void *user)
{
    ahead *a = user;
    agt_error err;
    agt_error_clear(&err);
    uint64_t csv_bytes = 0;
    agt_status st = agt_archive_zip_rows(&a->zip, put, a, &csv_bytes, &err);
    pthread_mutex_lock(&a->mu);
    a->st = st;
    a->err = err;
    a->csv_bytes = csv_bytes;
    a->done = 1;
    pthread_cond_signal(&a->filled);
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

/* Hand the filled batches to fn, in order, until the reader is done or fn fails. */
static agt_status drain(ahead *a, agt_rows_fn fn, void *user, agt_error *err)
{
    for (;;) {
        pthread_mutex_lock(&a->mu);
        while (a->count == 0 && !a->done) pthread_cond_wait(&a->filled, &a->mu);
        if (a->count == 0) { /* done, all handed on */
            pthread_mutex_unlock(&a->mu);
            return AGT_OK;
        }
        agt_trades *slot = &a->ring[a->head];
        pthread_mutex_unlock(&a->mu);
        agt_status st = fn(user, slot, err);
        if (st != AGT_OK) return st;
        pthread_mutex_lock(&a->mu);
        a->head = (a->head + 1) % RING;
        a->count--;
        pthread_cond_signal(&a->drained);
        pthread_mutex_unlock(&a->mu);
    }
}

agt_status agt_archive_zip_rows_ahead(const agt_archive_zip *z, agt_rows_fn fn, void *user,
                                      uint64_t *csv_bytes, agt_error *err)
{
    ahead *a = calloc(1, sizeof *a);
    if (!a) return agt_err(err, AGT_ENOMEM, "out of memory");
    a->zip = *z;
    /* the caller may close z's descriptor while the reader runs (a zip slot
       reused by a neighbour's download): the reader reads its own */
    a->zip.fd = z->fd >= 0 ? dup(z->fd) : -1;
    for (int i = 0; i < RING; i++) agt_trades_init(&a->ring[i]);
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->filled, NULL);
    pthread_cond_init(&a->drained, NULL);
    pthread_t t;
    agt_status st;
    if (a->zip.fd < 0 || pthread_create(&t, NULL, reader, a) != 0) {
        /* no descriptor or no thread to spare: read on this one */
        st = agt_archive_zip_rows(z, fn, user, csv_bytes, err);
    } else {
        st = drain(a, fn, user, err);
        pthread_mutex_lock(&a->mu);
        a->stop = 1;
        pthread_cond_signal(&a->drained);
        pthread_mutex_unlock(&a->mu);
        pthread_join(t, NULL);
        if (st == AGT_OK && a->st != AGT_OK) {
            st = a->st;
            if (err) *err = a->err;
        }
        if (csv_bytes) *csv_bytes = a->csv_bytes;
    }
    if (a->zip.fd >= 0) close(a->zip.fd);
    for (int i = 0; i < RING; i++) agt_trades_release(&a->ring[i]);
    pthread_cond_destroy(&a->drained);
    pthread_cond_destroy(&a->filled);
    pthread_mutex_destroy(&a->mu);
    free(a);
    return st;
}
