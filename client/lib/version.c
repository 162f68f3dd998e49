/*
 * version.c: the library's version (orchestra/version.h).
 */
#include "orchestra/version.h"

const char *orc_version(void)
{
    return ORC_VERSION_STRING;
}
