/*
 * support.h: helpers shared by the tests (temporary folders, the daemon harness).
 * Include after cmocka's required headers.
 */
#ifndef ORC_TEST_SUPPORT_H
#define ORC_TEST_SUPPORT_H

#include <stddef.h>

/*
 * orc_test_tmpdir creates a fresh folder under $TMPDIR (or /tmp) named after tag and
 * returns its path (static storage per call: copy it). Aborts the test on failure.
 */
const char *orc_test_tmpdir(const char *tag, char *out, size_t out_size);

/* orc_test_rmtree removes a folder and everything in it (best effort). */
void orc_test_rmtree(const char *path);

#endif
