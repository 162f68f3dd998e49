/*
 * block.c: growable structs in and out of liborchestra (block.h).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "orchestra/version.h"

/* block_add adds len + 1 to *total; false on overflow. */
static bool block_add(size_t *total, size_t len)
{
    if (len > SIZE_MAX - *total - 1)
        return false;
    *total += len + 1;
    return true;
}

/* block_copy copies s (NULL: "") to *at, moves *at past it, and returns the copy. */
static char *block_copy(char **at, const char *s)
{
    size_t len = s ? strlen(s) : 0;
    char *copy = *at;
    if (len)
        memcpy(copy, s, len);
    copy[len] = '\0';
    *at += len + 1;
    return copy;
}

void *orci_block_new_v(size_t head, size_t n, const size_t *offs, const char *const *strs,
                       size_t n_arrays, const orci_block_strv *arrays)
{
    /* The pointer arrays start at the first multiple of a pointer's alignment past head. */
    size_t align = _Alignof(char *);
    size_t ptrs_at = (head + align - 1) / align * align;
    size_t total = ptrs_at;
    for (size_t a = 0; a < n_arrays; a++) {
        if (arrays[a].n > (SIZE_MAX - total) / sizeof(char *))
            return NULL;
        total += arrays[a].n * sizeof(char *);
    }
    for (size_t i = 0; i < n; i++)
        if (!block_add(&total, strs[i] ? strlen(strs[i]) : 0))
            return NULL;
    for (size_t a = 0; a < n_arrays; a++)
        for (size_t i = 0; i < arrays[a].n; i++)
            if (!block_add(&total, arrays[a].v[i] ? strlen(arrays[a].v[i]) : 0))
                return NULL;
    char *b = calloc(1, total);
    if (!b)
        return NULL;
    char **ptrs = (char **)(void *)(b + ptrs_at);
    char *at = (char *)(ptrs + 0);
    for (size_t a = 0; a < n_arrays; a++)
        at += arrays[a].n * sizeof(char *);
    for (size_t i = 0; i < n; i++) {
        char *copy = block_copy(&at, strs[i]);
        memcpy(b + offs[i], &copy, sizeof copy);
    }
    for (size_t a = 0; a < n_arrays; a++) {
        for (size_t i = 0; i < arrays[a].n; i++)
            ptrs[i] = block_copy(&at, arrays[a].v[i]);
        memcpy(b + arrays[a].off, &ptrs, sizeof ptrs);
        ptrs += arrays[a].n;
    }
    return b;
}

void *orci_block_new(size_t head, size_t n, const size_t *offs, const char *const *strs)
{
    return orci_block_new_v(head, n, offs, strs, 0, NULL);
}

int orci_struct_in(void *dst, size_t dst_size, const void *src, size_t first_size, const char *what,
                   orc_error *err)
{
    memset(dst, 0, dst_size);
    if (!src)
        return ORC_OK;
    size_t size;
    memcpy(&size, src, sizeof size);
    if (size == 0)
        size = first_size;
    if (size < sizeof size)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "%s: size %zu is too small", what, size);
    const unsigned char *s = src;
    for (size_t i = dst_size; i < size; i++)
        if (s[i])
            return orc_error_set(err, ORC_INVALID_ARGUMENT,
                                 "%s: a field that liborchestra %s does not know is set", what,
                                 ORC_VERSION_STRING);
    memcpy(dst, src, size < dst_size ? size : dst_size);
    return ORC_OK;
}
