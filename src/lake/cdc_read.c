/*
 * cdc_read.c - reading the change feed back (agt_lake_read_changes): the
 * commits of a symbol after a version, in version order, each with its
 * changes in trade id order. Inserts recorded by reference are rebuilt
 * from the data file (cdc_ref.c); the feed stops before a commit whose
 * data file does not hold it yet while the WAL has it in flight.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lake/lake_int.h"
#include "parquet/parquet.h"

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
    if (s == AGT_OK && !*stop && on_change) s = agt_cdc_rows_of(f, path, &t, &types, err);
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
