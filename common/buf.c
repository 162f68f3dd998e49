/*
 * buf.c: the capped growing buffer (see buf.h).
 */
#include "buf.h"

#include <stdlib.h>
#include <string.h>

bool orci_buf_over(const orci_buf *b, size_t n)
{
    return n > b->max || b->len > b->max - n;
}

bool orci_buf_add(orci_buf *b, const void *data, size_t n)
{
    if (orci_buf_over(b, n))
        return false;
    size_t need = b->len + n + 1;
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < need)
            cap = cap > (size_t)-1 / 2 ? need : cap * 2;
        size_t limit = b->max < (size_t)-1 ? b->max + 1 : b->max; /* content + NUL */
        if (cap > limit)
            cap = limit;
        char *p = realloc(b->p, cap);
        if (!p)
            return false;
        b->p = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return true;
}

bool orci_buf_adds(orci_buf *b, const char *s)
{
    return orci_buf_add(b, s, strlen(s));
}

char *orci_buf_take(orci_buf *b, size_t *len)
{
    char *p = b->p ? b->p : calloc(1, 1);
    if (len)
        *len = b->p ? b->len : 0;
    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}

void orci_buf_fini(orci_buf *b)
{
    if (!b)
        return;
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}
