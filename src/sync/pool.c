/*
 * pool.c - parallel jobs of a run: N threads fetch the plan's units while
 * the caller's thread commits them.
 *
 * Each job has its own exchange client (its own connection) and its own
 * archive handle and day source, so downloads of several units overlap; the
 * clients share the session client's rate limiter, so REST spends one
 * weight budget and every 429/418 keeps all jobs away (src/net/limiter.c).
 *
 * The jobs take units in plan order, at most `window` = jobs + 1 units ahead
 * of the committer. A REST hour is fetched whole into its unit's slot (unit
 * i: slot i % window, free again once the committer has settled the unit
 * `window` places earlier). An archive unit (a day, or a month) is not held
 * in memory: the job downloads and verifies its file into the job's day
 * source (agt_source_prepare_day, _month: an unlinked temporary file, no
 * memory), and the committer, when the unit's turn comes, streams it from
 * there hour by hour exactly as one job does, through that job's source and
 * client (REST proofs and hours included). Meanwhile the job waits: it
 * lends its source until the unit is settled. So memory stays one hour of
 * rows being settled, the REST hours in the window, and per job a transfer's
 * buffers, whatever the days' sizes; disk holds at most one file per job
 * waiting to be read, besides the last AGT_DAY_ZIPS daily files each job's
 * source keeps to prove neighbouring days.
 *
 * The committer settles units in plan order, not in the order they arrive:
 * the lake, the .retry ledger and the events then see exactly the sequence
 * of one job (a symbol's hours in order, each day done once its hours are),
 * an interruption leaves the same kind of prefix committed, and the lake
 * keeps its one writer. A slow unit holds the others back by at most the
 * window.
 *
 * Events: the callback is only ever called on the caller's thread. The jobs
 * add what they receive to two counters; the committer, while it waits,
 * turns them into RECEIVED events (about ten a second) and passes a stop the
 * callback asks for back to the jobs, which then stop at their next
 * response like a single job.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "source/source_int.h"
#include "sync/sync_int.h"

typedef struct pool_job {
    job_pool *pool;
    job_fetcher f;
    agt_client *client;
    agt_archive *archive;
    agt_source *source;
    uint64_t received; /* this job's response bytes (its thread only) */
    pthread_t tid;
    int started;
} pool_job;

struct job_pool {
    agt_sync *s;
    const job_unit *units;
    size_t n;
    size_t window;
    job_result *slots;   /* window of them */
    size_t *ready;       /* per slot: i + 1 once unit i is fetched into it */
    pthread_mutex_t mu;  /* guards next, settled, ready, stop */
    pthread_cond_t work; /* a job may take a unit, or must stop */
    pthread_cond_t done; /* a unit was fetched */
    pthread_mutex_t lake_mu;
    size_t next;         /* the next unit a job takes */
    size_t settled;      /* units settled by the committer */
    int stop;
    atomic_int stopping;           /* read by the jobs' progress callbacks */
    atomic_uint_least64_t bytes;   /* received, not reported yet */
    atomic_uint_least64_t trades;
    pool_job *jobs;
    int njobs;
};

/* The progress callback of a job's client and archive: count, and stop when asked. */
static int job_progress(void *user, uint64_t body_bytes, uint64_t trades)
{
    pool_job *j = user;
    j->received += body_bytes;
    atomic_fetch_add(&j->pool->bytes, body_bytes);
    atomic_fetch_add(&j->pool->trades, trades);
    return atomic_load(&j->pool->stopping);
}

static void *job_main(void *arg)
{
    pool_job *j = arg;
    job_pool *p = j->pool;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->next < p->n && p->next >= p->settled + p->window)
            pthread_cond_wait(&p->work, &p->mu);
        if (p->stop || p->next >= p->n) break;
        size_t i = p->next++;
        if (p->units[i].prefetched) continue;
        pthread_mutex_unlock(&p->mu);
        job_fetch_unit(&j->f, &p->units[i], &p->slots[i % p->window]);
        pthread_mutex_lock(&p->mu);
        p->ready[i % p->window] = i + 1;
        pthread_cond_broadcast(&p->done);
        /* an archive unit is read through this job's source: lent until settled */
        while (p->units[i].kind != JOB_UNIT_HOUR && !p->stop && p->settled <= i)
            pthread_cond_wait(&p->work, &p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void ask_stop(job_pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    atomic_store(&p->stopping, 1);
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
}

/* What the jobs received since the last report, as one RECEIVED event. */
void job_pool_report(job_pool *p)
{
    uint64_t b = atomic_exchange(&p->bytes, 0);
    uint64_t t = atomic_exchange(&p->trades, 0);
    if (b || t) {
        agt_sync_event ev;
        if (p->s->rep) p->s->rep->bytes += b;
        sync_event_init(&ev, AGT_SYNC_RECEIVED);
        ev.bytes = b;
        ev.trades = t;
        sync_emit(p->s, &ev);
    }
    if (p->s->stopped && !atomic_load(&p->stopping)) ask_stop(p);
}

/* A job's client (sharing the session client's limits) and day source. */
static agt_status job_open(job_pool *p, pool_job *j, const job_plan *plan, agt_lake **lakep,
                           agt_error *err)
{
    agt_client_opts o;
    agt_client *session;
    agt_error e;
    agt_error_clear(&e);
    j->pool = p;
    AGT_TRY(sync_client(p->s, &session, err));
    sync_client_opts(p->s, job_progress, j, &o);
    agt_status st = agt_client_new(&o, &j->client, &e);
    if (st != AGT_OK) return agt_err(err, st, "cannot create the exchange client: %s", e.message);
    agt_client_share_limits(j->client, session);
    if (plan->day_source)
        AGT_TRY(job_source_make(p->s, j->client, job_progress, j, &j->archive, &j->source, err));
    j->f.s = p->s;
    j->f.client = j->client;
    j->f.view = *plan;
    j->f.view.day_source = j->source;
    j->f.view.archive = j->archive;
    j->f.lakep = lakep;
    j->f.lake_mu = &p->lake_mu;
    j->f.received = &j->received;
    return AGT_OK;
}

agt_status job_pool_start(agt_sync *s, const job_plan *plan, agt_lake **lakep,
                          const job_unit *units, size_t n, int jobs, job_pool **out,
                          agt_error *err)
{
    *out = NULL;
    job_pool *p = calloc(1, sizeof *p);
    if (!p) return agt_err(err, AGT_ENOMEM, "out of memory");
    p->s = s;
    p->units = units;
    p->n = n;
    p->window = (size_t)jobs + 1;
    p->slots = calloc(p->window, sizeof *p->slots);
    p->ready = calloc(p->window, sizeof *p->ready);
    p->jobs = calloc((size_t)jobs, sizeof *p->jobs);
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->lake_mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    atomic_init(&p->stopping, 0);
    atomic_init(&p->bytes, 0);
    atomic_init(&p->trades, 0);
    *out = p; /* job_pool_stop frees whatever was made */
    if (!p->slots || !p->ready || !p->jobs) return agt_err(err, AGT_ENOMEM, "out of memory");
    for (size_t k = 0; k < p->window; k++) job_result_init(&p->slots[k]);
    for (int k = 0; k < jobs; k++) {
        p->njobs++; /* freed by job_pool_stop even if half made */
        AGT_TRY(job_open(p, &p->jobs[k], plan, lakep, err));
    }
    for (int k = 0; k < jobs; k++) {
        if (pthread_create(&p->jobs[k].tid, NULL, job_main, &p->jobs[k]) != 0)
            return agt_err_sys(err, errno, "cannot start a job");
        p->jobs[k].started = 1;
    }
    return AGT_OK;
}

pthread_mutex_t *job_pool_lake_mutex(job_pool *p)
{
    return &p->lake_mu;
}

job_result *job_pool_wait(job_pool *p, size_t i)
{
    size_t slot = i % p->window;
    pthread_mutex_lock(&p->mu);
    while (p->ready[slot] != i + 1) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 100 * 1000 * 1000; /* report progress ten times a second */
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&p->done, &p->mu, &until);
        pthread_mutex_unlock(&p->mu);
        job_pool_report(p);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    job_pool_report(p);
    return &p->slots[slot];
}

void job_pool_settled(job_pool *p, size_t i)
{
    pthread_mutex_lock(&p->mu);
    p->ready[i % p->window] = 0;
    p->settled = i + 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    if (p->s->stopped) ask_stop(p);
}

void job_pool_stop(job_pool *p)
{
    if (!p) return;
    ask_stop(p);
    for (int k = 0; k < p->njobs; k++)
        if (p->jobs[k].started) pthread_join(p->jobs[k].tid, NULL);
    uint64_t b = atomic_exchange(&p->bytes, 0);
    if (p->s->rep) p->s->rep->bytes += b; /* the run is over: counted, not reported */
    for (int k = 0; k < p->njobs; k++) {
        agt_source_free(p->jobs[k].source);
        agt_archive_free(p->jobs[k].archive);
        agt_client_free(p->jobs[k].client);
    }
    for (size_t k = 0; p->slots && k < p->window; k++) job_result_clear(&p->slots[k]);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->lake_mu);
    free(p->slots);
    free(p->ready);
    free(p->jobs);
    free(p);
}
