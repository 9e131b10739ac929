/*
 * commit.c - committing one symbol-hour, recovery, and the stash.
 *
 * A commit is a sequence of steps, each durable before the next starts:
 *
 *   1. WAL: append BEGIN (intent + every incoming row), fsync.
 *   2. Merge the incoming rows into the hour's stored rows (merge.c).
 *   3. Change feed: write metadata/changes/.../v<version>.parquet (atomic).
 *   4. Data: write the merged hour as Parquet (kv metadata carries the
 *      commit version), "<file>.tmp", fsync, rename, fsync directory.
 *   5. Statistics: rewrite the day's JSON with the hour's new entry (atomic).
 *      A damaged day file (or a missing one while the day has data files)
 *      is first rebuilt from the files (rebuild.c), so one bad index file
 *      never wedges commits nor drops the other hours of its day.
 *   6. WAL: append COMMIT (not fsynced; losing it only means redoing 2-5).
 *
 * Steps 2-5 are agt_lake_apply, written to be idempotent so that recovery
 * can simply run it again for every BEGIN without a COMMIT:
 *   - stats entry already at this version      -> nothing to do;
 *   - data file already at this version (its kv metadata says so)
 *                                               -> only step 5 remains
 *     (the change file was written before the data file);
 *   - otherwise the data file is still the pre-commit state, so merging
 *     again gives exactly the same result and the same change file.
 * Readers only ever see whole files: the old hour or the new one.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "lake/lake_int.h"
#include "parquet/parquet.h"

agt_status agt_lake_load_file(const char *path, agt_trades *out, int64_t *version, agt_error *err)
{
    if (version) *version = -1;
    if (!agt_lake_exists(path)) return agt_err(err, AGT_ENOTFOUND, "no such file '%s'", path);
    agt_error e2;
    agt_error_clear(&e2);
    agt_pq_file *f = NULL;
    agt_status s = agt_pq_open(path, &f, &e2);
    if (s == AGT_OK) {
        const char *v = agt_pq_kv_get(f, "aggtrades.commit_version");
        if (version && v) *version = strtoll(v, NULL, 10);
        s = agt_pq_read_trades(f, INT64_MIN, INT64_MAX, AGT_COL_ALL, out, &e2);
        agt_pq_close(f);
    }
    if (s == AGT_ENOMEM) return agt_err(err, s, "out of memory reading '%s'", path);
    if (s != AGT_OK) return agt_err(err, AGT_ECORRUPT, "data file '%s' is damaged: %s", path, e2.message);
    if (!agt_trades_is_sorted(out)) AGT_TRY(agt_trades_sort_unique(out, NULL));
    return AGT_OK;
}

/* Encode the hour's data file. */
static agt_status encode_data(const agt_wal_begin *b, const agt_file_stats *fs,
                              const agt_trades *rows, agt_buf *out, agt_error *err)
{
    char hour[32], v_hour[24], v_ver[24], v_prev[24], v_fetch[24], v_cts[24];
    agt_format_time_us(b->hour_start_us, hour, sizeof hour);
    hour[10] = 'T';
    snprintf(hour + 13, sizeof hour - 13, ":00:00Z");
    snprintf(v_hour, sizeof v_hour, "%" PRId64, b->hour_start_us);
    snprintf(v_ver, sizeof v_ver, "%" PRId64, b->version);
    snprintf(v_prev, sizeof v_prev, "%" PRId64, fs->prev_id);
    snprintf(v_fetch, sizeof v_fetch, "%" PRId64, b->fetched_at_us);
    snprintf(v_cts, sizeof v_cts, "%" PRId64, b->commit_ts_us);
    const agt_pq_kv kv[] = {{"aggtrades.schema_version", "1"},
                            {"aggtrades.symbol", b->symbol},
                            {"aggtrades.hour", hour},
                            {"aggtrades.hour_start_us", v_hour},
                            {"aggtrades.source", fs->source},
                            {"aggtrades.writer_version", "aggtrades " AGT_VERSION},
                            {"aggtrades.commit_version", v_ver},
                            {"aggtrades.prev_id", v_prev},
                            {"aggtrades.complete", fs->complete ? "true" : "false"},
                            {"aggtrades.fetched_at_us", v_fetch},
                            {"aggtrades.commit_ts_us", v_cts}};
    agt_pq_write_opts o;
    agt_pq_write_opts_default(&o);
    o.kv = kv;
    o.n_kv = sizeof kv / sizeof kv[0];
    out->len = 0;
    return agt_pq_write_trades(rows, &o, out, err);
}

static void fill_meta(const agt_wal_begin *b, const agt_file_stats *old, const agt_trades *merged,
                      agt_file_stats *fs)
{
    fs->hour_start_us = b->hour_start_us;
    agt_stats_from_rows(merged, fs);
    fs->prev_id = b->prev_id != AGT_LAKE_ID_UNKNOWN ? b->prev_id
                  : old                              ? old->prev_id
                                                     : AGT_LAKE_ID_UNKNOWN;
    int proven = b->complete || (old && old->complete);
    int start_ok = merged->len == 0 || fs->prev_id < 0 || merged->trade_id[0] == fs->prev_id + 1;
    fs->complete = proven && agt_trades_contiguous(merged) && start_ok;
    snprintf(fs->source, sizeof fs->source, "%s", b->source);
    fs->version = b->version;
    fs->commit_ts_us = b->commit_ts_us;
    fs->fetched_at_us = b->fetched_at_us;
}

/*
 * The statistics of the commit's day. A damaged day file, or a missing one
 * while the day has data files, is rebuilt from the files first (rebuild.c),
 * leaving out this commit's own change file if it is already written: the
 * commit then proceeds on what the index would have said.
 */
static agt_status load_day(agt_lake *l, const agt_wal_begin *b, agt_day_stats *day, agt_error *err)
{
    agt_status s = agt_stats_load(l, b->symbol, b->hour_start_us, day, NULL);
    if (s == AGT_OK && (day->on_disk || !agt_lake_day_has_data(l, b->symbol, day->day_start_us)))
        return AGT_OK;
    if (s != AGT_OK && s != AGT_ECORRUPT) return agt_stats_load(l, b->symbol, b->hour_start_us, day, err);
    AGT_TRY(agt_stats_rebuild(l, b->symbol, day->day_start_us, day->day_start_us + AGT_US_PER_DAY - 1,
                              b->version, NULL, err));
    return agt_stats_load(l, b->symbol, b->hour_start_us, day, err);
}

agt_status agt_lake_apply(agt_lake *l, const agt_wal_begin *b, agt_commit_result *res,
                          agt_error *err)
{
    char rel[128], path[AGT_LAKE_PATH_MAX], crel[160], cpath[AGT_LAKE_PATH_MAX];
    AGT_TRY(agt_lake_data_rel(b->symbol, b->hour_start_us, rel, sizeof rel, err));
    AGT_TRY(agt_lake_path(l, path, sizeof path, rel, err));
    agt_lake_change_rel(b->symbol, b->version, crel, sizeof crel);
    AGT_TRY(agt_lake_path(l, cpath, sizeof cpath, crel, err));

    agt_day_stats day;
    AGT_TRY(load_day(l, b, &day, err));
    const agt_file_stats *old = agt_stats_find(&day, b->hour_start_us);
    if (old && old->version >= b->version) return AGT_OK; /* already applied */

    agt_trades stored;
    agt_trades_init(&stored);
    agt_merge m;
    agt_merge_init(&m);
    agt_buf data;
    agt_buf_init(&data, 0);
    agt_file_stats fs;
    memset(&fs, 0, sizeof fs);
    int64_t file_version = -1;
    /* no file yet is the usual first commit of an hour: not an error, so not reported */
    agt_error e2;
    agt_error_clear(&e2);
    agt_status s = agt_lake_load_file(path, &stored, &file_version, &e2);
    if (s == AGT_ENOTFOUND) s = AGT_OK;
    if (s != AGT_OK) {
        if (err) *err = e2;
        goto out;
    }

    if (file_version == b->version) {
        /* Steps 3 and 4 are done: the file on disk is the merged hour. */
        fill_meta(b, old, &stored, &fs);
        if ((s = agt_lake_read_file(l, path, &data, SIZE_MAX / 4, err)) != AGT_OK) goto out;
    } else {
        if ((s = agt_merge_rows(&stored, &b->rows, &m)) != AGT_OK) {
            s = agt_err(err, s, "out of memory merging '%s'", path);
            goto out;
        }
        fill_meta(b, old, &m.merged, &fs);
        if ((s = agt_cdc_encode(b, &m, &fs, &data, err)) != AGT_OK) goto out;
        if ((s = agt_lake_write_atomic(l, cpath, data.data, data.len, err)) != AGT_OK) goto out;
        agt_lake_disk_add(l, (int64_t)data.len);
        data.len = 0;
        if (m.merged.len > 0) {
            if ((s = encode_data(b, &fs, &m.merged, &data, err)) != AGT_OK) goto out;
            if ((s = agt_lake_write_atomic(l, path, data.data, data.len, err)) != AGT_OK) goto out;
            agt_lake_disk_add(l, (int64_t)data.len - (old ? old->size : 0));
        }
        if (res) {
            res->inserted = (int64_t)m.ins.len;
            res->updated = (int64_t)m.pre.len;
            res->skipped = m.skipped;
        }
    }
    if (fs.rows > 0) {
        fs.size = (int64_t)data.len;
        fs.checksum = XXH64(data.data, data.len, 0);
        memcpy(fs.path, rel, sizeof fs.path);
    }
    s = agt_stats_put(l, b->symbol, &day, &fs, err);
    if (res) {
        res->rows = fs.rows;
        res->version = b->version;
    }
out:
    agt_buf_release(&data);
    agt_merge_release(&m);
    agt_trades_release(&stored);
    return s;
}

static void unlink_tmp(agt_lake *l, const char *rel)
{
    char path[AGT_LAKE_PATH_MAX + 8];
    if ((size_t)snprintf(path, sizeof path, "%s/%s.tmp", l->root, rel) < sizeof path)
        agt_lake_unlink(l, path, NULL);
}

static void remove_temps(agt_lake *l, const agt_wal_begin *b)
{
    char rel[160];
    if (agt_lake_data_rel(b->symbol, b->hour_start_us, rel, sizeof rel, NULL) == AGT_OK)
        unlink_tmp(l, rel);
    agt_lake_change_rel(b->symbol, b->version, rel, sizeof rel);
    unlink_tmp(l, rel);
    agt_lake_stats_rel(b->symbol, b->hour_start_us, rel, sizeof rel);
    unlink_tmp(l, rel);
}

agt_status agt_lake_recover(agt_lake *l, agt_wal_begin *pending, size_t n, agt_error *err);

agt_status agt_lake_recover(agt_lake *l, agt_wal_begin *pending, size_t n, agt_error *err)
{
    for (size_t i = 0; i < n; i++) {
        agt_wal_begin *b = &pending[i];
        AGT_TRY(agt_lake_apply(l, b, NULL, err));
        remove_temps(l, b);
        AGT_TRY(agt_wal_append_commit(l, b->version, b->symbol, b->hour_start_us, err));
    }
    if (n) AGT_TRY(agt_wal_checkpoint(l, 1, err));
    return AGT_OK;
}

static agt_status writable(agt_lake *l, agt_error *err)
{
    if (!l) return agt_err(err, AGT_EINVAL, "no lake");
    if (!(l->flags & AGT_LAKE_WRITE))
        return agt_err(err, AGT_EINVAL, "lake '%s' is open read-only", l->root);
    if (l->broken)
        return agt_err(err, AGT_EIO, "lake '%s' had a failed write; reopen it to recover", l->root);
    return AGT_OK;
}

static agt_status check_rows(const char *symbol, int64_t hour, const agt_trades *t, agt_error *err)
{
    if (!t) return AGT_OK;
    for (size_t i = 0; i < t->len; i++) {
        if (t->ts_us[i] < hour || t->ts_us[i] >= hour + AGT_US_PER_HOUR) {
            char a[32], h[32];
            agt_format_time_us(t->ts_us[i], a, sizeof a);
            agt_format_time_us(hour, h, sizeof h);
            return agt_err(err, AGT_EINVAL, "trade %" PRId64 " of '%s' at %s is outside the hour %.13s",
                           t->trade_id[i], symbol, a, h);
        }
        if (t->trade_id[i] < 0 || !isfinite(t->price[i]) || !isfinite(t->quantity[i]))
            return agt_err(err, AGT_EINVAL, "trade %" PRId64 " of '%s' has an invalid value",
                           t->trade_id[i], symbol);
    }
    return AGT_OK;
}

agt_status agt_lake_commit_hour(agt_lake *lake, const char *symbol, int64_t hour_start_us,
                                const agt_trades *rows, const agt_hour_meta *meta,
                                agt_commit_result *res, agt_error *err)
{
    if (res) memset(res, 0, sizeof *res);
    AGT_TRY(writable(lake, err));
    AGT_TRY(agt_lake_check_hour(symbol, hour_start_us, err));
    AGT_TRY(check_rows(symbol, hour_start_us, rows, err));
    const char *src = meta && meta->source ? meta->source : "rest";
    if (strlen(src) > 15 || strspn(src, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(src))
        return agt_err(err, AGT_EINVAL, "invalid source '%s'", src);

    agt_wal_begin b;
    memset(&b, 0, sizeof b);
    b.version = lake->last_version + 1;
    snprintf(b.symbol, sizeof b.symbol, "%s", symbol);
    b.hour_start_us = hour_start_us;
    b.prev_id = meta ? meta->prev_id : AGT_LAKE_ID_UNKNOWN;
    if (b.prev_id < AGT_LAKE_ID_UNKNOWN) b.prev_id = AGT_LAKE_ID_UNKNOWN;
    b.complete = meta ? (meta->complete != 0) : 0;
    snprintf(b.source, sizeof b.source, "%s", src);
    b.fetched_at_us = meta ? meta->fetched_at_us : 0;
    b.commit_ts_us = agt_lake_now_us();
    if (rows) b.rows = *rows; /* borrowed, read only */

    agt_status s = agt_wal_append_begin(lake, &b, err);
    lake->last_version = b.version; /* never reuse a version that may be on disk */
    if (s != AGT_OK) {
        if (s != AGT_ENOMEM && s != AGT_EINVAL) lake->broken = 1;
        return s;
    }
    s = agt_lake_apply(lake, &b, res, err);
    if (s != AGT_OK) {
        lake->broken = 1; /* the BEGIN is durable: the next open finishes this commit */
        return s;
    }
    if (agt_wal_append_commit(lake, b.version, symbol, hour_start_us, NULL) != AGT_OK)
        lake->broken = 1; /* committed all the same; recovery redoes it harmlessly */
    else if (agt_wal_checkpoint(lake, 0, NULL) != AGT_OK)
        lake->broken = 1;
    return AGT_OK;
}

/* ---- stash --------------------------------------------------------------- */

agt_status agt_lake_stash_put(agt_lake *lake, const char *symbol, int64_t hour_start_us,
                              const agt_trades *page, agt_error *err)
{
    AGT_TRY(writable(lake, err));
    AGT_TRY(agt_lake_check_hour(symbol, hour_start_us, err));
    AGT_TRY(check_rows(symbol, hour_start_us, page, err));
    agt_status s = agt_wal_append_stash(lake, AGT_WAL_STASH, symbol, hour_start_us, page, err);
    if (s != AGT_OK && s != AGT_ENOMEM && s != AGT_EINVAL) lake->broken = 1;
    return s;
}

agt_status agt_lake_stash_drop(agt_lake *lake, const char *symbol, int64_t hour_start_us,
                               agt_error *err)
{
    AGT_TRY(writable(lake, err));
    AGT_TRY(agt_lake_check_hour(symbol, hour_start_us, err));
    agt_status s = agt_wal_append_stash(lake, AGT_WAL_DROP, symbol, hour_start_us, NULL, err);
    if (s != AGT_OK && s != AGT_ENOMEM) lake->broken = 1;
    return s;
}

agt_status agt_lake_stash_get(agt_lake *lake, const char *symbol, int64_t hour_start_us,
                              agt_trades *out, size_t *n_pages, agt_error *err)
{
    if (n_pages) *n_pages = 0;
    if (!lake || !out) return agt_err(err, AGT_EINVAL, "invalid argument");
    if (!(lake->flags & AGT_LAKE_WRITE))
        return agt_err(err, AGT_EINVAL, "lake '%s' is open read-only", lake->root);
    AGT_TRY(agt_lake_check_hour(symbol, hour_start_us, err));
    agt_trades acc;
    agt_trades_init(&acc);
    agt_buf rec;
    agt_buf_init(&rec, 0);
    agt_status s = AGT_OK;
    size_t pages = 0;
    for (size_t i = 0; i < lake->wal.n_stash && s == AGT_OK; i++) {
        const agt_stash_ent *e = &lake->wal.stash[i];
        if (e->hour_start_us != hour_start_us || strcmp(e->symbol, symbol) != 0) continue;
        rec.len = 0;
        if ((s = agt_buf_reserve(&rec, (size_t)e->rec_len)) != AGT_OK) break;
        size_t got = 0;
        while (got < e->rec_len) {
            ssize_t r = lake->io->pread(lake->io->ctx, lake->wal.fd, rec.data + got,
                                        (size_t)e->rec_len - got, (off_t)(e->rec_off + got));
            if (r <= 0) {
                s = agt_err_sys(err, r < 0 ? errno : EIO, "cannot read the wal of '%s'", lake->root);
                break;
            }
            got += (size_t)r;
        }
        if (s != AGT_OK) break;
        char sym[24];
        int64_t hour;
        uint64_t nrows;
        size_t roff;
        size_t plen = (size_t)e->rec_len - AGT_WAL_REC_HEAD - 8;
        s = agt_wal_decode_key(rec.data + AGT_WAL_REC_HEAD, plen, sym, &hour, &nrows, &roff, err);
        if (s == AGT_OK)
            s = agt_wal_decode_rows(rec.data + AGT_WAL_REC_HEAD + roff, plen - roff, nrows, &acc, err);
        pages++;
    }
    if (s == AGT_OK) s = agt_trades_sort_unique(&acc, NULL);
    if (s == AGT_OK) s = agt_trades_append(out, &acc);
    if (s == AGT_OK && n_pages) *n_pages = pages;
    agt_buf_release(&rec);
    agt_trades_release(&acc);
    return s;
}
