/*
 * block.h: how liborchestra hands out and takes in structs that may grow (client.h, "Structs
 * that grow").
 *
 *  - orci_block_new: a struct the library returns is one allocation, the struct followed by
 *    its strings, so that a later release can append fields (the program never knows the
 *    struct's size) and one free releases it all.
 *  - orci_struct_in: a struct a program passes in starts with `size_t size`, what the program
 *    was compiled with (0: the first layout); the library reads the fields that size covers.
 *
 * Thread safety: none needed (no shared state).
 */
#ifndef ORCI_BLOCK_H
#define ORCI_BLOCK_H

#include <stddef.h>

#include "orchestra/error.h"

/*
 * orci_block_new allocates head bytes (zeroed) followed by copies of the n strings strs (NULL
 * is copied as ""), and stores in the char * member at byte offset offs[i] of the head a
 * pointer to the copy of strs[i]. Returns the block (release with free), NULL when out of
 * memory.
 */
void *orci_block_new(size_t head, size_t n, const size_t *offs, const char *const *strs);

/*
 * orci_block_strv is one string array of a block: the array's char ** member at byte offset
 * off of the head receives n pointers (copies of v[0..n), NULL copied as "").
 */
typedef struct orci_block_strv {
    size_t off;
    char *const *v;
    size_t n;
} orci_block_strv;

/*
 * orci_block_new_v is orci_block_new with string arrays too (n_arrays of them): their pointer
 * arrays follow the head, then every string. Returns the block (release with free), NULL when
 * out of memory.
 */
void *orci_block_new_v(size_t head, size_t n, const size_t *offs, const char *const *strs,
                       size_t n_arrays, const orci_block_strv *arrays);

/*
 * orci_struct_in copies the program's struct src (its first member the size_t size it set)
 * into dst (dst_size bytes, the struct as this library knows it), zeroing what src does not
 * cover. size 0 stands for first_size, the struct's size in the first layout (ORCHESTRA_1).
 * A src larger than dst (built against a newer header) is accepted when its extra bytes are
 * zero; a field this library does not know that the program set gives ORC_INVALID_ARGUMENT
 * rather than being ignored. src NULL: dst zeroed, ORC_OK.
 */
int orci_struct_in(void *dst, size_t dst_size, const void *src, size_t first_size, const char *what,
                   orc_error *err);

#endif
