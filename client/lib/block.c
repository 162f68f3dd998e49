/*
 * block.c: growable structs in and out of liborchestra (block.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "orchestra/version.h"

void *orci_block_new(size_t head, size_t n, const size_t *offs, const char *const *strs)
{
    size_t total = head;
    for (size_t i = 0; i < n; i++) {
        size_t len = strs[i] ? strlen(strs[i]) : 0;
        if (len > SIZE_MAX - total - 1)
            return NULL;
        total += len + 1;
    }
    char *b = calloc(1, total);
    if (!b)
        return NULL;
    char *at = b + head;
    for (size_t i = 0; i < n; i++) {
        size_t len = strs[i] ? strlen(strs[i]) : 0;
        if (len)
            memcpy(at, strs[i], len);
        at[len] = '\0';
        memcpy(b + offs[i], &at, sizeof at);
        at += len + 1;
    }
    return b;
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
