/*
 * ui/table.h - writers for trade rows: an aligned table for people, CSV and
 * JSON for programs. Timestamps are UTC, at the precision the data has
 * (milliseconds, or microseconds when any row needs them); prices and
 * quantities in their shortest exact decimal form (in the table, padded with
 * zeros so that each column lines up on the decimal point).
 *
 * CSV:  trade_id,timestamp,price,quantity,is_buyer_maker
 *       1001,2023-10-05T12:30:00.500Z,27450.12,0.013,true
 * JSON: one array, one object a line:
 *       [
 *       {"trade_id":1001,"timestamp":"2023-10-05T12:30:00.500Z","price":27450.12,
 *        "quantity":0.013,"is_buyer_maker":true},
 *       ...
 *       ]
 */
#ifndef AGT_UI_TABLE_H
#define AGT_UI_TABLE_H

#include <stdio.h>

#include "aggtrades/common.h"

/* Aligned table of rows [0, n) with a header line; bold header if `color`. */
void out_table(FILE *f, const agt_trades *t, size_t n, int color);

void out_csv_header(FILE *f);
void out_csv_rows(FILE *f, const agt_trades *t, size_t from, size_t n);

void out_json_begin(FILE *f);
/* `first` = 1 for the first row of the whole output (no separating comma). */
void out_json_rows(FILE *f, const agt_trades *t, size_t from, size_t n, int first);
void out_json_end(FILE *f, int any_rows);

#endif
