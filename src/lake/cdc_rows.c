/*
 * cdc_rows.c - the rows of one change file (cdc.c gives its columns) and
 * the change type of each, read back from its "_change_type" column.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lake/lake_int.h"
#include "parquet/parquet.h"

agt_status agt_cdc_rows_of(agt_pq_file *f, const char *path, agt_trades *t, uint8_t **types,
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
    agt_status s = agt_cdc_rows_of(f, path, t, types, err);
    agt_pq_close(f);
    return s;
}
