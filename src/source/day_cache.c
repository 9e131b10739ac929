/*
 * day_cache.c - the archive files a source has read (day_int.h). Proving a
 * day by its neighbours (the previous file must end at the id before this
 * one's first, the next must start at the id after its last) reads the
 * neighbouring days' files; days are usually fetched in order, so the next
 * day's file read for a proof is the file of the next unit, and the
 * previous day's facts are those of the unit before. Filling single hours
 * from the archive reads one day's file for up to 24 hours. Both ask the
 * archive once per file: the last AGT_DAY_ZIPS verified zips stay on disk
 * (unlinked temporary files: a descriptor each, no memory), and the facts
 * of the last AGT_DAY_SEEN files (ids and times of their ends, never rows)
 * are remembered.
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
    for (int i = 0; i < AGT_DAY_ZIPS; i++) {
        s->zips[i].day_start_us = -1;
        agt_archive_zip_init(&s->zips[i].zip);
    }
}

void agt_day_cache_release(agt_source *s)
{
    for (int i = 0; i < AGT_DAY_ZIPS; i++) agt_archive_zip_close(&s->zips[i].zip);
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

/* The facts entry of a day, made if new. */
static agt_day_file *seen_entry(agt_source *s, const char *symbol, int64_t day)
{
    agt_day_file *e = find(s->seen, AGT_DAY_SEEN, symbol, day);
    if (!e) {
        e = oldest(s->seen, AGT_DAY_SEEN);
        memset(e, 0, sizeof *e);
        agt_archive_zip_init(&e->zip);
        snprintf(e->symbol, sizeof e->symbol, "%s", symbol);
        e->day_start_us = day;
    }
    e->used = ++s->clock;
    return e;
}

void agt_day_file_scanned(agt_source *s, const char *symbol, int64_t day, agt_status st,
                          const char *message, const agt_archive_info *info)
{
    agt_day_file *e = seen_entry(s, symbol, day);
    e->status = st;
    snprintf(e->message, sizeof e->message, "%.250s", message ? message : "");
    if (info) e->info = *info;
    e->scanned = st == AGT_OK;
}

static int definite(agt_status st)
{
    return st == AGT_OK || st == AGT_ENOTFOUND || st == AGT_ECHECKSUM;
}

agt_status agt_day_file_get(agt_source *s, const char *symbol, int64_t day, agt_day_file **file,
                            agt_error *err)
{
    agt_day_file *e = find(s->seen, AGT_DAY_SEEN, symbol, day);
    if (e && e->status != AGT_OK) return agt_err(err, e->status, "%s", e->message);
    agt_day_file *f = find(s->zips, AGT_DAY_ZIPS, symbol, day);
    if (f) {
        f->used = ++s->clock;
        *file = f;
        return AGT_OK;
    }
    if (s->down != AGT_OK) return agt_err(err, s->down, "not asked again after: %s", s->down_msg);
    f = oldest(s->zips, AGT_DAY_ZIPS);
    f->day_start_us = -1;
    agt_status st = agt_archive_download(s->a, symbol, 0, day, &f->zip, err);
    agt_day_archive_answered(s, st, err);
    if (definite(st) && st != AGT_OK) agt_day_file_scanned(s, symbol, day, st, err->message, NULL);
    if (st != AGT_OK) {
        agt_archive_zip_close(&f->zip);
        return st;
    }
    snprintf(f->symbol, sizeof f->symbol, "%s", symbol);
    f->day_start_us = day;
    f->status = AGT_OK;
    f->info = f->zip.info;
    f->used = ++s->clock;
    *file = f;
    return AGT_OK;
}

agt_status agt_month_file_get(agt_source *s, const char *symbol, int64_t month_start_us,
                              agt_archive_zip *out, agt_error *err)
{
    agt_status st = agt_archive_download(s->a, symbol, 1, month_start_us, out, err);
    agt_day_archive_answered(s, st, err);
    return st;
}

/* The facts of a file read through (rows in file order). */
static agt_status scan_rows(void *user, const agt_trades *rows, agt_error *err)
{
    (void)err;
    agt_archive_info *i = user;
    for (size_t k = 0; k < rows->len; k++) {
        int64_t id = rows->trade_id[k];
        if (i->rows == 0 || id < i->first_id) {
            i->first_id = id;
            i->first_ts_us = rows->ts_us[k];
        }
        if (i->rows == 0 || id > i->last_id) {
            i->last_id = id;
            i->last_ts_us = rows->ts_us[k];
        }
        i->rows++;
    }
    return AGT_OK;
}

int agt_day_neighbour(agt_source *s, const char *symbol, int64_t day, agt_archive_info *info)
{
    if (day < AGT_FIRST_HOUR_US) return 0;
    agt_day_file *e = find(s->seen, AGT_DAY_SEEN, symbol, day);
    if (!e || !e->scanned) {
        agt_day_file *f = NULL;
        agt_error err;
        agt_error_clear(&err);
        if (e && e->status != AGT_OK) return 0;
        if (agt_day_file_get(s, symbol, day, &f, &err) != AGT_OK) return 0;
        agt_archive_info i = f->zip.info;
        i.rows = 0;
        agt_status st = agt_archive_zip_rows(&f->zip, scan_rows, &i, &i.csv_bytes, &err);
        agt_day_file_scanned(s, symbol, day, st, err.message, &i);
        e = find(s->seen, AGT_DAY_SEEN, symbol, day);
    }
    if (!e || e->status != AGT_OK || e->info.rows == 0) return 0;
    *info = e->info;
    return 1;
}
