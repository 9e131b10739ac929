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
 * rewritten identically if recovery redoes the commit (commit.c). Reading
 * the feed back: cdc_read.c; listing the files: cdc_list.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lake/lake_int.h"
#include "parquet/parquet.h"

static const char *const change_names[] = {"insert", "update_preimage", "update_postimage"};

const char *agt_change_type_name(agt_change_type t)
{
    return (unsigned)t < 3 ? change_names[t] : "unknown";
}

/* Append row k of t to the change rows, of change type `type`. */
static agt_status push_change(agt_trades *rows, const char **types, const agt_trades *t, size_t k,
                              const char *type)
{
    types[rows->len] = type;
    return agt_trades_push(rows, t->trade_id[k], t->ts_us[k], t->price[k], t->quantity[k],
                           t->is_buyer_maker[k]);
}

/* The inserts `ins` and the (pre, post) image pairs of `m`, merged by trade id, with their types. */
static agt_status change_rows(const agt_trades *ins, const agt_merge *m, agt_trades *rows,
                              const char **types)
{
    size_t i = 0, j = 0;
    agt_status s = AGT_OK;
    while (s == AGT_OK && (i < ins->len || j < m->pre.len)) {
        if (j == m->pre.len || (i < ins->len && ins->trade_id[i] < m->pre.trade_id[j])) {
            s = push_change(rows, types, ins, i++, change_names[0]);
        } else {
            s = push_change(rows, types, &m->pre, j, change_names[1]);
            if (s == AGT_OK) s = push_change(rows, types, &m->post, j, change_names[2]);
            j++;
        }
    }
    return s;
}

/*
 * The change file's bytes: the rows and their types, every row stamped with
 * the commit's version and time, and the key-value metadata of the commit
 * (the insert reference too when `ref_file` is not NULL).
 */
static agt_status write_file(const agt_wal_begin *b, const agt_merge *m, const agt_file_stats *fs,
                             const char *ref_file, const char *ranges, const char *digest,
                             const agt_trades *rows, const char **types, agt_buf *out,
                             agt_error *err)
{
    int64_t *ver = malloc((rows->len ? rows->len : 1) * sizeof *ver);
    int64_t *cts = malloc((rows->len ? rows->len : 1) * sizeof *cts);
    if (!ver || !cts) {
        free(ver);
        free(cts);
        return agt_err(err, AGT_ENOMEM, "out of memory");
    }
    for (size_t k = 0; k < rows->len; k++) {
        ver[k] = b->version;
        cts[k] = b->commit_ts_us;
    }
    char v_ver[24], v_cts[24], v_hour[24], v_ins[24], v_upd[24], v_skip[24];
    char v_rows[24], v_prev[24], v_fetch[24];
    snprintf(v_ver, sizeof v_ver, "%" PRId64, b->version);
    snprintf(v_cts, sizeof v_cts, "%" PRId64, b->commit_ts_us);
    snprintf(v_hour, sizeof v_hour, "%" PRId64, b->hour_start_us);
    snprintf(v_ins, sizeof v_ins, "%zu", m->inserted->len);
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
    if (ref_file) {
        kv[n_kv++] = (agt_pq_kv){"aggtrades.insert_file", ref_file};
        kv[n_kv++] = (agt_pq_kv){"aggtrades.insert_ranges", ranges};
        kv[n_kv++] = (agt_pq_kv){"aggtrades.insert_xxh64", digest};
    }
    const agt_pq_column cols[] = {
        {"trade_id", AGT_PQ_INT64, AGT_PQ_NO_DICT, rows->trade_id},
        {"timestamp", AGT_PQ_TIMESTAMP_US, AGT_PQ_NO_DICT, rows->ts_us},
        {"price", AGT_PQ_DOUBLE, 0, rows->price},
        {"quantity", AGT_PQ_DOUBLE, 0, rows->quantity},
        {"is_buyer_maker", AGT_PQ_BOOL, 0, rows->is_buyer_maker},
        {"_change_type", AGT_PQ_STRING, 0, types},
        {"_commit_version", AGT_PQ_INT64, 0, ver},
        {"_commit_timestamp", AGT_PQ_TIMESTAMP_US, 0, cts}};
    agt_pq_write_opts o;
    agt_pq_write_opts_default(&o);
    o.kv = kv;
    o.n_kv = n_kv;
    out->len = 0;
    agt_status s = agt_pq_write(cols, sizeof cols / sizeof cols[0], rows->len, &o, out, err);
    free(ver);
    free(cts);
    return s;
}

agt_status agt_cdc_encode(const agt_wal_begin *b, const char *drel, const agt_merge *m,
                          const agt_file_stats *fs, agt_buf *out, agt_error *err)
{
    /* inserts by reference when they can be (cdc_ref.c), else their rows */
    char ranges[AGT_CDC_RANGES_MAX], digest[24];
    int by_ref = agt_cdc_ref_ranges(m->inserted, ranges, sizeof ranges);
    if (by_ref) snprintf(digest, sizeof digest, "%016" PRIx64, agt_cdc_rows_hash(m->inserted));
    const agt_trades none = {0};
    const agt_trades *ins = by_ref ? &none : m->inserted;
    size_t n = ins->len + m->pre.len + m->post.len;
    agt_trades rows;
    agt_trades_init(&rows);
    const char **types = malloc((n ? n : 1) * sizeof *types);
    agt_status s = types ? agt_trades_reserve(&rows, n ? n : 1) : AGT_ENOMEM;
    if (s == AGT_OK) s = change_rows(ins, m, &rows, types);
    if (s != AGT_OK) s = agt_err(err, AGT_ENOMEM, "out of memory");
    else s = write_file(b, m, fs, by_ref ? drel : NULL, ranges, digest, &rows, types, out, err);
    agt_trades_release(&rows);
    free(types);
    return s;
}
