/*
 * pool.c - parallel jobs of a run: N threads fetch and stream the plan's
 * units while the caller's thread commits them.
 *
 * Each job has its own exchange client (its own connection) and its own
 * archive handle and day source, so the downloads, the REST proofs and the
 * reading of several units overlap; the clients share the session client's
 * rate limiter, so REST spends one weight budget and every 429/418 keeps
 * all jobs away (src/net/limiter.c).
 *
 * The jobs take units in plan order, at most `window` = 2 x jobs units
 * ahead of the committer (unit i uses slot i % window, free again once the
 * committer has settled unit i - window). An hour unit is fetched whole
 * into its slot. An archive unit (a day, or a month) is streamed by its job
 * exactly as one job streams it (job_stream_unit: the verified file, its
 * rows cut into hours on the job's thread, the two REST proofs, REST for
 * what the file does not prove), and each hour, once decided, is handed to
 * the committer through the slot's queue of pieces; the job then takes its
 * next unit. So the proofs' round trips of several days overlap instead of
 * waiting, one after the other, between the commits.
 *
 * Memory: the rows the jobs hold - pieces waiting, hours being collected,
 * REST pages of hours being fetched, the batches a file's reader reads
 * ahead - stay within one budget for all jobs (BUDGET), the committer's
 * current unit excepted. Before a job holds more rows (the source's gate,
 * agt_rows_gate: a batch of its file, a page, a reader's ring) it waits
 * until they fit, unless its unit is the one the committer settles and
 * none of that unit's hours waits for it: that unit, whose rows the
 * committer frees as it commits them, always goes on, so nothing waits for
 * ever, and beyond the budget the run holds what one job holds (the hour
 * being collected, the one being committed). Small days are thus streamed
 * whole, proofs included, ahead of their turn; big ones wait in the budget.
 * Rows are counted at ROW_BYTES each; what the heap holds for them is up to
 * about twice that (tables grow by doubling; sorting a REST hour copies it),
 * so with BUDGET = 8 MiB the jobs add up to ~16 MiB to one job's peak.
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
 * response, or their next wait in the budget, like a single job.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "source/source_int.h"
#include "sync/sync_int.h"

/* The rows all jobs may hold beyond the committer's current unit (what
 * that costs in memory: above). */
#define BUDGET ((uint64_t)8 << 20)
/* What a row of agt_trades takes: four 8-byte columns and a flag. */
#define ROW_BYTES (4 * sizeof(int64_t) + 1)

typedef struct pool_job {
    job_pool *pool;
    job_fetcher f;
    agt_client *client;
    agt_archive *archive;
    agt_source *source;
    uint64_t received; /* this job's response bytes (its thread only) */
    size_t unit;       /* the unit it works on (guarded by the pool's mu) */
    pthread_t tid;
    int started;
} pool_job;

/* A unit in flight. */
typedef struct pool_slot {
    size_t done;          /* i + 1 once its job is done with unit i */
    job_result res;       /* an hour unit, fetched */
    job_piece *head, *tail; /* an archive unit: what its job handed on, not taken yet */
    size_t hours;         /* hours among them */
    agt_status end_st;    /* an archive unit: how its stream ended */
    agt_error end_err;
    uint64_t charged;     /* budget bytes its rows hold */
} pool_slot;

struct job_pool {
    agt_sync *s;
    const job_unit *units;
    size_t n;
    size_t window;
    pool_slot *slots;    /* window of them */
    pthread_mutex_t mu;  /* guards what follows, the slots and the jobs' `unit` */
    pthread_cond_t work; /* a job may take a unit, or must stop */
    pthread_cond_t done; /* a unit was fetched, or a piece handed on */
    pthread_cond_t room; /* the budget has room, the committer moved on, or stop */
    pthread_mutex_t lake_mu;
    size_t next;         /* the next unit a job takes */
    size_t settled;      /* units settled by the committer: the next is its current */
    uint64_t held;       /* budget bytes held */
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

/* Hold `bytes` more of the budget for job j's unit (into *charged), waiting until they fit unless the unit is the committer's and
 * none of its hours waits for it. AGT_ECANCELLED once the run stops. */
static agt_status hold(pool_job *j, uint64_t bytes, uint64_t *charged)
{
    job_pool *p = j->pool;
    pthread_mutex_lock(&p->mu);
    pool_slot *sl = &p->slots[j->unit % p->window];
    while (!p->stop && p->held + bytes > BUDGET && !(j->unit == p->settled && sl->hours == 0))
        pthread_cond_wait(&p->room, &p->mu);
    int stop = p->stop;
    if (!stop) {
        p->held += bytes;
        *charged += bytes;
    }
    pthread_mutex_unlock(&p->mu);
    return stop ? AGT_ECANCELLED : AGT_OK;
}

/* Give `bytes` of the budget back (p->mu held). */
static void give_back(job_pool *p, uint64_t bytes)
{
    p->held -= bytes < p->held ? bytes : p->held;
    pthread_cond_broadcast(&p->room);
}

/* Give back what `rows` of slot sl's charge hold (at most its charge). */
static void uncharge(job_pool *p, pool_slot *sl, uint64_t rows)
{
    uint64_t b = rows * ROW_BYTES;
    pthread_mutex_lock(&p->mu);
    if (b > sl->charged) b = sl->charged;
    sl->charged -= b;
    give_back(p, b);
    pthread_mutex_unlock(&p->mu);
}

/* The gate of a job's source and fetcher: rows its unit is about to hold,
 * or (negative) no longer holds. */
static agt_status job_gate(void *user, int64_t rows)
{
    pool_job *j = user;
    job_pool *p = j->pool;
    pool_slot *sl = &p->slots[j->unit % p->window];
    if (rows >= 0) return hold(j, (uint64_t)rows * ROW_BYTES, &sl->charged);
    uncharge(p, sl, (uint64_t)-rows);
    return AGT_OK;
}

/* Append a piece to job j's slot for the committer. */
static void hand_on(pool_job *j, job_piece *pc)
{
    job_pool *p = j->pool;
    pthread_mutex_lock(&p->mu);
    pool_slot *sl = &p->slots[j->unit % p->window];
    if (sl->tail) sl->tail->next = pc;
    else sl->head = pc;
    sl->tail = pc;
    sl->hours += !pc->is_note;
    pthread_cond_broadcast(&p->done);
    pthread_mutex_unlock(&p->mu);
}

/* The sink of a job's stream: each hour, and each note, to the committer. */
static agt_status job_hand_hour(void *user, agt_day_hour *dh, const char *why, uint64_t bytes)
{
    pool_job *j = user;
    job_piece *pc = calloc(1, sizeof *pc);
    if (!pc) return AGT_ENOMEM;
    pc->dh = *dh;
    agt_trades_init(&dh->rows); /* the rows go with the piece */
    snprintf(pc->text, sizeof pc->text, "%s", why);
    pc->bytes = bytes;
    hand_on(j, pc);
    return atomic_load(&j->pool->stopping) ? AGT_ECANCELLED : AGT_OK;
}

static void job_hand_note(void *user, const char *line)
{
    job_piece *pc = calloc(1, sizeof *pc);
    if (!pc) return; /* out of memory: the line is lost, not the unit */
    pc->is_note = 1;
    agt_trades_init(&pc->dh.rows);
    snprintf(pc->text, sizeof pc->text, "%s", line);
    hand_on(user, pc);
}

/* Archive unit i on job j: streamed to the committer (the file's download included). */
static void job_stream(pool_job *j, size_t i, pool_slot *sl)
{
    const job_unit *u = &j->pool->units[i];
    uint64_t since = j->received;
    unit_sink sink = { job_hand_hour, job_hand_note, j };
    agt_error_clear(&sl->end_err);
    sl->end_st = job_stream_unit(&j->f, u, since, &sink, &sl->end_err);
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
        pool_slot *sl = &p->slots[i % p->window];
        j->unit = i;
        pthread_mutex_unlock(&p->mu);
        if (p->units[i].kind == JOB_UNIT_HOUR) job_fetch_unit(&j->f, &p->units[i], &sl->res);
        else job_stream(j, i, sl);
        pthread_mutex_lock(&p->mu);
        sl->done = i + 1;
        pthread_cond_broadcast(&p->done);
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
    pthread_cond_broadcast(&p->room);
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
    j->f.gate = job_gate;
    j->f.gate_user = j;
    if (j->source) agt_source_set_gate(j->source, job_gate, j);
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
    p->window = 2 * (size_t)jobs;
    p->slots = calloc(p->window, sizeof *p->slots);
    p->jobs = calloc((size_t)jobs, sizeof *p->jobs);
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->lake_mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    pthread_cond_init(&p->room, NULL);
    atomic_init(&p->stopping, 0);
    atomic_init(&p->bytes, 0);
    atomic_init(&p->trades, 0);
    *out = p; /* job_pool_stop frees whatever was made */
    if (!p->slots || !p->jobs) return agt_err(err, AGT_ENOMEM, "out of memory");
    for (size_t k = 0; k < p->window; k++) job_result_init(&p->slots[k].res);
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

/* Wait, reporting ten times a second, until unit i's slot holds something
 * for the committer (p->mu held, and held again on return). */
static void wait_for(job_pool *p, size_t i, int pieces)
{
    pool_slot *sl = &p->slots[i % p->window];
    while (sl->done != i + 1 && !(pieces && sl->head)) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 100 * 1000 * 1000;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&p->done, &p->mu, &until);
        pthread_mutex_unlock(&p->mu);
        job_pool_report(p);
        pthread_mutex_lock(&p->mu);
    }
}

job_result *job_pool_wait(job_pool *p, size_t i)
{
    pthread_mutex_lock(&p->mu);
    wait_for(p, i, 0);
    pthread_mutex_unlock(&p->mu);
    job_pool_report(p);
    return &p->slots[i % p->window].res;
}

job_piece *job_pool_next_piece(job_pool *p, size_t i, agt_status *st, agt_error *err)
{
    pool_slot *sl = &p->slots[i % p->window];
    pthread_mutex_lock(&p->mu);
    wait_for(p, i, 1);
    job_piece *pc = sl->head;
    if (pc) {
        sl->head = pc->next;
        if (!sl->head) sl->tail = NULL;
        sl->hours -= !pc->is_note;
        pthread_cond_broadcast(&p->room); /* its job may collect the next hour */
    } else {
        *st = sl->end_st;
        *err = sl->end_err;
    }
    pthread_mutex_unlock(&p->mu);
    return pc;
}

static void piece_free(job_piece *pc)
{
    agt_trades_release(&pc->dh.rows);
    free(pc);
}

void job_pool_piece_done(job_pool *p, size_t i, job_piece *pc)
{
    uint64_t rows = pc->dh.rows.len;
    piece_free(pc);
    uncharge(p, &p->slots[i % p->window], rows);
}

/* Empty a slot: its pieces freed, its budget given back (p->mu held). */
static void slot_clear(job_pool *p, pool_slot *sl)
{
    while (sl->head) {
        job_piece *pc = sl->head;
        sl->head = pc->next;
        piece_free(pc);
    }
    sl->tail = NULL;
    sl->hours = 0;
    give_back(p, sl->charged);
    sl->charged = 0;
    job_result_clear(&sl->res);
}

void job_pool_settled(job_pool *p, size_t i)
{
    pthread_mutex_lock(&p->mu);
    slot_clear(p, &p->slots[i % p->window]);
    p->settled = i + 1;
    if (p->s->stopped) { /* no job takes a unit into a slot still in use */
        p->stop = 1;
        atomic_store(&p->stopping, 1);
    }
    pthread_cond_broadcast(&p->work);
    pthread_cond_broadcast(&p->room);
    pthread_mutex_unlock(&p->mu);
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
    for (size_t k = 0; p->slots && k < p->window; k++) slot_clear(p, &p->slots[k]);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->room);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->lake_mu);
    free(p->slots);
    free(p->jobs);
    free(p);
}
