/*
 * json.c - the small strict JSON reader under the parsers of the exchange's
 * bodies (json_page.c, exch_info.c): a single pass over the bytes, no tree,
 * no allocation. Valid JSON per RFC 8259 (UTF-8 not checked inside strings);
 * anything else fails with AGT_EPARSE and a message naming the byte offset.
 */
#include <string.h>

#include "source/source_int.h"

#define MAX_DEPTH 32

agt_status agt_json_fail(agt_json *j, const char *msg)
{
    if (j->i >= j->n)
        return agt_err(j->err, AGT_EPARSE, "%s: %s at end of body (byte %zu)", j->what, msg, j->i);
    return agt_err(j->err, AGT_EPARSE, "%s: %s at byte %zu", j->what, msg, j->i);
}

agt_status agt_json_expect(agt_json *j, uint8_t c, const char *msg)
{
    if (agt_json_peek(j) != c) return agt_json_fail(j, msg);
    j->i++;
    return AGT_OK;
}

int agt_json_hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* A string at j->i: on success *p and *len span its raw content (between the
 * quotes, escapes not decoded) and *escaped tells whether it has any. */
agt_status agt_json_str(agt_json *j, const uint8_t **p, size_t *len, int *escaped)
{
    AGT_TRY(agt_json_expect(j, '"', "expected a string"));
    size_t start = j->i;
    *escaped = 0;
    while (j->i < j->n) {
        uint8_t c = j->s[j->i];
        if (c == '"') {
            *p = j->s + start;
            *len = j->i - start;
            j->i++;
            return AGT_OK;
        }
        if (c < 0x20) return agt_json_fail(j, "control character in string");
        if (c == '\\') {
            *escaped = 1;
            j->i++;
            int e = agt_json_peek(j);
            if (e == 'u') {
                for (int k = 1; k <= 4; k++)
                    if (j->i + (size_t)k >= j->n || agt_json_hexval(j->s[j->i + (size_t)k]) < 0)
                        return agt_json_fail(j, "bad \\u escape");
                j->i += 5;
                continue;
            }
            if (e < 0 || !strchr("\"\\/bfnrt", e)) return agt_json_fail(j, "bad escape in string");
        }
        j->i++;
    }
    return agt_json_fail(j, "unterminated string");
}

/* A JSON number that must be an integer in int64. */
agt_status agt_json_int64(agt_json *j, int64_t *out)
{
    int neg = 0;
    if (agt_json_peek(j) == '-') {
        neg = 1;
        j->i++;
    }
    int c = agt_json_peek(j);
    if (c < '0' || c > '9') return agt_json_fail(j, "expected an integer");
    uint64_t v = 0;
    size_t start = j->i;
    const uint64_t lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    while ((c = agt_json_peek(j)) >= '0' && c <= '9') {
        unsigned d = (unsigned)(c - '0');
        if (v > (lim - d) / 10) return agt_json_fail(j, "integer out of range");
        v = v * 10 + d;
        j->i++;
    }
    if (j->s[start] == '0' && j->i - start > 1) {
        j->i = start;
        return agt_json_fail(j, "leading zero in number");
    }
    if (c == '.' || c == 'e' || c == 'E') return agt_json_fail(j, "expected an integer, not a fraction");
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return AGT_OK;
}

/* Any JSON number (for skipped values). */
agt_status agt_json_number(agt_json *j)
{
    if (agt_json_peek(j) == '-') j->i++;
    int c = agt_json_peek(j);
    if (c == '0') {
        j->i++;
    } else if (c >= '1' && c <= '9') {
        while ((c = agt_json_peek(j)) >= '0' && c <= '9') j->i++;
    } else {
        return agt_json_fail(j, "bad number");
    }
    if (agt_json_peek(j) == '.') {
        j->i++;
        if ((c = agt_json_peek(j)) < '0' || c > '9') return agt_json_fail(j, "bad number");
        while ((c = agt_json_peek(j)) >= '0' && c <= '9') j->i++;
    }
    if ((c = agt_json_peek(j)) == 'e' || c == 'E') {
        j->i++;
        if ((c = agt_json_peek(j)) == '+' || c == '-') j->i++;
        if ((c = agt_json_peek(j)) < '0' || c > '9') return agt_json_fail(j, "bad number");
        while ((c = agt_json_peek(j)) >= '0' && c <= '9') j->i++;
    }
    return AGT_OK;
}

int agt_json_literal(agt_json *j, const char *lit)
{
    size_t k = strlen(lit);
    if (j->n - j->i < k || memcmp(j->s + j->i, lit, k) != 0) return 0;
    j->i += k;
    return 1;
}

agt_status agt_json_bool(agt_json *j, uint8_t *out)
{
    if (agt_json_literal(j, "true")) {
        *out = 1;
        return AGT_OK;
    }
    if (agt_json_literal(j, "false")) {
        *out = 0;
        return AGT_OK;
    }
    return agt_json_fail(j, "expected true or false");
}

agt_status agt_json_skip(agt_json *j, int depth)
{
    if (depth > MAX_DEPTH) return agt_json_fail(j, "nesting too deep");
    const uint8_t *p;
    size_t len;
    int esc;
    int c = agt_json_peek(j);
    switch (c) {
    case '"':
        return agt_json_str(j, &p, &len, &esc);
    case '{':
    case '[': {
        uint8_t close = c == '{' ? '}' : ']';
        j->i++;
        agt_json_ws(j);
        if (agt_json_peek(j) == close) {
            j->i++;
            return AGT_OK;
        }
        for (;;) {
            if (c == '{') {
                AGT_TRY(agt_json_str(j, &p, &len, &esc));
                agt_json_ws(j);
                AGT_TRY(agt_json_expect(j, ':', "expected ':'"));
                agt_json_ws(j);
            }
            AGT_TRY(agt_json_skip(j, depth + 1));
            agt_json_ws(j);
            if (agt_json_peek(j) == ',') {
                j->i++;
                agt_json_ws(j);
                continue;
            }
            return agt_json_expect(j, close, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
    case 't':
    case 'f': {
        uint8_t b;
        return agt_json_bool(j, &b);
    }
    case 'n':
        if (agt_json_literal(j, "null")) return AGT_OK;
        return agt_json_fail(j, "bad literal");
    default:
        return agt_json_number(j);
    }
}
