/* support.c: small helpers shared by the tests. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
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

orc_test_dbdir *orc_test_dbdir_new(const char *tag, const char *file)
{
    orc_test_dbdir *d = calloc(1, sizeof *d);
    assert_non_null(d);
    orc_test_tmpdir(tag, d->dir, sizeof d->dir);
    int n = snprintf(d->path, sizeof d->path, "%s/%s", d->dir, file);
    assert_true(n > 0 && (size_t)n < sizeof d->path);
    return d;
}

void orc_test_dbdir_free(orc_test_dbdir *d)
{
    if (d == NULL)
        return;
    orc_test_rmtree(d->dir);
    free(d);
}

void orc_test_gate_init(orc_test_gate *g)
{
    memset(g, 0, sizeof *g);
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
}

void orc_test_gate_fini(orc_test_gate *g)
{
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
}

static void gate_mark(orc_test_gate *g, bool wait_open)
{
    pthread_mutex_lock(&g->mu);
    g->entered = true;
    pthread_cond_broadcast(&g->cv);
    while (wait_open && !g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

void orc_test_gate_enter(orc_test_gate *g)
{
    gate_mark(g, true);
}

void orc_test_gate_arrive(orc_test_gate *g)
{
    gate_mark(g, false);
}

void orc_test_gate_wait_entered(orc_test_gate *g)
{
    pthread_mutex_lock(&g->mu);
    while (!g->entered)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

void orc_test_gate_open(orc_test_gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
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

/* mkdirs creates every missing folder of path up to (not including) its last component. */
static int mkdirs_for(const char *path)
{
    char buf[4096];
    size_t len = strlen(path);
    if (len >= sizeof buf)
        return -1;
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i < len; i++) {
        if (buf[i] != '/')
            continue;
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -1;
        buf[i] = '/';
    }
    return 0;
}

int orc_test_write_file(const char *path, const char *text)
{
    if (mkdirs_for(path) != 0) {
        fprintf(stderr, "cannot create the folders of %s: %s\n", path, strerror(errno));
        return -1;
    }
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t n = strlen(text);
    int rc = fwrite(text, 1, n, f) == n ? 0 : -1;
    if (fclose(f) != 0)
        rc = -1;
    if (rc != 0)
        fprintf(stderr, "cannot write %s\n", path);
    return rc;
}

char *orc_test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        if (cap - n < 2) {
            char *bigger = realloc(buf, cap * 2);
            if (bigger == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    if (buf == NULL)
        return NULL;
    buf[n] = '\0';
    if (len != NULL)
        *len = n;
    return buf;
}

void orc_test_print_backtrace(pid_t pid, const char *what)
{
    char cmd[160];
    fprintf(stderr, "-- %s (pid %d): backtraces --\n", what, (int)pid);
    fflush(stderr);
    snprintf(cmd, sizeof cmd,
             "command -v gdb >/dev/null && gdb -p %d -batch -ex 'thread apply all bt' "
             "1>&2 2>/dev/null",
             (int)pid);
    if (system(cmd) != 0)
        fprintf(stderr, "(no backtrace: gdb is missing or could not attach)\n");
}

int64_t orc_test_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void orc_test_sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

pid_t orc_test_spawn(const char *const *argv, const char *log_path)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    int in = open("/dev/null", O_RDONLY);
    int log = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (in < 0 || log < 0 || dup2(in, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0)
        _exit(127);
    signal(SIGPIPE, SIG_DFL);
    char *const *args;
    memcpy(&args, &argv, sizeof args);
    execv(argv[0], args);
    _exit(127);
}

int orc_test_wait_exit(pid_t pid, int timeout_ms, int *status)
{
    int64_t deadline = orc_test_now_ms() + timeout_ms;
    for (;;) {
        int st = 0;
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid) {
            *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            return 0;
        }
        if (w < 0 && errno != EINTR)
            return -1;
        if (orc_test_now_ms() >= deadline)
            return -1;
        orc_test_sleep_ms(10);
    }
}

int orc_test_file_has(const char *path, const char *needle)
{
    char *text = orc_test_read_file(path, NULL);
    int found = text != NULL && strstr(text, needle) != NULL;
    free(text);
    return found;
}
