/*
 * rebuild.c - re-deriving the statistics index from the files it describes.
 *
 * The statistics (stats.c) are an index, never the only copy of a fact:
 * like SQLite rebuilding an index from its table, every field of a day's
 * entries can be recomputed from files that are written before the entry:
 *
 *   entry field                 source
 *   size, xxh64                 the data file's bytes
 *   rows, min/max ts, ids       its rows, decoded (cross-checked against the
 *   sum_qty, quote_volume,        footer's row count and the column statistics
 *   qty_e8, quote_e16,            of trade_id and timestamp); sums in trade id
 *   buyer_maker                   order, bit for bit what the commit computed
 *                                 (the exact ones in any order: integers)
 *   version, commit_ts,         its key-value metadata: aggtrades.commit_version,
 *   prev_id, complete, source,    .commit_ts_us, .prev_id, .complete, .source,
 *   fetched_at                    .fetched_at_us (.symbol and .hour_start_us must
 *                                 match the path); a file written before
 *                                 commit_ts_us was recorded takes it from the
 *                                 change file of its version
 *   a proven-empty hour         has no data file: the change file of the
 *                                 hour's latest commit (aggtrades.rows = 0 and
 *                                 the same keys as above, cdc.c)
 *
 * An hour whose latest commit left rows but whose data file is gone gets
 * the entry of lost data (agt_stats_lost: no rows, not complete, so it is
 * fetched again), never a false "empty". So does an hour whose data file is
 * damaged or not of this hour (another hour's file copied over it): the
 * index is never rebuilt around a hole, and the file is set aside under a
 * hidden name (quarantine.c) so that the next fetch commits the hour afresh. A day is rewritten
 * atomically, and only if its new content differs from the file on disk; a
 * day left with no entry loses its file.
 *
 * Proven-empty hours cost a scan of the footers of the symbol's change
 * files (one per commit); rebuilding is a repair, not a hot path. Callers:
 * agt_lake_rebuild_stats, and agt_lake_apply when the day it commits into
 * has a damaged statistics file, or none while data files exist.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "lake/lake_int.h"
#include "parquet/parquet.h"

/* An integer key of the key-value metadata; 0 if absent or malformed. */
static int kv_int(const agt_pq_file *f, const char *key, int64_t *v)
{
    const char *s = agt_pq_kv_get(f, key);
    if (!s || !*s) return 0;
    char *end;
    long long x = strtoll(s, &end, 10);
    if (*end) return 0;
    *v = (int64_t)x;
    return 1;
}

static int kv_bool(const agt_pq_file *f, const char *key, int *v)
{
    const char *s = agt_pq_kv_get(f, key);
    if (!s) return 0;
    if (strcmp(s, "true") == 0) *v = 1;
    else if (strcmp(s, "false") == 0) *v = 0;
    else return 0;
    return 1;
}

/* The per-hour facts both data files and change files carry. */
static int kv_hour_facts(const agt_pq_file *f, agt_file_stats *fs)
{
    const char *src = agt_pq_kv_get(f, "aggtrades.source");
    if (!src || strlen(src) >= sizeof fs->source) return 0;
    snprintf(fs->source, sizeof fs->source, "%s", src);
    return kv_int(f, "aggtrades.commit_version", &fs->version) &&
           kv_int(f, "aggtrades.prev_id", &fs->prev_id) && kv_bool(f, "aggtrades.complete", &fs->complete) &&
           kv_int(f, "aggtrades.fetched_at_us", &fs->fetched_at_us);
}

/* commit_ts of `version` from its change file (files written before data files recorded it). */
static agt_status commit_ts_from_change(agt_lake *l, const char *symbol, int64_t version,
                                        int64_t *out, agt_error *err)
{
    char rel[128], path[AGT_LAKE_PATH_MAX];
    agt_lake_change_rel(l, symbol, version, rel, sizeof rel);
    AGT_TRY(agt_lake_path(l, path, sizeof path, rel, err));
    agt_pq_file *f = NULL;
    agt_error e2;
    agt_error_clear(&e2);
    if (agt_pq_open(path, &f, &e2) != AGT_OK)
        return agt_err(err, AGT_ECORRUPT, "cannot rebuild statistics: change file '%s': %s", path,
                       e2.message);
    int ok = kv_int(f, "aggtrades.commit_timestamp_us", out);
    agt_pq_close(f);
    if (!ok) return agt_err(err, AGT_ECORRUPT, "change file '%s' has no commit timestamp", path);
    return AGT_OK;
}

/* The entry of the hour's data file. *present = 0 if the hour has no file,
   -1 (AGT_ECORRUPT) if its file is damaged or not of this hour. */
static agt_status entry_from_file(agt_lake *l, const char *symbol, int64_t hour, agt_file_stats *fs,
                                  int *present, agt_error *err)
{
    char rel[128], path[AGT_LAKE_PATH_MAX];
    *present = 0;
    memset(fs, 0, sizeof *fs);
    AGT_TRY(agt_lake_data_rel(l, symbol, hour, rel, sizeof rel, err));
    AGT_TRY(agt_lake_path(l, path, sizeof path, rel, err));
    if (!agt_lake_exists(path)) return AGT_OK;
    agt_buf b;
    agt_buf_init(&b, 0);
    agt_trades t;
    agt_trades_init(&t);
    agt_pq_file *f = NULL;
    agt_error e2;
    agt_error_clear(&e2);
    agt_status s = agt_lake_read_file(l, path, &b, SIZE_MAX / 4, err);
    if (s != AGT_OK) goto out;
    fs->hour_start_us = hour;
    fs->size = (int64_t)b.len;
    fs->checksum = XXH64(b.data, b.len, 0);
    memcpy(fs->path, rel, sizeof fs->path);
    s = agt_pq_open_mem(b.data, b.len, &f, &e2);
    if (s == AGT_OK) s = agt_pq_read_trades(f, INT64_MIN, INT64_MAX, AGT_COL_ALL, &t, &e2);
    if (s == AGT_ENOMEM) {
        s = agt_err(err, s, "out of memory reading '%s'", path);
        goto out;
    }
    if (s != AGT_OK) {
        s = agt_err(err, AGT_ECORRUPT, "data file '%s' is damaged: %s", path, e2.message);
        *present = -1;
        goto out;
    }
    if (!agt_trades_is_sorted(&t) && (s = agt_trades_sort_unique(&t, NULL)) != AGT_OK) goto out;
    agt_stats_from_rows(&t, fs);
    const char *sym = agt_pq_kv_get(f, "aggtrades.symbol");
    int64_t kv_hour = -1, id_lo, id_hi, ts_lo, ts_hi;
    int ci = agt_pq_column_index(f, "trade_id"), ct = agt_pq_column_index(f, "timestamp");
    const char *bad = NULL;
    if (!sym || strcmp(sym, symbol) != 0 || !kv_int(f, "aggtrades.hour_start_us", &kv_hour) ||
        kv_hour != hour)
        bad = "its symbol or hour does not match its path";
    else if (!kv_hour_facts(f, fs))
        bad = "its key-value metadata lacks the commit facts";
    else if (fs->rows == 0 || agt_pq_num_rows(f) != fs->rows)
        bad = "its row count does not match its footer";
    else if (ci < 0 || ct < 0 ||
             (agt_pq_int64_stats(f, ci, &id_lo, &id_hi) == AGT_OK &&
              (id_lo != fs->first_id || id_hi != fs->last_id)) ||
             (agt_pq_int64_stats(f, ct, &ts_lo, &ts_hi) == AGT_OK &&
              (ts_lo != fs->min_ts_us || ts_hi != fs->max_ts_us)))
        bad = "its rows do not match its column statistics";
    if (bad) {
        s = agt_err(err, AGT_ECORRUPT, "data file '%s': %s", path, bad);
        *present = -1;
        goto out;
    }
    if (!kv_int(f, "aggtrades.commit_ts_us", &fs->commit_ts_us) &&
        (s = commit_ts_from_change(l, symbol, fs->version, &fs->commit_ts_us, err)) != AGT_OK)
        goto out;
    *present = 1;
out:
    agt_pq_close(f);
    agt_trades_release(&t);
    agt_buf_release(&b);
    return s;
}

/* The latest commit of each hour in [lo, hi] by the change feed, sorted by hour. */
typedef struct hour_tip {
    agt_file_stats fs;
    int64_t rows_after; /* rows of the hour after that commit; -1 not recorded */
} hour_tip;

typedef struct tips {
    hour_tip *v;
    size_t n, cap;
} tips;

static hour_tip *tip_of(tips *t, int64_t hour)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].fs.hour_start_us == hour) return &t->v[i];
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 32;
        hour_tip *nv = realloc(t->v, nc * sizeof *nv);
        if (!nv) return NULL;
        t->v = nv;
        t->cap = nc;
    }
    memset(&t->v[t->n], 0, sizeof t->v[0]);
    t->v[t->n].fs.hour_start_us = hour;
    t->v[t->n].fs.version = -1;
    return &t->v[t->n++];
}

static agt_status scan_changes(agt_lake *l, const char *symbol, int64_t lo, int64_t hi,
                               int64_t below_version, tips *out, agt_error *err)
{
    int64_t *v = NULL;
    size_t n = 0;
    AGT_TRY(agt_cdc_versions(l, symbol, 0, &v, &n, err));
    agt_status s = AGT_OK;
    for (size_t i = 0; i < n && s == AGT_OK && v[i] < below_version; i++) {
        char rel[128], path[AGT_LAKE_PATH_MAX];
        agt_lake_change_rel(l, symbol, v[i], rel, sizeof rel);
        if ((s = agt_lake_path(l, path, sizeof path, rel, err)) != AGT_OK) break;
        agt_pq_file *f = NULL;
        agt_error e2;
        agt_error_clear(&e2);
        if (agt_pq_open(path, &f, &e2) != AGT_OK) {
            s = agt_err(err, AGT_ECORRUPT, "cannot rebuild statistics: change file '%s': %s", path,
                        e2.message);
            break;
        }
        int64_t hour = -1;
        if (kv_int(f, "aggtrades.hour_start_us", &hour) && hour >= lo && hour <= hi) {
            hour_tip *t = tip_of(out, hour);
            if (!t) {
                s = agt_err(err, AGT_ENOMEM, "out of memory");
            } else {
                agt_file_stats fs;
                memset(&fs, 0, sizeof fs);
                fs.hour_start_us = hour;
                int64_t rows = -1;
                /* versions ascend: the last one seen is the hour's latest commit */
                if (!kv_hour_facts(f, &fs) || fs.version != v[i] ||
                    !kv_int(f, "aggtrades.commit_timestamp_us", &fs.commit_ts_us) ||
                    !kv_int(f, "aggtrades.rows", &rows))
                    rows = -1;
                fs.version = v[i];
                fs.first_id = fs.last_id = -1;
                t->fs = fs;
                t->rows_after = rows;
            }
        }
        agt_pq_close(f);
    }
    free(v);
    return s;
}

/* Derive the day's entries into *d. */
static agt_status derive_day(agt_lake *l, const char *symbol, int64_t day, const tips *tp,
                             agt_day_stats *d, agt_error *err)
{
    memset(d, 0, sizeof *d);
    d->day_start_us = day;
    for (int h = 0; h < 24; h++) {
        int64_t hour = day + h * AGT_US_PER_HOUR;
        int present = 0;
        agt_error e2;
        agt_error_clear(&e2);
        agt_status s = entry_from_file(l, symbol, hour, &d->h[d->n], &present, &e2);
        if (present < 0) { /* never rebuilt around: set aside, the hour's data is lost */
            char rel[160], to[AGT_LAKE_PATH_MAX];
            AGT_TRY(agt_lake_data_rel(l, symbol, hour, rel, sizeof rel, err));
            AGT_TRY(agt_lake_set_aside(l, rel, to, sizeof to, err));
            agt_lake_notice(l, "%s: moved aside to '%s'", e2.message, to);
        } else if (s != AGT_OK) {
            if (err) *err = e2;
            return s;
        }
        if (present > 0) {
            d->n++;
            continue;
        }
        const hour_tip *tip = NULL;
        for (size_t i = 0; i < tp->n && !tip; i++)
            if (tp->v[i].fs.hour_start_us == hour) tip = &tp->v[i];
        if (tip && tip->rows_after == 0) d->h[d->n++] = tip->fs; /* proven or fetched empty */
        else if (tip || present < 0) { /* it held rows, now gone: to be fetched again */
            agt_stats_lost(&d->h[d->n], hour, tip ? tip->fs.version : 0);
            d->h[d->n++].fetched_at_us = tip ? tip->fs.fetched_at_us : 0;
        }
    }
    return AGT_OK;
}

/* Rewrite the day file if `d` differs from it (remove it if `d` is empty). */
static agt_status write_if_changed(agt_lake *l, const char *symbol, const agt_day_stats *d,
                                   int *written, agt_error *err)
{
    *written = 0;
    char rel[160], path[AGT_LAKE_PATH_MAX];
    agt_lake_stats_rel(l, symbol, d->day_start_us, rel, sizeof rel);
    AGT_TRY(agt_lake_path(l, path, sizeof path, rel, err));
    agt_buf want, have;
    agt_buf_init(&want, 0);
    agt_buf_init(&have, 0);
    agt_status s = agt_stats_format(symbol, d, &want);
    if (s != AGT_OK) s = agt_err(err, s, "out of memory");
    agt_status r = s == AGT_OK ? agt_lake_read_file(l, path, &have, SIZE_MAX / 4, NULL) : s;
    int same = r == AGT_OK && have.len == want.len && memcmp(have.data, want.data, want.len) == 0;
    if (s == AGT_OK && d->n == 0) {
        if (r != AGT_ENOTFOUND) {
            s = agt_lake_unlink(l, path, err);
            *written = s == AGT_OK;
        }
    } else if (s == AGT_OK && !same) {
        s = agt_lake_write_atomic(l, path, want.data, want.len, err);
        *written = s == AGT_OK;
    }
    agt_buf_release(&want);
    agt_buf_release(&have);
    return s;
}

agt_status agt_stats_rebuild(agt_lake *l, const char *symbol, int64_t lo_us, int64_t hi_us,
                             int64_t below_version, size_t *rewritten, agt_error *err)
{
    if (rewritten) *rewritten = 0;
    int64_t lo = agt_day_floor(lo_us < 0 ? 0 : lo_us);
    if (hi_us < lo) return AGT_OK;
    int64_t hi = hi_us;
    tips tp = {NULL, 0, 0};
    int64_t *days = NULL, *part = NULL;
    size_t nd = 0, cap = 0, np = 0;
    agt_status s = scan_changes(l, symbol, lo, hi, below_version, &tp, err);
    /* days to visit: data directories, statistics files, hours the change feed knows */
    if (s == AGT_OK && (s = agt_lake_data_days(l, symbol, lo, hi, &part, &np, err)) == AGT_OK)
        s = agt_i64s_append(&days, &nd, &cap, part, np);
    free(part);
    part = NULL;
    if (s == AGT_OK && (s = agt_stats_list_days(l, symbol, &part, &np, err)) == AGT_OK)
        for (size_t i = 0; i < np && s == AGT_OK; i++)
            if (part[i] >= lo && part[i] <= hi) s = agt_i64s_append(&days, &nd, &cap, &part[i], 1);
    for (size_t i = 0; i < tp.n && s == AGT_OK; i++) {
        int64_t day = agt_day_floor(tp.v[i].fs.hour_start_us);
        s = agt_i64s_append(&days, &nd, &cap, &day, 1);
    }
    if (s == AGT_ENOMEM) s = agt_err(err, s, "out of memory");
    if (s == AGT_OK && nd) qsort(days, nd, sizeof *days, agt_cmp_i64);
    for (size_t i = 0; i < nd && s == AGT_OK; i++) {
        if (i > 0 && days[i] == days[i - 1]) continue;
        agt_day_stats d;
        int written = 0;
        if ((s = derive_day(l, symbol, days[i], &tp, &d, err)) == AGT_OK)
            s = write_if_changed(l, symbol, &d, &written, err);
        if (written && rewritten) (*rewritten)++;
    }
    free(part);
    free(days);
    free(tp.v);
    return s;
}

agt_status agt_lake_rebuild_stats(agt_lake *lake, const char *symbol, int64_t start_us,
                                  int64_t end_us, size_t *days_rewritten, agt_error *err)
{
    if (days_rewritten) *days_rewritten = 0;
    if (!lake) return agt_err(err, AGT_EINVAL, "invalid argument");
    AGT_TRY(agt_lake_writable(lake, err));
    AGT_TRY(agt_lake_check_symbol(symbol, err));
    if (end_us < start_us) return agt_err(err, AGT_EINVAL, "rebuild end is before its start");
    /* every write is atomic: a failure leaves the old day file, nothing to recover */
    return agt_stats_rebuild(lake, symbol, start_us, end_us, INT64_MAX, days_rewritten, err);
}
