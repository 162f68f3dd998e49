/*
 * host_main.c: the plugin host process (host.h): load the plugins once, then read calls
 * and write replies until the end of the input.
 */
#define _GNU_SOURCE /* F_DUPFD_CLOEXEC, PR_SET_CHILD_SUBREAPER */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "host.h"
#include "job.h"
#include "json.h"
#include "log.h"
#include "plugin_set.h"
#include "proc.h"

/* The most bytes of a call's frame: the input cap plus a function name. */
#define HOST_REQUEST_MAX (ORCI_JOB_IO_MAX + ORC_PLUGIN_NAME_MAX + 1)
/* The most children a host kills in one round after a call. */
#define HOST_MAX_STRAYS 256

/* What the crash handler needs; set once before any plugin runs. */
static int host_reply_fd = -1;
static long long host_memory_kb;

/* ---- memory ----------------------------------------------------------------------------- */

/* host_status_kb finds "<key>   123 kB" in a /proc status text; -1 when missing.
 * Async-signal-safe (the crash handler uses it). */
static long long host_status_kb(const char *text, const char *key)
{
    size_t klen = strlen(key);
    for (const char *p = text; *p; p++) {
        if ((p == text || p[-1] == '\n') && strncmp(p, key, klen) == 0) {
            long long v = 0;
            for (p += klen; *p == ' ' || *p == '\t'; p++)
                ;
            for (; *p >= '0' && *p <= '9'; p++)
                v = v * 10 + (*p - '0');
            return v;
        }
    }
    return -1;
}

/* The host's own /proc/self files, opened once so that a call needs no path lookup (-1
 * until opened, or when they cannot be). */
static int host_status_fd = -1;
static int host_statm_fd = -1;
static int host_clear_refs_fd = -1;
static long host_page_kb;

/* host_read_status reads /proc/self/status into text (at most size - 1 bytes, NUL-terminated);
 * a read from offset 0 makes the kernel write the figures afresh. Async-signal-safe (pread
 * only). */
static void host_read_status(char *text, size_t size)
{
    ssize_t n = host_status_fd >= 0 ? pread(host_status_fd, text, size - 1, 0) : -1;
    text[n > 0 ? n : 0] = '\0';
}

/* host_statm_data_kb is the data and stack size from /proc/self/statm (never below VmData);
 * LLONG_MAX when it cannot be read. Async-signal-safe. */
static long long host_statm_data_kb(void)
{
    char text[128];
    ssize_t n = host_statm_fd >= 0 ? pread(host_statm_fd, text, sizeof text - 1, 0) : -1;
    if (n <= 0)
        return LLONG_MAX;
    text[n] = '\0';
    const char *p = text;
    for (int field = 0; field < 5; field++) { /* size resident shared text lib, then data */
        while (*p >= '0' && *p <= '9')
            p++;
        if (*p++ != ' ')
            return LLONG_MAX;
    }
    long long pages = 0;
    for (; *p >= '0' && *p <= '9'; p++)
        pages = pages * 10 + (*p - '0');
    return pages * host_page_kb;
}

/*
 * host_near_limit says whether the host came within an eighth of its memory limit: its peak
 * resident size since the last reset, or its data size now (what RLIMIT_DATA counts).
 * getrusage's peak and statm's data size are never below the two, and cost a fraction of
 * /proc/self/status, which is read only when either comes near. Async-signal-safe (the
 * crash handler uses it).
 */
static bool host_near_limit(void)
{
    static char text[8192];
    if (host_memory_kb <= 0)
        return false;
    long long near = host_memory_kb - host_memory_kb / 8;
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0 && ru.ru_maxrss < near && host_statm_data_kb() < near)
        return false;
    host_read_status(text, sizeof text);
    long long hwm = host_status_kb(text, "VmHWM:"), data = host_status_kb(text, "VmData:");
    return hwm >= near || data >= near;
}

/* host_reset_peak starts a new peak resident size measure for the next call. */
static void host_reset_peak(void)
{
    if (host_memory_kb > 0 && host_clear_refs_fd >= 0) {
        ssize_t w = write(host_clear_refs_fd, "5", 1);
        (void)w;
    }
}

/* host_crash notes a crash near the memory limit ('M' frame), then dies of the signal. */
static void host_crash(int sig)
{
    if (host_reply_fd >= 0 && host_near_limit()) {
        static const char note[ORCI_FRAME_HEADER] = {0, 0, 0, 0, 'M'};
        ssize_t w = write(host_reply_fd, note, sizeof note);
        (void)w;
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

/* host_limit_memory sets RLIMIT_DATA and the crash handlers that tell a crash at the limit. */
static int host_limit_memory(long mb)
{
    static char altstack[65536];
    char text[8192];
    if (mb <= 0)
        return 0;
    host_status_fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    host_statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    host_page_kb = sysconf(_SC_PAGESIZE) / 1024;
    host_clear_refs_fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    /* A sanitizer's shadow memory counts as data: a limit would leave no room to allocate. */
    host_read_status(text, sizeof text);
    long long data_kb = host_status_kb(text, "VmData:");
    if (data_kb >= mb * 1024LL) {
        orci_warn("plugin host: its memory is not limited to %ld MB: it maps %lld MB already "
                  "(a sanitizer build?)",
                  mb, data_kb / 1024);
        return 0;
    }
    struct rlimit rl = {.rlim_cur = (rlim_t)mb << 20, .rlim_max = (rlim_t)mb << 20};
    if (setrlimit(RLIMIT_DATA, &rl) != 0) {
        orci_error("plugin host: cannot limit its memory to %ld MB: %s", mb, strerror(errno));
        return -1;
    }
    host_memory_kb = (long long)mb * 1024;
    /* A stack overflow must still reach the handler. */
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = host_crash;
    sa.sa_flags = SA_ONSTACK | SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    int sigs[] = {SIGSEGV, SIGBUS, SIGABRT};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
    return 0;
}

/* ---- strays ----------------------------------------------------------------------------- */

/* host_children lists the host's children (of every thread) into kids; returns how many. */
static size_t host_children(pid_t *kids, size_t max)
{
    size_t n = 0;
    DIR *d = opendir("/proc/self/task");
    struct dirent *de;
    while (d && n < max && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[300];
        snprintf(path, sizeof path, "/proc/self/task/%s/children", de->d_name);
        FILE *f = fopen(path, "re");
        long pid;
        while (f && n < max && fscanf(f, "%ld", &pid) == 1)
            kids[n++] = (pid_t)pid;
        if (f)
            fclose(f);
    }
    if (d)
        closedir(d);
    return n;
}

/* host_has_children says whether the host has a child, running or not yet reaped: one
 * system call, where listing them reads a /proc file per thread. */
static bool host_has_children(void)
{
    siginfo_t info;
    memset(&info, 0, sizeof info);
    return waitid(P_ALL, 0, &info, WEXITED | WSTOPPED | WCONTINUED | WNOHANG | WNOWAIT) == 0 ||
           errno != ECHILD;
}

/*
 * host_kill_strays kills every process a function left behind. The host is their
 * subreaper, so the descendants of a killed child come back to it and go in the next round.
 * Most functions start none, and then nothing is listed.
 */
static void host_kill_strays(void)
{
    if (!host_has_children())
        return;
    pid_t kids[HOST_MAX_STRAYS];
    for (int round = 0; round < 64; round++) {
        size_t n = host_children(kids, HOST_MAX_STRAYS);
        if (n == 0)
            return;
        for (size_t i = 0; i < n; i++) {
            kill(-kids[i], SIGKILL);
            kill(kids[i], SIGKILL);
        }
        for (size_t i = 0; i < n; i++)
            while (waitpid(kids[i], NULL, 0) < 0 && errno == EINTR)
                ;
    }
    orci_warn("plugin host: processes started by a function keep coming back");
}

/* ---- one call ---------------------------------------------------------------------------- */

static char *host_reply(json_t *reply)
{
    char *text = reply ? orci_json_dump(reply) : NULL;
    json_decref(reply);
    return text;
}

static char *host_fail(bool retryable, const char *msg)
{
    return host_reply(
        json_pack("{s:s,s:b,s:s}", "status", "fail", "retryable", retryable, "error", msg));
}

/* host_call runs function on the job input; returns the reply's text (NULL: out of memory). */
static char *host_call(const orci_plugin_set *set, const orc_plugin_host *host,
                       const char *function, const char *input, size_t len)
{
    orc_error e = {0};
    char *pd = NULL, *pr = NULL, *output = NULL, *error = NULL, *reply;
    json_t *in = orci_json_parse_object(input, len, "job input", &e);
    if (!in) {
        reply = host_fail(false, e.message);
        goto out;
    }
    pd = orci_json_dump(json_object_get(in, "project_data"));
    pr = orci_json_dump(json_object_get(in, "prerequisites"));
    if (!pd || !pr) {
        reply = host_fail(false, "the job's input lacks project_data or prerequisites");
        goto out;
    }
    orc_plugin_fn fn = orci_plugin_set_find(set, function, NULL);
    if (!fn) {
        reply = host_fail(false, "the plugin no longer provides this function");
        goto out;
    }
    int st = fn(host, pd, pr, &output, &error);
    if (st == ORC_PLUGIN_OK) {
        json_t *obj =
            output ? orci_json_parse_object(output, strlen(output), "function output", &e) : NULL;
        if (!obj)
            reply = host_fail(false, output ? e.message : "the function returned no output");
        else
            reply = host_reply(json_pack("{s:s,s:o}", "status", "ok", "output", obj));
    } else {
        reply = host_fail(st != ORC_PLUGIN_FAIL_PERMANENT,
                          error && error[0] ? error : "function failed");
    }
out:
    host->free(output);
    host->free(error);
    json_decref(in);
    free(pd);
    free(pr);
    return reply;
}

/* host_over_memory rewrites a failed reply as the memory limit's failure (retryable). */
static char *host_over_memory(char *reply, long mb)
{
    json_t *r = json_loads(reply, 0, NULL);
    const char *status = json_string_value(json_object_get(r, "status"));
    if (!status || strcmp(status, "fail") != 0) {
        json_decref(r);
        return reply;
    }
    const char *why = json_string_value(json_object_get(r, "error"));
    char msg[ORC_ERROR_MESSAGE_MAX];
    snprintf(msg, sizeof msg, "function exceeded the memory limit of %ld MB (%s)", mb,
             why ? why : "failed");
    json_decref(r);
    char *text = host_fail(true, msg);
    if (!text)
        return reply;
    free(reply);
    return text;
}

/* ---- the frames ---------------------------------------------------------------------------- */

/* host_io reads or writes exactly n bytes; 0 on success, -1 on the end of input or an error. */
static int host_io(int fd, char *buf, size_t n, bool writing)
{
    while (n > 0) {
        ssize_t r = writing ? write(fd, buf, n) : read(fd, buf, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        buf += r;
        n -= (size_t)r;
    }
    return 0;
}

/* host_read_call reads one 'J' frame (malloc'd payload in *buf). 0, 1 at the end of input,
 * -1 when the frame is not one. */
static int host_read_call(int fd, char **buf, size_t *len)
{
    unsigned char h[ORCI_FRAME_HEADER];
    ssize_t r;
    do {
        r = read(fd, h, sizeof h);
    } while (r < 0 && errno == EINTR);
    if (r == 0)
        return 1;
    if (r < 0 || host_io(fd, (char *)h + r, sizeof h - (size_t)r, false) != 0)
        return -1;
    size_t n = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | (size_t)h[3];
    if (h[4] != 'J' || n > HOST_REQUEST_MAX || !(*buf = malloc(n + 1)))
        return -1;
    if (host_io(fd, *buf, n, false) != 0) {
        free(*buf);
        return -1;
    }
    (*buf)[n] = '\0';
    *len = n;
    return 0;
}

/* host_write_reply writes a reply frame with one system call when the pipe takes it whole,
 * so that the executor wakes once for it. */
static int host_write_reply(int fd, char kind, const char *text)
{
    size_t n = strlen(text);
    char h[ORCI_FRAME_HEADER] = {(char)(n >> 24 & 0xff), (char)(n >> 16 & 0xff),
                                 (char)(n >> 8 & 0xff), (char)(n & 0xff), kind};
    struct iovec iov[2] = {{.iov_base = h, .iov_len = sizeof h},
                           {.iov_base = (char *)text, .iov_len = n}};
    ssize_t w;
    do {
        w = writev(fd, iov, 2);
    } while (w < 0 && errno == EINTR);
    if (w < 0)
        return -1;
    size_t done = (size_t)w;
    if (done < sizeof h && host_io(fd, h + done, sizeof h - done, true) != 0)
        return -1;
    size_t body = done > sizeof h ? done - sizeof h : 0;
    return host_io(fd, (char *)text + body, n - body, true);
}

/* ---- the process --------------------------------------------------------------------------- */

/*
 * host_detach_stdio moves the protocol off stdin and stdout, into *req and *rep: a function
 * that prints then writes to the log, one that reads gets nothing.
 */
static int host_detach_stdio(int *req, int *rep)
{
    *req = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
    *rep = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (*req < 0 || *rep < 0 || null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 ||
        dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
        orci_error("plugin host: cannot set up its descriptors: %s", strerror(errno));
        return -1;
    }
    close(null_fd);
    return 0;
}

/* host_serve answers calls until the end of the input; returns the exit status. */
static int host_serve(int req, int rep, const orci_plugin_set *set, const orc_plugin_host *host,
                      long mb)
{
    for (;;) {
        char *call = NULL;
        size_t len = 0;
        int r = host_read_call(req, &call, &len);
        if (r != 0)
            return r > 0 ? 0 : 3;
        size_t fn_len = strnlen(call, len);
        char *reply = fn_len < len ? host_call(set, host, call, call + fn_len + 1, len - fn_len - 1)
                                   : host_fail(false, "a call without a function name");
        free(call);
        host_kill_strays();
        bool over = host_near_limit();
        if (over && reply)
            reply = host_over_memory(reply, mb);
        if (!reply || host_write_reply(rep, over ? 'L' : 'R', reply) != 0) {
            free(reply);
            return 3;
        }
        free(reply);
        if (over)
            return 0; /* the executor starts a fresh host for the next call */
        host_reset_peak();
    }
}

int orci_host_main(int argc, char **argv)
{
    char *end = NULL;
    long mb = argc >= 5 ? strtol(argv[4], &end, 10) : -1;
    if (argc < 5 || strcmp(argv[1], ORCI_HOST_FLAG) != 0 || !end || *end || mb < 0) {
        fprintf(stderr, "usage: %s %s STORAGE_ROOT LOG_LEVEL[:json] MEMORY_MB PLUGIN...\n", argv[0],
                ORCI_HOST_FLAG);
        return 2;
    }
    orci_log_init_spec("orchestra-executor", argv[3]); /* "info", "debug:json"... */
    json_object_seed(0);
    int req = -1, rep = -1;
    if (host_detach_stdio(&req, &rep) != 0)
        return 3;
    host_reply_fd = rep;
    /* Processes a function starts come back to the host when their parent dies. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    if (host_limit_memory(mb) != 0)
        return 3;

    orc_plugin_host host;
    orci_plugin_set *set = NULL;
    orc_error e = {0};
    orci_plugin_host_init(&host, argv[2]);
    if (orci_plugin_set_new(&host, &set, &e) != ORC_OK) {
        orci_error("plugin host: %s", e.message);
        return 3;
    }
    for (int i = 5; i < argc; i++) {
        if (orci_plugin_set_load(set, argv[i], &e) != ORC_OK)
            orci_warn("plugin host: %s; refused", e.message);
    }
    host_reset_peak();
    int rc = host_serve(req, rep, set, &host, mb);
    orci_plugin_set_destroy(set);
    host_kill_strays();
    close(req);
    close(rep);
    return rc;
}
