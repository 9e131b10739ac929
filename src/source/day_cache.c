/*
 * day_cache.c - the archive days a source has read (day_int.h). Proving a
 * day by its neighbours (the previous file must end at the id before this
 * one's first, the next must start at the id after its last) reads the
 * neighbouring days' files; days are usually fetched in order, so the next
 * day's file read for a proof is the file of the next unit, and the
 * previous day's facts are those of the unit before. Filling single hours
 * from the archive reads one day's file for up to 24 hours. Both ask the
 * archive once per file.
 */
#include <stdio.h>
#include <string.h>

#include "source/day_int.h"
#include "source/source_int.h"

/* Failures of the archive itself, not of one day's file: later days would
 * only repeat the retries, so they go to rest at once. */
static int archive_down(agt_status st)
{
    return st == AGT_ENET || st == AGT_EHTTP || st == AGT_EBANNED || st == AGT_EUNSUPPORTED;
}

void agt_day_archive_answered(agt_source *s, agt_status st, const agt_error *err)
{
    if (!archive_down(st)) return;
    s->down = st;
    snprintf(s->down_msg, sizeof s->down_msg, "%.190s", err->message);
}

void agt_day_cache_init(agt_source *s)
{
    for (int i = 0; i < AGT_DAY_SEEN; i++) s->seen[i].day_start_us = -1;
    for (int i = 0; i < AGT_DAY_ROWS; i++) {
        s->rows[i].day_start_us = -1;
        agt_trades_init(&s->rows[i].rows);
    }
}

void agt_day_cache_release(agt_source *s)
{
    for (int i = 0; i < AGT_DAY_ROWS; i++) agt_trades_release(&s->rows[i].rows);
}

static agt_day_file *find(agt_day_file *v, int n, const char *symbol, int64_t day)
{
    for (int i = 0; i < n; i++)
        if (v[i].day_start_us == day && !strcmp(v[i].symbol, symbol)) return &v[i];
    return NULL;
}

static agt_day_file *oldest(agt_day_file *v, int n)
{
    agt_day_file *o = &v[0];
    for (int i = 1; i < n; i++)
        if (v[i].day_start_us < 0 || (o->day_start_us >= 0 && v[i].used < o->used)) o = &v[i];
    return o;
}

/* Remember the facts of a file (or why it could not be used). */
static void remember(agt_source *s, const agt_day_file *f)
{
    agt_day_file *e = find(s->seen, AGT_DAY_SEEN, f->symbol, f->day_start_us);
    if (!e) e = oldest(s->seen, AGT_DAY_SEEN);
    snprintf(e->symbol, sizeof e->symbol, "%s", f->symbol);
    e->day_start_us = f->day_start_us;
    e->status = f->status;
    memcpy(e->message, f->message, sizeof e->message);
    e->info = f->info;
    e->used = ++s->clock;
}

static int definite(agt_status st)
{
    return st == AGT_OK || st == AGT_ENOTFOUND || st == AGT_ECHECKSUM || st == AGT_EPARSE ||
           st == AGT_ECORRUPT;
}

agt_status agt_day_file_get(agt_source *s, const char *symbol, int64_t day,
                            const agt_day_file **file, agt_error *err)
{
    agt_day_file *f = find(s->rows, AGT_DAY_ROWS, symbol, day);
    if (f) {
        f->used = ++s->clock;
        *file = f;
        if (f->status != AGT_OK) agt_err(err, f->status, "%s", f->message);
        return f->status;
    }
    if (s->down != AGT_OK) return agt_err(err, s->down, "not asked again after: %s", s->down_msg);
    f = oldest(s->rows, AGT_DAY_ROWS);
    f->day_start_us = -1;
    agt_trades_clear(&f->rows);
    memset(&f->info, 0, sizeof f->info);
    agt_status st = agt_archive_fetch_day(s->a, symbol, day, &f->rows, &f->info, err);
    agt_day_archive_answered(s, st, err);
    if (!definite(st)) {
        agt_trades_clear(&f->rows);
        return st;
    }
    snprintf(f->symbol, sizeof f->symbol, "%s", symbol);
    f->day_start_us = day;
    f->status = st;
    snprintf(f->message, sizeof f->message, "%.250s", st == AGT_OK ? "" : err->message);
    f->used = ++s->clock;
    remember(s, f);
    *file = f;
    return st;
}

int agt_day_neighbour(agt_source *s, const char *symbol, int64_t day, agt_archive_info *info)
{
    if (day < AGT_FIRST_HOUR_US) return 0;
    const agt_day_file *f = find(s->seen, AGT_DAY_SEEN, symbol, day);
    agt_error err;
    agt_error_clear(&err);
    if (!f && agt_day_file_get(s, symbol, day, &f, &err) != AGT_OK) return 0;
    if (f->status != AGT_OK || f->info.rows == 0) return 0;
    *info = f->info;
    return 1;
}
