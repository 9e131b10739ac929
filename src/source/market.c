/*
 * market.c - the per-market table: every fact that differs between spot,
 * USD-M and COIN-M futures, in one place (the facts and their sources are in
 * docs/futures.md). Callers never spell a host, path prefix, weight or
 * archive folder themselves.
 */
#include <string.h>

#include "source/source_int.h"

/* USD-M and COIN-M differ only in their names, hosts and prefixes. */
#define FUTURES(nm, host, prefix)                                                              \
    {                                                                                          \
        .name = nm, .api_url = host, .api_prefix = prefix, .archive_dir = "data/futures/" nm,  \
        .lake_dir = "_futures/" nm, .weight_aggtrades = 20, .weight_exchange_info = 1,         \
        .weight_budget = 2400, .first_id = 1, .window_paging = 1,                              \
        .exchange_info_per_symbol = 0, .csv_fields = 7, .csv_micros_from_2025 = 0,             \
    }

static const agt_market_def defs[] = {
    [AGT_MARKET_SPOT] = {
        .name = "spot",
        .api_url = "https://api.binance.com",
        .api_prefix = "/api/v3",
        .archive_dir = "data/spot",
        .lake_dir = "",
        .weight_aggtrades = 4,
        .weight_exchange_info = 20,
        .weight_budget = 6000,
        .first_id = 0,
        .window_paging = 0,
        .exchange_info_per_symbol = 1,
        .csv_fields = 8,
        .csv_micros_from_2025 = 1,
    },
    [AGT_MARKET_UM] = FUTURES("um", "https://fapi.binance.com", "/fapi/v1"),
    [AGT_MARKET_CM] = FUTURES("cm", "https://dapi.binance.com", "/dapi/v1"),
};

const agt_market_def *agt_market_def_of(agt_market m)
{
    return (unsigned)m < sizeof defs / sizeof defs[0] ? &defs[m] : NULL;
}

const char *agt_market_name(agt_market m)
{
    const agt_market_def *d = agt_market_def_of(m);
    return d ? d->name : NULL;
}

const char *agt_market_lake_dir(agt_market m)
{
    const agt_market_def *d = agt_market_def_of(m);
    return d ? d->lake_dir : NULL;
}

agt_status agt_market_parse(const char *name, agt_market *out, agt_error *err)
{
    for (unsigned i = 0; name && i < sizeof defs / sizeof defs[0]; i++)
        if (strcmp(name, defs[i].name) == 0) {
            *out = (agt_market)i;
            return AGT_OK;
        }
    return agt_err(err, AGT_EINVAL, "unknown market '%.20s': expected spot, um or cm",
                   name ? name : "(null)");
}
