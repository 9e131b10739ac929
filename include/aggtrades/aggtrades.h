/*
 * aggtrades/aggtrades.h - the public C API of aggtrades, in one include.
 *
 *   common.h  status codes, agt_error, the agt_trades column table
 *   market.h  the markets: spot, USD-M and COIN-M futures
 *   fetch.h   the exchange client: one exact UTC hour of aggregate trades
 *   lake.h    the partitioned Parquet lake: commit, query, changes, verify
 *   status.h  what a lake holds per symbol: hours complete, open, failed, missing
 *   source.h  one UTC day from REST or the daily archive (archive.h), proved complete
 *   sync.h    the engine: download, update, retry and repair a lake, with progress events
 *   text.h    times, symbols and counts as text
 *   verify.h  check the stored hours of a symbol and repair them (through the engine)
 */
#ifndef AGGTRADES_AGGTRADES_H
#define AGGTRADES_AGGTRADES_H

#include "aggtrades/common.h"
#include "aggtrades/fetch.h"
#include "aggtrades/lake.h"
#include "aggtrades/market.h"
#include "aggtrades/source.h"
#include "aggtrades/status.h"
#include "aggtrades/sync.h"
#include "aggtrades/text.h"
#include "aggtrades/verify.h"

#endif
