/*
 * helper.c - a second thread a writer hands CPU work to while it waits on
 * the disk (lake_int.h: agt_lake_job_start, agt_lake_job_wait).
 *
 * A commit's durable steps run one after the other on the committing
 * thread, each fsynced before the next (commit.c); the largest piece of CPU
 * in a commit, encoding the hour's data file, only computes bytes in memory
 * and needs nothing the steps before it write. So the committing thread
 * hands it to this thread and writes the change file (encode, write,
 * fsync, rename, fsync of its directory) meanwhile, then waits for the
 * bytes and goes on with the data file's step. The helper never touches a
 * file: every write, and its order, stays on the committing thread, and
 * the lake keeps one writer.
 *
 * One thread per writable lake, started by its first job and joined by
 * agt_lake_close; it keeps the Parquet writer's per-thread scratch (ZSTD
 * context, page buffers: src/parquet/writer.c) from one commit to the
 * next. One job at a time. When no thread can be started, a job runs on
 * the caller's thread inside agt_lake_job_start, so the same code works
 * without it.
 */
#include <pthread.h>
#include <stdlib.h>

#include "lake/lake_int.h"

struct agt_lake_helper {
    pthread_t t;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    agt_lake_job *job; /* handed over, not yet finished */
    int quit;
};

static void *helper_main(void *arg)
{
    agt_lake_helper *h = arg;
    pthread_mutex_lock(&h->mu);
    for (;;) {
        while (!h->job && !h->quit) pthread_cond_wait(&h->cv, &h->mu);
        if (!h->job) break; /* quit, nothing left to do */
        agt_lake_job *j = h->job;
        pthread_mutex_unlock(&h->mu);
        agt_status st = j->fn(j->arg);
        pthread_mutex_lock(&h->mu);
        j->status = st;
        j->done = 1;
        h->job = NULL;
        pthread_cond_broadcast(&h->cv);
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

static agt_lake_helper *helper_of(agt_lake *l)
{
    if (l->helper || l->helper_failed) return l->helper;
    agt_lake_helper *h = calloc(1, sizeof *h);
    if (h) {
        pthread_mutex_init(&h->mu, NULL);
        pthread_cond_init(&h->cv, NULL);
        if (pthread_create(&h->t, NULL, helper_main, h) == 0) return l->helper = h;
        pthread_cond_destroy(&h->cv);
        pthread_mutex_destroy(&h->mu);
        free(h);
    }
    l->helper_failed = 1;
    return NULL;
}

void agt_lake_job_start(agt_lake *l, agt_lake_job *j)
{
    j->done = 0;
    j->status = AGT_OK;
    agt_lake_helper *h = helper_of(l);
    if (!h) { /* no thread: the job runs here and now */
        j->status = j->fn(j->arg);
        j->done = 1;
        return;
    }
    pthread_mutex_lock(&h->mu);
    h->job = j;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

agt_status agt_lake_job_wait(agt_lake *l, agt_lake_job *j)
{
    agt_lake_helper *h = l->helper;
    if (h) {
        pthread_mutex_lock(&h->mu);
        while (!j->done) pthread_cond_wait(&h->cv, &h->mu);
        pthread_mutex_unlock(&h->mu);
    }
    return j->status;
}

void agt_lake_helper_stop(agt_lake *l)
{
    agt_lake_helper *h = l->helper;
    if (!h) return;
    pthread_mutex_lock(&h->mu);
    h->quit = 1;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->t, NULL);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h);
    l->helper = NULL;
}
