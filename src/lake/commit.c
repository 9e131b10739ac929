/*
 * commit.c - committing one symbol-hour, recovery, and the stash.
 *
 * A commit is a sequence of steps, each durable before the next starts:
 *
 *   1. WAL: append BEGIN (intent + every incoming row, or the intent
 *      alone for a commit by reference, below), fsync.
 *   2. Merge the incoming rows into the hour's stored rows (merge.c).
 *   3. Change feed: write metadata/_changes/.../v<version>.pq (atomic).
 *   4. Data: write the merged hour as Parquet (kv metadata
 *      "aggtrades.commit_version" carries the commit version), F.tmp,
 *      fsync; if the hour has a file, link it to F.prev, fsync the
 *      directory; rename the .tmp over "<file>", fsync the directory.
 *   5. Statistics: rewrite the day's JSON with the hour's new entry (atomic).
 *      A damaged day file (or a missing one while the day has data files)
 *      is first rebuilt from the files (rebuild.c), so one bad index file
 *      never wedges commits nor drops the other hours of its day.
 *   6. Unlink F.prev.
 *   7. WAL: append COMMIT (not fsynced; losing it only means redoing 2-6).
 *
 * The bytes of step 4 - the merged hour encoded as Parquet, most of a
 * commit's CPU - depend on nothing steps 3-4 write: for an hour of at least
 * AGT_LAKE_HELPER_MIN_ROWS rows they are encoded on the lake's helper thread
 * (helper.c) while this thread does step 3, whose fsyncs would otherwise
 * leave a core idle, and step 4 starts once they are ready. Every file
 * operation, and their order, stays on the committing thread: the steps,
 * their durability and the recovery below are the same either way.
 *
 * The statistics index is what readers trust: an hour is committed at
 * version v once its entry says v (step 5). Until then its previous version
 * p must stay readable under the fixed file name layout, so step 4 keeps it
 * as a second name of the same inode (link(2): atomic, no copy) and readers
 * open the file whose footer names the version the entry names
 * (agt_lake_open_committed): F or else F.prev. What is on disk and what a
 * reader sees after each step of a merge of v into an hour at p (F = the
 * hour's file, F.tmp and F.prev its hidden second names ".<name>.tmp" and
 * ".<name>.prev", layout.c):
 *
 *   after step        F      F.tmp  F.prev  entry  a reader opens
 *   ---------------   -----  -----  ------  -----  -------------------------
 *   0 (before)        p      -      -       p      F (p)
 *   1 BEGIN           p      -      -       p      F (p)
 *   3 change file     p      -      -       p      F (p)
 *   4a .tmp fsynced   p      v      -       p      F (p)
 *   4b link, fsync    p      v      p       p      F (p)
 *   4c rename, fsync  v      -      p       p      F is v: F.prev (p)
 *   5 statistics      v      -      p       v      F (v)
 *   6 unlink F.prev   v      -      -       v      F (v)
 *   7 COMMIT          v      -      -       v      F (v)
 *
 * A new hour has no F before step 4c and no entry before step 5: readers
 * plan from the index and do not see the hour; a read-only verify does not
 * call its unindexed F damage while the BEGIN is pending (verify.c). A
 * reader that read the entry at p and then finds F at v but no F.prev (the
 * writer finished steps 5-6 meanwhile), or finds F.prev at v too (it went
 * on to merge the next version), reads the day's entry once more and
 * retries; anything else is AGT_ECORRUPT naming the file.
 *
 * Recovery (agt_lake_open of a writer) runs agt_lake_apply again for every
 * BEGIN without a COMMIT, written to be idempotent:
 *   - stats entry already at this version      -> nothing to do;
 *   - data file already at this version (its kv metadata says so: 4c done)
 *                                               -> only step 5 remains
 *     (the change file was written before the data file);
 *   - otherwise the data file is still the pre-commit state p (a crash at
 *     4a or 4b leaves F.prev identical to F, or no F.prev), so merging again
 *     gives exactly the same result and the same change file; step 4 first
 *     removes a stale F.prev, as link(2) does not replace;
 * then removes the commit's temporary files and F.prev, and only then appends
 * the COMMIT. F.prev is removed before the COMMIT (step 6, and a failure
 * to remove it fails the commit): a leftover F.prev therefore always has
 * its BEGIN pending, and the next writer removes it. The WAL needs no
 * record of its own for it: the BEGIN names the hour, so the file.
 * At every instant the entry names a version that F or F.prev holds:
 * a crash leaves every committed hour readable and intact.
 *
 * By reference. The first commit of an hour - no F in its place, no
 * stashed page of it - logs its intent without its rows (wal.c): they
 * would be written and fsynced twice, once into the log and once into F
 * (a busy day: ~57 MB of log for ~10 MB of data), only for the log copy to
 * be dropped at the next checkpoint. Its steps are the same; recovery of
 * such a BEGIN finishes it if it reached step 4c (F holds its version, or
 * the entry names it: the rows are in F) and otherwise undoes it: the
 * rows are gone, the change file of step 3 is removed (and its directory
 * fsynced) and so are the temporaries, so nothing of it remains. The
 * commit was never acknowledged (commit_hour returns after step 5), so
 * undoing it is one of the two outcomes a crash may have - all or
 * nothing - and the caller fetches the hour again, as after a crash
 * before the BEGIN. A stashed page makes the commit log its rows as
 * before: a BEGIN consumes its hour's stash, which an undo must not lose.
 *
 * Damage is not merged with: a file in F's place that is not valid Parquet
 * of this hour (truncated, emptied, garbage, another hour's file copied over
 * it) is set aside under a hidden name (quarantine.c) and the hour is
 * committed from the incoming rows alone, so a fresh fetch heals it
 * (load_stored).
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

/*
 * The false-positive rate asked of a data file's bloom filter on trade_id:
 * 0.97, i.e. ~1.4 bits a trade id (~0.17 byte a trade) where the Parquet
 * default of 1 % costs ~8.5 bits (~1.06 byte, 16 % of the file).
 *
 * Why so high: an hour's ids are consecutive, so a reader looking one up
 * (ours, DuckDB, Spark: all of them check the chunk and page min/max first)
 * has already narrowed it to one file and one page by the time the filter
 * is probed, and in a complete hour every id of that range is present: no
 * rate can change an answer there. The filter helps only for an id inside
 * a gap of an incomplete hour, and there a false positive costs decoding
 * one 4,096-row page, which a present id costs anyway. It is written
 * because other engines rely on its presence (DuckDB's and Spark's point
 * queries probe it; tests/integration/test_parquet_interop.py reads it
 * with both) and it still turns away a few percent of such probes; its
 * exact rate for a given size is pq_bloom_fpp() (src/parquet/bloom.c).
 *
 * Why 0.97 and not lower: the data files are to be no larger than
 * pyarrow's best tuned writer (dictionary + delta + ZSTD 9, no filter) on
 * the same hours. Measured on 192 hours of 3.6 M trades (bench/size.py),
 * columns and footer take 5.61 bytes a trade against pyarrow best's 5.79
 * (a ZSTD level per kind of page: page_level() in src/parquet/writer.c),
 * which leaves the filter ~0.18 byte a trade: 0.97 takes 0.17 and the
 * files are 0.999x pyarrow best; 0.9 would make them 1.011x, 0.5 1.038x,
 * the 1 % default 1.21x. So it takes the rate at which it still turns away
 * a few percent of the probes that reach it.
 */
#define DATA_BLOOM_FPP 0.97

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
    o.bloom_fpp = DATA_BLOOM_FPP;
    o.kv = kv;
    o.n_kv = sizeof kv / sizeof kv[0];
    out->len = 0;
    return agt_pq_write_trades(rows, &o, out, err);
}

/*
 * Encoding the data file as a job of the helper thread (helper.c): it only
 * reads the commit's record and merged rows, which nothing changes until
 * finish_encode, and its own copy of the hour's facts, and fills `out`.
 */
typedef struct encode_job {
    agt_lake_job job;
    const agt_wal_begin *b;
    agt_file_stats fs; /* a copy: the committing thread goes on filling its own */
    const agt_trades *rows;
    agt_buf *out;
    agt_error err;
    int on_helper; /* handed to the helper thread (else done on this one) */
} encode_job;

static agt_status run_encode(void *arg)
{
    encode_job *e = arg;
    return encode_data(e->b, &e->fs, e->rows, e->out, &e->err);
}

static void start_encode(agt_lake *l, encode_job *e)
{
    e->on_helper = e->rows->len >= l->helper_min_rows;
    if (e->on_helper) agt_lake_job_start(l, &e->job);
    else e->job.status = run_encode(e);
}

/* Wait for the job; the status of the commit so far (`s`) wins over its. */
static agt_status finish_encode(agt_lake *l, encode_job *e, agt_status s, agt_error *err)
{
    agt_status es = e->on_helper ? agt_lake_job_wait(l, &e->job) : e->job.status;
    if (s != AGT_OK || es == AGT_OK) return s;
    if (err) *err = e->err;
    return es;
}

/* 1 if the open data file says it holds `symbol`'s hour `hour` (key-value metadata). */
static int file_is_hour(const agt_pq_file *f, const char *symbol, int64_t hour)
{
    const char *sym = agt_pq_kv_get(f, "aggtrades.symbol");
    const char *h = agt_pq_kv_get(f, "aggtrades.hour_start_us");
    return sym && h && strcmp(sym, symbol) == 0 && strtoll(h, NULL, 10) == hour;
}

/*
 * Read the data file `path` of the commit's hour whole into `bytes` and
 * decode its rows. AGT_ENOTFOUND if it does not exist; AGT_ECORRUPT if it
 * is not valid Parquet or says it holds another hour, or a row lies outside
 * the hour.
 */
static agt_status read_hour_file(agt_lake *l, const char *path, const agt_wal_begin *b,
                                 agt_buf *bytes, agt_trades *rows, int64_t *version, agt_error *err)
{
    bytes->len = 0;
    agt_trades_clear(rows);
    AGT_TRY(agt_lake_read_file(l, path, bytes, SIZE_MAX / 4, err));
    agt_pq_file *f = NULL;
    agt_error e2;
    agt_error_clear(&e2);
    agt_status s = agt_pq_open_mem(bytes->data, bytes->len, &f, &e2);
    if (s == AGT_ENOMEM) return agt_err(err, s, "out of memory reading '%s'", path);
    if (s != AGT_OK) return agt_err(err, AGT_ECORRUPT, "not valid parquet: %s", e2.message);
    if (!file_is_hour(f, b->symbol, b->hour_start_us)) {
        agt_pq_close(f);
        return agt_err(err, AGT_ECORRUPT, "it says it holds another hour");
    }
    *version = agt_lake_file_version(f);
    s = agt_lake_rows_of(f, path, rows, err);
    agt_pq_close(f);
    for (size_t i = 0; s == AGT_OK && i < rows->len; i++)
        if (rows->ts_us[i] < b->hour_start_us || rows->ts_us[i] >= b->hour_start_us + AGT_US_PER_HOUR)
            s = agt_err(err, AGT_ECORRUPT, "it holds trades of another hour");
    return s;
}

/*
 * The rows the hour holds before this commit, from the file in its place
 * (its bytes are left in `bytes`: in recovery, when its footer names this
 * very commit, steps 3-4 are done and they are the merged hour). A file that
 * is valid Parquet of this hour is merged with, even if its bytes are not
 * those the index records (rewritten by another tool: the commit records
 * the differences as updates). Anything else in the hour's place - a
 * damaged file, another hour's file copied over it - is set aside
 * (quarantine.c) and the hour starts empty, *old cleared: its completeness
 * then rests on this commit's proof alone. So does it when the file is gone
 * (deleted by hand). A file that cannot be read (EIO) fails the commit.
 */
static agt_status load_stored(agt_lake *l, const agt_wal_begin *b, const char *rel,
                              const agt_file_stats **old, agt_trades *stored, int64_t *version,
                              agt_buf *bytes, agt_error *err)
{
    char path[AGT_LAKE_PATH_MAX], to[AGT_LAKE_PATH_MAX];
    AGT_TRY(agt_lake_path(l, path, sizeof path, rel, err));
    *version = -1;
    agt_error why;
    agt_error_clear(&why);
    agt_status s = read_hour_file(l, path, b, bytes, stored, version, &why);
    if (s == AGT_OK) return AGT_OK;
    if (s == AGT_ENOTFOUND) { /* no file yet: the usual first commit of an hour */
        if (*old && (*old)->rows > 0) *old = NULL;
        return AGT_OK;
    }
    if (s != AGT_ECORRUPT) {
        if (err) *err = why;
        return s;
    }
    AGT_TRY(agt_lake_set_aside(l, rel, to, sizeof to, err));
    agt_lake_notice(l, "'%s' is not the data of its hour (%s): moved aside to '%s'", rel,
                    why.message, to);
    *version = -1;
    bytes->len = 0;
    agt_trades_clear(stored);
    *old = NULL;
    return AGT_OK;
}

/* The hour's facts but its row statistics (agt_stats_from_rows): all the data file's footer needs. */
static void fill_meta(const agt_wal_begin *b, const agt_file_stats *old, const agt_trades *merged,
                      agt_file_stats *fs)
{
    fs->hour_start_us = b->hour_start_us;
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

static agt_status unlink_aside(agt_lake *l, const char *rel, const char *kind, agt_error *err)
{
    char path[AGT_LAKE_PATH_MAX], aside[AGT_LAKE_PATH_MAX + 8];
    AGT_TRY(agt_lake_path(l, path, sizeof path, rel, err));
    AGT_TRY(agt_lake_aside(l, path, kind, aside, sizeof aside, err));
    return agt_lake_unlink(l, aside, err);
}

static void unlink_tmp(agt_lake *l, const char *rel) { (void)unlink_aside(l, rel, AGT_LAKE_TMP, NULL); }
/*
 * Unlike a temporary file, a "prev" name must not outlive its commit's BEGIN:
 * failing to remove it fails the commit (or the recovery), so that the
 * BEGIN stays pending and the next writer to open the lake removes it.
 */
static agt_status unlink_prev(agt_lake *l, const char *rel, agt_error *err)
{
    return unlink_aside(l, rel, AGT_LAKE_PREV, err);
}

agt_status agt_lake_apply(agt_lake *l, const agt_wal_begin *b, agt_commit_result *res,
                          agt_error *err)
{
    char rel[128], path[AGT_LAKE_PATH_MAX], crel[160], cpath[AGT_LAKE_PATH_MAX];
    AGT_TRY(agt_lake_data_rel(l, b->symbol, b->hour_start_us, rel, sizeof rel, err));
    AGT_TRY(agt_lake_path(l, path, sizeof path, rel, err));
    agt_lake_change_rel(l, b->symbol, b->version, crel, sizeof crel);
    AGT_TRY(agt_lake_path(l, cpath, sizeof cpath, crel, err));

    agt_day_stats day;
    AGT_TRY(load_day(l, b, &day, err));
    const agt_file_stats *old = agt_stats_find(&day, b->hour_start_us);
    if (old && old->version >= b->version) return AGT_OK; /* already applied */

    agt_trades stored;
    agt_trades_init(&stored);
    agt_merge m;
    agt_merge_init(&m);
    agt_buf *data = &l->file_buf, change;
    data->len = 0;
    agt_buf_init(&change, 0);
    agt_file_stats fs;
    memset(&fs, 0, sizeof fs);
    int64_t file_version = -1;
    agt_status s = load_stored(l, b, rel, &old, &stored, &file_version, data, err);
    if (s != AGT_OK) goto out;

    if (file_version == b->version) {
        /* Steps 3 and 4 are done: the file on disk (its bytes in `data`) is the merged hour. */
        fill_meta(b, old, &stored, &fs);
        agt_stats_from_rows(&stored, &fs);
    } else {
        data->len = 0;
        if ((s = agt_merge_rows(&stored, &b->rows, &m)) != AGT_OK) {
            s = agt_err(err, s, "out of memory merging '%s'", path);
            goto out;
        }
        fill_meta(b, old, m.rows, &fs);
        /* the data file's bytes are encoded on the helper thread while the
           row statistics and step 3 are done here */
        encode_job ej = { { run_encode, &ej, AGT_OK, 0 }, b, fs, m.rows, data, { 0 }, 0 };
        if (m.rows->len > 0) start_encode(l, &ej);
        agt_stats_from_rows(m.rows, &fs);
        s = agt_cdc_encode(b, rel, &m, &fs, &change, err);
        if (s == AGT_OK) s = agt_lake_write_atomic(l, cpath, change.data, change.len, err);
        if (m.rows->len > 0) s = finish_encode(l, &ej, s, err);
        if (s != AGT_OK) goto out;
        agt_lake_disk_add(l, (int64_t)change.len);
        if (m.rows->len > 0) {
            /* the committed version keeps its F.prev name until step 5 is done */
            if ((s = agt_lake_replace_keep_prev(l, path, data->data, data->len, err)) != AGT_OK) goto out;
            agt_lake_disk_add(l, (int64_t)data->len - (old ? old->size : 0));
        }
        if (res) {
            res->inserted = (int64_t)m.inserted->len;
            res->updated = (int64_t)m.pre.len;
            res->skipped = m.skipped;
        }
    }
    if (fs.rows > 0) {
        fs.size = (int64_t)data->len;
        fs.checksum = XXH64(data->data, data->len, 0);
        memcpy(fs.path, rel, sizeof fs.path);
    }
    s = agt_stats_put(l, b->symbol, &day, &fs, err);
    /* Committed: readers now pick the new file, F.prev has no reader left
       to serve (one that read the index before it reads it again). Removed
       before the WAL COMMIT, so that a leftover one always has its BEGIN
       pending and recovery removes it (remove_temps). */
    if (s == AGT_OK) s = unlink_prev(l, rel, err);
    if (res) {
        res->rows = fs.rows;
        res->version = b->version;
    }
out:
    agt_buf_release(&change);
    if (data->cap > AGT_LAKE_FILE_BUF_KEEP) agt_buf_release(data);
    data->len = 0;
    agt_merge_release(&m);
    agt_trades_release(&stored);
    return s;
}

static agt_status remove_temps(agt_lake *l, const agt_wal_begin *b, agt_error *err)
{
    char rel[160];
    agt_status s = AGT_OK;
    if (agt_lake_data_rel(l, b->symbol, b->hour_start_us, rel, sizeof rel, NULL) == AGT_OK) {
        unlink_tmp(l, rel);
        s = unlink_prev(l, rel, err); /* the commit is complete: no reader needs it any more */
    }
    agt_lake_change_rel(l, b->symbol, b->version, rel, sizeof rel);
    unlink_tmp(l, rel);
    agt_lake_stats_rel(l, b->symbol, b->hour_start_us, rel, sizeof rel);
    unlink_tmp(l, rel);
    return s;
}

/*
 * 1 if the commit by reference `b` reached its step 4c: the statistics
 * name its version, or the hour's data file is the one it wrote.
 */
static agt_status landed(agt_lake *l, const agt_wal_begin *b, int *yes, agt_error *err)
{
    char rel[128], path[AGT_LAKE_PATH_MAX];
    *yes = 0;
    agt_day_stats day;
    AGT_TRY(load_day(l, b, &day, err));
    const agt_file_stats *e = agt_stats_find(&day, b->hour_start_us);
    if (e && e->version >= b->version) return *yes = 1, AGT_OK;
    AGT_TRY(agt_lake_data_rel(l, b->symbol, b->hour_start_us, rel, sizeof rel, err));
    AGT_TRY(agt_lake_path(l, path, sizeof path, rel, err));
    agt_buf bytes;
    agt_buf_init(&bytes, 0);
    agt_trades rows;
    agt_trades_init(&rows);
    int64_t version = -1;
    *yes = read_hour_file(l, path, b, &bytes, &rows, &version, NULL) == AGT_OK &&
           version == b->version;
    agt_trades_release(&rows);
    agt_buf_release(&bytes);
    return AGT_OK;
}

/*
 * Undo a commit by reference that did not reach step 4c: its rows were
 * only in memory and in its data file's temporary, which is not trusted.
 * Nothing a reader sees names it yet but its change file (step 3), which
 * goes; the temporaries go with remove_temps. Never acknowledged, the
 * commit is as if it had not been tried.
 */
static agt_status undo(agt_lake *l, const agt_wal_begin *b, agt_error *err)
{
    char crel[160], cpath[AGT_LAKE_PATH_MAX], dir[AGT_LAKE_PATH_MAX];
    agt_lake_change_rel(l, b->symbol, b->version, crel, sizeof crel);
    AGT_TRY(agt_lake_path(l, cpath, sizeof cpath, crel, err));
    if (!agt_lake_exists(cpath)) return AGT_OK;
    AGT_TRY(agt_lake_unlink(l, cpath, err));
    snprintf(dir, sizeof dir, "%s", cpath);
    *strrchr(dir, '/') = '\0';
    return agt_lake_fsync_dir(l, dir, err);
}

agt_status agt_lake_recover(agt_lake *l, agt_wal_begin *pending, size_t n, agt_error *err)
{
    for (size_t i = 0; i < n; i++) {
        agt_wal_begin *b = &pending[i];
        int done = !b->by_ref;
        if (b->by_ref) AGT_TRY(landed(l, b, &done, err));
        AGT_TRY(done ? agt_lake_apply(l, b, NULL, err) : undo(l, b, err));
        AGT_TRY(remove_temps(l, b, err));
        AGT_TRY(agt_wal_append_commit(l, b->version, b->symbol, b->hour_start_us, err));
    }
    if (n) AGT_TRY(agt_wal_checkpoint(l, 1, err));
    return AGT_OK;
}

static agt_status writable(agt_lake *l, agt_error *err)
{
    if (!l) return agt_err(err, AGT_EINVAL, "no lake");
    return agt_lake_writable(l, err);
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

/*
 * Whether the commit goes by reference: the first commit of an hour with
 * rows (no data file in its place) and no stashed page (a BEGIN consumes
 * the stash of its hour: one that could be undone must not).
 */
static agt_status by_reference(agt_lake *l, agt_wal_begin *b, agt_error *err)
{
    char rel[128], path[AGT_LAKE_PATH_MAX];
    b->by_ref = 0;
    if (b->rows.len == 0) return AGT_OK;
    for (size_t i = 0; i < l->wal.n_stash; i++)
        if (l->wal.stash[i].hour_start_us == b->hour_start_us &&
            strcmp(l->wal.stash[i].symbol, b->symbol) == 0)
            return AGT_OK;
    AGT_TRY(agt_lake_data_rel(l, b->symbol, b->hour_start_us, rel, sizeof rel, err));
    AGT_TRY(agt_lake_path(l, path, sizeof path, rel, err));
    b->by_ref = !agt_lake_exists(path);
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
    AGT_TRY(by_reference(lake, &b, err));

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
