/*
 * plan.c - what each run fetches, decided before any data request:
 *   download  every hour of the days asked for that the lake does not
 *             prove complete; a day with no hour stored and older than the
 *             exchange's yesterday is one unit for the day source;
 *   update    from the newest stored trade's hour (force: the first stored
 *             trade's) to the exchange's current hour;
 *   retry     the units of <root>/.retry, hour by hour with rest;
 *   repair    the hours verification found wrong, fetched again.
 * Then engine.c runs the plan.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/sync_int.h"

/* ---- the plan ------------------------------------------------------------------------ */

agt_status job_add_hour(job_symbol *s, int64_t hour_us, int day_index)
{
    if (s->nhours == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        job_hour *h = realloc(s->hours, cap * sizeof *h);
        if (!h) return AGT_ENOMEM;
        s->hours = h;
        s->cap = cap;
    }
    s->hours[s->nhours].hour_us = hour_us;
    s->hours[s->nhours].day_index = day_index;
    s->hours[s->nhours].whole_day = 0; /* an hour unless its day is marked */
    s->nhours++;
    return AGT_OK;
}

static int cmp_hour(const void *a, const void *b)
{
    const job_hour *x = a, *y = b;
    return x->hour_us < y->hour_us ? -1 : x->hour_us > y->hour_us;
}

void job_sort_hours(job_symbol *s)
{
    if (s->nhours == 0) return;
    qsort(s->hours, s->nhours, sizeof s->hours[0], cmp_hour);
    size_t k = 1;
    for (size_t i = 1; i < s->nhours; i++)
        if (s->hours[i].hour_us != s->hours[k - 1].hour_us) s->hours[k++] = s->hours[i];
    s->nhours = k;
}

job_symbol *job_plan_symbol(job_plan *p, const char *symbol)
{
    size_t k = 0;
    while (k < p->nsyms && strcmp(p->syms[k].symbol, symbol)) k++;
    if (k == p->nsyms) {
        memset(&p->syms[k], 0, sizeof p->syms[k]);
        agt_strlcpy(p->syms[k].symbol, sizeof p->syms[k].symbol, symbol);
        p->nsyms++;
    }
    return &p->syms[k];
}

agt_status job_plan_symbols(job_plan *p, const char *const *symbols, size_t n, agt_error *err)
{
    if (n == 0) return agt_err(err, AGT_EINVAL, "no symbol given");
    p->syms = calloc(n, sizeof *p->syms);
    if (!p->syms) return agt_err(err, AGT_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        char sym[24];
        AGT_TRY(agt_symbol_normalize(symbols[i], sym, err));
        job_plan_symbol(p, sym);
    }
    return AGT_OK;
}

void job_plan_release(job_plan *p)
{
    job_source_close(p);
    for (size_t i = 0; i < p->nsyms; i++) free(p->syms[i].hours);
    free(p->syms);
    p->syms = NULL;
    p->nsyms = 0;
}

/* "YYYY-MM-DD" of a time. */
static void date_str(int64_t us, char out[16])
{
    agt_tm tm;
    agt_tm_from_us(us, &tm);
    snprintf(out, 16, "%04d-%02d-%02d", tm.year % 10000, tm.month, tm.day);
}

/* Start a call: its report (the caller's, or the session's own) and its plan. */
static void run_begin(agt_sync *s, agt_sync_report *rep, job_plan *plan, const char *verb)
{
    s->rep = rep ? rep : &s->scratch;
    memset(s->rep, 0, sizeof *s->rep);
    memset(plan, 0, sizeof *plan);
    plan->verb = verb;
}

/* End a call: free the lake and the plan; the report is the caller's again. */
static agt_status run_end(agt_sync *s, agt_lake *lake, job_plan *plan, agt_status st)
{
    agt_lake_close(lake);
    job_plan_release(plan);
    s->rep = NULL;
    return st;
}

/* Run the plan over `lake` (NULL: opened when needed), then end the call. */
static agt_status run_and_release(agt_sync *s, agt_lake *lake, job_plan *plan, agt_error *err)
{
    agt_status st = job_run(s, &lake, plan, s->rep, err);
    return run_end(s, lake, plan, st);
}

/* ---- download ------------------------------------------------------------------------ */

struct scan_acc {
    job_symbol *sym;
    int64_t now_us;
    int64_t first_day_us;
    char *bad_day;          /* per day: 1 if some hour must be fetched (or lies ahead) */
    unsigned char *missing; /* per day: hours never stored */
    agt_status err;
};

static int on_download_hour(void *user, int64_t hour_us, agt_hour_status st,
                            const agt_file_stats *fs)
{
    struct scan_acc *a = user;
    (void)fs;
    int day = (int)((hour_us - a->first_day_us) / AGT_US_PER_DAY);
    if (st == AGT_HOUR_COMPLETE) return 0;
    a->bad_day[day] = 1;
    if (st == AGT_HOUR_MISSING) a->missing[day]++;
    if (hour_us > a->now_us) return 0; /* not begun yet: nothing to fetch */
    if (job_add_hour(a->sym, hour_us, day) != AGT_OK) {
        a->err = AGT_ENOMEM;
        return 1;
    }
    return 0;
}

/* The range download takes: whole UTC days from the first day with trades
 * to the exchange's today (checked once the clock is known). */
static agt_status check_days(int64_t start_us, int64_t end_us, agt_error *err)
{
    char a[16], b[16];
    date_str(start_us, a);
    date_str(end_us, b);
    if (start_us % AGT_US_PER_DAY != 0 || (end_us + 1) % AGT_US_PER_DAY != 0)
        return agt_err(err, AGT_EINVAL, "download takes whole UTC days (start at midnight, end "
                                        "at the last microsecond of a day)");
    if (start_us < AGT_EPOCH_US)
        return agt_err(err, AGT_EINVAL, "start '%s' is before %s, the first day with aggregate trades",
                       a, AGT_EPOCH_DATE);
    if (end_us < start_us)
        return agt_err(err, AGT_EINVAL, "reversed range: end '%s' is before start '%s'", b, a);
    return AGT_OK;
}

/* The hours of one symbol the lake does not prove complete, days marked whole
 * where no hour is stored and the day source may bring them. */
static agt_status plan_download_symbol(agt_sync *s, agt_lake *lake, job_plan *plan, job_symbol *sym,
                                       int64_t start_us, int64_t end_us, int64_t now_us,
                                       struct scan_acc *acc, int ndays, agt_error *err)
{
    acc->sym = sym;
    acc->now_us = now_us;
    acc->first_day_us = start_us;
    acc->err = AGT_OK;
    memset(acc->bad_day, 0, (size_t)ndays);
    memset(acc->missing, 0, (size_t)ndays);
    if (lake) {
        agt_error e;
        agt_error_clear(&e);
        agt_status st = agt_lake_scan_hours(lake, sym->symbol, start_us, end_us, on_download_hour,
                                            acc, &e);
        if (st == AGT_OK && acc->err) st = agt_err(&e, acc->err, "out of memory");
        if (st != AGT_OK) return sync_lake_error(s, st, &e, err);
    } else {
        for (int64_t h = start_us; h <= end_us; h += AGT_US_PER_HOUR)
            if (on_download_hour(acc, h, AGT_HOUR_MISSING, NULL))
                return agt_err(err, AGT_ENOMEM, "out of memory");
    }
    for (size_t h = 0; h < sym->nhours; h++) {
        int d = sym->hours[h].day_index;
        sym->hours[h].whole_day =
            acc->missing[d] == 24 && job_day_unit_ok(plan, start_us + d * AGT_US_PER_DAY, now_us);
    }
    for (int d = 0; d < ndays; d++)
        if (!acc->bad_day[d]) sym->days_skipped++;
    return AGT_OK;
}

agt_status agt_sync_download(agt_sync *s, const char *const *symbols, size_t n, int64_t start_us,
                             int64_t end_us, agt_sync_report *rep, agt_error *err)
{
    job_plan plan;
    agt_lake *lake = NULL;
    int64_t now_us;
    run_begin(s, rep, &plan, "download");
    agt_status st = job_plan_symbols(&plan, symbols, n, err);
    if (st == AGT_OK) st = check_days(start_us, end_us, err);
    if (st == AGT_OK) st = sync_root_check(s, err);
    if (st == AGT_OK) st = job_source_open(s, &plan, err);
    if (st == AGT_OK) st = sync_server_time_for(s, plan.syms[0].symbol, &now_us, err);
    if (st == AGT_OK && end_us >= now_us - now_us % AGT_US_PER_DAY + AGT_US_PER_DAY) {
        char end[16], today[16];
        date_str(end_us, end);
        date_str(now_us, today);
        st = agt_err(err, AGT_EINVAL, "end '%s' is in the future (the exchange's date is %s)", end,
                     today);
    }
    /* what is missing: an existing lake is asked, a new one lacks everything */
    int ndays = st == AGT_OK ? (int)((end_us + 1 - start_us) / AGT_US_PER_DAY) : 0;
    struct scan_acc acc;
    memset(&acc, 0, sizeof acc);
    if (st == AGT_OK) {
        acc.bad_day = malloc((size_t)ndays);
        acc.missing = malloc((size_t)ndays);
        if (!acc.bad_day || !acc.missing) st = agt_err(err, AGT_ENOMEM, "out of memory");
    }
    if (st == AGT_OK && sync_root_exists(s)) st = sync_lake_open(s, &lake, err);
    for (size_t i = 0; i < plan.nsyms && st == AGT_OK; i++)
        st = plan_download_symbol(s, lake, &plan, &plan.syms[i], start_us, end_us, now_us, &acc,
                                  ndays, err);
    free(acc.bad_day);
    free(acc.missing);
    if (st != AGT_OK) return run_end(s, lake, &plan, st);
    return run_and_release(s, lake, &plan, err);
}

/* ---- update -------------------------------------------------------------------------- */

struct upd_acc {
    job_symbol *sym;
    int64_t first_day_us;
    int force;
    int err;
};

static int on_update_hour(void *user, int64_t hour_us, agt_hour_status st, const agt_file_stats *fs)
{
    struct upd_acc *a = user;
    (void)fs;
    if (st == AGT_HOUR_COMPLETE && !a->force) return 0;
    if (job_add_hour(a->sym, hour_us, (int)((hour_us - a->first_day_us) / AGT_US_PER_DAY))) {
        a->err = 1;
        return 1;
    }
    return 0;
}

agt_status job_nothing_stored(const agt_sync *s, const char *symbol, agt_error *err)
{
    return agt_err(err, AGT_ENOTFOUND, "nothing stored for '%s' in '%s'",
                   symbol, s->root);
}

/* Where a symbol stands: the first hour update fetches (-1: nothing stored). */
static agt_status update_from(agt_sync *s, agt_lake *lake, const char *symbol, int force,
                              int64_t *from, agt_error *err)
{
    agt_error e;
    int64_t newest = -1, last_ts = -1, last_id = -1, first = -1;
    agt_error_clear(&e);
    agt_status st = agt_lake_newest(lake, symbol, &newest, &last_ts, &last_id, &e);
    if (st == AGT_ENOTFOUND) return job_nothing_stored(s, symbol, err);
    if (st != AGT_OK) return sync_lake_error(s, st, &e, err);
    *from = last_ts >= 0 ? last_ts - last_ts % AGT_US_PER_HOUR : newest;
    if (force)
        AGT_TRY(sync_first_stored_hour(s, lake, symbol, newest + AGT_US_PER_HOUR - 1, &first, err));
    if (first >= 0) *from = first;
    return AGT_OK;
}

agt_status agt_sync_update(agt_sync *s, const char *const *symbols, size_t n, int force,
                           agt_sync_report *rep, agt_error *err)
{
    job_plan plan;
    agt_lake *lake = NULL;
    int64_t *from = NULL, now_us = 0;
    run_begin(s, rep, &plan, "update");
    agt_status st = job_plan_symbols(&plan, symbols, n, err);
    if (st == AGT_OK && !sync_root_exists(s)) st = job_nothing_stored(s, plan.syms[0].symbol, err);
    if (st == AGT_OK) st = sync_lake_open(s, &lake, err);
    /* where each symbol stands, before any request */
    if (st == AGT_OK && !(from = calloc(plan.nsyms, sizeof *from)))
        st = agt_err(err, AGT_ENOMEM, "out of memory");
    for (size_t i = 0; i < plan.nsyms && st == AGT_OK; i++)
        st = update_from(s, lake, plan.syms[i].symbol, force, &from[i], err);
    if (st == AGT_OK) st = job_source_open(s, &plan, err);
    if (st == AGT_OK) st = sync_server_time_for(s, plan.syms[0].symbol, &now_us, err);
    int64_t now_hour = now_us - now_us % AGT_US_PER_HOUR;
    for (size_t i = 0; i < plan.nsyms && st == AGT_OK; i++) {
        job_symbol *sym = &plan.syms[i];
        struct upd_acc acc = { sym, from[i] - from[i] % AGT_US_PER_DAY, force, 0 };
        agt_error e;
        agt_error_clear(&e);
        if (from[i] > now_hour) continue; /* stored data ahead of the exchange's clock */
        st = agt_lake_scan_hours(lake, sym->symbol, from[i], now_hour, on_update_hour, &acc, &e);
        if (st == AGT_OK && acc.err) st = agt_err(&e, AGT_ENOMEM, "out of memory");
        if (st != AGT_OK) st = sync_lake_error(s, st, &e, err);
        else job_mark_day_units(&plan, sym, now_us);
    }
    free(from);
    if (st != AGT_OK) return run_end(s, lake, &plan, st);
    return run_and_release(s, lake, &plan, err);
}

/* ---- retry and repair -------------------------------------------------------------------- */

static agt_status need_lake(agt_sync *s, agt_lake **lake, agt_error *err)
{
    if (!sync_root_exists(s))
        return sync_no_lake(s, err);
    return sync_lake_open(s, lake, err);
}

agt_status agt_sync_retry(agt_sync *s, agt_sync_report *rep, agt_error *err)
{
    job_plan plan;
    retry_list rl;
    agt_lake *lake = NULL;
    memset(&rl, 0, sizeof rl);
    run_begin(s, rep, &plan, "retry");
    agt_status st = need_lake(s, &lake, err);
    if (st == AGT_OK) st = retry_load(s, lake, &rl, err);
    if (st == AGT_OK && rl.n == 0) return run_end(s, lake, &plan, AGT_OK); /* nothing to retry */
    /* group by symbol, first appearance order */
    if (st == AGT_OK && !(plan.syms = calloc(rl.n, sizeof *plan.syms)))
        st = agt_err(err, AGT_ENOMEM, "out of memory");
    for (size_t i = 0; i < rl.n && st == AGT_OK; i++)
        if (job_add_hour(job_plan_symbol(&plan, rl.v[i].symbol), rl.v[i].hour_us, 0) != AGT_OK)
            st = agt_err(err, AGT_ENOMEM, "out of memory");
    retry_list_release(&rl);
    if (st != AGT_OK) return run_end(s, lake, &plan, st);
    for (size_t k = 0; k < plan.nsyms; k++) job_sort_hours(&plan.syms[k]);
    /* single hours with rest; the day source only fills the hours rest cannot
     * prove (the REST history floor) from the archive, under the auto policy */
    st = job_source_open(s, &plan, err);
    if (st != AGT_OK) return run_end(s, lake, &plan, st);
    return run_and_release(s, lake, &plan, err);
}

/* The plan of a repair: the hours of one symbol, checked, sorted, unique. */
static agt_status plan_repair(job_plan *plan, const char *symbol, const int64_t *hours, size_t n,
                              agt_error *err)
{
    agt_status st = job_plan_symbols(plan, &symbol, 1, err);
    for (size_t i = 0; i < n && st == AGT_OK; i++) {
        if (hours[i] < 0 || hours[i] % AGT_US_PER_HOUR != 0)
            st = agt_err(err, AGT_EINVAL, "%lld is not the start of an hour", (long long)hours[i]);
        else if (job_add_hour(&plan->syms[0], hours[i], 0) != AGT_OK)
            st = agt_err(err, AGT_ENOMEM, "out of memory");
    }
    if (st == AGT_OK) job_sort_hours(&plan->syms[0]);
    return st;
}

/* Run a repair plan over the open lake: whole old days by the session's source policy. */
static agt_status run_repair(agt_sync *s, agt_lake **lake, job_plan *plan, agt_error *err)
{
    int64_t now_us;
    agt_status st = job_source_open(s, plan, err);
    if (st == AGT_OK && plan->day_source) { /* which days are old enough: the exchange's clock says */
        st = sync_server_time_for(s, plan->syms[0].symbol, &now_us, err);
        if (st == AGT_OK) job_mark_day_units(plan, &plan->syms[0], now_us);
    }
    return st == AGT_OK ? job_run(s, lake, plan, s->rep, err) : st;
}

agt_status agt_sync_repair_hours(agt_sync *s, const char *symbol, const int64_t *hours, size_t n,
                                 agt_sync_report *rep, agt_error *err)
{
    job_plan plan;
    agt_lake *lake = NULL;
    run_begin(s, rep, &plan, "repair");
    agt_status st = plan_repair(&plan, symbol, hours, n, err);
    if (st == AGT_OK) st = need_lake(s, &lake, err);
    if (st == AGT_OK) st = run_repair(s, &lake, &plan, err);
    return run_end(s, lake, &plan, st);
}

agt_status job_repair(agt_sync *s, agt_lake *lake, const char *symbol, const int64_t *hours,
                      size_t n, agt_sync_report *rep, agt_error *err)
{
    job_plan plan;
    run_begin(s, rep, &plan, "repair");
    agt_status st = plan_repair(&plan, symbol, hours, n, err);
    if (st == AGT_OK) st = run_repair(s, &lake, &plan, err);
    return run_end(s, NULL, &plan, st); /* the lake stays the caller's */
}
