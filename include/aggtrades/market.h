/*
 * aggtrades/market.h - the three markets whose aggregate trades aggtrades
 * keeps: spot, USD-M futures ("um") and COIN-M futures ("cm").
 *
 * Each market has its own REST host and path prefix (/api/v3, /fapi/v1,
 * /dapi/v1), weights and budget, archive folder (data/spot,
 * data/futures/um, data/futures/cm) and CSV format; the library keeps them in
 * one table (src/source/market.c, facts and sources in docs/futures.md). In
 * a lake, spot keeps the root's layout; a futures market is a lake of its own
 * in the folder agt_market_lake_dir names under the root, so a spot BTCUSDT
 * and a USD-M BTCUSDT never share a file: engines that list the root (they
 * skip names starting with '_') see spot only, and its hour files end in
 * ".parq", so that the spot glob of DuckDB and polars (every ".parquet" at
 * any depth below the root) matches none of them (docs/lake-format.md).
 *
 * Every function here is pure and thread-safe.
 */
#ifndef AGGTRADES_MARKET_H
#define AGGTRADES_MARKET_H

#include "aggtrades/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum agt_market {
    AGT_MARKET_SPOT = 0, /* the default everywhere */
    AGT_MARKET_UM = 1,   /* USD-M futures */
    AGT_MARKET_CM = 2    /* COIN-M futures */
} agt_market;

/* "spot", "um" or "cm"; NULL for anything else. */
AGT_API const char *agt_market_name(agt_market m);

/* Parse one of those names (lower case). AGT_EINVAL with a one-line message
 * for anything else; *out is untouched then. */
AGT_API agt_status agt_market_parse(const char *name, agt_market *out, agt_error *err);

/* The lake folder of market `m` relative to the root: "" for spot (the root
 * itself), "_futures/um" and "_futures/cm" for the futures markets; NULL for
 * an unknown market. */
AGT_API const char *agt_market_lake_dir(agt_market m);

#ifdef __cplusplus
}
#endif
#endif
