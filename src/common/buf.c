/*
 * buf.c - growable byte buffers with a hard maximum (after curl's dynbuf):
 * anything that grows from network or file input goes through one, so a
 * hostile peer cannot make us allocate without bound.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common_int.h"

void agt_buf_init(agt_buf *b, size_t max)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->max = max ? max : SIZE_MAX / 2;
}

void agt_buf_release(agt_buf *b)
{
    if (!b) return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

agt_status agt_buf_reserve(agt_buf *b, size_t extra)
{
    if (extra > b->max - b->len) return AGT_ENOMEM;
    size_t need = b->len + extra;
    if (need + 1 <= b->cap) return AGT_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need + 1) cap = cap > SIZE_MAX / 4 ? need + 1 : cap * 2;
    uint8_t *p = realloc(b->data, cap);
    if (!p) return AGT_ENOMEM;
    b->data = p;
    b->cap = cap;
    return AGT_OK;
}

agt_status agt_buf_append(agt_buf *b, const void *p, size_t n)
{
    AGT_TRY(agt_buf_reserve(b, n));
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0; /* always NUL-terminated for text users */
    return AGT_OK;
}

agt_status agt_buf_putc(agt_buf *b, uint8_t c)
{
    return agt_buf_append(b, &c, 1);
}

agt_status agt_buf_printf(agt_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return AGT_EINVAL;
    AGT_TRY(agt_buf_reserve(b, (size_t)n));
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return AGT_OK;
}
