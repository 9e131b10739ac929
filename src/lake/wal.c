/*
 * wal.c - the write-ahead log: <root>/metadata/wal/_wal.log (names: layout.c).
 *
 * Before a commit touches any file it appends a BEGIN record holding its
 * whole intent (symbol, hour, completeness facts) and every incoming row, and
 * fsyncs. From then on the commit cannot be lost: if the process dies, the
 * next writer finds the BEGIN without a matching COMMIT and carries it out
 * again (commit.c). The first commit of an hour goes by reference: its
 * BEGIN leaves the rows out, and the next writer finishes it if its data
 * file was renamed in, else undoes it (commit.c). The log also keeps STASH records, fetched pages of an
 * hour not yet committed, so that an interrupted download resumes from them.
 *
 * Checkpoints. Once a commit's COMMIT record is appended its data, change
 * and statistics files are durable (each was fsynced and renamed in, its
 * directory fsynced), so its BEGIN, rows included, is dead weight: only
 * recovery of an unfinished commit ever reads a BEGIN. Likewise every STASH
 * of an hour since committed or dropped. A checkpoint rewrites the log with
 * only the live STASH records (the pages of hours still being fetched) under
 * a header whose base version is the highest version used, so versions
 * never go back. It runs:
 *   - after a commit, when the dead bytes (log size less header and live
 *     stash records) exceed l->checkpoint_bytes, 4 MiB unless the opener
 *     set wal_checkpoint_bytes (after SQLite's default of 1000 pages of
 *     4 KiB); counting dead bytes, not the size, so that a large live stash
 *     (many big hours being fetched at once) is not copied at every commit;
 *   - at a clean close of a writer, whatever the size, so a lake at rest
 *     keeps a log of a header plus the pages of interrupted hours (a demo
 *     download of ~150k trades left 7.2 MB of dead BEGINs and stashes when
 *     only a 64 MiB threshold existed);
 *   - after recovery finished the commits found unfinished.
 * Never with a commit in flight: a writer is one thread, and every caller
 * runs after a commit's COMMIT record or before any BEGIN. The rewrite is
 * atomic (its temporary, fsync, rename, fsync the directory): a crash leaves
 * the old log or the new one, both valid (in the old one at worst the last
 * COMMIT, never fsynced, is missing, and recovery redoes that idempotent
 * commit), and a stale temporary is removed at open.
 *
 * All integers are little-endian. The file:
 *
 *   header (32 bytes)
 *     0   8  magic "AGTWAL01"
 *     8   4  format version (1)
 *    12   4  header size (32)
 *    16   8  base version: highest commit version when the log was created
 *    24   8  XXH64 (seed 0) of bytes 0..23
 *
 *   records, back to back
 *     0   4  type: 1 BEGIN, 2 COMMIT, 3 STASH, 4 DROP
 *     4   4  payload length n (< 2^31)
 *     8   8  commit version (BEGIN, COMMIT); 0 otherwise
 *    16   n  payload
 *    16+n 8  XXH64 (seed 0) of bytes 0..16+n-1 of the record
 *
 *   payloads ("key" = u8 symbol length, the symbol, i64 hour start µs)
 *     BEGIN   key, i64 prev_id, u8 complete, u8 source length, source,
 *             i64 fetched_at µs, i64 commit time µs, u64 rows, rows
 *     COMMIT  key
 *     STASH   key, u64 rows, rows
 *     DROP    key
 *   a row is 33 bytes: i64 trade_id, i64 ts µs, f64 price, f64 quantity,
 *   u8 is_buyer_maker. A BEGIN by reference (the first commit of an hour
 *   without a data file, commit.c) has rows = 2^64-1 and none follow: its
 *   rows are in the data file it writes, not copied here (a busy day's
 *   BEGINs were ~57 MB, written and fsynced only to be dropped at the next
 *   checkpoint).
 *
 * Reading stops at the first record that is torn or fails its checksum:
 * that is the tail of a write interrupted by a crash, never acknowledged.
 * The writer truncates it away before appending. A BEGIN also drops the
 * stash of its hour (its rows include them); COMMIT records are not
 * fsynced: a lost COMMIT only makes recovery redo an idempotent commit.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "lake/lake_int.h"

/* The row count of a BEGIN by reference. */
#define AGT_WAL_BY_REF UINT64_MAX

static const char wal_magic[8] = {'A', 'G', 'T', 'W', 'A', 'L', '0', '1'};

/* ---- encoding ------------------------------------------------------------ */

static agt_status put64(agt_buf *b, uint64_t v)
{
    uint8_t x[8];
    agt_le64(x, v);
    return agt_buf_append(b, x, 8);
}

static agt_status put_key(agt_buf *b, const char *symbol, int64_t hour)
{
    size_t n = strlen(symbol);
    AGT_TRY(agt_buf_putc(b, (uint8_t)n));
    AGT_TRY(agt_buf_append(b, symbol, n));
    return put64(b, (uint64_t)hour);
}

static agt_status put_rows(agt_buf *b, const agt_trades *t)
{
    size_t n = t ? t->len : 0;
    AGT_TRY(put64(b, n));
    AGT_TRY(agt_buf_reserve(b, n * AGT_WAL_ROW));
    for (size_t i = 0; i < n; i++) {
        uint8_t *p = b->data + b->len;
        uint64_t u;
        agt_le64(p, (uint64_t)t->trade_id[i]);
        agt_le64(p + 8, (uint64_t)t->ts_us[i]);
        memcpy(&u, &t->price[i], 8);
        agt_le64(p + 16, u);
        memcpy(&u, &t->quantity[i], 8);
        agt_le64(p + 24, u);
        p[32] = t->is_buyer_maker[i] ? 1 : 0;
        b->len += AGT_WAL_ROW;
    }
    return AGT_OK;
}

/* Start a record in `b` (reserving the 16-byte head). */
static agt_status rec_start(agt_buf *b)
{
    b->len = 0;
    uint8_t head[AGT_WAL_REC_HEAD] = {0};
    return agt_buf_append(b, head, sizeof head);
}

static agt_status rec_finish(agt_buf *b, uint32_t type, int64_t version)
{
    size_t n = b->len - AGT_WAL_REC_HEAD;
    if (n >= AGT_WAL_MAX_PAYLOAD) return AGT_ENOMEM;
    agt_le32(b->data, type);
    agt_le32(b->data + 4, (uint32_t)n);
    agt_le64(b->data + 8, (uint64_t)version);
    return put64(b, XXH64(b->data, b->len, 0));
}

static void header_encode(uint8_t h[AGT_WAL_HEADER], uint64_t base)
{
    memcpy(h, wal_magic, 8);
    agt_le32(h + 8, 1);
    agt_le32(h + 12, AGT_WAL_HEADER);
    agt_le64(h + 16, base);
    agt_le64(h + 24, XXH64(h, 24, 0));
}

/* ---- decoding ------------------------------------------------------------ */

agt_status agt_wal_parse(const uint8_t *p, size_t n, uint64_t *base_version, uint64_t *valid_end,
                         agt_wal_rec_fn fn, void *user, agt_error *err)
{
    if (n < AGT_WAL_HEADER || memcmp(p, wal_magic, 8) != 0 || agt_rd32(p + 8) != 1 ||
        agt_rd32(p + 12) != AGT_WAL_HEADER || agt_rd64(p + 24) != XXH64(p, 24, 0))
        return agt_err(err, AGT_ECORRUPT, "wal header is damaged");
    if (base_version) *base_version = agt_rd64(p + 16);
    size_t off = AGT_WAL_HEADER;
    for (;;) {
        if (n - off < AGT_WAL_REC_HEAD + 8) break;
        uint32_t type = agt_rd32(p + off);
        uint64_t len = agt_rd32(p + off + 4);
        if (len >= AGT_WAL_MAX_PAYLOAD || len > n - off - AGT_WAL_REC_HEAD - 8) break;
        size_t body = AGT_WAL_REC_HEAD + (size_t)len;
        if (agt_rd64(p + off + body) != XXH64(p + off, body, 0)) break;
        if (type < AGT_WAL_BEGIN || type > AGT_WAL_DROP) break;
        if (fn && fn(user, type, (int64_t)agt_rd64(p + off + 8), p + off + AGT_WAL_REC_HEAD,
                     (size_t)len, off) != 0)
            break;
        off += body + 8;
    }
    if (valid_end) *valid_end = off;
    return AGT_OK;
}

agt_status agt_wal_decode_key(const uint8_t *p, size_t n, char *symbol, int64_t *hour,
                              uint64_t *nrows, size_t *rows_off, agt_error *err)
{
    if (n < 1) return agt_err(err, AGT_ECORRUPT, "wal record too short");
    size_t sl = p[0];
    if (sl < 1 || sl > 20 || n < 1 + sl + 8) return agt_err(err, AGT_ECORRUPT, "wal key invalid");
    memcpy(symbol, p + 1, sl);
    symbol[sl] = '\0';
    if (!agt_symbol_valid(symbol)) return agt_err(err, AGT_ECORRUPT, "wal key symbol invalid");
    *hour = (int64_t)agt_rd64(p + 1 + sl);
    size_t off = 1 + sl + 8;
    if (nrows) {
        if (n - off < 8) return agt_err(err, AGT_ECORRUPT, "wal record too short");
        *nrows = agt_rd64(p + off);
        off += 8;
        if (*nrows > (n - off) / AGT_WAL_ROW || (n - off) != *nrows * AGT_WAL_ROW)
            return agt_err(err, AGT_ECORRUPT, "wal row count does not match record length");
    }
    if (rows_off) *rows_off = off;
    return AGT_OK;
}

agt_status agt_wal_decode_rows(const uint8_t *p, size_t n, uint64_t nrows, agt_trades *out,
                               agt_error *err)
{
    if (nrows > n / AGT_WAL_ROW) return agt_err(err, AGT_ECORRUPT, "wal rows truncated");
    if (agt_trades_reserve(out, out->len + (size_t)nrows) != AGT_OK)
        return agt_err(err, AGT_ENOMEM, "out of memory");
    for (uint64_t i = 0; i < nrows; i++, p += AGT_WAL_ROW) {
        size_t k = out->len++;
        uint64_t u;
        out->trade_id[k] = (int64_t)agt_rd64(p);
        out->ts_us[k] = (int64_t)agt_rd64(p + 8);
        u = agt_rd64(p + 16);
        memcpy(&out->price[k], &u, 8);
        u = agt_rd64(p + 24);
        memcpy(&out->quantity[k], &u, 8);
        out->is_buyer_maker[k] = p[32] ? 1 : 0;
    }
    return AGT_OK;
}

agt_status agt_wal_decode_begin(const uint8_t *p, size_t n, int64_t version, agt_wal_begin *b,
                                agt_error *err)
{
    size_t sl;
    if (n < 1 || (sl = p[0]) < 1 || sl > 20 || n < 1 + sl + 8 + 8 + 2)
        return agt_err(err, AGT_ECORRUPT, "wal begin record too short");
    memcpy(b->symbol, p + 1, sl);
    b->symbol[sl] = '\0';
    if (!agt_symbol_valid(b->symbol)) return agt_err(err, AGT_ECORRUPT, "wal begin symbol invalid");
    size_t o = 1 + sl;
    b->version = version;
    b->hour_start_us = (int64_t)agt_rd64(p + o);
    b->prev_id = (int64_t)agt_rd64(p + o + 8);
    b->complete = p[o + 16] ? 1 : 0;
    size_t srcl = p[o + 17];
    o += 18;
    if (srcl > 15 || n - o < srcl + 24) return agt_err(err, AGT_ECORRUPT, "wal begin record too short");
    memcpy(b->source, p + o, srcl);
    b->source[srcl] = '\0';
    o += srcl;
    b->fetched_at_us = (int64_t)agt_rd64(p + o);
    b->commit_ts_us = (int64_t)agt_rd64(p + o + 8);
    uint64_t nrows = agt_rd64(p + o + 16);
    o += 24;
    b->by_ref = nrows == AGT_WAL_BY_REF;
    if (b->by_ref) nrows = 0;
    if (nrows > (n - o) / AGT_WAL_ROW || n - o != nrows * AGT_WAL_ROW)
        return agt_err(err, AGT_ECORRUPT, "wal begin row count does not match record length");
    if (b->hour_start_us < 0 || b->hour_start_us % AGT_US_PER_HOUR != 0)
        return agt_err(err, AGT_ECORRUPT, "wal begin hour invalid");
    return agt_wal_decode_rows(p + o, n - o, nrows, &b->rows, err);
}

void agt_wal_begin_release(agt_wal_begin *b)
{
    if (b) agt_trades_release(&b->rows);
}

/* ---- stash index --------------------------------------------------------- */

void agt_wal_stash_forget(agt_wal *w, const char *symbol, int64_t hour)
{
    size_t j = 0;
    for (size_t i = 0; i < w->n_stash; i++) {
        agt_stash_ent *e = &w->stash[i];
        if (e->hour_start_us == hour && strcmp(e->symbol, symbol) == 0) continue;
        w->stash[j++] = *e;
    }
    w->n_stash = j;
}

static agt_status stash_add(agt_wal *w, const char *symbol, int64_t hour, uint64_t off,
                            uint64_t len)
{
    if (w->n_stash == w->cap_stash) {
        size_t nc = w->cap_stash ? w->cap_stash * 2 : 16;
        agt_stash_ent *n = realloc(w->stash, nc * sizeof *n);
        if (!n) return AGT_ENOMEM;
        w->stash = n;
        w->cap_stash = nc;
    }
    agt_stash_ent *e = &w->stash[w->n_stash++];
    snprintf(e->symbol, sizeof e->symbol, "%s", symbol);
    e->hour_start_us = hour;
    e->rec_off = off;
    e->rec_len = len;
    return AGT_OK;
}

/* ---- replay at open ------------------------------------------------------ */

typedef struct replay {
    agt_wal *w;
    struct { int64_t version; size_t off, len; int done; } *begins;
    size_t n, cap;
    int64_t max_version;
    agt_status st;
} replay;

static int replay_rec(void *user, uint32_t type, int64_t version, const uint8_t *p, size_t n,
                      uint64_t rec_off)
{
    replay *r = user;
    char sym[24];
    int64_t hour;
    if (type == AGT_WAL_BEGIN || type == AGT_WAL_COMMIT || type == AGT_WAL_DROP) {
        if (agt_wal_decode_key(p, n, sym, &hour, NULL, NULL, NULL) != AGT_OK) return 1;
        agt_wal_stash_forget(r->w, sym, hour);
    }
    if (type == AGT_WAL_BEGIN) {
        if (version <= 0) return 1;
        if (version > r->max_version) r->max_version = version;
        if (r->n == r->cap) {
            size_t nc = r->cap ? r->cap * 2 : 16;
            void *nb = realloc(r->begins, nc * sizeof *r->begins);
            if (!nb) { r->st = AGT_ENOMEM; return 1; }
            r->begins = nb;
            r->cap = nc;
        }
        r->begins[r->n].version = version;
        r->begins[r->n].off = (size_t)rec_off + AGT_WAL_REC_HEAD;
        r->begins[r->n].len = n;
        r->begins[r->n].done = 0;
        r->n++;
    } else if (type == AGT_WAL_COMMIT) {
        for (size_t i = 0; i < r->n; i++)
            if (r->begins[i].version == version) r->begins[i].done = 1;
    } else if (type == AGT_WAL_STASH) {
        uint64_t nrows;
        if (agt_wal_decode_key(p, n, sym, &hour, &nrows, NULL, NULL) != AGT_OK) return 1;
        if (stash_add(r->w, sym, hour, rec_off, AGT_WAL_REC_HEAD + n + 8) != AGT_OK) {
            r->st = AGT_ENOMEM;
            return 1;
        }
    }
    return 0;
}

/*
 * Replay the log image `img`: the stash index into `w`, *base the header's
 * version, *end the end of the last good record, *max_version the highest
 * BEGIN, and (pending not NULL) every BEGIN without its COMMIT decoded into
 * *pending (the caller releases them, also on failure). AGT_ECORRUPT if the
 * header is damaged or a pending BEGIN does not decode.
 */
static agt_status replay_image(agt_wal *w, const agt_buf *img, const char *path, uint64_t *base,
                               uint64_t *end, int64_t *max_version, agt_wal_begin **pending,
                               size_t *n_pending, agt_error *err)
{
    replay r;
    memset(&r, 0, sizeof r);
    r.w = w;
    agt_status s = agt_wal_parse(img->data, img->len, base, end, replay_rec, &r, err);
    if (s == AGT_OK && r.st != AGT_OK) s = agt_err(err, r.st, "out of memory reading the wal");
    if (s == AGT_ECORRUPT) agt_err(err, s, "write-ahead log '%s' has a damaged header", path);
    *max_version = r.max_version;
    for (size_t i = 0; i < r.n && s == AGT_OK; i++) {
        if (r.begins[i].done) continue;
        agt_wal_begin one, *b = &one;
        memset(&one, 0, sizeof one);
        if (pending) {
            if (!*pending && !(*pending = calloc(r.n, sizeof **pending))) {
                s = agt_err(err, AGT_ENOMEM, "out of memory");
                break;
            }
            b = &(*pending)[(*n_pending)++];
        }
        agt_trades_init(&b->rows);
        s = agt_wal_decode_begin(img->data + r.begins[i].off, r.begins[i].len, r.begins[i].version,
                                 b, err);
        if (s == AGT_ECORRUPT) {
            char why[sizeof err->message];
            snprintf(why, sizeof why, "%s", err ? err->message : "");
            agt_err(err, s, "write-ahead log '%s': the commit of version %lld does not decode (%s)",
                    path, (long long)r.begins[i].version, why);
        }
        if (!pending) agt_wal_begin_release(b);
    }
    free(r.begins);
    return s;
}

static agt_status wal_path(agt_lake *l, char *p, size_t n, agt_error *err)
{
    return agt_lake_path(l, p, n, agt_lake_wal_rel(l), err);
}

static agt_status create_fresh(agt_lake *l, const char *path, uint64_t base, agt_error *err)
{
    uint8_t h[AGT_WAL_HEADER];
    header_encode(h, base);
    return agt_lake_write_atomic(l, path, h, sizeof h, err);
}

/*
 * A new log, when there is none (a new lake, or one whose log was deleted
 * or set aside): its base version is the highest version on disk, which the
 * change feed gives (every commit writes its change file first), so that no
 * version is ever used twice.
 */
static agt_status create_missing(agt_lake *l, const char *path, agt_error *err)
{
    int64_t max = 0;
    AGT_TRY(agt_cdc_max_version(l, &max, err));
    return create_fresh(l, path, (uint64_t)max, err);
}

static agt_status wal_open_once(agt_lake *l, agt_wal_begin **pending, size_t *n_pending,
                                agt_error *err)
{
    *pending = NULL;
    *n_pending = 0;
    char path[AGT_LAKE_PATH_MAX], tmp[AGT_LAKE_PATH_MAX];
    AGT_TRY(wal_path(l, path, sizeof path, err));
    AGT_TRY(agt_lake_aside(l, path, AGT_LAKE_TMP, tmp, sizeof tmp, err));
    AGT_TRY(agt_lake_unlink(l, tmp, err)); /* an interrupted checkpoint */
    agt_wal *w = &l->wal;
    w->n_stash = 0;
    if (!agt_lake_exists(path)) AGT_TRY(create_missing(l, path, err));

    agt_buf img;
    agt_buf_init(&img, 0);
    agt_status s = agt_lake_read_file(l, path, &img, SIZE_MAX / 4, err);
    uint64_t base = 0, end = 0;
    int64_t max_version = 0;
    if (s == AGT_OK)
        s = replay_image(w, &img, path, &base, &end, &max_version, pending, n_pending, err);
    if (s != AGT_OK) goto out;
    w->base_version = base;
    l->last_version = (int64_t)base > max_version ? (int64_t)base : max_version;
    w->fd = l->io->open(l->io->ctx, path, O_RDWR, 0);
    if (w->fd < 0) { s = agt_err_sys(err, errno, "cannot open '%s'", path); goto out; }
    if (end < img.len) { /* drop the torn tail so appends follow good records */
        if (l->io->ftruncate(l->io->ctx, w->fd, (off_t)end) != 0) {
            s = agt_err_sys(err, errno, "cannot truncate '%s'", path);
            goto out;
        }
        s = agt_lake_fsync(l, w->fd, path, err);
    }
    w->size = end;
out:
    agt_buf_release(&img);
    if (s != AGT_OK) {
        for (size_t i = 0; i < *n_pending; i++) agt_wal_begin_release(&(*pending)[i]);
        free(*pending);
        *pending = NULL;
        *n_pending = 0;
    }
    return s;
}

/*
 * A log that cannot be replayed - its header damaged, or a commit record
 * whose checksum holds but whose content does not decode - would block
 * every writer. It only ever holds uncommitted work (commits in flight and
 * fetched pages; every committed hour is in its data, statistics and change
 * files), so it is set aside (quarantine.c) and a new one started: what it
 * held is fetched again. A commit it held that had renamed its data file in
 * is finished by the next commit of that hour (commit.c restores the
 * committed ".prev"), and verify reports what is left over.
 */
agt_status agt_wal_open(agt_lake *l, agt_wal_begin **pending, size_t *n_pending, agt_error *err)
{
    agt_error why;
    agt_error_clear(&why);
    agt_status s = wal_open_once(l, pending, n_pending, &why);
    if (s != AGT_ECORRUPT) {
        if (s != AGT_OK && err) *err = why;
        return s;
    }
    char to[AGT_LAKE_PATH_MAX];
    AGT_TRY(agt_lake_set_aside(l, agt_lake_wal_rel(l), to, sizeof to, err));
    agt_lake_notice(l, "%s; moved aside to '%s': the commits in flight and fetched pages it held "
                       "are dropped, committed data is intact",
                    why.message, to);
    return wal_open_once(l, pending, n_pending, err);
}

agt_status agt_wal_damaged(agt_lake *l, char *why, size_t n)
{
    char path[AGT_LAKE_PATH_MAX];
    if (why && n) why[0] = '\0';
    if (wal_path(l, path, sizeof path, NULL) != AGT_OK) return AGT_OK;
    agt_buf img;
    agt_buf_init(&img, 0);
    agt_error e;
    agt_error_clear(&e);
    agt_status s = agt_lake_read_file(l, path, &img, SIZE_MAX / 4, &e);
    if (s == AGT_ENOTFOUND) s = AGT_OK; /* a lake never written, or a new log to be */
    else if (s == AGT_OK) {
        agt_wal scratch; /* the stash index of a log this handle does not write */
        memset(&scratch, 0, sizeof scratch);
        uint64_t base, end;
        int64_t max_version;
        s = replay_image(&scratch, &img, path, &base, &end, &max_version, NULL, NULL, &e);
        free(scratch.stash);
    }
    agt_buf_release(&img);
    if (s != AGT_OK && why && n) snprintf(why, n, "%s", e.message);
    return s;
}

void agt_wal_close(agt_lake *l)
{
    agt_wal *w = &l->wal;
    if (w->fd >= 0) l->io->close(l->io->ctx, w->fd);
    w->fd = -1;
    free(w->stash);
    w->stash = NULL;
    w->n_stash = w->cap_stash = 0;
}

/* ---- a reader's look at commits in flight ----------------------------------- */

typedef struct inflight {
    const char *symbol;
    int64_t lo, hi;
    int64_t open[8]; /* versions of BEGINs in range not yet matched by a COMMIT */
    size_t n;
    int overflow;
} inflight;

static int inflight_rec(void *user, uint32_t type, int64_t version, const uint8_t *p, size_t n,
                        uint64_t off)
{
    inflight *f = user;
    char sym[24];
    int64_t hour;
    (void)off;
    if (type == AGT_WAL_BEGIN) {
        if (agt_wal_decode_key(p, n, sym, &hour, NULL, NULL, NULL) != AGT_OK) return 1;
        if (strcmp(sym, f->symbol) != 0 || hour < f->lo || hour > f->hi) return 0;
        if (f->n < sizeof f->open / sizeof f->open[0]) f->open[f->n++] = version;
        else f->overflow = 1; /* more than we track: say "in flight", the safe answer */
    } else if (type == AGT_WAL_COMMIT) {
        for (size_t i = 0; i < f->n; i++)
            if (f->open[i] == version) f->open[i] = f->open[--f->n];
    }
    return 0;
}

agt_status agt_wal_in_flight(agt_lake *l, const char *symbol, int64_t lo, int64_t hi, int *yes,
                             agt_error *err)
{
    *yes = 0;
    char path[AGT_LAKE_PATH_MAX];
    AGT_TRY(wal_path(l, path, sizeof path, err));
    agt_buf img;
    agt_buf_init(&img, 0);
    agt_error e2; /* no log (a lake never written) is an answer, not an error to report */
    agt_error_clear(&e2);
    agt_status s = agt_lake_read_file(l, path, &img, SIZE_MAX / 4, &e2);
    if (s == AGT_ENOTFOUND) {
        agt_buf_release(&img);
        return AGT_OK;
    }
    if (s != AGT_OK && err) *err = e2;
    inflight f;
    memset(&f, 0, sizeof f);
    f.symbol = symbol;
    f.lo = lo;
    f.hi = hi;
    /* a damaged header (a checkpoint being renamed in is atomic, so: real damage) says nothing */
    if (s == AGT_OK && agt_wal_parse(img.data, img.len, NULL, NULL, inflight_rec, &f, NULL) == AGT_OK)
        *yes = f.n > 0 || f.overflow;
    agt_buf_release(&img);
    return s;
}

/* ---- appending ----------------------------------------------------------- */

static agt_status append(agt_lake *l, agt_buf *rec, int sync, agt_error *err)
{
    agt_wal *w = &l->wal;
    char path[AGT_LAKE_PATH_MAX];
    AGT_TRY(wal_path(l, path, sizeof path, err));
    if (w->fd < 0) return agt_err(err, AGT_EINVAL, "lake '%s' is not open for writing", l->root);
    agt_status s = agt_lake_pwrite_all(l, w->fd, rec->data, rec->len, w->size, path, err);
    if (s == AGT_OK && sync) s = agt_lake_fsync(l, w->fd, path, err);
    if (s != AGT_OK) {
        /* A partial record fails its checksum and is ignored by replay; cut it now if we can. */
        if (l->io->ftruncate(l->io->ctx, w->fd, (off_t)w->size) != 0) l->broken = 1;
        return s;
    }
    w->size += rec->len;
    agt_lake_disk_add(l, (int64_t)rec->len);
    return AGT_OK;
}

agt_status agt_wal_append_begin(agt_lake *l, const agt_wal_begin *b, agt_error *err)
{
    agt_buf rec;
    agt_buf_init(&rec, 0);
    size_t srcl = strlen(b->source);
    agt_status s = rec_start(&rec);
    if (s == AGT_OK) s = put_key(&rec, b->symbol, b->hour_start_us);
    if (s == AGT_OK) s = put64(&rec, (uint64_t)b->prev_id);
    if (s == AGT_OK) s = agt_buf_putc(&rec, (uint8_t)(b->complete ? 1 : 0));
    if (s == AGT_OK) s = agt_buf_putc(&rec, (uint8_t)srcl);
    if (s == AGT_OK) s = agt_buf_append(&rec, b->source, srcl);
    if (s == AGT_OK) s = put64(&rec, (uint64_t)b->fetched_at_us);
    if (s == AGT_OK) s = put64(&rec, (uint64_t)b->commit_ts_us);
    if (s == AGT_OK) s = b->by_ref ? put64(&rec, AGT_WAL_BY_REF) : put_rows(&rec, &b->rows);
    if (s == AGT_OK) s = rec_finish(&rec, AGT_WAL_BEGIN, b->version);
    if (s != AGT_OK) s = agt_err(err, s, "commit of %zu rows is too large for the wal", b->rows.len);
    if (s == AGT_OK) s = append(l, &rec, 1, err);
    agt_buf_release(&rec);
    if (s == AGT_OK) agt_wal_stash_forget(&l->wal, b->symbol, b->hour_start_us);
    return s;
}

agt_status agt_wal_append_commit(agt_lake *l, int64_t version, const char *symbol, int64_t hour,
                                 agt_error *err)
{
    agt_buf rec;
    agt_buf_init(&rec, 0);
    agt_status s = rec_start(&rec);
    if (s == AGT_OK) s = put_key(&rec, symbol, hour);
    if (s == AGT_OK) s = rec_finish(&rec, AGT_WAL_COMMIT, version);
    if (s == AGT_OK) s = append(l, &rec, 0, err);
    else s = agt_err(err, s, "out of memory");
    agt_buf_release(&rec);
    return s;
}

agt_status agt_wal_append_stash(agt_lake *l, uint32_t type, const char *symbol, int64_t hour,
                                const agt_trades *rows, agt_error *err)
{
    agt_buf rec;
    agt_buf_init(&rec, 0);
    agt_status s = rec_start(&rec);
    if (s == AGT_OK) s = put_key(&rec, symbol, hour);
    if (s == AGT_OK && type == AGT_WAL_STASH) s = put_rows(&rec, rows);
    if (s == AGT_OK) s = rec_finish(&rec, type, 0);
    if (s != AGT_OK) {
        agt_buf_release(&rec);
        return agt_err(err, s, "stashed page is too large for the wal");
    }
    uint64_t off = l->wal.size;
    s = append(l, &rec, 1, err);
    if (s == AGT_OK) {
        if (type == AGT_WAL_STASH) {
            if (stash_add(&l->wal, symbol, hour, off, rec.len) != AGT_OK)
                s = agt_err(err, AGT_ENOMEM, "out of memory");
        } else {
            agt_wal_stash_forget(&l->wal, symbol, hour);
        }
    }
    agt_buf_release(&rec);
    return s;
}

/* ---- checkpoint ---------------------------------------------------------- */

agt_status agt_wal_checkpoint(agt_lake *l, int force, agt_error *err)
{
    agt_wal *w = &l->wal;
    if (w->fd < 0 || l->broken) return AGT_OK;
    uint64_t live = AGT_WAL_HEADER;
    for (size_t i = 0; i < w->n_stash; i++) live += w->stash[i].rec_len;
    if (live == w->size) return AGT_OK; /* nothing to drop */
    if (!force && w->size - live <= l->checkpoint_bytes) return AGT_OK;

    char path[AGT_LAKE_PATH_MAX];
    AGT_TRY(wal_path(l, path, sizeof path, err));

    /* Build the new image: header + live stash records, offsets remapped. */
    agt_buf img;
    agt_buf_init(&img, 0);
    agt_stash_ent *moved = NULL;
    agt_status s = agt_buf_reserve(&img, (size_t)live);
    if (s == AGT_OK && w->n_stash && !(moved = malloc(w->n_stash * sizeof *moved))) s = AGT_ENOMEM;
    if (s != AGT_OK) {
        agt_buf_release(&img);
        return agt_err(err, AGT_ENOMEM, "out of memory");
    }
    int64_t base = l->last_version;
    header_encode(img.data, (uint64_t)base);
    img.len = AGT_WAL_HEADER;
    for (size_t i = 0; i < w->n_stash && s == AGT_OK; i++) {
        agt_stash_ent e = w->stash[i];
        size_t got = 0;
        while (got < e.rec_len) {
            ssize_t r = l->io->pread(l->io->ctx, w->fd, img.data + img.len + got,
                                     (size_t)e.rec_len - got, (off_t)(e.rec_off + got));
            if (r <= 0) {
                s = agt_err_sys(err, r < 0 ? errno : EIO, "cannot read '%s'", path);
                break;
            }
            got += (size_t)r;
        }
        moved[i] = e;
        moved[i].rec_off = img.len;
        img.len += (size_t)e.rec_len;
    }
    if (s == AGT_OK) s = agt_lake_write_atomic(l, path, img.data, img.len, err);
    if (s == AGT_OK) {
        /* The old descriptor now names the unlinked old log; switch to the new one. */
        int fd = l->io->open(l->io->ctx, path, O_RDWR, 0);
        if (fd < 0) {
            s = agt_err_sys(err, errno, "cannot open '%s'", path);
            l->broken = 1;
        } else {
            l->io->close(l->io->ctx, w->fd);
            w->fd = fd;
            agt_lake_disk_add(l, (int64_t)img.len - (int64_t)w->size);
            w->size = img.len;
            w->base_version = (uint64_t)base;
            if (w->n_stash) memcpy(w->stash, moved, w->n_stash * sizeof *moved);
        }
    }
    free(moved);
    agt_buf_release(&img);
    return s;
}
