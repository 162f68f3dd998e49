/*
 * daemon.c: signals, bounded stops and the one-instance lock (see daemon.h).
 */
#define _GNU_SOURCE /* O_CLOEXEC with open, flock */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

/* Set by the signal handlers, read by any thread: lock-free atomics are both async-signal-safe
 * and ordered between threads (a volatile sig_atomic_t is only the former). */
static atomic_int daemon_stop;
static atomic_int daemon_reload;

static void daemon_on_stop(int sig)
{
    (void)sig;
    atomic_store(&daemon_stop, 1);
}

static void daemon_on_hup(int sig)
{
    (void)sig;
    atomic_store(&daemon_reload, 1);
}

int orci_daemon_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = daemon_on_stop;
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0)
        return -1;
    sa.sa_handler = daemon_on_hup;
    if (sigaction(SIGHUP, &sa, NULL) != 0)
        return -1;
    sa.sa_handler = SIG_IGN;
    return sigaction(SIGPIPE, &sa, NULL);
}

bool orci_daemon_stopping(void)
{
    return atomic_load(&daemon_stop) != 0;
}

void orci_daemon_request_stop(void)
{
    atomic_store(&daemon_stop, 1);
}

bool orci_daemon_take_reload(void)
{
    return atomic_exchange(&daemon_reload, 0) != 0;
}

void orci_daemon_wait(int ms)
{
    while (ms > 0 && !atomic_load(&daemon_stop) && !atomic_load(&daemon_reload)) {
        int step = ms < 50 ? ms : 50;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

_Noreturn void orci_daemon_exit(int status)
{
    fflush(stdout);
    fflush(stderr);
    _exit(status);
}

static void *daemon_watchdog_main(void *arg)
{
    int ms = (int)(intptr_t)arg;
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    orci_error("the stop did not finish within %d ms; exiting now", ms);
    orci_daemon_exit(1);
}

void orci_daemon_watchdog(int ms)
{
    pthread_t th;
    if (pthread_create(&th, NULL, daemon_watchdog_main, (void *)(intptr_t)ms) == 0)
        pthread_detach(th);
    else
        orci_warn("cannot start the stop watchdog; the stop is not bounded");
}

/* ---- orci_run_within ------------------------------------------------------------------ */

/* run_call is shared by the caller and the thread; the last one to let go frees it. */
typedef struct run_call {
    void (*fn)(void *);
    void *arg;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    int refs;
} run_call;

static void run_call_release(run_call *k)
{
    pthread_mutex_lock(&k->mu);
    bool last = --k->refs == 0;
    pthread_mutex_unlock(&k->mu);
    if (last) {
        pthread_mutex_destroy(&k->mu);
        pthread_cond_destroy(&k->cv);
        free(k);
    }
}

static void *run_call_main(void *arg)
{
    run_call *k = arg;
    k->fn(k->arg);
    pthread_mutex_lock(&k->mu);
    k->done = true;
    pthread_cond_signal(&k->cv);
    pthread_mutex_unlock(&k->mu);
    run_call_release(k);
    return NULL;
}

bool orci_run_within(void (*fn)(void *), void *arg, int timeout_ms)
{
    run_call *k = calloc(1, sizeof *k);
    pthread_condattr_t ca;
    bool cv_ok = false;
    if (k && pthread_condattr_init(&ca) == 0) {
        cv_ok = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
                pthread_cond_init(&k->cv, &ca) == 0;
        pthread_condattr_destroy(&ca);
    }
    if (!cv_ok) {
        free(k);
        fn(arg);
        return true;
    }
    pthread_mutex_init(&k->mu, NULL);
    k->fn = fn;
    k->arg = arg;
    k->refs = 2;
    pthread_t th;
    if (pthread_create(&th, NULL, run_call_main, k) != 0) {
        k->refs = 1;
        run_call_release(k);
        fn(arg);
        return true;
    }
    pthread_detach(th);
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&k->mu);
    int rv = 0;
    while (!k->done && rv != ETIMEDOUT)
        rv = pthread_cond_timedwait(&k->cv, &k->mu, &deadline);
    bool done = k->done;
    pthread_mutex_unlock(&k->mu);
    run_call_release(k);
    return done;
}

/* ---- the lock -------------------------------------------------------------------------- */

/* lock_holder reads the process id written into the lock file, 0 when unreadable. */
static long lock_holder(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    return strtol(buf, NULL, 10);
}

int orci_daemon_lock(const char *path, orc_error *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return orc_error_set(err, ORC_UNAVAILABLE, "cannot open the lock file %s: %s", path,
                             strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        long pid = lock_holder(fd);
        close(fd);
        if (e == EWOULDBLOCK && pid > 0)
            return orc_error_set(err, ORC_ALREADY_EXISTS, "%s is in use by process %ld", path, pid);
        if (e == EWOULDBLOCK)
            return orc_error_set(err, ORC_ALREADY_EXISTS, "%s is in use by another process", path);
        return orc_error_set(err, ORC_UNAVAILABLE, "cannot lock %s: %s", path, strerror(e));
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
        orci_warn("cannot write the process id into %s: %s", path, strerror(errno));
    /* The descriptor stays open (and the lock held) until the process ends. */
    return ORC_OK;
}
