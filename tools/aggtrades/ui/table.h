/*
 * ui/table.h - trade rows as an aligned table for people (CSV and JSON for
 * programs: ui/export.h). Timestamps are UTC, at the precision the data has
 * (milliseconds, or microseconds when any row needs them); prices and
 * quantities in their shortest exact decimal form, padded with zeros so
 * that each column lines up on the decimal point.
 */
#ifndef AGT_UI_TABLE_H
#define AGT_UI_TABLE_H

#include <stdio.h>

#include "aggtrades/common.h"

/* Aligned table of rows [0, n) with a header line; bold header if `color`. */
void out_table(FILE *f, const agt_trades *t, size_t n, int color);

#endif
