/*
 * ui/export.h - CSV, JSON and JSON Lines text of trade rows, for programs
 * (`query --output csv|json|jsonl`). Timestamps are UTC, ISO 8601, with 3 fraction digits
 * for a whole millisecond and 6 otherwise; prices and quantities in their
 * shortest exact decimal form (the exchange's 8-decimal text comes back
 * exactly, as fmt_decimal gives it); booleans true/false.
 *
 * CSV:  trade_id,timestamp,price,quantity,is_buyer_maker
 *       1001,2023-10-05T12:30:00.500Z,27450.12,0.013,true
 * JSON: one array, one object a line:
 *       [
 *       {"trade_id":1001,"timestamp":"2023-10-05T12:30:00.500Z","price":27450.12,
 *        "quantity":0.013,"is_buyer_maker":true},
 *       ...
 *       ]
 * JSONL: the same objects, one a line, nothing else (JSON Lines: what
 *       pandas.read_json(lines=True) and DuckDB's read_json read).
 *
 * Rows are formatted by hand (no printf) into one large buffer that goes
 * to the stream with fwrite when full: each field's form is fixed, so its
 * digits are produced directly, the "YYYY-MM-DDTHH:MM:SS" text is kept
 * while the second does not change (its date part while the day does not), and the last price and quantity texts
 * are kept (consecutive trades often share them). The caller checks the
 * stream for errors (ferror).
 */
#ifndef AGT_UI_EXPORT_H
#define AGT_UI_EXPORT_H

#include <stdio.h>

#include "aggtrades/common.h"

typedef enum { EXPORT_CSV, EXPORT_JSON, EXPORT_JSONL } export_fmt;

/* The last number formatted, and its text. */
typedef struct export_num {
    double v;
    int valid;
    unsigned len;
    char s[64];
} export_num;

typedef struct export_writer {
    FILE *f;
    export_fmt fmt;
    char *buf;
    size_t len;
    uint64_t rows;  /* rows written so far */
    int64_t sec;    /* the second whose text sec_text holds, if sec_valid */
    int64_t day;    /* the day (since the epoch) of that second */
    int sec_valid;
    char sec_text[20]; /* "YYYY-MM-DDTHH:MM:SS" */
    export_num price, qty;
    int write_errno; /* errno of the first failed write (EPIPE: the reader went away) */
} export_writer;

/* Start: the CSV header, the JSON "[" (JSONL: nothing). -1 if out of memory (nothing written). */
int export_begin(export_writer *w, FILE *f, export_fmt fmt);
/* Rows [from, from + n) of `t`. */
void export_rows(export_writer *w, const agt_trades *t, size_t from, size_t n);
/* Finish (JSON: the closing "]"), hand everything to the stream, free the buffer. */
void export_end(export_writer *w);

#endif
