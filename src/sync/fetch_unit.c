/*
 * fetch_unit.c - fetching an hour unit of a plan with rest (through the WAL
 * stash), on whichever thread fetches it (archive units are streamed:
 * stream_unit.c). Nothing here commits or sends an event: what the fetch
 * gave, and the lines for the user, stay in the unit until the committer
 * settles it (engine.c), on the caller's thread.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/sync_int.h"

void job_note(job_result *r, const char *fmt, ...)
{
    char line[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    (void)agt_buf_printf(&r->notes, "%s\n", line); /* out of memory: the line is lost, not the unit */
}

static void lake_lock(const job_fetcher *f)
{
    if (f->lake_mu) pthread_mutex_lock(f->lake_mu);
}

static void lake_unlock(const job_fetcher *f)
{
    if (f->lake_mu) pthread_mutex_unlock(f->lake_mu);
}

/* A lake failure as the run reports it: a refusal of the data (AGT_EINVAL)
 * is the unit's failure, not bad input from the caller. */
static agt_status lake_failure(agt_status st)
{
    return st == AGT_EINVAL ? AGT_EINCOMPLETE : st;
}

/*
 * Resuming inside an hour (docs/architecture.md, "Resuming"): every page of
 * the hour in flight goes into the lake's stash (the WAL) as it arrives, and
 * an hour is fetched from what its stash kept, so an interrupted hour only
 * fetches what it still lacks. The commit drops the stash.
 *
 * Step 1 runs before a new lake exists, and an unknown symbol must leave
 * nothing written. So with no lake yet the pages are kept only for the last
 * symbol step 1 checks, whose first page proves every symbol known (the
 * earlier ones passed their own check); the lake is opened at that page.
 */
typedef struct hour_stash {
    job_fetcher *f;
    job_result *u;
    int may_open;   /* open the lake at the first page if it is not open */
    const char *symbol;
    int64_t hour_us;
} hour_stash;

static agt_status stash_page(void *user, const agt_trades *rows, agt_error *err)
{
    hour_stash *hs = user;
    agt_lake **lakep = hs->f->lakep;
    if (hs->f->gate) { /* the page joins the rows the jobs hold */
        agt_status g = hs->f->gate(hs->f->gate_user, (int64_t)rows->len);
        if (g != AGT_OK) return agt_err(err, g, "cancelled");
    }
    if (!*lakep && hs->may_open) { /* step 1: on the caller's thread, before any job */
        agt_status st = sync_lake_open(hs->f->s, lakep, &hs->u->fatal_err);
        if (st != AGT_OK) {
            hs->u->fatal = st;
            return agt_err(err, AGT_EIO, "cannot open the lake");
        }
    }
    if (!*lakep) return AGT_OK;
    lake_lock(hs->f);
    agt_status s = agt_lake_stash_put(*lakep, hs->symbol, hs->hour_us, rows, err);
    lake_unlock(hs->f);
    if (s != AGT_OK && !hs->u->fatal) {
        char label[64];
        job_hour_label(hs->symbol, hs->hour_us, label, sizeof label);
        hs->u->fatal = agt_err(&hs->u->fatal_err, lake_failure(s),
                               "cannot keep the pages of %s in the wal: %s", label,
                               err && err->message[0] ? err->message : agt_status_name(s));
    }
    return s;
}

/* The rows the stash kept of the hour (none if it cannot be read). */
static void stash_load(const hour_stash *hs, agt_trades *kept)
{
    agt_error err;
    size_t pages = 0;
    char label[64];
    agt_lake *lake = *hs->f->lakep;
    if (!lake) return;
    agt_error_clear(&err);
    job_hour_label(hs->symbol, hs->hour_us, label, sizeof label);
    lake_lock(hs->f);
    agt_status st = agt_lake_stash_get(lake, hs->symbol, hs->hour_us, kept, &pages, &err);
    lake_unlock(hs->f);
    if (st != AGT_OK) {
        agt_trades_clear(kept);
        job_note(hs->u, "%s: cannot read the pages kept in the wal (%s); fetching afresh",
                      label, err.message);
    } else if (kept->len > 0) {
        char n[32];
        agt_format_count(kept->len, n, sizeof n);
        job_note(hs->u, "%s: resuming from %s trades kept in the wal", label, n);
    }
}

/*
 * Fetch one hour through the stash into u. Resumed rows were downloaded by
 * an earlier run: they count as stored rows when the hour commits, never as
 * received (only responses go through the client's callback). Kept rows the
 * fetch refuses are dropped and the hour fetched afresh.
 */
static void fetch_hour_kept(hour_stash *hs)
{
    job_result *u = hs->u;
    agt_client *client = hs->f->client;
    agt_trades kept;
    agt_trades_init(&kept);
    stash_load(hs, &kept);
    u->st = agt_fetch_hour_ex(client, hs->symbol, hs->hour_us, &kept, stash_page, hs, &u->rows,
                              &u->info, &u->err);
    if (u->st == AGT_EINVAL && kept.len > 0 && !u->fatal) {
        char label[64];
        job_hour_label(hs->symbol, hs->hour_us, label, sizeof label);
        job_note(u, "%s: the pages kept in the wal are unusable (%s); fetching afresh", label,
                      u->err.message);
        lake_lock(hs->f);
        agt_lake_stash_drop(*hs->f->lakep, hs->symbol, hs->hour_us, NULL);
        lake_unlock(hs->f);
        agt_error_clear(&u->err);
        memset(&u->info, 0, sizeof u->info);
        u->st = agt_fetch_hour_ex(client, hs->symbol, hs->hour_us, NULL, stash_page, hs, &u->rows,
                                  &u->info, &u->err);
    }
    agt_trades_release(&kept);
}

agt_status job_fetch_first_hour(job_fetcher *f, const job_unit *u, int may_open,
                                job_result *out, agt_error *err)
{
    const job_symbol *s = &f->view.syms[u->sym];
    uint64_t b0 = *f->received;
    hour_stash hs = {f, out, may_open, s->symbol, s->hours[u->h].hour_us};
    out->source = "rest";
    fetch_hour_kept(&hs);
    out->bytes = *f->received - b0;
    out->fetched = 1;
    if (out->fatal) return agt_err(err, out->fatal, "%s", out->fatal_err.message);
    return AGT_OK;
}

/* An hour: rest through the stash, then the archive if rest cannot prove it. */
static void fetch_hour(job_fetcher *f, const job_unit *unit, job_result *u)
{
    const job_symbol *s = &f->view.syms[unit->sym];
    hour_stash hs = {f, u, 0, s->symbol, s->hours[unit->h].hour_us};
    u->source = "rest";
    fetch_hour_kept(&hs);
    job_prove_hour(f, unit, u);
}

void job_prove_hour(job_fetcher *f, const job_unit *unit, job_result *u)
{
    const job_symbol *s = &f->view.syms[unit->sym];
    int64_t hour = s->hours[unit->h].hour_us;
    if (u->fatal || !job_unproven(u->st, hour, &u->info)) return;
    agt_error fe;
    agt_error_clear(&fe);
    agt_status st = job_fill_unproven(&f->view, s->symbol, hour, u->info.server_time_us, &u->rows,
                                      &u->info, &u->source, &fe);
    if (st == AGT_ENOMEM) {
        u->fatal = agt_err(&u->fatal_err, st, "%s", fe.message);
        return;
    }
    u->st = st;
    u->err = fe;
}

void job_fetch_unit(job_fetcher *f, const job_unit *unit, job_result *u)
{
    uint64_t b0 = *f->received;
    agt_error_clear(&u->err);
    agt_error_clear(&u->fatal_err);
    fetch_hour(f, unit, u);
    u->bytes = *f->received - b0;
    u->fetched = 1;
}
