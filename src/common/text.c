/*
 * text.c - symbols and counts as text (public: aggtrades/text.h), and
 * bounded string copies.
 */
#include <stdio.h>
#include <string.h>

#include "common/common_int.h"

int agt_symbol_valid(const char *s)
{
    size_t n = 0;
    if (!s) return 0;
    for (; s[n]; n++) {
        char c = s[n];
        /* '_' for COIN-M contracts (BTCUSD_PERP, BTCUSD_240628), never at an end */
        int inner_underscore = c == '_' && n > 0 && s[n + 1];
        if (!inner_underscore && !((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return 0;
        if (n >= 20) return 0;
    }
    return n >= 2;
}

agt_status agt_symbol_normalize(const char *s, char out[24], agt_error *err)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0)
        return agt_err(err, AGT_EINVAL,
                       "empty symbol (expected 2 to 20 letters and digits, e.g. BTCUSDT)");
    if (n < 24) {
        for (size_t i = 0; i <= n; i++) {
            char c = s[i];
            out[i] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
        }
        if (agt_symbol_valid(out)) return AGT_OK;
    }
    return agt_err(err, AGT_EINVAL,
                   "invalid symbol '%s' (expected 2 to 20 letters and digits, e.g. BTCUSDT)", s);
}

void agt_strlcpy(char *dst, size_t n, const char *src)
{
    size_t l = strlen(src);
    if (l >= n) l = n - 1;
    memcpy(dst, src, l);
    dst[l] = 0;
}

char *agt_format_count(uint64_t v, char *out, size_t n)
{
    char digits[32], tmp[40];
    int len = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
    int k = 0;
    for (int i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0) tmp[k++] = ',';
        tmp[k++] = digits[i];
    }
    tmp[k] = 0;
    if (n) snprintf(out, n, "%s", tmp);
    return out;
}
