/*
 * vec.h: growing a heap array by doubling, the one loop every collector of rows or items
 * would otherwise write again. Any thread; no state.
 */
#ifndef ORCI_VEC_H
#define ORCI_VEC_H

#include <stdbool.h>
#include <stddef.h>

/*
 * orci_grow makes room for at least need elements of elem bytes in a heap array. vpp is the
 * address of the array pointer (a T ** passed as void *, so that any element type fits
 * without a cast at each call); *cap is its capacity in elements, 0 for a NULL array. The
 * capacity doubles from 8. Returns false when out of memory or when the size would
 * overflow; then the array and *cap are as they were and the caller still owns (and frees)
 * the array.
 */
bool orci_grow(void *vpp, size_t *cap, size_t need, size_t elem);

#endif
