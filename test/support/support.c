/* support.c: small helpers shared by the tests. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support.h"

const char *orc_test_tmpdir(const char *tag, char *out, size_t out_size)
{
    const char *base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    int n = snprintf(out, out_size, "%s/orc-%s-XXXXXX", base, tag);
    assert_true(n > 0 && (size_t)n < out_size);
    assert_non_null(mkdtemp(out));
    return out;
}

void orc_test_rmtree(const char *path)
{
    if (path == NULL || path[0] == '\0' || strcmp(path, "/") == 0)
        return;
    char cmd[4200];
    int n = snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", path);
    if (n > 0 && (size_t)n < sizeof cmd && strchr(path, '\'') == NULL) {
        int rc = system(cmd);
        (void)rc;
    }
}
