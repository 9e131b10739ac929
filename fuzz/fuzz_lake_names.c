/*
 * fuzz_lake_names.c - the parsers of the names a lake's directory listings
 * return (layout.c: data directories year=/month=/day=, hour files, statistics
 * day files, change files, in this layout and the first one) on arbitrary names. Checks, on every input: a name
 * accepted stands for a value from which the layout's own path builders
 * (agt_lake_data_rel, agt_lake_stats_rel, agt_lake_change_rel) write back
 * exactly that name, so no foreign name is taken for one of the lake's and no
 * value is read from two names.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lake/lake_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 1 if `path` ends with "/" followed by `name`. */
static int ends_with_name(const char *path, const char *name)
{
    size_t p = strlen(path), n = strlen(name);
    return p > n && path[p - n - 1] == '/' && strcmp(path + p - n, name) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 255) return 0; /* NAME_MAX */
    char name[256];
    memcpy(name, data, size);
    name[size] = 0;
    char path[200];
    long v;
    for (int level = 0; level < 3; level++) {
        if (!agt_lake_dir_name_value(name, level, &v)) continue;
        /* the path of 2024-01-v, 2024-v-01 or v-01-01: its directory at `level` */
        long y = level == 0 ? v : 2024, m = level == 1 ? v : 1, d = level == 2 ? v : 1;
        int64_t day = agt_days_from_civil(y, (unsigned)m, (unsigned)d) * AGT_US_PER_DAY;
        if (agt_lake_hour_rel("BTCUSDT", day, AGT_LAKE_SPOT_EXT, path, sizeof path, NULL) != AGT_OK)
            abort();
        char *c = path;
        for (int k = 0; k <= level; k++) c = strchr(c, '/') + 1;
        size_t n = strcspn(c, "/");
        if (n != strlen(name) || strncmp(c, name, n) != 0) abort();
    }
    int64_t day_us, version, hour;
    /* names only: no lake opened (the first layout, this one, a futures market's) */
    static agt_lake layouts[3] = {{.legacy = 0}, {.legacy = 1}, {.market = "um"}};
    for (int k = 0; k < 3; k++) {
        const agt_lake *l = &layouts[k];
        if (agt_lake_stats_name_day(l, name, &day_us)) {
            if (day_us < 0 || day_us % AGT_US_PER_DAY != 0) abort();
            agt_lake_stats_rel(l, "BTCUSDT", day_us, path, sizeof path);
            if (!ends_with_name(path, name)) abort();
        }
        if (agt_lake_change_name_version(l, name, &version)) {
            if (version < 0) abort();
            agt_lake_change_rel(l, "BTCUSDT", version, path, sizeof path);
            if (!ends_with_name(path, name)) abort();
        }
        char sym[24];
        if (agt_lake_hour_name(l, name, sym, &hour) &&
            (agt_lake_data_rel(l, sym, hour, path, sizeof path, NULL) != AGT_OK ||
             !ends_with_name(path, name)))
            abort();
    }
    return 0;
}
