/*
 * cdc_ref.c - a commit's inserted rows recorded by reference.
 *
 * The rows a commit inserts are, from that commit on, rows of the hour's
 * data file: copying them into the change file doubled the lake (a change
 * file cost about as much as the data file it came with). So when the
 * inserted ids form at most AGT_CDC_MAX_RUNS runs of consecutive ids
 * (aggregate trade ids are consecutive: a fresh hour is one run), the
 * change file holds only the update images as rows, and these key-value
 * entries stand for the inserts:
 *
 *   aggtrades.insert_file    the data file, relative to the root
 *   aggtrades.insert_ranges  "a-b[,c-d...]": the inserted ids, inclusive runs, ascending
 *   aggtrades.insert_xxh64   16 lowercase hex digits: XXH64 (seed 0) of the
 *                            inserted rows in id order, each as trade_id,
 *                            ts_us, price, quantity (8 bytes little-endian,
 *                            the doubles' bits) and is_buyer_maker (1 byte)
 *
 * The file's commit version v completes "file + version + id range".
 * Reading them back (agt_cdc_ref_resolve): the data file is at version
 * fv >= v; a row it holds was either as inserted, or changed by a later
 * commit of the hour, which recorded the row's value before it as an
 * update pre-image. The earliest pre-image after v is the value at v. The
 * rows so rebuilt must hash to the recorded digest; if they do not, the
 * data file's rows as they are, if those do (a file changed behind the
 * lake's back and then fetched again: the later pre-images are the foreign
 * values, the file holds the inserted ones again). Otherwise AGT_ECORRUPT,
 * never other rows: a data file damaged or changed behind the lake's back
 * no longer proves what was inserted, and the feed says so. The price: read_changes of such a commit reads its
 * data file, and the later change files of its hour that updated rows.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "lake/lake_int.h"
#include "parquet/parquet.h"

int agt_cdc_ref_ranges(const agt_trades *ins, char *buf, size_t n)
{
    size_t len = 0, runs = 0;
    if (ins->len == 0) return 0;
    buf[0] = '\0';
    for (size_t i = 0; i < ins->len;) {
        size_t j = i;
        while (j + 1 < ins->len && ins->trade_id[j + 1] == ins->trade_id[j] + 1) j++;
        if (++runs > AGT_CDC_MAX_RUNS) return 0;
        int w = snprintf(buf + len, n - len, "%s%" PRId64 "-%" PRId64, runs > 1 ? "," : "",
                         ins->trade_id[i], ins->trade_id[j]);
        if (w < 0 || (size_t)w >= n - len) return 0;
        len += (size_t)w;
        i = j + 1;
    }
    return 1;
}

/* Rows laid out as the digest reads them (the top of this file), a block at a
 * time: one XXH64_update a block, not one a row (~3x faster). */
#define HASH_ROW 33
#define HASH_BLOCK_ROWS 124 /* 4,092 bytes */

uint64_t agt_cdc_rows_hash(const agt_trades *t)
{
    XXH64_state_t *st = XXH64_createState();
    if (!st) return 0;
    XXH64_reset(st, 0);
    uint8_t block[HASH_ROW * HASH_BLOCK_ROWS];
    for (size_t i = 0; i < t->len;) {
        size_t k = 0;
        for (; k < HASH_BLOCK_ROWS && i < t->len; k++, i++) {
            uint8_t *row = block + k * HASH_ROW;
            uint64_t p, q;
            memcpy(&p, &t->price[i], 8);
            memcpy(&q, &t->quantity[i], 8);
            agt_le64(row, (uint64_t)t->trade_id[i]);
            agt_le64(row + 8, (uint64_t)t->ts_us[i]);
            agt_le64(row + 16, p);
            agt_le64(row + 24, q);
            row[32] = t->is_buyer_maker[i] ? 1 : 0;
        }
        XXH64_update(st, block, k * HASH_ROW);
    }
    uint64_t h = XXH64_digest(st);
    XXH64_freeState(st);
    return h;
}

typedef struct run {
    int64_t lo, hi;
} run;

/* "a-b,c-d": the runs (ascending, disjoint); 0 if malformed. */
static int parse_runs(const char *s, run *r, size_t *n)
{
    *n = 0;
    while (s && *s) {
        char *e;
        if (*n == AGT_CDC_MAX_RUNS) return 0;
        long long lo = strtoll(s, &e, 10);
        if (e == s || *e != '-') return 0;
        s = e + 1;
        long long hi = strtoll(s, &e, 10);
        if (e == s || hi < lo || (*n && lo <= r[*n - 1].hi)) return 0;
        r[*n].lo = lo;
        r[(*n)++].hi = hi;
        s = *e == ',' ? e + 1 : e;
        if (*e && *e != ',') return 0;
    }
    return *n > 0;
}

static int in_runs(const run *r, size_t n, int64_t id)
{
    for (size_t k = 0; k < n; k++)
        if (id >= r[k].lo && id <= r[k].hi) return 1;
    return 0;
}

/* Index of `id` in the sorted ids of t, or -1. */
static long find_id(const agt_trades *t, int64_t id)
{
    size_t lo = 0, hi = t->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->trade_id[mid] < id) lo = mid + 1;
        else hi = mid;
    }
    return lo < t->len && t->trade_id[lo] == id ? (long)lo : -1;
}

/*
 * The rows of the data file `dpath` whose ids lie in the runs, appended to
 * `out`; *fv receives the file's commit version. *in_flight = 1 (nothing
 * appended) if the file does not hold commit `version` yet while the WAL
 * has it in flight; AGT_ECORRUPT if it does not and the WAL has not.
 */
static agt_status rows_in_runs(agt_lake *l, const char *symbol, const char *path,
                               const char *dpath, int64_t hour, int64_t version, const run *r,
                               size_t nr, agt_trades *out, int64_t *fv, int *in_flight,
                               agt_error *err)
{
    agt_trades rows;
    agt_trades_init(&rows);
    agt_error e2;
    agt_error_clear(&e2);
    agt_status s = agt_lake_load_file(dpath, &rows, fv, &e2);
    if ((s == AGT_OK || s == AGT_ENOTFOUND) && *fv < version) {
        /* not applied yet: a commit in flight (its change file comes first), or lost */
        int busy = 0;
        agt_trades_release(&rows);
        AGT_TRY(agt_wal_in_flight(l, symbol, hour, hour, &busy, err));
        if (busy) {
            *in_flight = 1;
            return AGT_OK;
        }
        return agt_err(err, AGT_ECORRUPT,
                       "change file '%s': the data file '%s' it refers to for its inserts %s",
                       path, dpath, s == AGT_ENOTFOUND ? "does not exist" : "is older than it");
    }
    if (s != AGT_OK) {
        agt_trades_release(&rows);
        if (err) *err = e2;
        return s;
    }
    for (size_t i = 0; s == AGT_OK && i < rows.len; i++)
        if (in_runs(r, nr, rows.trade_id[i]))
            s = agt_trades_push(out, rows.trade_id[i], rows.ts_us[i], rows.price[i],
                                rows.quantity[i], rows.is_buyer_maker[i]);
    agt_trades_release(&rows);
    return s == AGT_OK ? AGT_OK : agt_err(err, s, "out of memory");
}

/*
 * Each row of `out` back to its value at the commit: the first update
 * pre-image of its id in the change files of `later` (ascending) that the
 * data file, at version fv, already holds.
 */
static agt_status values_at_commit(agt_lake *l, const char *symbol, const int64_t *later,
                                   size_t n_later, int64_t fv, agt_trades *out, agt_error *err)
{
    uint8_t *fixed = calloc(out->len ? out->len : 1, 1);
    if (!fixed) return agt_err(err, AGT_ENOMEM, "out of memory");
    agt_status s = AGT_OK;
    for (size_t k = 0; k < n_later && s == AGT_OK && later[k] <= fv; k++) {
        char rel[160], cpath[AGT_LAKE_PATH_MAX];
        agt_lake_change_rel(l, symbol, later[k], rel, sizeof rel);
        if ((s = agt_lake_path(l, cpath, sizeof cpath, rel, err)) != AGT_OK) break;
        agt_trades pre;
        uint8_t *types = NULL;
        agt_trades_init(&pre);
        s = agt_cdc_file_rows(cpath, &pre, &types, err);
        for (size_t i = 0; s == AGT_OK && i < pre.len; i++) {
            long at = types[i] == AGT_CHANGE_UPDATE_PREIMAGE ? find_id(out, pre.trade_id[i]) : -1;
            if (at < 0 || fixed[at]) continue;
            fixed[at] = 1;
            out->ts_us[at] = pre.ts_us[i];
            out->price[at] = pre.price[i];
            out->quantity[at] = pre.quantity[i];
            out->is_buyer_maker[at] = pre.is_buyer_maker[i];
        }
        free(types);
        agt_trades_release(&pre);
    }
    free(fixed);
    return s;
}

/* 1 if the rows hash to `digest` (as aggtrades.insert_xxh64 writes it). */
static int hash_is(const agt_trades *t, const char *digest)
{
    char got[24];
    snprintf(got, sizeof got, "%016" PRIx64, agt_cdc_rows_hash(t));
    return strcmp(got, digest) == 0;
}

agt_status agt_cdc_ref_resolve(agt_lake *l, const char *symbol, agt_pq_file *f, const char *path,
                               int64_t version, const int64_t *later, size_t n_later,
                               agt_trades *out, int *in_flight, agt_error *err)
{
    *in_flight = 0;
    const char *file = agt_pq_kv_get(f, "aggtrades.insert_file");
    const char *ranges = agt_pq_kv_get(f, "aggtrades.insert_ranges");
    const char *digest = agt_pq_kv_get(f, "aggtrades.insert_xxh64");
    const char *hour_kv = agt_pq_kv_get(f, "aggtrades.hour_start_us");
    run r[AGT_CDC_MAX_RUNS];
    size_t nr;
    if (!file || !digest || !hour_kv || !parse_runs(ranges, r, &nr) || strstr(file, ".."))
        return agt_err(err, AGT_ECORRUPT, "change file '%s': a malformed insert reference", path);
    char dpath[AGT_LAKE_PATH_MAX];
    AGT_TRY(agt_lake_path(l, dpath, sizeof dpath, file, err));
    int64_t fv = -1;
    AGT_TRY(rows_in_runs(l, symbol, path, dpath, strtoll(hour_kv, NULL, 10), version, r, nr, out,
                         &fv, in_flight, err));
    if (*in_flight) return AGT_OK;
    agt_trades as_is; /* the rows as the data file holds them now */
    agt_trades_init(&as_is);
    agt_status s = agt_trades_append(&as_is, out) == AGT_OK
                       ? values_at_commit(l, symbol, later, n_later, fv, out, err)
                       : agt_err(err, AGT_ENOMEM, "out of memory");
    if (s == AGT_OK && !hash_is(out, digest)) {
        if (hash_is(&as_is, digest)) { /* the file holds the inserted values again */
            agt_trades_clear(out);
            if (agt_trades_append(out, &as_is) != AGT_OK) s = agt_err(err, AGT_ENOMEM, "out of memory");
        } else {
            s = agt_err(err, AGT_ECORRUPT,
                        "change file '%s': the rows it inserted (ids %s of '%s') are no longer "
                        "those it recorded",
                        path, ranges, dpath);
        }
    }
    agt_trades_release(&as_is);
    return s;
}
