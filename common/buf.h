/*
 * buf.h: a growing byte buffer with a cap, the one append loop for text and bytes that come
 * from outside (request bodies, child output, signing strings, files): it never grows past
 * its max, so the network cannot make it grow without bound.
 *
 * Any thread, one buffer per thread at a time.
 */
#ifndef ORCI_BUF_H
#define ORCI_BUF_H

#include <stdbool.h>
#include <stddef.h>

/*
 * orci_buf holds len bytes at p, always followed by a NUL (once anything was appended), in
 * cap bytes of room, never more than max bytes of content. Zero it and set max before use:
 * `orci_buf b = {.max = 1 << 20};`. The buffer owns p.
 */
typedef struct orci_buf {
    char *p;
    size_t len, cap, max;
} orci_buf;

/*
 * orci_buf_add appends n bytes. false when they would pass max (then nothing is appended and
 * the buffer is unchanged) or when out of memory.
 */
bool orci_buf_add(orci_buf *b, const void *data, size_t n);

/* orci_buf_adds appends a NUL-terminated string (orci_buf_add's rules). */
bool orci_buf_adds(orci_buf *b, const char *s);

/* orci_buf_over says whether n more bytes would pass the cap. */
bool orci_buf_over(const orci_buf *b, size_t n);

/*
 * orci_buf_take hands the content over (NUL-terminated, malloc'd; "" when empty) and empties
 * the buffer; NULL when out of memory.
 */
char *orci_buf_take(orci_buf *b, size_t *len);

/* orci_buf_fini releases the content; the buffer may be used again. NULL allowed. */
void orci_buf_fini(orci_buf *b);

#endif
