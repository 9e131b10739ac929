/*
 * verify.c - agt_sync_verify (aggtrades/verify.h): check the stored hours
 * of a symbol and, asked to, repair them, all over one open lake (under the
 * writer lock for a repair, so no other writer slips in between the check,
 * the refetch and the check after it).
 *
 * Order of work:
 *   1. the statistics index (agt_lake_verify_index): a damaged day file
 *      hides the stored range, so nothing else is checked until it is
 *      whole; a repair rebuilds it from the data files (derived data: no
 *      request) and looks again;
 *   2. the range: from the oldest committed hour (a lost first hour stays
 *      in it) to the end of the newest, unless given;
 *   3. a repair clears the leftovers no commit owns (agt_lake_tidy);
 *   4. the check: the lake's own (every data file re-hashed and decoded,
 *      ids contiguous and chained, orphans, the WAL) and the completeness
 *      scan (hours missing or not proven inside the range);
 *   5. a repair sets every damaged hour file aside (its hour then reads as
 *      lost), fetches every hour with a problem again (job_repair) and
 *      checks once more.
 */
#include <stdlib.h>
#include <string.h>

#include "aggtrades/verify.h"
#include "sync/sync_int.h"

static const char *const problem_names[] = { "missing", "damaged", "id gap", "incomplete",
                                             "stats",   "stray",   "wal",    "other" };

const char *agt_problem_name(agt_problem_kind k)
{
    return (unsigned)k < sizeof problem_names / sizeof problem_names[0] ? problem_names[k] : NULL;
}

/* ---- one check: its problems and open hours ------------------------------------------- */

typedef struct check_acc {
    agt_verify_check *c;
    size_t cap, capopen;
    int oom;
} check_acc;

static void add_problem(check_acc *a, agt_problem_kind kind, int64_t hour, const char *path,
                        const char *detail)
{
    agt_verify_check *c = a->c;
    if (c->nproblems == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 32;
        agt_verify_problem *v = realloc(c->problems, cap * sizeof *v);
        if (!v) {
            a->oom = 1;
            return;
        }
        c->problems = v;
        a->cap = cap;
    }
    agt_verify_problem *p = &c->problems[c->nproblems++];
    memset(p, 0, sizeof *p);
    p->kind = kind;
    p->hour_us = hour;
    agt_strlcpy(p->path, sizeof p->path, path ? path : "");
    agt_strlcpy(p->detail, sizeof p->detail, detail ? detail : "");
}

static void add_open(check_acc *a, int64_t hour)
{
    if (agt_i64s_append(&a->c->open_hours, &a->c->nopen, &a->capopen, &hour, 1) != AGT_OK) a->oom = 1;
}

static void check_release(agt_verify_check *c)
{
    free(c->problems);
    free(c->open_hours);
    memset(c, 0, sizeof *c);
}

/* What the lake's check reports, as the kind a user is told and a repair acts on. */
static agt_problem_kind kind_of(agt_verify_kind kind)
{
    switch (kind) {
    case AGT_VERIFY_UNREADABLE:
    case AGT_VERIFY_CHECKSUM:
    case AGT_VERIFY_STATS: return AGT_PROBLEM_DAMAGED;
    case AGT_VERIFY_NOT_CONTIGUOUS:
    case AGT_VERIFY_CHAIN: return AGT_PROBLEM_GAP;
    case AGT_VERIFY_MISSING_FILE: return AGT_PROBLEM_MISSING; /* deleted: fetched again */
    case AGT_VERIFY_INDEX:
    case AGT_VERIFY_STATS_MISSING: return AGT_PROBLEM_STATS; /* rebuilt from the data */
    case AGT_VERIFY_ORPHAN: return AGT_PROBLEM_STRAY;        /* cleared by agt_lake_tidy */
    case AGT_VERIFY_WAL: return AGT_PROBLEM_WAL;             /* set aside by the next writer */
    default: return AGT_PROBLEM_OTHER;
    }
}

static int on_lake_problem(void *user, agt_verify_kind kind, const char *path, int64_t hour,
                           const char *message)
{
    add_problem(user, kind_of(kind), hour, path, message);
    return 0;
}

static int on_hour(void *user, int64_t hour, agt_hour_status st, const agt_file_stats *fs)
{
    check_acc *a = user;
    a->c->hours++;
    if (st == AGT_HOUR_MISSING && fs) return 0; /* its file is gone: the lake's check said so */
    if (st == AGT_HOUR_MISSING) add_problem(a, AGT_PROBLEM_MISSING, hour, NULL, "never stored");
    else if (st == AGT_HOUR_INCOMPLETE && fs && job_fetched_open(hour, fs->fetched_at_us))
        add_open(a, hour); /* exact for its time: `update` completes it */
    else if (st == AGT_HOUR_INCOMPLETE)
        add_problem(a, AGT_PROBLEM_INCOMPLETE, hour, NULL, "not proven complete");
    else if (st == AGT_HOUR_GAP)
        add_problem(a, AGT_PROBLEM_GAP, hour, NULL,
                    "its first trade does not follow the previous hour's last");
    return a->oom;
}

static int cmp_problem(const void *a, const void *b)
{
    const agt_verify_problem *x = a, *y = b;
    if (x->hour_us != y->hour_us) return x->hour_us < y->hour_us ? -1 : 1;
    return (int)x->kind - (int)y->kind;
}

static void check_sort(agt_verify_check *c)
{
    if (c->nproblems) qsort(c->problems, c->nproblems, sizeof c->problems[0], cmp_problem);
}

/* ---- the call ------------------------------------------------------------------------- */

typedef struct vrun {
    agt_sync *s;
    agt_lake *lake;
    char sym[24];
    int repair;
    agt_verify_report *rep;
    agt_error *err;
} vrun;

/* A check ended: the report so far to the caller's callback. */
static void checked(vrun *v, agt_verify_stage stage)
{
    agt_sync_event ev;
    v->rep->stage = stage;
    sync_event_init(&ev, AGT_SYNC_CHECKED);
    ev.symbol = v->sym;
    ev.verify = v->rep;
    sync_emit(v->s, &ev);
}

/* The lake could not be checked: a lake status whatever the cause. */
static agt_status cannot_verify(vrun *v, agt_status st, const agt_error *why)
{
    return agt_err(v->err, sync_lake_status(st), "cannot verify '%s': %s", v->sym,
                   why->message[0] ? why->message : agt_status_name(st));
}

/* Step 1 over [lo, hi]; AGT_EINCOMPLETE while the index stays damaged. */
static agt_status check_index(vrun *v, int64_t lo, int64_t hi)
{
    agt_verify_check *c = &v->rep->index;
    check_acc a = { c, 0, 0, 0 };
    agt_error e;
    agt_error_clear(&e);
    agt_status st = agt_lake_verify_index(v->lake, v->sym, lo, hi, on_lake_problem, &a, NULL, &e);
    if (st == AGT_OK && !a.oom && c->nproblems && v->repair) {
        size_t days = 0;
        st = agt_lake_rebuild_stats(v->lake, v->sym, lo, hi, &days, &e);
        sync_lake_notices(v->s, v->lake); /* damaged data files set aside */
        if (st == AGT_ECORRUPT) { /* a damaged data file: the day stays as it was */
            check_sort(c);
            checked(v, AGT_VERIFY_STAGE_INDEX);
            return agt_err(v->err, AGT_EINCOMPLETE, "cannot rebuild the statistics of '%s': %s",
                           v->sym, e.message);
        }
        if (st == AGT_OK) {
            v->rep->stats_rebuilt = days;
            check_release(c);
            a = (check_acc){ c, 0, 0, 0 };
            st = agt_lake_verify_index(v->lake, v->sym, lo, hi, on_lake_problem, &a, NULL, &e);
        }
    }
    if (a.oom) st = agt_err(&e, AGT_ENOMEM, "out of memory");
    if (st != AGT_OK) return cannot_verify(v, st, &e);
    check_sort(c);
    checked(v, AGT_VERIFY_STAGE_INDEX);
    if (c->nproblems)
        return agt_err(v->err, AGT_EINCOMPLETE, "the statistics of '%s' are damaged%s", v->sym,
                       v->repair ? " and could not be rebuilt" : "");
    return AGT_OK;
}

/* Step 2: the range checked, from what is stored where not given. */
static agt_status find_range(vrun *v, int64_t start, int64_t end)
{
    int64_t newest = -1, oldest = -1;
    agt_error e;
    agt_error_clear(&e);
    agt_status st = agt_lake_newest(v->lake, v->sym, &newest, NULL, NULL, &e);
    if (st == AGT_ENOTFOUND) return job_nothing_stored(v->s, v->sym, v->err);
    if (st != AGT_OK) return sync_lake_error(v->s, st, &e, v->err);
    if (end < 0) end = newest + AGT_US_PER_HOUR - 1;
    if (start < 0) {
        st = agt_lake_oldest(v->lake, v->sym, &oldest, NULL, NULL, &e);
        if (st != AGT_OK && st != AGT_ENOTFOUND) return sync_lake_error(v->s, st, &e, v->err);
        start = oldest >= 0 && oldest <= end ? oldest : newest;
    }
    v->rep->start_us = start - start % AGT_US_PER_HOUR;
    v->rep->end_us = end;
    return AGT_OK;
}

/* Step 4 into `c`. */
static agt_status check_hours(vrun *v, agt_verify_check *c)
{
    check_acc a = { c, 0, 0, 0 };
    int64_t lo = v->rep->start_us, hi = v->rep->end_us;
    agt_error e;
    agt_error_clear(&e);
    agt_status st = agt_lake_verify(v->lake, v->sym, lo, hi, on_lake_problem, &a, NULL, &e);
    if (st == AGT_OK && !a.oom) st = agt_lake_scan_hours(v->lake, v->sym, lo, hi, on_hour, &a, &e);
    if (a.oom) st = agt_err(&e, AGT_ENOMEM, "out of memory");
    if (st != AGT_OK) return cannot_verify(v, st, &e);
    check_sort(c);
    return AGT_OK;
}

/* Step 5: every damaged hour file set aside, so the fetch commits the hour afresh. */
static agt_status set_aside_damaged(vrun *v)
{
    const agt_verify_check *c = &v->rep->found;
    for (size_t i = 0; i < c->nproblems; i++) {
        if (c->problems[i].kind != AGT_PROBLEM_DAMAGED || c->problems[i].hour_us < 0) continue;
        agt_error e;
        agt_error_clear(&e);
        agt_status st = agt_lake_quarantine_hour(v->lake, v->sym, c->problems[i].hour_us, NULL, 0, &e);
        sync_lake_notices(v->s, v->lake);
        if (st != AGT_OK) return sync_lake_error(v->s, st, &e, v->err);
    }
    return AGT_OK;
}

/* Step 5: the hours with a problem, fetched again (none: what the lake could do alone is done). */
static agt_status refetch(vrun *v)
{
    const agt_verify_check *c = &v->rep->found;
    agt_verify_report *rep = v->rep;
    if (!(rep->refetched = calloc(c->nproblems ? c->nproblems : 1, sizeof *rep->refetched)))
        return agt_err(v->err, AGT_ENOMEM, "out of memory");
    for (size_t i = 0; i < c->nproblems; i++)
        if (c->problems[i].hour_us >= 0) rep->refetched[rep->nrefetched++] = c->problems[i].hour_us;
    if (rep->nrefetched == 0) return AGT_OK;
    qsort(rep->refetched, rep->nrefetched, sizeof rep->refetched[0], agt_cmp_i64);
    size_t n = 1;
    for (size_t i = 1; i < rep->nrefetched; i++)
        if (rep->refetched[i] != rep->refetched[n - 1]) rep->refetched[n++] = rep->refetched[i];
    rep->nrefetched = n;
    agt_error_clear(&rep->refetch_error);
    rep->refetch_status =
        job_repair(v->s, v->lake, v->sym, rep->refetched, n, &rep->refetch, &rep->refetch_error);
    v->s->verb = "verify"; /* the run had its own */
    if (rep->refetch_status != AGT_OK && v->err) *v->err = rep->refetch_error;
    return rep->refetch_status;
}

static agt_status problems_left(vrun *v, const agt_verify_check *c)
{
    char n[32];
    agt_format_count(c->nproblems, n, sizeof n);
    return agt_err(v->err, AGT_EINCOMPLETE, "%s problem%s in the stored hours of '%s'", n,
                   c->nproblems == 1 ? "" : "s", v->sym);
}

/* Steps 1 to 5 over the open lake. */
static agt_status verify_open(vrun *v, int64_t start, int64_t end)
{
    agt_verify_report *rep = v->rep;
    agt_error e;
    AGT_TRY(check_index(v, start < 0 ? 0 : start, end < 0 ? INT64_MAX : end));
    AGT_TRY(find_range(v, start, end));
    if (v->repair) {
        agt_error_clear(&e);
        agt_status st = agt_lake_tidy(v->lake, v->sym, start < 0 ? 0 : start,
                                      end < 0 ? INT64_MAX : end, NULL, &e);
        sync_lake_notices(v->s, v->lake);
        if (st != AGT_OK) return sync_lake_error(v->s, st, &e, v->err);
    }
    AGT_TRY(check_hours(v, &rep->found));
    checked(v, AGT_VERIFY_STAGE_HOURS);
    if (rep->found.nproblems == 0) return AGT_OK;
    if (!v->repair) return problems_left(v, &rep->found);
    if (v->s->stopped) return agt_err(v->err, AGT_ECANCELLED, "interrupted before the repair");

    AGT_TRY(set_aside_damaged(v));
    agt_status fetched = refetch(v);
    if (fetched != AGT_OK && fetched != AGT_EINCOMPLETE) return fetched;
    AGT_TRY(check_hours(v, &rep->after));
    checked(v, AGT_VERIFY_STAGE_AFTER);
    if (fetched == AGT_EINCOMPLETE) return fetched; /* hours in .retry: its message stays */
    return rep->after.nproblems ? problems_left(v, &rep->after) : AGT_OK;
}

agt_status agt_sync_verify(agt_sync *s, const char *symbol, int64_t start_us, int64_t end_us,
                           int repair, agt_verify_report **out, agt_error *err)
{
    vrun v;
    *out = NULL;
    memset(&v, 0, sizeof v);
    AGT_TRY(agt_symbol_normalize(symbol, v.sym, err));
    if (start_us >= 0 && end_us >= 0 && end_us < start_us)
        return agt_err(err, AGT_EINVAL, "reversed range: the end is before the start");
    if (!(v.rep = calloc(1, sizeof *v.rep))) return agt_err(err, AGT_ENOMEM, "out of memory");
    v.rep->start_us = v.rep->end_us = -1;
    *out = v.rep;
    v.s = s;
    v.repair = repair;
    v.err = err;
    s->verb = "verify";
    s->stopped = 0;
    /* no lake at the root is bad input, as for every reader (a writer would create one) */
    agt_status st = sync_root_exists(s) ? AGT_OK : sync_no_lake(s, err);
    if (st == AGT_OK) st = sync_lake_open_as(s, repair ? AGT_LAKE_WRITE : AGT_LAKE_READ, &v.lake, err);
    if (st == AGT_OK) st = verify_open(&v, start_us, end_us);
    agt_lake_close(v.lake);
    s->verb = NULL;
    return st;
}

void agt_verify_report_free(agt_verify_report *r)
{
    if (!r) return;
    check_release(&r->index);
    check_release(&r->found);
    check_release(&r->after);
    free(r->refetched);
    free(r);
}
