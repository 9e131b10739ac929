/*
 * pq_file.h - the reader's view of an open file, shared by meta.c (footer
 * parsing and validation), pageindex.c (OffsetIndex / ColumnIndex) and
 * reader.c (pages and values). Every offset stored here has been checked
 * to lie inside the file before the footer.
 */
#ifndef AGT_PQ_FILE_H
#define AGT_PQ_FILE_H

#include <zstd.h>

#include "parquet/pq_int.h"

typedef struct pq_colinfo {
    const uint8_t *name_p;
    uint32_t name_l;
    char *name; /* NUL-terminated copy */
    int ptype, optional;
    agt_pq_type type;
} pq_colinfo;

typedef struct pq_sv { /* a string value: pointer and length */
    const uint8_t *p;
    uint32_t n;
} pq_sv;

typedef struct pq_chunk {
    int codec, has_meta;
    int64_t num_values, start, end, data_off, dict_off; /* dict_off 0: none */
    const uint8_t *min_p, *max_p;                        /* PLAIN statistics or NULL */
    uint32_t min_l, max_l;
    int64_t bloom_off, oi_off, ci_off;
    int32_t bloom_len, oi_len, ci_len;
    /* loaded on first use */
    int oi_state, ci_state, dict_state; /* 0 not yet, 1 loaded, -1 absent */
    size_t npages;
    int64_t *pg_off, *pg_row;
    int32_t *pg_size;
    int64_t *pg_min, *pg_max; /* INT64/TIMESTAMP columns only */
    int ci_order;
    void *dict;      /* decoded entries (element size of the column, pq_sv for strings) */
    size_t dict_n;
    uint8_t *dict_raw; /* strings: the dictionary page body they point into */
} pq_chunk;

struct agt_pq_file {
    const uint8_t *data;
    size_t len, meta_end; /* meta_end: first byte of the footer */
    int mapped;
    int64_t nrows;
    size_t ncols, nrg;
    int64_t *rg_rows, *rg_first;
    pq_colinfo *cols;
    pq_chunk *ch; /* nrg * ncols, row-group major */
    size_t nkv;
    char **kv; /* key, value, key, value... (value may be NULL) */
    char *arena;
    ZSTD_DCtx *dctx;
    agt_buf page, tmp, idx;
    long pages_decoded;
    agt_buf *sbytes; /* string output of agt_pq_read_strings */
};

#define PQ_CHUNK(f, rg, col) (&(f)->ch[(size_t)(rg) * (f)->ncols + (size_t)(col)])
#define PQ_SCRATCH_MAX ((size_t)256 << 20)

agt_status pq_parse_footer(agt_pq_file *f, agt_error *err);
agt_status pq_load_offset_index(agt_pq_file *f, int col, size_t rg, agt_error *err);
agt_status pq_load_column_index(agt_pq_file *f, int col, size_t rg, agt_error *err);
/* Decode rows [lo, hi) (relative to row group rg) of column col into out. */
agt_status pq_read_rows(agt_pq_file *f, int col, size_t rg, int64_t lo, int64_t hi, void *out,
                        agt_error *err);
size_t pq_elem_size(agt_pq_type t);

#endif
