/*
 * notify_harness.c: the notifier tests' processes (notify_harness.h).
 */
#include "notify_harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support.h"

#define NH_PYTHON "/usr/bin/python3"
#define NH_START_MS 15000
#define NH_MAX_PROCS 64

/*
 * The processes started and not yet stopped: a failed assertion leaves its test function
 * (cmocka's longjmp) before the test stops them, so they are killed when the program ends.
 */
static pid_t nh_procs[NH_MAX_PROCS];

static void nh_kill_all(void)
{
    for (size_t i = 0; i < NH_MAX_PROCS; i++)
        if (nh_procs[i] > 0) {
            kill(nh_procs[i], SIGKILL);
            nh_procs[i] = 0;
        }
}

/* nh_track remembers pid (0: forgets `forget`). */
static void nh_track(pid_t pid, pid_t forget)
{
    static bool registered;
    if (!registered)
        registered = atexit(nh_kill_all) == 0;
    for (size_t i = 0; i < NH_MAX_PROCS; i++) {
        if (pid > 0 && nh_procs[i] == 0) {
            nh_procs[i] = pid;
            return;
        }
        if (pid == 0 && forget > 0 && nh_procs[i] == forget) {
            nh_procs[i] = 0;
            return;
        }
    }
}

/* nh_paths names p's log and records files in the harness folder. */
static void nh_paths(const orc_harness *h, const char *name, orc_notify_proc *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->log_path, sizeof p->log_path, "%s/%s.log", h->dir, name);
    snprintf(p->records_path, sizeof p->records_path, "%s/%s.jsonl", h->dir, name);
}

/* nh_wait_port waits until the server wrote its port file, then reads the port. */
static int nh_wait_port(orc_notify_proc *p, const char *port_file)
{
    int64_t end = orc_test_now_ms() + NH_START_MS;
    while (orc_test_now_ms() < end) {
        char *text = orc_test_read_file(port_file, NULL);
        if (text) {
            p->port = atoi(text);
            free(text);
            if (p->port > 0)
                return 0;
        }
        int status;
        if (orc_test_wait_exit(p->pid, 0, &status) == 0) {
            fprintf(stderr, "%s exited with %d\n", p->name, status);
            nh_track(0, p->pid);
            p->pid = 0;
            orc_notify_print_log(p);
            return -1;
        }
        orc_test_sleep_ms(20);
    }
    fprintf(stderr, "%s did not start listening\n", p->name);
    orc_notify_print_log(p);
    return -1;
}

/* nh_server starts a Python server script with its flags and waits for its port. */
static int nh_server(const orc_harness *h, const char *script, const char *name, int port,
                     const char *const *flags, const char *const *extra, orc_notify_proc *p)
{
    nh_paths(h, name, p);
    char path[512], port_text[16], port_file[440];
    snprintf(path, sizeof path, "%s/test/support/%s", orc_test_env("ORC_SOURCE_DIR"), script);
    snprintf(port_text, sizeof port_text, "%d", port);
    snprintf(port_file, sizeof port_file, "%s/%s.port", h->dir, name);
    unlink(port_file);
    const char *argv[ORC_NOTIFY_MAX_ARGS + 16];
    size_t n = 0;
    const char *base[] = {NH_PYTHON,     path,      "--port", port_text,
                          "--port-file", port_file, "--out",  p->records_path};
    for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
        argv[n++] = base[i];
    for (size_t i = 0; flags && flags[i] && n < ORC_NOTIFY_MAX_ARGS; i++)
        argv[n++] = flags[i];
    for (size_t i = 0; extra && extra[i] && n < ORC_NOTIFY_MAX_ARGS + 8; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    p->pid = orc_test_spawn(argv, p->log_path);
    if (p->pid <= 0) {
        fprintf(stderr, "cannot start %s\n", name);
        p->pid = 0;
        return -1;
    }
    nh_track(p->pid, 0);
    return nh_wait_port(p, port_file);
}

int orc_notify_sink_start(const orc_harness *h, const char *name, int port,
                          const char *const *extra, orc_notify_proc *p)
{
    return nh_server(h, "smtp_sink.py", name, port, NULL, extra, p);
}

int orc_notify_receiver_start(const orc_harness *h, const char *name, int port, const char *secret,
                              const char *const *extra, orc_notify_proc *p)
{
    const char *flags[] = {"--secret", secret, NULL};
    return nh_server(h, "webhook_receiver.py", name, port, flags, extra, p);
}

int orc_notify_start(const orc_harness *h, const char *name, const char *key, const char *secret,
                     const char *state, const char *const *extra, orc_notify_proc *p)
{
    nh_paths(h, name, p);
    char state_dir[400];
    snprintf(state_dir, sizeof state_dir, "%s/%s", h->dir, state);
    const char *argv[ORC_NOTIFY_MAX_ARGS + 24];
    size_t n = 0;
    const char *base[] = {orc_test_env("ORC_NOTIFY"),
                          "--rpc",
                          h->rpc_url,
                          "--events",
                          h->events_url,
                          "--state",
                          state_dir,
                          "--refresh",
                          "100",
                          "--retry-min",
                          "20",
                          "--retry-max",
                          "200",
                          "--log-level",
                          "debug"};
    for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
        argv[n++] = base[i];
    if (h->tls_ca_file[0]) {
        argv[n++] = "--tls-ca";
        argv[n++] = h->tls_ca_file;
    }
    for (size_t i = 0; extra && extra[i] && n < ORC_NOTIFY_MAX_ARGS + 20; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    /* With --log-file the daemon logs there (stderr too): that is the log to read. */
    char spawn_log[400];
    snprintf(spawn_log, sizeof spawn_log, "%s", p->log_path);
    for (size_t i = 0; extra && extra[i]; i++)
        if (strcmp(extra[i], "--log-file") == 0 && extra[i + 1])
            snprintf(p->log_path, sizeof p->log_path, "%s", extra[i + 1]);
    /* The key travels in the environment, as the daemon reads it (and only for this child). */
    setenv("ORCHESTRA_API_KEY", key, 1);
    setenv("ORCHESTRA_API_SECRET", secret, 1);
    p->pid = orc_test_spawn(argv, spawn_log);
    unsetenv("ORCHESTRA_API_KEY");
    unsetenv("ORCHESTRA_API_SECRET");
    if (p->pid <= 0) {
        fprintf(stderr, "cannot start %s\n", name);
        p->pid = 0;
        return -1;
    }
    nh_track(p->pid, 0);
    int64_t end = orc_test_now_ms() + NH_START_MS;
    while (orc_test_now_ms() < end) {
        if (orc_notify_log_has(p, "ready: "))
            return 0;
        int status;
        if (orc_test_wait_exit(p->pid, 0, &status) == 0) {
            fprintf(stderr, "%s exited with %d\n", name, status);
            nh_track(0, p->pid);
            p->pid = 0;
            orc_notify_print_log(p);
            return -1;
        }
        orc_test_sleep_ms(20);
    }
    fprintf(stderr, "%s did not start\n", name);
    orc_notify_print_log(p);
    return -1;
}

int orc_notify_stop(orc_notify_proc *p)
{
    if (p->pid <= 0)
        return 0;
    nh_track(0, p->pid);
    kill(p->pid, SIGTERM);
    int status = -1;
    if (orc_test_wait_exit(p->pid, 10000, &status) != 0) {
        orc_test_print_backtrace(p->pid, p->name);
        kill(p->pid, SIGKILL);
        orc_test_wait_exit(p->pid, 5000, &status);
        status = -1;
    }
    p->pid = 0;
    if (status != 0) {
        fprintf(stderr, "%s exited with %d\n", p->name, status);
        orc_notify_print_log(p);
    }
    return status;
}

int orc_notify_term(orc_notify_proc *p, int timeout_ms, int64_t *took_ms)
{
    *took_ms = -1;
    if (p->pid <= 0)
        return -1;
    int64_t t0 = orc_test_now_ms();
    kill(p->pid, SIGTERM);
    int status = -1;
    if (orc_test_wait_exit(p->pid, timeout_ms, &status) != 0)
        return -1; /* still running: orc_notify_kill ends it */
    *took_ms = orc_test_now_ms() - t0;
    nh_track(0, p->pid);
    p->pid = 0;
    return status;
}

void orc_notify_kill(orc_notify_proc *p)
{
    if (p->pid <= 0)
        return;
    nh_track(0, p->pid);
    kill(p->pid, SIGKILL);
    int status;
    orc_test_wait_exit(p->pid, 5000, &status);
    p->pid = 0;
}

void orc_notify_print_log(const orc_notify_proc *p)
{
    char *text = orc_test_read_file(p->log_path, NULL);
    fprintf(stderr, "----- %s log -----\n%s\n----- end of %s log -----\n", p->name,
            text ? text : "(unreadable)", p->name);
    free(text);
}

bool orc_notify_log_has(const orc_notify_proc *p, const char *needle)
{
    return orc_test_file_has(p->log_path, needle) != 0;
}

json_t *orc_notify_records(const orc_notify_proc *p)
{
    json_t *all = json_array();
    char *text = orc_test_read_file(p->records_path, NULL);
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (!next)
            break; /* a line still being written */
        *next++ = '\0';
        json_t *v = json_loads(line, 0, NULL);
        if (v)
            json_array_append_new(all, v);
    }
    free(text);
    return all;
}

json_t *orc_notify_wait_records(const orc_notify_proc *p, size_t n, int timeout_ms,
                                const orc_notify_proc *notifier)
{
    int64_t end = orc_test_now_ms() + timeout_ms;
    for (;;) {
        json_t *all = orc_notify_records(p);
        if (json_array_size(all) >= n)
            return all;
        if (orc_test_now_ms() >= end) {
            char *dump = json_dumps(all, JSON_INDENT(1));
            fprintf(stderr, "%s: %zu records after %d ms, wanted %zu:\n%s\n", p->name,
                    json_array_size(all), timeout_ms, n, dump ? dump : "");
            free(dump);
            json_decref(all);
            if (notifier)
                orc_notify_print_log(notifier);
            return NULL;
        }
        json_decref(all);
        orc_test_sleep_ms(25);
    }
}

int orc_notify_wait_log(const orc_notify_proc *p, const char *needle, int timeout_ms)
{
    int64_t end = orc_test_now_ms() + timeout_ms;
    while (orc_test_now_ms() < end) {
        if (orc_notify_log_has(p, needle))
            return 0;
        orc_test_sleep_ms(25);
    }
    fprintf(stderr, "%s: no \"%s\" in the log after %d ms\n", p->name, needle, timeout_ms);
    orc_notify_print_log(p);
    return -1;
}
