/*
 * cdc.c - the change data feed (after Delta Lake's change data feed).
 *
 * Every commit writes one Parquet file, before it replaces the data file:
 *
 *   <root>/metadata/_changes/symbol=SYM/v<commit version, 20 digits>.pq
 *
 * (Parquet; not named ".parquet" nor placed where engines reading the lake
 * root would take it for data: layout.c explains the names.)
 * Columns (all REQUIRED), rows sorted by trade_id, an update's pre-image
 * just before its post-image:
 *   trade_id           INT64
 *   timestamp          INT64 TIMESTAMP(UTC, MICROS)
 *   price, quantity    DOUBLE
 *   is_buyer_maker     BOOLEAN
 *   _change_type       STRING  "insert" | "update_preimage" | "update_postimage"
 *   _commit_version    INT64
 *   _commit_timestamp  INT64 TIMESTAMP(UTC, MICROS)
 * Key-value metadata, the per-commit record (duplicates skipped included,
 * which have no rows): aggtrades.commit_version, aggtrades.commit_timestamp_us,
 * aggtrades.symbol, aggtrades.hour_start_us, aggtrades.inserted,
 * aggtrades.updated, aggtrades.skipped, aggtrades.source,
 * aggtrades.writer_version, and the hour's state after the commit as its
 * statistics entry records it: aggtrades.rows, aggtrades.prev_id,
 * aggtrades.complete ("true"/"false"), aggtrades.fetched_at_us. A commit
 * that changed nothing still writes its file, with zero rows. A proven-empty
 * hour has no data file, so these keys are the only copy of its statistics
 * outside metadata/stats/ (agt_lake_rebuild_stats reads them, rebuild.c).
 *
 * Inserted rows are recorded by reference when their ids form few runs
 * (always for a fresh hour): aggtrades.insert_file, aggtrades.insert_ranges
 * and aggtrades.insert_xxh64 name the data file, the ids and a digest of
 * the rows, which are then not copied (cdc_ref.c; read_changes rebuilds
 * them, exactly or not at all). Otherwise, and in files written before
 * this, the inserts are rows of type "insert". Update images are always
 * rows: they are the only copy of a replaced value. A file of version 0.1.0
 * or earlier holds every insert as a row; both read the same.
 *
 * The file is written under its final name by atomic rename, and is
 * rewritten identically if recovery redoes the commit. read_changes reports
 * the commits in version order and stops before one whose data file does
 * not hold it yet while the WAL has it in flight.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lake/lake_int.h"
#include "parquet/parquet.h"

static const char *const change_names[] = {"insert", "update_preimage", "update_postimage"};

const char *agt_change_type_name(agt_change_type t)
{
    return (unsigned)t < 3 ? change_names[t] : "unknown";
}

agt_status agt_cdc_encode(const agt_wal_begin *b, const agt_merge *m, const agt_file_stats *fs,
                          agt_buf *out, agt_error *err)
{
    /* inserts by reference when they can be (cdc_ref.c), else their rows */
    char ranges[AGT_CDC_RANGES_MAX], digest[24], drel[160];
    int by_ref = agt_cdc_ref_ranges(&m->ins, ranges, sizeof ranges) &&
                 agt_lake_data_rel(b->symbol, b->hour_start_us, drel, sizeof drel, NULL) == AGT_OK;
    if (by_ref) snprintf(digest, sizeof digest, "%016" PRIx64, agt_cdc_rows_hash(&m->ins));
    const agt_trades none = {0};
    const agt_trades *ins = by_ref ? &none : &m->ins;
    size_t n = ins->len + m->pre.len + m->post.len;
    agt_trades rows;
    agt_trades_init(&rows);
    const char **types = malloc((n ? n : 1) * sizeof *types);
    int64_t *ver = malloc((n ? n : 1) * sizeof *ver);
    int64_t *cts = malloc((n ? n : 1) * sizeof *cts);
    agt_status s = (types && ver && cts) ? agt_trades_reserve(&rows, n ? n : 1) : AGT_ENOMEM;
    /* merge inserts and (pre, post) pairs by trade id */
    size_t i = 0, j = 0;
    while (s == AGT_OK && (i < ins->len || j < m->pre.len)) {
        if (j == m->pre.len || (i < ins->len && ins->trade_id[i] < m->pre.trade_id[j])) {
            types[rows.len] = change_names[0];
            s = agt_trades_push(&rows, ins->trade_id[i], ins->ts_us[i], ins->price[i],
                                ins->quantity[i], ins->is_buyer_maker[i]);
            i++;
        } else {
            types[rows.len] = change_names[1];
            s = agt_trades_push(&rows, m->pre.trade_id[j], m->pre.ts_us[j], m->pre.price[j],
                                m->pre.quantity[j], m->pre.is_buyer_maker[j]);
            if (s != AGT_OK) break;
            types[rows.len] = change_names[2];
            s = agt_trades_push(&rows, m->post.trade_id[j], m->post.ts_us[j], m->post.price[j],
                                m->post.quantity[j], m->post.is_buyer_maker[j]);
            j++;
        }
    }
    for (size_t k = 0; s == AGT_OK && k < rows.len; k++) {
        ver[k] = b->version;
        cts[k] = b->commit_ts_us;
    }
    if (s != AGT_OK) {
        s = agt_err(err, AGT_ENOMEM, "out of memory");
    } else {
        char v_ver[24], v_cts[24], v_hour[24], v_ins[24], v_upd[24], v_skip[24];
        char v_rows[24], v_prev[24], v_fetch[24];
        snprintf(v_ver, sizeof v_ver, "%" PRId64, b->version);
        snprintf(v_cts, sizeof v_cts, "%" PRId64, b->commit_ts_us);
        snprintf(v_hour, sizeof v_hour, "%" PRId64, b->hour_start_us);
        snprintf(v_ins, sizeof v_ins, "%zu", m->ins.len);
        snprintf(v_upd, sizeof v_upd, "%zu", m->pre.len);
        snprintf(v_skip, sizeof v_skip, "%" PRId64, m->skipped);
        snprintf(v_rows, sizeof v_rows, "%" PRId64, fs->rows);
        snprintf(v_prev, sizeof v_prev, "%" PRId64, fs->prev_id);
        snprintf(v_fetch, sizeof v_fetch, "%" PRId64, fs->fetched_at_us);
        agt_pq_kv kv[16] = {
            {"aggtrades.commit_version", v_ver}, {"aggtrades.commit_timestamp_us", v_cts},
            {"aggtrades.symbol", b->symbol},     {"aggtrades.hour_start_us", v_hour},
            {"aggtrades.inserted", v_ins},       {"aggtrades.updated", v_upd},
            {"aggtrades.skipped", v_skip},       {"aggtrades.source", b->source},
            {"aggtrades.writer_version", "aggtrades " AGT_VERSION},
            {"aggtrades.rows", v_rows},          {"aggtrades.prev_id", v_prev},
            {"aggtrades.complete", fs->complete ? "true" : "false"},
            {"aggtrades.fetched_at_us", v_fetch}};
        size_t n_kv = 13;
        if (by_ref) {
            kv[n_kv++] = (agt_pq_kv){"aggtrades.insert_file", drel};
            kv[n_kv++] = (agt_pq_kv){"aggtrades.insert_ranges", ranges};
            kv[n_kv++] = (agt_pq_kv){"aggtrades.insert_xxh64", digest};
        }
        const agt_pq_column cols[] = {
            {"trade_id", AGT_PQ_INT64, AGT_PQ_NO_DICT, rows.trade_id},
            {"timestamp", AGT_PQ_TIMESTAMP_US, AGT_PQ_NO_DICT, rows.ts_us},
            {"price", AGT_PQ_DOUBLE, 0, rows.price},
            {"quantity", AGT_PQ_DOUBLE, 0, rows.quantity},
            {"is_buyer_maker", AGT_PQ_BOOL, 0, rows.is_buyer_maker},
            {"_change_type", AGT_PQ_STRING, 0, types},
            {"_commit_version", AGT_PQ_INT64, 0, ver},
            {"_commit_timestamp", AGT_PQ_TIMESTAMP_US, 0, cts}};
        agt_pq_write_opts o;
        agt_pq_write_opts_default(&o);
        o.kv = kv;
        o.n_kv = n_kv;
        out->len = 0;
        s = agt_pq_write(cols, sizeof cols / sizeof cols[0], rows.len, &o, out, err);
    }
    agt_trades_release(&rows);
    free(types);
    free(ver);
    free(cts);
    return s;
}

/* ---- reading the feed ---------------------------------------------------- */

void agt_changes_init(agt_changes *c)
{
    memset(c, 0, sizeof *c);
    agt_trades_init(&c->rows);
}

void agt_changes_release(agt_changes *c)
{
    if (!c) return;
    agt_trades_release(&c->rows);
    free(c->type);
    free(c->version);
    free(c->commit_ts_us);
    agt_changes_init(c);
}

static int64_t kv_i64(agt_pq_file *f, const char *key)
{
    const char *v = agt_pq_kv_get(f, key);
    return v ? strtoll(v, NULL, 10) : -1;
}

/* Rows of an open change file and their change types. */
static agt_status file_rows(agt_pq_file *f, const char *path, agt_trades *t, uint8_t **types,
                            agt_error *err)
{
    *types = NULL;
    int64_t n = agt_pq_num_rows(f);
    if (n == 0) return AGT_OK;
    agt_error e2;
    agt_error_clear(&e2);
    agt_buf strs;
    agt_buf_init(&strs, 0);
    size_t *offs = malloc((size_t)n * sizeof *offs);
    uint8_t *ty = malloc((size_t)n);
    int c_type = agt_pq_column_index(f, "_change_type");
    agt_status s = AGT_OK;
    if (!offs || !ty || agt_trades_reserve(t, (size_t)n) != AGT_OK) s = agt_err(err, AGT_ENOMEM, "out of memory");
    else if (c_type < 0) s = agt_err(err, AGT_ECORRUPT, "change file '%s' has no _change_type", path);
    if (s == AGT_OK) s = agt_pq_read_trades(f, INT64_MIN, INT64_MAX, AGT_COL_ALL, t, &e2);
    if (s == AGT_OK) s = agt_pq_read_strings(f, c_type, 0, n, &strs, offs, &e2);
    if (s == AGT_OK && t->len != (size_t)n) s = AGT_ECORRUPT;
    if (s != AGT_OK && s != AGT_ENOMEM)
        s = agt_err(err, AGT_ECORRUPT, "change file '%s': %s", path, e2.message);
    for (size_t i = 0; s == AGT_OK && i < t->len; i++) {
        const char *name = (const char *)strs.data + offs[i];
        ty[i] = !strcmp(name, "insert")            ? AGT_CHANGE_INSERT
                : !strcmp(name, "update_preimage") ? AGT_CHANGE_UPDATE_PREIMAGE
                                                   : AGT_CHANGE_UPDATE_POSTIMAGE;
    }
    free(offs);
    agt_buf_release(&strs);
    if (s != AGT_OK) free(ty);
    else *types = ty;
    return s;
}

agt_status agt_cdc_file_rows(const char *path, agt_trades *t, uint8_t **types, agt_error *err)
{
    agt_error e2;
    agt_error_clear(&e2);
    agt_pq_file *f = NULL;
    if (agt_pq_open(path, &f, &e2) != AGT_OK)
        return agt_err(err, AGT_ECORRUPT, "change file '%s': %s", path, e2.message);
    agt_status s = file_rows(f, path, t, types, err);
    agt_pq_close(f);
    return s;
}

/*
 * The change files of one read_changes call: their versions and, once an
 * insert reference needs them (cdc_ref.c), each one's hour and whether it
 * updated rows (read from the footers of the files after the first
 * reference, once).
 */
typedef struct feed {
    agt_lake *l;
    const char *symbol;
    const int64_t *v;
    size_t n;
    size_t known_from; /* hour[]/upd[] are read for indexes >= this (n: none) */
    int64_t *hour;
    uint8_t *upd;
} feed;

static agt_status feed_path(const feed *fd, size_t i, char *path, size_t n, agt_error *err)
{
    char rel[160];
    agt_lake_change_rel(fd->l, fd->symbol, fd->v[i], rel, sizeof rel);
    return agt_lake_path(fd->l, path, n, rel, err);
}

/* Versions after index i of commits of `hour` that updated rows (*out malloc'd). */
static agt_status later_updates(feed *fd, size_t i, int64_t hour, int64_t **out, size_t *n_out,
                                agt_error *err)
{
    *out = NULL;
    *n_out = 0;
    if (fd->known_from > i + 1) {
        if (!fd->hour && (!(fd->hour = calloc(fd->n, sizeof *fd->hour)) || !(fd->upd = calloc(fd->n, 1))))
            return agt_err(err, AGT_ENOMEM, "out of memory");
        for (size_t j = i + 1; j < fd->known_from; j++) {
            char path[AGT_LAKE_PATH_MAX];
            AGT_TRY(feed_path(fd, j, path, sizeof path, err));
            agt_error e2;
            agt_error_clear(&e2);
            agt_pq_file *f = NULL;
            if (agt_pq_open(path, &f, &e2) != AGT_OK)
                return agt_err(err, AGT_ECORRUPT, "change file '%s': %s", path, e2.message);
            fd->hour[j] = kv_i64(f, "aggtrades.hour_start_us");
            fd->upd[j] = kv_i64(f, "aggtrades.updated") > 0;
            agt_pq_close(f);
        }
        fd->known_from = i + 1;
    }
    int64_t *v = NULL;
    size_t len = 0, cap = 0;
    for (size_t j = i + 1; j < fd->n; j++)
        if (fd->upd[j] && fd->hour[j] == hour && agt_i64s_append(&v, &len, &cap, &fd->v[j], 1) != AGT_OK) {
            free(v);
            return agt_err(err, AGT_ENOMEM, "out of memory");
        }
    *out = v;
    *n_out = len;
    return AGT_OK;
}

/* Report every change of commit fd->v[i], in trade id order. *stop = 1: it is still in flight. */
static agt_status read_one(feed *fd, size_t i, agt_lake_commit_fn on_commit,
                           agt_lake_change_fn on_change, void *user, int *stop, agt_error *err)
{
    char path[AGT_LAKE_PATH_MAX];
    AGT_TRY(feed_path(fd, i, path, sizeof path, err));
    agt_error e2;
    agt_error_clear(&e2);
    agt_pq_file *f = NULL;
    agt_status s = agt_pq_open(path, &f, &e2);
    if (s != AGT_OK) return agt_err(err, AGT_ECORRUPT, "change file '%s': %s", path, e2.message);
    agt_commit_info ci;
    memset(&ci, 0, sizeof ci);
    ci.version = kv_i64(f, "aggtrades.commit_version");
    ci.commit_ts_us = kv_i64(f, "aggtrades.commit_timestamp_us");
    ci.hour_start_us = kv_i64(f, "aggtrades.hour_start_us");
    ci.inserted = kv_i64(f, "aggtrades.inserted");
    ci.updated = kv_i64(f, "aggtrades.updated");
    ci.skipped = kv_i64(f, "aggtrades.skipped");
    const char *src = agt_pq_kv_get(f, "aggtrades.source");
    snprintf(ci.source, sizeof ci.source, "%s", src ? src : "");
    agt_trades ins, t;
    agt_trades_init(&ins);
    agt_trades_init(&t);
    uint8_t *types = NULL;
    if (agt_pq_kv_get(f, "aggtrades.insert_ranges")) {
        int64_t *later = NULL;
        size_t n_later = 0;
        s = later_updates(fd, i, ci.hour_start_us, &later, &n_later, err);
        if (s == AGT_OK)
            s = agt_cdc_ref_resolve(fd->l, fd->symbol, f, path, ci.version, later, n_later, &ins,
                                    stop, err);
        free(later);
    }
    if (s == AGT_OK && !*stop && on_commit && on_commit(user, &ci) != 0)
        s = agt_err(err, AGT_ECANCELLED, "stopped by the caller");
    if (s == AGT_OK && !*stop && on_change) s = file_rows(f, path, &t, &types, err);
    /* the inserts referred to and the file's rows have disjoint ids: merge them by id */
    size_t a = 0, b = 0;
    while (s == AGT_OK && !*stop && on_change && (a < ins.len || b < t.len)) {
        int from_ins = b == t.len || (a < ins.len && ins.trade_id[a] < t.trade_id[b]);
        const agt_trades *src_t = from_ins ? &ins : &t;
        size_t k = from_ins ? a++ : b++;
        agt_change c;
        c.type = from_ins ? AGT_CHANGE_INSERT : (agt_change_type)types[k];
        c.version = ci.version;
        c.commit_ts_us = ci.commit_ts_us;
        c.hour_start_us = ci.hour_start_us;
        c.trade_id = src_t->trade_id[k];
        c.ts_us = src_t->ts_us[k];
        c.price = src_t->price[k];
        c.quantity = src_t->quantity[k];
        c.is_buyer_maker = src_t->is_buyer_maker[k];
        if (on_change(user, &c) != 0) s = agt_err(err, AGT_ECANCELLED, "stopped by the caller");
    }
    free(types);
    agt_trades_release(&t);
    agt_trades_release(&ins);
    agt_pq_close(f);
    return s;
}

/*
 * The listing of a symbol's change files, cached in the handle. Change files
 * are only ever added, and adding one changes the directory's mtime, so a
 * listing stays valid while the directory's (inode, mtime) is unchanged.
 * Like git's "racily clean" index entries, a listing made less than
 * RACY_NS after the mtime it saw is not trusted (a file system with coarse
 * timestamps could add a file within the same tick): the next call lists
 * again. A poller calling read_changes(since = its last version) thus costs
 * one stat and a binary search, not a directory walk.
 */
#define RACY_NS INT64_C(2000000000)

struct agt_cdc_cache {
    char symbol[24];
    ino_t ino;
    int64_t mtime_ns, listed_ns;
    int64_t *v;
    size_t n;
};

void agt_cdc_cache_free(agt_lake *l)
{
    if (!l->cdc_cache) return;
    free(l->cdc_cache->v);
    free(l->cdc_cache);
    l->cdc_cache = NULL;
}

/* A change file name: its version. */
static int version_of(const char *nm, void *ctx, int64_t *v)
{
    return agt_lake_change_name_version(ctx, nm, v);
}

agt_status agt_cdc_versions(agt_lake *l, const char *symbol, int64_t since, int64_t **out,
                            size_t *out_n, agt_error *err)
{
    *out = NULL;
    *out_n = 0;
    char rel[96], dir[AGT_LAKE_PATH_MAX];
    agt_lake_changes_dir_rel(l, symbol, rel, sizeof rel);
    AGT_TRY(agt_lake_path(l, dir, sizeof dir, rel, err));
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (errno == ENOENT) return AGT_OK;
        return agt_err_sys(err, errno, "cannot stat '%s'", dir);
    }
    int64_t mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    agt_cdc_cache *c = l->cdc_cache;
    if (!c || strcmp(c->symbol, symbol) != 0 || c->ino != st.st_ino || c->mtime_ns != mtime ||
        c->listed_ns - mtime < RACY_NS) {
        int64_t now = agt_lake_now_us() * 1000;
        int64_t *v;
        size_t n;
        AGT_TRY(agt_lake_list_values(dir, version_of, l, &v, &n, err));
        l->cdc_listings++;
        if (!c && !(c = l->cdc_cache = calloc(1, sizeof *c))) {
            free(v);
            return agt_err(err, AGT_ENOMEM, "out of memory");
        }
        free(c->v);
        snprintf(c->symbol, sizeof c->symbol, "%s", symbol);
        c->ino = st.st_ino;
        c->mtime_ns = mtime;
        c->listed_ns = now;
        c->v = v;
        c->n = n;
    }
    size_t lo = 0, hi = c->n; /* first version > since */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->v[mid] <= since) lo = mid + 1;
        else hi = mid;
    }
    if (lo == c->n) return AGT_OK;
    int64_t *v = malloc((c->n - lo) * sizeof *v);
    if (!v) return agt_err(err, AGT_ENOMEM, "out of memory");
    memcpy(v, c->v + lo, (c->n - lo) * sizeof *v);
    *out = v;
    *out_n = c->n - lo;
    return AGT_OK;
}

agt_status agt_lake_read_changes(agt_lake *lake, const char *symbol, int64_t since_version,
                                 agt_lake_commit_fn on_commit, agt_lake_change_fn on_change,
                                 void *user, agt_error *err)
{
    if (!lake) return agt_err(err, AGT_EINVAL, "invalid argument");
    AGT_TRY(agt_lake_check_symbol(symbol, err));
    int64_t *v = NULL;
    size_t n = 0;
    AGT_TRY(agt_cdc_versions(lake, symbol, since_version, &v, &n, err));
    feed fd = {lake, symbol, v, n, n, NULL, NULL};
    agt_status s = AGT_OK;
    int stop = 0; /* a commit still in flight: the feed ends before it */
    for (size_t i = 0; i < n && s == AGT_OK && !stop; i++)
        s = read_one(&fd, i, on_commit, on_change, user, &stop, err);
    free(fd.hour);
    free(fd.upd);
    free(v);
    return s;
}

static agt_status changes_push(agt_changes *c, const agt_change *x)
{
    if (c->len == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 256;
        uint8_t *t = realloc(c->type, nc);
        if (!t) return AGT_ENOMEM;
        c->type = t;
        int64_t *v = realloc(c->version, nc * sizeof *v);
        if (!v) return AGT_ENOMEM;
        c->version = v;
        int64_t *ts = realloc(c->commit_ts_us, nc * sizeof *ts);
        if (!ts) return AGT_ENOMEM;
        c->commit_ts_us = ts;
        c->cap = nc;
    }
    AGT_TRY(agt_trades_push(&c->rows, x->trade_id, x->ts_us, x->price, x->quantity,
                            x->is_buyer_maker));
    c->type[c->len] = (uint8_t)x->type;
    c->version[c->len] = x->version;
    c->commit_ts_us[c->len] = x->commit_ts_us;
    c->len++;
    return AGT_OK;
}

static int table_cb(void *user, const agt_change *c)
{
    return changes_push(user, c) != AGT_OK;
}

agt_status agt_lake_read_changes_table(agt_lake *lake, const char *symbol, int64_t since_version,
                                       agt_changes *out, agt_error *err)
{
    if (!out) return agt_err(err, AGT_EINVAL, "invalid argument");
    agt_status s = agt_lake_read_changes(lake, symbol, since_version, NULL, table_cb, out, err);
    if (s == AGT_ECANCELLED) s = agt_err(err, AGT_ENOMEM, "out of memory");
    return s;
}

agt_status agt_cdc_max_version(agt_lake *l, int64_t *max, agt_error *err)
{
    *max = 0;
    char dir[AGT_LAKE_PATH_MAX];
    AGT_TRY(agt_lake_path(l, dir, sizeof dir, agt_lake_changes_root(l), err));
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT) return AGT_OK;
        return agt_err_sys(err, errno, "cannot list '%s'", dir);
    }
    agt_status s = AGT_OK;
    struct dirent *e;
    while (s == AGT_OK && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "symbol=", 7) != 0 || !agt_symbol_valid(e->d_name + 7)) continue;
        int64_t *v = NULL;
        size_t n = 0;
        s = agt_cdc_versions(l, e->d_name + 7, 0, &v, &n, err);
        if (s == AGT_OK && n && v[n - 1] > *max) *max = v[n - 1];
        free(v);
    }
    closedir(d);
    return s;
}
