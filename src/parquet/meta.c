/*
 * meta.c - opening a file and parsing its footer (FileMetaData).
 *
 * Checks, in order: the two "PAR1" magics, the footer length against the
 * file size, the Thrift structure (pq_tr limits), a flat schema whose root
 * counts the leaves, supported physical types, one ColumnChunk per leaf in
 * every row group with metadata present, num_values equal to the row
 * group's rows, and every chunk's byte range [start, start + total size)
 * inside the data area (after "PAR1", before the footer). Anything else is
 * AGT_ECORRUPT with a one-line message; features we do not implement
 * (nested schemas, encryption, external chunks) are AGT_EUNSUPPORTED.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parquet/pq_file.h"

#define FOOTER_MAX ((size_t)64 << 20)

typedef struct pctx {
    agt_pq_file *f;
    pq_tr r;
    agt_error *err;
    agt_status st; /* first non-corruption failure */
    const char *msg;
} pctx;

static void unsup(pctx *c, const char *msg)
{
    if (c->st == AGT_OK) {
        c->st = AGT_EUNSUPPORTED;
        c->msg = msg;
    }
    pq_tr_fail(&c->r, msg);
}

/* A LogicalType: the unit of a TIMESTAMP (its field id: 1 ms, 2 µs, 3 ns) into *ts_unit. */
static void parse_logical(pctx *c, int *ts_unit)
{
    pq_tr *r = &c->r;
    int16_t last = 0, fid;
    int t;
    while (pq_tr_field(r, &last, &fid, &t)) {
        if (fid == 8 && pq_tr_enter(r, t)) {
            int16_t l2 = 0, f2;
            int t2;
            while (pq_tr_field(r, &l2, &f2, &t2)) {
                if (f2 == 2 && pq_tr_enter(r, t2)) {
                    int16_t l3 = 0, f3;
                    int t3;
                    while (pq_tr_field(r, &l3, &f3, &t3)) {
                        *ts_unit = f3;
                        pq_tr_skip(r, t3);
                    }
                    pq_tr_leave(r);
                } else {
                    pq_tr_skip(r, t2);
                }
            }
            pq_tr_leave(r);
        } else {
            pq_tr_skip(r, t);
        }
    }
}

/* One SchemaElement of the footer, as read (field ids of parquet.thrift). */
typedef struct schema_elem {
    int ptype, rep, conv, ts_unit;
    int64_t children;
    const uint8_t *name;
    uint32_t name_l;
} schema_elem;

/* Read the SchemaElement the reader is at. 0 if the footer is bad (r->bad set). */
static int read_element(pctx *c, schema_elem *e)
{
    pq_tr *r = &c->r;
    *e = (schema_elem){.ptype = -1, .rep = -1, .conv = -1, .children = -1};
    if (!pq_tr_enter(r, TT_STRUCT)) return 0;
    int16_t last = 0, fid;
    int t;
    while (pq_tr_field(r, &last, &fid, &t)) {
        switch (fid) {
        case 1: e->ptype = pq_tr_i32(r, t); break;
        case 3: e->rep = pq_tr_i32(r, t); break;
        case 4: e->name = pq_tr_bin(r, t, &e->name_l); break;
        case 5: e->children = pq_tr_i32(r, t); break;
        case 6: e->conv = pq_tr_i32(r, t); break;
        case 10:
            if (pq_tr_enter(r, t)) {
                parse_logical(c, &e->ts_unit);
                pq_tr_leave(r);
            }
            break;
        default: pq_tr_skip(r, t);
        }
    }
    pq_tr_leave(r);
    if (r->bad) return 0;
    if (!e->name) {
        pq_tr_fail(r, "schema element without a name");
        return 0;
    }
    return 1;
}

/* The column a leaf element describes into *ci. 0 if it is not one we read (refused). */
static int column_of(pctx *c, const schema_elem *e, pq_colinfo *ci)
{
    if (e->children > 0) {
        unsup(c, "nested schemas are not supported");
        return 0;
    }
    if (e->rep == 2) {
        unsup(c, "repeated columns are not supported");
        return 0;
    }
    ci->name_p = e->name;
    ci->name_l = e->name_l;
    ci->ptype = e->ptype;
    ci->optional = e->rep == 1;
    switch (e->ptype) {
    case PQ_INT64:
        ci->type = (e->ts_unit == 2 || e->conv == PQ_CT_TIMESTAMP_MICROS) ? AGT_PQ_TIMESTAMP_US
                                                                           : AGT_PQ_INT64;
        return 1;
    case PQ_DOUBLE: ci->type = AGT_PQ_DOUBLE; return 1;
    case PQ_BOOLEAN: ci->type = AGT_PQ_BOOL; return 1;
    case PQ_INT32: ci->type = AGT_PQ_INT32; return 1;
    case PQ_BYTE_ARRAY: ci->type = AGT_PQ_STRING; return 1;
    case PQ_INT96:
    case PQ_FLOAT:
    case PQ_FLBA:
        unsup(c, "column of physical type float, int96 or fixed-length bytes");
        return 0;
    default:
        pq_tr_fail(&c->r, "column without a valid physical type");
        return 0;
    }
}

/* The flat schema: a root whose children count the leaves, then one leaf a column. */
static void parse_schema(pctx *c, int type)
{
    pq_tr *r = &c->r;
    agt_pq_file *f = c->f;
    int et;
    uint32_t n = pq_tr_list(r, type, &et);
    if (r->bad) return;
    if (f->cols) {
        pq_tr_fail(r, "two schemas");
        return;
    }
    if (n < 2 || et != TT_STRUCT) {
        pq_tr_fail(r, "schema has no columns");
        return;
    }
    f->ncols = n - 1;
    f->cols = calloc(f->ncols, sizeof *f->cols);
    if (!f->cols) {
        c->st = AGT_ENOMEM;
        pq_tr_fail(r, "out of memory");
        return;
    }
    for (uint32_t i = 0; i < n && !r->bad; i++) {
        schema_elem e;
        if (!read_element(c, &e)) return;
        if (i == 0 && e.children != (int64_t)n - 1) {
            unsup(c, "nested schemas are not supported");
            return;
        }
        if (i > 0 && !column_of(c, &e, &f->cols[i - 1])) return;
    }
}

static void parse_stats(pctx *c, pq_chunk *ch)
{
    pq_tr *r = &c->r;
    int16_t last = 0, fid;
    int t;
    const uint8_t *lmin = NULL, *lmax = NULL;
    uint32_t lminl = 0, lmaxl = 0;
    while (pq_tr_field(r, &last, &fid, &t)) {
        switch (fid) {
        case 1: lmax = pq_tr_bin(r, t, &lmaxl); break;
        case 2: lmin = pq_tr_bin(r, t, &lminl); break;
        case 5: ch->max_p = pq_tr_bin(r, t, &ch->max_l); break;
        case 6: ch->min_p = pq_tr_bin(r, t, &ch->min_l); break;
        default: pq_tr_skip(r, t);
        }
    }
    if (!ch->min_p || !ch->max_p) {
        ch->min_p = lmin, ch->min_l = lminl;
        ch->max_p = lmax, ch->max_l = lmaxl;
    }
    if (!ch->min_p || !ch->max_p) ch->min_p = ch->max_p = NULL;
}

static void parse_colmeta(pctx *c, pq_chunk *ch, const pq_colinfo *ci)
{
    pq_tr *r = &c->r;
    int16_t last = 0, fid;
    int t;
    ch->has_meta = 1;
    int64_t tcs = -1;
    ch->num_values = -1;
    ch->data_off = -1;
    while (pq_tr_field(r, &last, &fid, &t)) {
        switch (fid) {
        case 1:
            if (pq_tr_i32(r, t) != ci->ptype) pq_tr_fail(r, "chunk type differs from the schema");
            break;
        case 4: ch->codec = pq_tr_i32(r, t); break;
        case 5: ch->num_values = pq_tr_i64(r, t); break;
        case 7: tcs = pq_tr_i64(r, t); break;
        case 9: ch->data_off = pq_tr_i64(r, t); break;
        case 11: ch->dict_off = pq_tr_i64(r, t); break;
        case 12:
            if (pq_tr_enter(r, t)) {
                parse_stats(c, ch);
                pq_tr_leave(r);
            }
            break;
        case 14: ch->bloom_off = pq_tr_i64(r, t); break;
        case 15: ch->bloom_len = pq_tr_i32(r, t); break;
        default: pq_tr_skip(r, t);
        }
    }
    if (r->bad) return;
    agt_pq_file *f = c->f;
    if (ch->dict_off <= 0 || ch->dict_off >= ch->data_off) ch->dict_off = 0;
    ch->start = ch->dict_off ? ch->dict_off : ch->data_off;
    if (ch->data_off < 4 || tcs <= 0 || (uint64_t)tcs > f->meta_end ||
        (uint64_t)ch->start > f->meta_end - (uint64_t)tcs)
        {
            pq_tr_fail(r, "column chunk lies outside the file");
            return;
        }
    ch->end = ch->start + tcs;
    if (ch->data_off >= ch->end) {
            pq_tr_fail(r, "column chunk lies outside the file");
            return;
        }
    if (ch->bloom_off < 4 || (uint64_t)ch->bloom_off >= f->meta_end) ch->bloom_off = 0;
}

static void parse_rowgroup(pctx *c, size_t rg)
{
    pq_tr *r = &c->r;
    agt_pq_file *f = c->f;
    int16_t last = 0, fid;
    int t, seen_cols = 0;
    int64_t rows = -1;
    while (pq_tr_field(r, &last, &fid, &t)) {
        if (fid == 3) {
            rows = pq_tr_i64(r, t);
        } else if (fid == 1) {
            int et;
            uint32_t n = pq_tr_list(r, t, &et);
            if (r->bad) return;
            if (n != f->ncols || et != TT_STRUCT)
                {
            pq_tr_fail(r, "row group column count differs from the schema");
            return;
        }
            seen_cols = 1;
            for (uint32_t i = 0; i < n && !r->bad; i++) {
                pq_chunk *ch = PQ_CHUNK(f, rg, i);
                if (!pq_tr_enter(r, TT_STRUCT)) return;
                int16_t l2 = 0, f2;
                int t2;
                while (pq_tr_field(r, &l2, &f2, &t2)) {
                    switch (f2) {
                    case 1: pq_tr_skip(r, t2), unsup(c, "column chunks in other files are not supported"); break;
                    case 3:
                        if (pq_tr_enter(r, t2)) {
                            parse_colmeta(c, ch, &f->cols[i]);
                            pq_tr_leave(r);
                        }
                        break;
                    case 4: ch->oi_off = pq_tr_i64(r, t2); break;
                    case 5: ch->oi_len = pq_tr_i32(r, t2); break;
                    case 6: ch->ci_off = pq_tr_i64(r, t2); break;
                    case 7: ch->ci_len = pq_tr_i32(r, t2); break;
                    case 8:
                    case 9: pq_tr_skip(r, t2), unsup(c, "encrypted columns are not supported"); break;
                    default: pq_tr_skip(r, t2);
                    }
                }
                pq_tr_leave(r);
                if (!r->bad && !ch->has_meta) {
            pq_tr_fail(r, "column chunk without metadata");
            return;
        }
            }
        } else {
            pq_tr_skip(r, t);
        }
    }
    if (r->bad) return;
    if (!seen_cols || rows < 0) {
            pq_tr_fail(r, "row group without columns or row count");
            return;
        }
    f->rg_rows[rg] = rows;
    for (size_t i = 0; i < f->ncols; i++)
        if (PQ_CHUNK(f, rg, i)->num_values != rows)
            {
            pq_tr_fail(r, "column value count differs from the row group's rows");
            return;
        }
}

static void parse_kv(pctx *c, int type, const uint8_t ***kvp, uint32_t **kvl)
{
    pq_tr *r = &c->r;
    agt_pq_file *f = c->f;
    int et;
    uint32_t n = pq_tr_list(r, type, &et);
    if (r->bad || n == 0) return;
    if (et != TT_STRUCT) {
            pq_tr_fail(r, "bad key-value list");
            return;
        }
    *kvp = calloc((size_t)n * 2, sizeof **kvp);
    *kvl = calloc((size_t)n * 2, sizeof **kvl);
    if (!*kvp || !*kvl) {
        c->st = AGT_ENOMEM;
        {
            pq_tr_fail(r, "out of memory");
            return;
        }
    }
    f->nkv = n;
    for (uint32_t i = 0; i < n && !r->bad; i++) {
        if (!pq_tr_enter(r, TT_STRUCT)) return;
        int16_t last = 0, fid;
        int t;
        while (pq_tr_field(r, &last, &fid, &t)) {
            if (fid == 1 || fid == 2)
                (*kvp)[2 * i + (size_t)fid - 1] = pq_tr_bin(r, t, &(*kvl)[2 * i + (size_t)fid - 1]);
            else
                pq_tr_skip(r, t);
        }
        pq_tr_leave(r);
        if (!r->bad && !(*kvp)[2 * i]) pq_tr_fail(r, "key-value entry without a key");
    }
}

static void parse_filemeta(pctx *c, const uint8_t ***kvp, uint32_t **kvl)
{
    pq_tr *r = &c->r;
    agt_pq_file *f = c->f;
    int16_t last = 0, fid;
    int t, seen_rows = 0, seen_rgs = 0;
    while (pq_tr_field(r, &last, &fid, &t)) {
        switch (fid) {
        case 2: parse_schema(c, t); break;
        case 3:
            f->nrows = pq_tr_i64(r, t);
            seen_rows = 1;
            break;
        case 4: {
            int et;
            uint32_t n = pq_tr_list(r, t, &et);
            if (r->bad) return;
            if (!f->cols) {
            pq_tr_fail(r, "row groups before the schema");
            return;
        }
            if (seen_rgs++) {
            pq_tr_fail(r, "two row group lists");
            return;
        }
            if (n && et != TT_STRUCT) {
            pq_tr_fail(r, "bad row group list");
            return;
        }
            f->nrg = n;
            f->rg_rows = calloc(n + 1, sizeof *f->rg_rows);
            f->rg_first = calloc(n + 1, sizeof *f->rg_first);
            f->ch = calloc((size_t)n * f->ncols + 1, sizeof *f->ch);
            if (!f->rg_rows || !f->rg_first || !f->ch) {
                c->st = AGT_ENOMEM;
                {
            pq_tr_fail(r, "out of memory");
            return;
        }
            }
            for (uint32_t i = 0; i < n && !r->bad; i++) {
                if (!pq_tr_enter(r, TT_STRUCT)) return;
                parse_rowgroup(c, i);
                pq_tr_leave(r);
            }
            break;
        }
        case 5: parse_kv(c, t, kvp, kvl); break;
        case 8:
        case 9: unsup(c, "encrypted files are not supported"); break;
        default: pq_tr_skip(r, t);
        }
    }
    if (r->bad) return;
    if (!f->cols) {
            pq_tr_fail(r, "footer without a schema");
            return;
        }
    if (!seen_rows || f->nrows < 0) {
            pq_tr_fail(r, "footer without a row count");
            return;
        }
    int64_t sum = 0;
    for (size_t i = 0; i < f->nrg; i++) {
        f->rg_first[i] = sum;
        if (f->rg_rows[i] > INT64_MAX / 2 - sum) {
            pq_tr_fail(r, "row counts overflow");
            return;
        }
        sum += f->rg_rows[i];
    }
    if (sum != f->nrows) {
            pq_tr_fail(r, "row groups do not add up to the file's rows");
            return;
        }
}

/* Copy column names and key-value strings into one NUL-terminated arena. */
static agt_status build_arena(agt_pq_file *f, const uint8_t **kvp, const uint32_t *kvl)
{
    size_t total = 0;
    for (size_t i = 0; i < f->ncols; i++) total += f->cols[i].name_l + 1;
    for (size_t i = 0; i < 2 * f->nkv; i++) total += kvp[i] ? kvl[i] + 1 : 0;
    f->arena = malloc(total + 1);
    f->kv = calloc(2 * f->nkv + 1, sizeof *f->kv);
    if (!f->arena || !f->kv) return AGT_ENOMEM;
    char *a = f->arena;
    for (size_t i = 0; i < f->ncols; i++) {
        memcpy(a, f->cols[i].name_p, f->cols[i].name_l);
        a[f->cols[i].name_l] = 0;
        f->cols[i].name = a;
        a += f->cols[i].name_l + 1;
    }
    for (size_t i = 0; i < 2 * f->nkv; i++) {
        if (!kvp[i]) continue;
        memcpy(a, kvp[i], kvl[i]);
        a[kvl[i]] = 0;
        f->kv[i] = a;
        a += kvl[i] + 1;
    }
    return AGT_OK;
}

agt_status pq_parse_footer(agt_pq_file *f, agt_error *err)
{
    if (f->len < 12) return agt_err(err, AGT_ECORRUPT, "parquet file too small (%zu bytes)", f->len);
    if (memcmp(f->data, "PAR1", 4) != 0 || memcmp(f->data + f->len - 4, "PAR1", 4) != 0) {
        if (memcmp(f->data + f->len - 4, "PARE", 4) == 0)
            return agt_err(err, AGT_EUNSUPPORTED, "encrypted parquet files are not supported");
        return agt_err(err, AGT_ECORRUPT, "not a parquet file (bad magic)");
    }
    size_t flen = pq_rd32(f->data + f->len - 8);
    if (flen > f->len - 12 || flen > FOOTER_MAX || flen == 0)
        return agt_err(err, AGT_ECORRUPT, "parquet footer length %zu does not fit the file", flen);
    f->meta_end = f->len - 8 - flen;
    pctx c = {f, {0}, err, AGT_OK, NULL};
    pq_tr_init(&c.r, f->data + f->meta_end, flen);
    const uint8_t **kvp = NULL;
    uint32_t *kvl = NULL;
    parse_filemeta(&c, &kvp, &kvl);
    agt_status st = AGT_OK;
    if (c.st != AGT_OK)
        st = c.st == AGT_ENOMEM ? agt_err(err, AGT_ENOMEM, "out of memory reading parquet footer")
                                : agt_err(err, c.st, "parquet: %s", c.msg);
    else if (c.r.bad)
        st = agt_err(err, AGT_ECORRUPT, "corrupt parquet footer: %s", c.r.why);
    if (st == AGT_OK && build_arena(f, kvp, kvl) != AGT_OK)
        st = agt_err(err, AGT_ENOMEM, "out of memory reading parquet footer");
    free(kvp);
    free(kvl);
    return st;
}

/* ---- open / close ------------------------------------------------------ */

static agt_status open_common(agt_pq_file *f, agt_pq_file **out, agt_error *err)
{
    agt_buf_init(&f->page, PQ_SCRATCH_MAX);
    agt_buf_init(&f->tmp, PQ_SCRATCH_MAX);
    agt_buf_init(&f->idx, PQ_SCRATCH_MAX);
    agt_status st = pq_parse_footer(f, err);
    if (st != AGT_OK) {
        agt_pq_close(f);
        return st;
    }
    *out = f;
    return AGT_OK;
}

agt_status agt_pq_open_mem(const uint8_t *data, size_t len, agt_pq_file **out, agt_error *err)
{
    *out = NULL;
    agt_pq_file *f = calloc(1, sizeof *f);
    if (!f) return agt_err(err, AGT_ENOMEM, "out of memory opening parquet file");
    f->data = data;
    f->len = data ? len : 0;
    return open_common(f, out, err);
}

agt_status agt_pq_open(const char *path, agt_pq_file **out, agt_error *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return agt_err(err, AGT_ENOTFOUND, "no such file '%s'", path);
        return agt_err_sys(err, errno, "cannot open '%s'", path);
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return agt_err_sys(err, e, "cannot stat '%s'", path);
    }
    size_t len = (size_t)st.st_size;
    if (len < 12) {
        close(fd);
        return agt_err(err, AGT_ECORRUPT, "'%s' is too small to be a parquet file", path);
    }
    void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (m == MAP_FAILED) return agt_err_sys(err, e, "cannot map '%s'", path);
    agt_pq_file *f = calloc(1, sizeof *f);
    if (!f) {
        munmap(m, len);
        return agt_err(err, AGT_ENOMEM, "out of memory opening parquet file");
    }
    f->data = m;
    f->len = len;
    f->mapped = 1;
    agt_status s = open_common(f, out, err);
    if (s != AGT_OK && err && err->message[0]) {
        char msg[sizeof err->message];
        snprintf(msg, sizeof msg, "%s", err->message);
        agt_err(err, s, "'%s': %s", path, msg);
    }
    return s;
}

void agt_pq_close(agt_pq_file *f)
{
    if (!f) return;
    for (size_t i = 0; f->ch && i < f->nrg * f->ncols; i++) {
        pq_chunk *c = &f->ch[i];
        free(c->pg_off);
        free(c->pg_row);
        free(c->pg_size);
        free(c->pg_min);
        free(c->pg_max);
        free(c->dict);
        free(c->dict_raw);
    }
    free(f->ch);
    free(f->cols);
    free(f->rg_rows);
    free(f->rg_first);
    free(f->kv);
    free(f->arena);
    agt_buf_release(&f->page);
    agt_buf_release(&f->tmp);
    agt_buf_release(&f->idx);
    ZSTD_freeDCtx(f->dctx);
    if (f->mapped) munmap((void *)(uintptr_t)f->data, f->len);
    free(f);
}

/* ---- accessors --------------------------------------------------------- */

int64_t agt_pq_num_rows(const agt_pq_file *f)
{
    return f->nrows;
}

size_t agt_pq_num_columns(const agt_pq_file *f)
{
    return f->ncols;
}

int agt_pq_column_index(const agt_pq_file *f, const char *name)
{
    for (size_t i = 0; i < f->ncols; i++)
        if (strcmp(f->cols[i].name, name) == 0) return (int)i;
    return -1;
}

agt_pq_type agt_pq_column_type(const agt_pq_file *f, int col)
{
    return f->cols[col].type;
}

const char *agt_pq_column_name(const agt_pq_file *f, int col)
{
    return f->cols[col].name;
}

const char *agt_pq_kv_get(const agt_pq_file *f, const char *key)
{
    for (size_t i = 0; i < f->nkv; i++)
        if (f->kv[2 * i] && strcmp(f->kv[2 * i], key) == 0) return f->kv[2 * i + 1];
    return NULL;
}

agt_status agt_pq_int64_stats(const agt_pq_file *f, int col, int64_t *min, int64_t *max)
{
    if (col < 0 || (size_t)col >= f->ncols || f->nrg == 0) return AGT_ENOTFOUND;
    agt_pq_type t = f->cols[col].type;
    if (t != AGT_PQ_INT64 && t != AGT_PQ_TIMESTAMP_US && t != AGT_PQ_INT32) return AGT_ENOTFOUND;
    size_t w = t == AGT_PQ_INT32 ? 4 : 8;
    int64_t mn = INT64_MAX, mx = INT64_MIN;
    for (size_t rg = 0; rg < f->nrg; rg++) {
        const pq_chunk *c = PQ_CHUNK(f, rg, col);
        if (f->rg_rows[rg] == 0) continue;
        if (!c->min_p || c->min_l != w || c->max_l != w) return AGT_ENOTFOUND;
        int64_t a, b;
        if (w == 4) {
            int32_t x, y;
            memcpy(&x, c->min_p, 4);
            memcpy(&y, c->max_p, 4);
            a = x, b = y;
        } else {
            memcpy(&a, c->min_p, 8);
            memcpy(&b, c->max_p, 8);
        }
        if (a < mn) mn = a;
        if (b > mx) mx = b;
    }
    if (mn > mx) return AGT_ENOTFOUND;
    *min = mn;
    *max = mx;
    return AGT_OK;
}
