/*
 * support.h: helpers shared by the tests (temporary folders, files, time). The daemon
 * harness is in harness.h. Include after cmocka's required headers.
 */
#ifndef ORC_TEST_SUPPORT_H
#define ORC_TEST_SUPPORT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * orc_test_tmpdir creates a fresh folder under $TMPDIR (or /tmp) named after tag, writes
 * its path into out and returns out. Aborts the test on failure.
 */
const char *orc_test_tmpdir(const char *tag, char *out, size_t out_size);

/* orc_test_rmtree removes a folder and everything in it (best effort). */
void orc_test_rmtree(const char *path);

/* A fresh folder of the test's own and the path of a file in it, for tests that open a
 * database by its path: orc_test_dbdir_new in a cmocka setup, orc_test_dbdir_free (which
 * removes the folder) in its teardown. */
typedef struct orc_test_dbdir {
    char dir[256];
    char path[320];
} orc_test_dbdir;

orc_test_dbdir *orc_test_dbdir_new(const char *tag, const char *file);
void orc_test_dbdir_free(orc_test_dbdir *d);

/* ORC_TEST_DBDIR_FIXTURE defines setup and teardown functions for cmocka that give each test
 * an orc_test_dbdir as its state. */
#define ORC_TEST_DBDIR_FIXTURE(tag, file)                                                          \
    static int setup(void **state)                                                                 \
    {                                                                                              \
        *state = orc_test_dbdir_new(tag, file);                                                    \
        return 0;                                                                                  \
    }                                                                                              \
    static int teardown(void **state)                                                              \
    {                                                                                              \
        orc_test_dbdir_free(*state);                                                               \
        return 0;                                                                                  \
    }

/*
 * orc_test_write_file writes text to path, creating missing parent folders. 0 on success,
 * -1 (with a message on stderr) on failure.
 */
int orc_test_write_file(const char *path, const char *text);

/*
 * orc_test_read_file returns the whole content of path, NUL-terminated (malloc'd, the
 * caller frees it), its length in *len when len is not NULL; NULL when unreadable.
 */
char *orc_test_read_file(const char *path, size_t *len);

/*
 * orc_test_print_backtrace prints the thread backtraces of the running process pid on stderr
 * (with gdb, when installed), headed by what: where a hung process waits.
 */
void orc_test_print_backtrace(pid_t pid, const char *what);

/*
 * A gate one thread stops at until the test opens it: orc_test_gate_enter says the thread has
 * arrived and waits for orc_test_gate_open; orc_test_gate_arrive only says it has arrived;
 * orc_test_gate_wait_entered waits for either.
 */
typedef struct orc_test_gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool entered;
    bool open;
} orc_test_gate;

void orc_test_gate_init(orc_test_gate *g);
void orc_test_gate_fini(orc_test_gate *g);
void orc_test_gate_enter(orc_test_gate *g);
void orc_test_gate_arrive(orc_test_gate *g);
void orc_test_gate_wait_entered(orc_test_gate *g);
void orc_test_gate_open(orc_test_gate *g);

/* orc_test_now_ms is a monotonic clock in milliseconds. */
int64_t orc_test_now_ms(void);

/* orc_test_sleep_ms sleeps ms milliseconds. */
void orc_test_sleep_ms(int ms);

/*
 * orc_test_spawn starts argv[0] (a path) with argv in the background, stdin from /dev/null,
 * stdout and stderr appended to log_path. Returns the process id, or -1.
 */
pid_t orc_test_spawn(const char *const *argv, const char *log_path);

/*
 * orc_test_wait_exit waits at most timeout_ms for pid to end: 0 with *status the exit
 * status (128+signal when a signal ended it), or -1 when it still runs.
 */
int orc_test_wait_exit(pid_t pid, int timeout_ms, int *status);

/* orc_test_file_has says whether the file at path contains needle. */
int orc_test_file_has(const char *path, const char *needle);

#endif
