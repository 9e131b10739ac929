/*
 * i64s.c - arrays of int64 (days, hours, versions, ids): ordering them and
 * growing them.
 */
#include <stdlib.h>
#include <string.h>

#include "common/common_int.h"

int agt_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

agt_status agt_i64s_append(int64_t **v, size_t *n, size_t *cap, const int64_t *add, size_t k)
{
    if (*n + k > *cap) {
        size_t nc = (*n + k) * 2;
        if (nc < 64) nc = 64;
        if (nc > SIZE_MAX / sizeof **v) return AGT_ENOMEM;
        int64_t *nv = realloc(*v, nc * sizeof *nv);
        if (!nv) return AGT_ENOMEM;
        *v = nv;
        *cap = nc;
    }
    if (k) memcpy(*v + *n, add, k * sizeof *add);
    *n += k;
    return AGT_OK;
}
