/*
 * parquet.h - our own Parquet writer and reader (internal to the library;
 * the lake is its only user). Facts and choices: docs/parquet.md.
 *
 * Files have one row group, data page V1, ZSTD pages, REQUIRED flat columns.
 * The writer encodes a whole table held in memory into a caller-provided
 * agt_buf (the lake writes it to disk atomically through its own I/O layer).
 * The reader validates every offset and length against the file size before
 * use: a truncated or corrupt file gives AGT_ECORRUPT, never a crash.
 */
#ifndef AGT_PARQUET_H
#define AGT_PARQUET_H

#include <stdint.h>

#include "common/common_int.h"

typedef enum agt_pq_type {
    AGT_PQ_INT64 = 0,        /* int64_t values */
    AGT_PQ_TIMESTAMP_US = 1, /* int64_t µs, TIMESTAMP(isAdjustedToUTC=true, MICROS) */
    AGT_PQ_DOUBLE = 2,       /* double values */
    AGT_PQ_BOOL = 3,         /* uint8_t values, 0 or 1 */
    AGT_PQ_INT32 = 4,        /* int32_t values */
    AGT_PQ_STRING = 5        /* const char *const * values, NUL-terminated UTF-8 */
} agt_pq_type;

/* Per-column writer flags. */
enum {
    AGT_PQ_BLOOM = 1u << 0,   /* write a split-block bloom filter (integer columns) */
    AGT_PQ_NO_DICT = 1u << 1, /* never dictionary-encode this column */
    AGT_PQ_BSS = 1u << 2      /* doubles: BYTE_STREAM_SPLIT instead of dictionary/PLAIN */
};

typedef struct agt_pq_column {
    const char *name;
    agt_pq_type type;
    unsigned flags;
    const void *values; /* nrows values of the type above */
} agt_pq_column;

typedef struct agt_pq_kv {
    const char *key;
    const char *value;
} agt_pq_kv;

typedef struct agt_pq_write_opts {
    int zstd_level;     /* > 0: every page at this level; default 0: a level per kind of page */
    double bloom_fpp;   /* bloom filter false-positive rate; default 0.01 */
    size_t page_rows;   /* max rows per data page; default chosen for ms queries */
    int byte_stream_split; /* 1: all double columns use BYTE_STREAM_SPLIT */
    const agt_pq_kv *kv;   /* key-value metadata written into the footer */
    size_t n_kv;
} agt_pq_write_opts;

void agt_pq_write_opts_default(agt_pq_write_opts *o);

/* Encode a table of `ncols` columns and `nrows` rows as a Parquet file appended to `out`. */
agt_status agt_pq_write(const agt_pq_column *cols, size_t ncols, size_t nrows,
                        const agt_pq_write_opts *o, agt_buf *out, agt_error *err);

/*
 * The trade schema: trade_id INT64 (DELTA_BINARY_PACKED, bloom filter),
 * timestamp TIMESTAMP_US (DELTA_BINARY_PACKED), price and quantity DOUBLE
 * (dictionary, PLAIN fallback), is_buyer_maker BOOLEAN (PLAIN).
 */
agt_status agt_pq_write_trades(const agt_trades *t, const agt_pq_write_opts *o, agt_buf *out,
                               agt_error *err);

/* ---- reader ------------------------------------------------------------- */

typedef struct agt_pq_file agt_pq_file;

/* Open a file (read-only mmap). */
agt_status agt_pq_open(const char *path, agt_pq_file **out, agt_error *err);
/* Open an in-memory file; `data` must outlive the handle (not copied). */
agt_status agt_pq_open_mem(const uint8_t *data, size_t len, agt_pq_file **out, agt_error *err);
void agt_pq_close(agt_pq_file *f);

int64_t agt_pq_num_rows(const agt_pq_file *f);
size_t agt_pq_num_columns(const agt_pq_file *f);
/* Column index by name, or -1. */
int agt_pq_column_index(const agt_pq_file *f, const char *name);
agt_pq_type agt_pq_column_type(const agt_pq_file *f, int col);
const char *agt_pq_column_name(const agt_pq_file *f, int col);
/* Value of a key-value metadata entry, or NULL. Valid while the file is open. */
const char *agt_pq_kv_get(const agt_pq_file *f, const char *key);

/*
 * Read rows [row_start, row_start + nrows) of one column into `out`, which
 * holds nrows values of the column's C type (int64_t, double, uint8_t,
 * int32_t). For AGT_PQ_STRING use agt_pq_read_strings.
 */
agt_status agt_pq_read_column(agt_pq_file *f, int col, int64_t row_start, int64_t nrows, void *out,
                              agt_error *err);

/* Strings: `bytes` receives the NUL-terminated strings back to back;
   offsets[i] (caller array of nrows) receives the start of string i in bytes. */
agt_status agt_pq_read_strings(agt_pq_file *f, int col, int64_t row_start, int64_t nrows,
                               agt_buf *bytes, size_t *offsets, agt_error *err);

/* Column selection for agt_pq_read_trades. */
enum {
    AGT_COL_TRADE_ID = 1u << 0,
    AGT_COL_TIMESTAMP = 1u << 1,
    AGT_COL_PRICE = 1u << 2,
    AGT_COL_QUANTITY = 1u << 3,
    AGT_COL_IS_BUYER_MAKER = 1u << 4,
    AGT_COL_ALL = 0x1fu
};

/*
 * Append to `out` the rows of a trade-schema file whose timestamp lies in
 * [ts_min, ts_max] (inclusive, µs), decoding only the pages that the page
 * index says can hold such rows and only the columns in `cols` (others are
 * filled with 0). Rows come in file order (ascending). A column `out` does
 * not have (NULL: a view over a caller's arrays, whose cap already holds the
 * rows) is neither decoded nor stored.
 */
agt_status agt_pq_read_trades(agt_pq_file *f, int64_t ts_min, int64_t ts_max, unsigned cols,
                              agt_trades *out, agt_error *err);

/*
 * Bloom filter probe of an INT64 column: *maybe = 0 if the value is certainly
 * absent, 1 if it may be present. AGT_ENOTFOUND if the column has no filter.
 */
agt_status agt_pq_bloom_check(agt_pq_file *f, int col, int64_t value, int *maybe, agt_error *err);

/*
 * Find the row with trade_id == id in a trade-schema file: statistics, then
 * (if use_bloom) the bloom filter, then the page index to decode one page.
 * Appends the row to `out` and sets *found; *pages_read counts data pages
 * decoded (may be NULL).
 */
agt_status agt_pq_find_trade(agt_pq_file *f, int64_t id, int use_bloom, agt_trades *out, int *found,
                             int *pages_read, agt_error *err);

/* Chunk statistics of an INT64/TIMESTAMP column: min and max. AGT_ENOTFOUND if absent. */
agt_status agt_pq_int64_stats(const agt_pq_file *f, int col, int64_t *min, int64_t *max);

#endif
