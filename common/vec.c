/*
 * vec.c: see vec.h.
 */
#include "vec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

bool orci_grow(void *vpp, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t ncap = *cap != 0 ? *cap : 8;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return false;
        ncap *= 2;
    }
    if (elem != 0 && ncap > SIZE_MAX / elem)
        return false;
    /* The array pointer is read and written through memcpy: vpp points at a T *, and
     * accessing it as a void * lvalue would break the aliasing rules. */
    void *v;
    memcpy(&v, vpp, sizeof v);
    void *nv = realloc(v, ncap * elem);
    if (nv == NULL)
        return false;
    memcpy(vpp, &nv, sizeof nv);
    *cap = ncap;
    return true;
}
