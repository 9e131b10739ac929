/*
 * open.c - opening and closing a lake handle.
 *
 * A reader only checks that the root is a directory, which layout it holds
 * (layout.c) and which market (futures.c): it takes no lock and writes
 * nothing. Opening for write refuses a folder of another market (futures.c),
 * creates the root, takes the lock (lock.c), records a new futures lake's
 * market, migrates a lake of the first
 * layout (migrate.c), creates the layout's directories and the schema file
 * (below), opens the write-ahead log (wal.c) and runs recovery: every
 * commit whose intent is in the WAL but has no COMMIT record is carried out
 * again (commit.c, agt_lake_apply is idempotent). Closing a writer
 * checkpoints the log, so a lake at rest keeps a small one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lake/lake_int.h"

/* The row schema, in Avro (AGT_LAKE_AVSC). */
static const char avro_schema[] =
    "{\n"
    "  \"type\": \"record\",\n"
    "  \"name\": \"AggTrade\",\n"
    "  \"namespace\": \"aggtrades\",\n"
    "  \"doc\": \"One Binance spot aggregate trade (schema version 1)\",\n"
    "  \"fields\": [\n"
    "    {\"name\": \"trade_id\", \"type\": \"long\"},\n"
    "    {\"name\": \"timestamp\", \"type\": {\"type\": \"long\", \"logicalType\": "
    "\"timestamp-micros\"}},\n"
    "    {\"name\": \"price\", \"type\": \"double\"},\n"
    "    {\"name\": \"quantity\", \"type\": \"double\"},\n"
    "    {\"name\": \"is_buyer_maker\", \"type\": \"boolean\"}\n"
    "  ]\n"
    "}\n";

void agt_lake_opts_default(agt_lake_opts *o)
{
    memset(o, 0, sizeof *o);
}

static agt_status create_layout(agt_lake *l, agt_error *err)
{
    static const char *const dirs[] = {"metadata/wal", "metadata/schema_version=1",
                                       "metadata/stats", AGT_LAKE_CHANGES};
    char p[AGT_LAKE_PATH_MAX];
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        AGT_TRY(agt_lake_path(l, p, sizeof p, dirs[i], err));
        AGT_TRY(agt_lake_mkdirs(l, p, err));
    }
    AGT_TRY(agt_lake_path(l, p, sizeof p, AGT_LAKE_AVSC, err));
    if (!agt_lake_exists(p))
        AGT_TRY(agt_lake_write_atomic(l, p, avro_schema, sizeof avro_schema - 1, err));
    return AGT_OK;
}

agt_status agt_lake_open_opts(const char *root, unsigned flags, const agt_lake_opts *o,
                              agt_lake **out, agt_error *err)
{
    if (out) *out = NULL;
    if (!root || !*root || !out) return agt_err(err, AGT_EINVAL, "no lake root given");
    if (!(flags & (AGT_LAKE_READ | AGT_LAKE_WRITE)) || (flags & ~3u))
        return agt_err(err, AGT_EINVAL, "invalid lake open flags %u", flags);
    if (strlen(root) > AGT_LAKE_PATH_MAX - 200)
        return agt_err(err, AGT_EINVAL, "lake root '%s' is too long", root);
    agt_lake *l = calloc(1, sizeof *l);
    if (!l) return agt_err(err, AGT_ENOMEM, "out of memory");
    agt_buf_init(&l->notices, 0);
    agt_buf_init(&l->file_buf, 0);
    snprintf(l->root, sizeof l->root, "%s", root);
    size_t rl = strlen(l->root);
    while (rl > 1 && l->root[rl - 1] == '/') l->root[--rl] = '\0';
    l->flags = flags;
    l->io = (o && o->io) ? o->io : agt_lake_io_posix();
    l->no_fsync = o ? o->no_fsync : 0;
    l->helper_min_rows = AGT_LAKE_HELPER_MIN_ROWS;
    l->checkpoint_bytes = (o && o->wal_checkpoint_bytes) ? o->wal_checkpoint_bytes
                                                         : AGT_WAL_CHECKPOINT_DEFAULT;
    l->lock_fd = -1;
    l->wal.fd = -1;

    agt_status s = AGT_OK;
    if (!(flags & AGT_LAKE_WRITE)) {
        struct stat st;
        if (stat(l->root, &st) != 0 || !S_ISDIR(st.st_mode)) {
            s = agt_err(err, AGT_ENOTFOUND, "no lake at '%s'", l->root);
            goto fail;
        }
        l->legacy = agt_lake_layout_is_legacy(l);
        if ((s = agt_lake_read_market(l, err)) != AGT_OK) goto fail;
        *out = l;
        return AGT_OK;
    }
    char p[AGT_LAKE_PATH_MAX];
    /* a folder of another market is refused before anything is written (futures.c) */
    if ((s = agt_lake_check_market(l, o ? o->market : NULL, err)) != AGT_OK) goto fail;
    if ((s = agt_lake_mkdirs(l, l->root, err)) != AGT_OK) goto fail;
    if ((s = agt_lake_path(l, p, sizeof p, "metadata", err)) != AGT_OK) goto fail;
    if ((s = agt_lake_mkdirs(l, p, err)) != AGT_OK) goto fail;
    if ((s = agt_lake_lock(l, err)) != AGT_OK) goto fail;
    if ((s = agt_lake_claim_market(l, o ? o->market : NULL, err)) != AGT_OK) goto fail;
    if ((s = agt_lake_migrate(l, err)) != AGT_OK) goto fail;
    if ((s = create_layout(l, err)) != AGT_OK) goto fail;
    agt_wal_begin *pending = NULL;
    size_t n_pending = 0;
    if ((s = agt_wal_open(l, &pending, &n_pending, err)) != AGT_OK) goto fail;
    s = agt_lake_recover(l, pending, n_pending, err);
    for (size_t i = 0; i < n_pending; i++) agt_wal_begin_release(&pending[i]);
    free(pending);
    if (s != AGT_OK) goto fail;
    *out = l;
    return AGT_OK;
fail:
    agt_lake_helper_stop(l); /* recovery may have started it */
    agt_wal_close(l);
    agt_lake_unlock(l);
    agt_cdc_cache_free(l);
    agt_buf_release(&l->notices);
    agt_buf_release(&l->file_buf);
    free(l);
    return s;
}

agt_status agt_lake_open(const char *root, unsigned flags, agt_lake **out, agt_error *err)
{
    return agt_lake_open_opts(root, flags, NULL, out, err);
}

void agt_lake_close(agt_lake *lake)
{
    if (!lake) return;
    if ((lake->flags & AGT_LAKE_WRITE) && lake->wal.fd >= 0)
        (void)agt_wal_checkpoint(lake, 1, NULL); /* a lake at rest keeps a small log (wal.c) */
    agt_lake_helper_stop(lake);
    agt_wal_close(lake);
    agt_lake_unlock(lake);
    agt_cdc_cache_free(lake);
    agt_buf_release(&lake->notices);
    agt_buf_release(&lake->file_buf);
    free(lake);
}
