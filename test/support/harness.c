/* harness.c: starting, driving and stopping real orchestrad processes for the tests. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "harness.h"
#include "support.h"

extern char **environ;

#define MAX_ARGV 64

const char *orc_test_env(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0') {
        fprintf(stderr, "environment variable %s is not set (run the test through ctest)\n", name);
        exit(2);
    }
    return v;
}

/*
 * Ports for the daemons under test. bind(0) alone is not enough: ctest runs tests in parallel and
 * the kernel can hand the same ephemeral port to two of them between one's probe and its daemon's
 * listen (CI saw two tests start orchestrad on the same port). So a port is taken from below the
 * ephemeral range (where no outgoing connection or bind(0) lands), and a lock file per port under
 * $TMPDIR/orc-test-ports, held with flock until this process exits, keeps every other test (C or
 * Python, test/integration/ports.py) off it.
 */
static int ephemeral_low(void)
{
    int lo = 32768, hi = 60999;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f) {
        if (fscanf(f, "%d %d", &lo, &hi) != 2)
            lo = 32768;
        fclose(f);
    }
    return lo;
}

static bool port_bindable(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

/* port_reserve takes port's lock file; the descriptor stays open (and locked) for good. */
static bool port_reserve(const char *dir, int port)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%d", dir, port);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0)
        return false;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return false;
    }
    if (port_bindable(port))
        return true;
    close(fd);
    return false;
}

int orc_test_free_port(void)
{
    const char *tmp = getenv("TMPDIR");
    char dir[400];
    snprintf(dir, sizeof dir, "%s/orc-test-ports", tmp && tmp[0] ? tmp : "/tmp");
    if (mkdir(dir, 01777) != 0 && errno != EEXIST)
        return -1;
    int hi = ephemeral_low(), lo = hi / 2;
    if (lo < 1024)
        return -1;
    unsigned seed = (unsigned)getpid() * 2654435761u ^ (unsigned)time(NULL);
    int span = hi - lo, first = (int)(rand_r(&seed) % (unsigned)span);
    for (int i = 0; i < span; i++) {
        int port = lo + (first + i) % span;
        if (port_reserve(dir, port))
            return port;
    }
    return -1;
}

/* ---- running a program with captured output --------------------------------------- */

typedef struct outbuf {
    char *p;
    size_t n, cap;
} outbuf;

static int buf_reserve(outbuf *b, size_t more)
{
    if (b->cap - b->n > more)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->n <= more)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

/* drain reads what fd has; closes it and sets *fd to -1 at EOF or on an error. */
static int drain(int *fd, outbuf *b)
{
    for (;;) {
        if (buf_reserve(b, 65536) != 0)
            return -1;
        ssize_t got = read(*fd, b->p + b->n, b->cap - b->n - 1);
        if (got > 0) {
            b->n += (size_t)got;
            b->p[b->n] = '\0';
            continue;
        }
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        close(*fd);
        *fd = -1;
        return 0;
    }
}

static int set_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int cloexec_pipe(int p[2])
{
    if (pipe(p) != 0)
        return -1;
    fcntl(p[0], F_SETFD, FD_CLOEXEC);
    fcntl(p[1], F_SETFD, FD_CLOEXEC);
    return 0;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/*
 * child_exec runs in the forked child: only async-signal-safe calls (the parent may have
 * threads). It dies with the test process, with default signal dispositions and mask.
 */
static void child_exec(int in_fd, int out_fd, int err_fd, const char *const *argv,
                       const char *const *env)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
        _exit(126);
    execve(argv[0], (char *const *)argv,
           (char *const *)(env != NULL ? env : (const char *const *)environ));
    _exit(127);
}

static int status_code(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return -1;
}

/* wait_pid waits for pid until deadline_ms (monotonic); 0 and *st, or -1 on timeout. */
static int wait_pid(pid_t pid, int64_t deadline_ms, int *st)
{
    for (;;) {
        pid_t r = waitpid(pid, st, WNOHANG);
        if (r == pid)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
        if (orc_test_now_ms() >= deadline_ms)
            return -1;
        orc_test_sleep_ms(2);
    }
}

/* proc is one program run by orc_test_run_many: its pipes and what it wrote so far. */
typedef struct proc {
    pid_t pid;        /* 0 when not started or already reaped */
    int in, out, err; /* our ends of its pipes, -1 when closed */
    const char *stdin_text;
    size_t in_len, in_off;
    outbuf bo, be;
    int st;
    bool reaped;
} proc;

/* proc_start forks and execs cmd with fresh pipes; 0, or -1 after printing why. */
static int proc_start(proc *p, const orc_test_cmd *cmd)
{
    int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
    if (cloexec_pipe(pin) != 0 || cloexec_pipe(pout) != 0 || cloexec_pipe(perr) != 0) {
        fprintf(stderr, "pipe: %s\n", strerror(errno));
        goto fail;
    }
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "fork: %s\n", strerror(errno));
        goto fail;
    }
    if (pid == 0)
        child_exec(pin[0], pout[1], perr[1], cmd->argv, cmd->env);
    close_fd(&pin[0]);
    close_fd(&pout[1]);
    close_fd(&perr[1]);
    p->pid = pid;
    p->in = pin[1];
    p->out = pout[0];
    p->err = perr[0];
    set_nonblocking(p->in);
    set_nonblocking(p->out);
    set_nonblocking(p->err);
    p->stdin_text = cmd->stdin_text;
    p->in_len = cmd->stdin_text != NULL ? strlen(cmd->stdin_text) : 0;
    if (p->in_len == 0)
        close_fd(&p->in);
    return 0;
fail:
    close_fd(&pin[0]);
    close_fd(&pin[1]);
    close_fd(&pout[0]);
    close_fd(&pout[1]);
    close_fd(&perr[0]);
    close_fd(&perr[1]);
    return -1;
}

/*
 * pump moves data between the processes' pipes until every stdout and stderr reached EOF
 * or the deadline passed. 0, or -1 on timeout or a failure.
 */
static int pump(proc *ps, size_t n, int64_t deadline)
{
    struct pollfd *fds = calloc(3 * n, sizeof *fds);
    int **owners = calloc(3 * n, sizeof *owners); /* the fd field each pollfd stands for */
    size_t *which = calloc(3 * n, sizeof *which);
    int rc = -1;
    if (fds == NULL || owners == NULL || which == NULL)
        goto out;
    for (;;) {
        nfds_t nfds = 0;
        for (size_t i = 0; i < n; i++) {
            int *mine[3] = {&ps[i].out, &ps[i].err, &ps[i].in};
            for (size_t k = 0; k < 3; k++) {
                if (*mine[k] < 0)
                    continue;
                fds[nfds] = (struct pollfd){.fd = *mine[k], .events = k == 2 ? POLLOUT : POLLIN};
                owners[nfds] = mine[k];
                which[nfds] = i;
                nfds++;
            }
        }
        bool reading = false;
        for (nfds_t j = 0; j < nfds; j++)
            reading |= fds[j].events == POLLIN;
        if (!reading) {
            rc = 0;
            goto out;
        }
        int64_t left = deadline - orc_test_now_ms();
        if (left <= 0)
            goto out;
        int got = poll(fds, nfds, (int)left);
        if (got < 0 && errno != EINTR) {
            fprintf(stderr, "poll: %s\n", strerror(errno));
            goto out;
        }
        if (got <= 0)
            continue;
        for (nfds_t j = 0; j < nfds; j++) {
            if (fds[j].revents == 0)
                continue;
            proc *p = &ps[which[j]];
            if (owners[j] == &p->out && drain(&p->out, &p->bo) != 0)
                goto out;
            if (owners[j] == &p->err && drain(&p->err, &p->be) != 0)
                goto out;
            if (owners[j] == &p->in) {
                ssize_t w = write(p->in, p->stdin_text + p->in_off, p->in_len - p->in_off);
                if (w > 0)
                    p->in_off += (size_t)w;
                if ((w < 0 && errno != EAGAIN && errno != EINTR) || p->in_off == p->in_len)
                    close_fd(&p->in);
            }
        }
    }
out:
    free(fds);
    free(owners);
    free(which);
    return rc;
}

int orc_test_run_many(size_t n, const orc_test_cmd *cmds, int timeout_ms, orc_test_result *results)
{
    int rc = -1;
    proc *ps = calloc(n > 0 ? n : 1, sizeof *ps);
    for (size_t i = 0; i < n; i++) {
        results[i].exit_code = -1;
        results[i].out = results[i].err = NULL;
    }
    if (ps == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        ps[i].in = ps[i].out = ps[i].err = -1;
        if (buf_reserve(&ps[i].bo, 1) != 0 || buf_reserve(&ps[i].be, 1) != 0)
            goto out;
        ps[i].bo.p[0] = ps[i].be.p[0] = '\0';
    }
    signal(SIGPIPE, SIG_IGN);
    int64_t deadline = orc_test_now_ms() + timeout_ms;
    /* Every program is started before any is read or waited for. */
    for (size_t i = 0; i < n; i++)
        if (proc_start(&ps[i], &cmds[i]) != 0)
            goto out;
    bool ok = pump(ps, n, deadline) == 0;
    rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (ok && wait_pid(ps[i].pid, deadline, &ps[i].st) == 0) {
            ps[i].reaped = true;
            results[i].exit_code = status_code(ps[i].st);
        } else {
            fprintf(stderr, "%s did not finish within %d ms: killed\n", cmds[i].argv[0],
                    timeout_ms);
            rc = -1;
        }
    }
out:
    for (size_t i = 0; i < n; i++) {
        if (ps[i].pid > 0 && !ps[i].reaped) {
            kill(ps[i].pid, SIGKILL);
            waitpid(ps[i].pid, &ps[i].st, 0);
        }
        close_fd(&ps[i].in);
        close_fd(&ps[i].out);
        close_fd(&ps[i].err);
        results[i].out = ps[i].bo.p;
        results[i].err = ps[i].be.p;
    }
    free(ps);
    return rc;
}

int orc_test_run(const char *const *argv, const char *const *env, const char *stdin_text,
                 int timeout_ms, int *exit_code, char **out, char **err)
{
    orc_test_cmd cmd = {.argv = argv, .env = env, .stdin_text = stdin_text};
    orc_test_result r;
    int rc = orc_test_run_many(1, &cmd, timeout_ms, &r);
    *exit_code = r.exit_code;
    *out = r.out;
    *err = r.err;
    return rc;
}

void orc_test_result_free(orc_test_result *r)
{
    if (r == NULL)
        return;
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

/* ---- the daemon --------------------------------------------------------------------- */

static char *dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

static void log_marker(const orc_harness *h, const char *what)
{
    FILE *f = fopen(h->log_path, "a");
    if (f == NULL)
        return;
    fprintf(f, "==== harness: %s ====\n", what);
    fclose(f);
}

char *orc_harness_read_log(const orc_harness *h)
{
    return h->log_path[0] != '\0' ? orc_test_read_file(h->log_path, NULL) : NULL;
}

void orc_harness_print_log(const orc_harness *h)
{
    char *text = orc_harness_read_log(h);
    fprintf(stderr, "---- orchestrad log (%s) ----\n%s---- end of orchestrad log ----\n",
            h->log_path, text != NULL ? text : "(unreadable)\n");
    free(text);
}

static int spawn_daemon(orc_harness *h)
{
    const char *argv[MAX_ARGV];
    size_t n = 0;
    argv[n++] = orc_test_env("ORC_ORCHESTRAD");
    argv[n++] = "--dev";
    argv[n++] = "--db";
    argv[n++] = h->db_path;
    argv[n++] = "--rpc";
    argv[n++] = h->rpc_url;
    argv[n++] = "--events";
    argv[n++] = h->events_url;
    argv[n++] = "--log-level";
    argv[n++] = "debug";
    if (h->tls_cert != NULL) {
        argv[n++] = "--tls-cert";
        argv[n++] = h->tls_cert;
    }
    if (h->tls_key != NULL) {
        argv[n++] = "--tls-key";
        argv[n++] = h->tls_key;
    }
    for (size_t i = 0; i < ORC_HARNESS_MAX_ARGS && h->extra_args[i] != NULL; i++)
        argv[n++] = h->extra_args[i];
    argv[n] = NULL;

    log_marker(h, "starting orchestrad");
    int logfd = open(h->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (logfd < 0 || nullfd < 0) {
        fprintf(stderr, "cannot open %s or /dev/null: %s\n", h->log_path, strerror(errno));
        if (logfd >= 0)
            close(logfd);
        if (nullfd >= 0)
            close(nullfd);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0)
        child_exec(nullfd, logfd, logfd, argv, NULL);
    close(logfd);
    close(nullfd);
    if (pid < 0) {
        fprintf(stderr, "fork: %s\n", strerror(errno));
        return -1;
    }
    h->pid = pid;
    return 0;
}

static int client_open(const orc_harness *h, const char *key, const char *secret, int timeout_ms,
                       orc_client **out)
{
    orc_client_opts o;
    memset(&o, 0, sizeof o);
    o.rpc_url = h->rpc_url;
    o.api_key = key;
    o.api_secret = key != NULL ? secret : NULL;
    o.tls_ca_file = h->tls_ca_file[0] != '\0' ? h->tls_ca_file : NULL;
    o.timeout_ms = timeout_ms;
    orc_error e;
    orc_error_clear(&e);
    *out = NULL;
    return orc_client_new(&o, out, &e);
}

int orc_harness_client(const orc_harness *h, const char *key, const char *secret, orc_client **out)
{
    return client_open(h, key, secret, 10000, out);
}

int orc_harness_client_timeout(const orc_harness *h, const char *key, const char *secret,
                               int timeout_ms, orc_client **out)
{
    return client_open(h, key, secret, timeout_ms, out);
}

int orc_harness_client_dev(const orc_harness *h, orc_client **out)
{
    return client_open(h, ORC_TEST_DEV_KEY, ORC_TEST_DEV_SECRET, 10000, out);
}

/*
 * wait_serving polls Health every 20 ms until it answers. 0 when serving; 1 when the daemon
 * exited first complaining that an address is in use (the caller may retry on other
 * ports); -1 otherwise. The daemon is not left running on failure.
 */
static int wait_serving(orc_harness *h)
{
    int64_t deadline = orc_test_now_ms() + ORC_HARNESS_START_TIMEOUT_MS;
    for (;;) {
        int st = 0;
        pid_t r = waitpid(h->pid, &st, WNOHANG);
        if (r == h->pid) {
            h->pid = 0;
            char *log = orc_harness_read_log(h);
            bool in_use = log != NULL && (strstr(log, "in use") != NULL);
            free(log);
            if (in_use)
                return 1;
            fprintf(stderr, "orchestrad exited (status %d) before serving\n", status_code(st));
            orc_harness_print_log(h);
            return -1;
        }
        orc_client *c = NULL;
        if (client_open(h, NULL, NULL, 500, &c) == ORC_OK) {
            orc_error e;
            int rc = orc_health(c, &e);
            orc_client_destroy(c);
            if (rc == ORC_OK)
                return 0;
        } else {
            orc_client_destroy(c);
        }
        if (orc_test_now_ms() >= deadline) {
            fprintf(stderr, "orchestrad did not answer Health within %d ms\n",
                    ORC_HARNESS_START_TIMEOUT_MS);
            kill(h->pid, SIGKILL);
            waitpid(h->pid, &st, 0);
            h->pid = 0;
            orc_harness_print_log(h);
            return -1;
        }
        orc_test_sleep_ms(20);
    }
}

/* pick_endpoints chooses fresh ports (and the ipc path) for the RPC and event sockets. */
static int pick_endpoints(orc_harness *h)
{
    int rpc_port = orc_test_free_port(), ev_port = orc_test_free_port();
    if (rpc_port < 0 || ev_port < 0 || rpc_port == ev_port) {
        fprintf(stderr, "cannot find free loopback ports\n");
        return -1;
    }
    if (strcmp(h->scheme, "ipc") == 0)
        snprintf(h->rpc_url, sizeof h->rpc_url, "ipc://%s/rpc.sock", h->dir);
    else
        snprintf(h->rpc_url, sizeof h->rpc_url, "%s://127.0.0.1:%d", h->scheme, rpc_port);
    /* A TLS daemon serves its event feed over TLS too, with the same certificate. */
    snprintf(h->events_url, sizeof h->events_url, "%s://127.0.0.1:%d",
             strcmp(h->scheme, "tls+tcp") == 0 ? "tls+tcp" : "tcp", ev_port);
    return 0;
}

int orc_harness_start(orc_harness *h, const orc_harness_opts *opts)
{
    static const orc_harness_opts defaults;
    if (opts == NULL)
        opts = &defaults;
    memset(h, 0, sizeof *h);
    const char *scheme = opts->rpc_scheme != NULL ? opts->rpc_scheme : "tcp";
    if (strcmp(scheme, "tcp") != 0 && strcmp(scheme, "ipc") != 0 &&
        strcmp(scheme, "tls+tcp") != 0) {
        fprintf(stderr, "unknown rpc scheme %s\n", scheme);
        return -1;
    }
    const char *base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    snprintf(h->dir, sizeof h->dir, "%s/orc-itest-XXXXXX", base);
    if (mkdtemp(h->dir) == NULL) {
        fprintf(stderr, "mkdtemp %s: %s\n", h->dir, strerror(errno));
        h->dir[0] = '\0';
        return -1;
    }
    snprintf(h->log_path, sizeof h->log_path, "%s/orchestrad.log", h->dir);
    if (orc_harness_store_setup(h) != 0)
        return -1;
    if (opts->tls_ca_file != NULL)
        snprintf(h->tls_ca_file, sizeof h->tls_ca_file, "%s", opts->tls_ca_file);
    h->scheme = strdup(scheme);
    h->tls_cert = dup_or_null(opts->tls_cert);
    h->tls_key = dup_or_null(opts->tls_key);
    for (size_t i = 0; i + 1 < ORC_HARNESS_MAX_ARGS && opts->extra_args[i] != NULL; i++)
        h->extra_args[i] = strdup(opts->extra_args[i]);
    if (h->scheme == NULL)
        return -1;

    for (int attempt = 0; attempt < 3; attempt++) {
        if (pick_endpoints(h) != 0 || spawn_daemon(h) != 0)
            return -1;
        int rc = wait_serving(h);
        if (rc <= 0)
            return rc;
        fprintf(stderr, "orchestrad found a port in use; retrying on other ports\n");
    }
    orc_harness_print_log(h);
    return -1;
}

int orc_harness_relaunch(orc_harness *h)
{
    if (h->pid != 0) {
        fprintf(stderr, "orc_harness_relaunch: the daemon is still running\n");
        return -1;
    }
    if (spawn_daemon(h) != 0)
        return -1;
    int rc = wait_serving(h);
    if (rc > 0) {
        fprintf(stderr, "orchestrad: an address of the previous run is in use\n");
        orc_harness_print_log(h);
        return -1;
    }
    return rc;
}

int orc_harness_stop(orc_harness *h)
{
    if (h->pid == 0) {
        fprintf(stderr, "orc_harness_stop: no daemon running\n");
        return -1;
    }
    int st = 0;
    pid_t pid = h->pid;
    kill(pid, SIGTERM);
    int64_t deadline = orc_test_now_ms() + ORC_HARNESS_STOP_TIMEOUT_MS;
    if (wait_pid(pid, deadline, &st) != 0) {
        fprintf(stderr, "orchestrad did not stop within %d ms of SIGTERM: killed\n",
                ORC_HARNESS_STOP_TIMEOUT_MS);
        orc_test_print_backtrace(pid, "the hung orchestrad");
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        h->pid = 0;
        orc_harness_print_log(h);
        return -1;
    }
    h->pid = 0;
    int code = status_code(st);
    log_marker(h, "orchestrad exited");
    const char *always = getenv("ORC_TEST_LOGS");
    if (code != 0 || (always != NULL && always[0] == '1')) {
        if (code != 0)
            fprintf(stderr, "orchestrad exited with status %d\n", code);
        orc_harness_print_log(h);
    }
    return code;
}

int orc_harness_restart(orc_harness *h)
{
    int code = orc_harness_stop(h);
    if (code != 0)
        return -1;
    return orc_harness_relaunch(h);
}

void orc_harness_cleanup(orc_harness *h)
{
    if (h == NULL)
        return;
    if (h->pid != 0) {
        int st;
        kill(h->pid, SIGKILL);
        waitpid(h->pid, &st, 0);
        h->pid = 0;
        fprintf(stderr, "orc_harness_cleanup: killed a daemon still running\n");
        orc_harness_print_log(h);
    }
    orc_harness_store_cleanup(h);
    if (h->dir[0] != '\0')
        orc_test_rmtree(h->dir);
    free(h->scheme);
    free(h->tls_cert);
    free(h->tls_key);
    for (size_t i = 0; i < ORC_HARNESS_MAX_ARGS; i++)
        free(h->extra_args[i]);
    memset(h, 0, sizeof *h);
}

/* ---- the CLI and the daemon's offline commands ----------------------------------------- */

/* env_with copies this process's environment minus ORCHESTRA_* and adds extra (K=V). */
static char **env_with(const char *const *extra, size_t n_extra)
{
    size_t n = 0;
    while (environ[n] != NULL)
        n++;
    char **env = calloc(n + n_extra + 1, sizeof *env);
    if (env == NULL)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "ORCHESTRA_", 10) != 0)
            env[k++] = environ[i];
    for (size_t i = 0; i < n_extra; i++)
        env[k++] = (char *)extra[i];
    env[k] = NULL;
    return env;
}

#define MAX_EXTRA_ENV 16

/* cli_prep is the argument vector and environment of one CLI run (see prep_cli). */
typedef struct cli_prep {
    const char *argv[MAX_ARGV];
    char kv_key[300], kv_secret[300], kv_ca[300];
    char **env; /* malloc'd array; its strings are borrowed */
} cli_prep;

/*
 * prep_cli fills p for `$ORC_CLI --rpc <url> args...` with the credentials (key NULL:
 * none), the harness's CA and the caller's extra "K=V" variables (NULL-terminated; NULL:
 * none). 0, or -1 after printing why. Release with prep_fini.
 */
static int prep_cli(const orc_harness *h, const orc_harness_call *call, cli_prep *p)
{
    size_t n = 0;
    p->env = NULL;
    p->argv[n++] = orc_test_env("ORC_CLI");
    p->argv[n++] = "--rpc";
    p->argv[n++] = h->rpc_url;
    for (size_t i = 0; call->args[i] != NULL; i++) {
        if (n + 1 >= MAX_ARGV) {
            fprintf(stderr, "orc_harness_cli: too many arguments\n");
            return -1;
        }
        p->argv[n++] = call->args[i];
    }
    p->argv[n] = NULL;

    const char *extra[3 + MAX_EXTRA_ENV];
    size_t n_extra = 0;
    if (call->key != NULL) {
        snprintf(p->kv_key, sizeof p->kv_key, "ORCHESTRA_API_KEY=%s", call->key);
        snprintf(p->kv_secret, sizeof p->kv_secret, "ORCHESTRA_API_SECRET=%s",
                 call->secret != NULL ? call->secret : "");
        extra[n_extra++] = p->kv_key;
        extra[n_extra++] = p->kv_secret;
    }
    if (h->tls_ca_file[0] != '\0') {
        snprintf(p->kv_ca, sizeof p->kv_ca, "ORCHESTRA_TLS_CA=%s", h->tls_ca_file);
        extra[n_extra++] = p->kv_ca;
    }
    for (size_t i = 0; call->env != NULL && call->env[i] != NULL; i++) {
        if (i >= MAX_EXTRA_ENV) {
            fprintf(stderr, "orc_harness_cli: more than %d extra variables\n", MAX_EXTRA_ENV);
            return -1;
        }
        extra[n_extra++] = call->env[i];
    }
    p->env = env_with(extra, n_extra);
    return p->env != NULL ? 0 : -1;
}

static void prep_fini(cli_prep *p)
{
    free(p->env);
    p->env = NULL;
}

int orc_harness_cli_many(const orc_harness *h, size_t n, const orc_harness_call *calls,
                         orc_test_result *results)
{
    cli_prep *preps = calloc(n > 0 ? n : 1, sizeof *preps);
    orc_test_cmd *cmds = calloc(n > 0 ? n : 1, sizeof *cmds);
    int rc = -1;
    size_t ready = 0;
    for (size_t i = 0; i < n; i++) {
        results[i].exit_code = -1;
        results[i].out = results[i].err = NULL;
    }
    if (preps == NULL || cmds == NULL)
        goto out;
    for (; ready < n; ready++) {
        if (prep_cli(h, &calls[ready], &preps[ready]) != 0) {
            prep_fini(&preps[ready]);
            goto out;
        }
        cmds[ready] = (orc_test_cmd){.argv = preps[ready].argv,
                                     .env = (const char *const *)preps[ready].env,
                                     .stdin_text = calls[ready].stdin_text};
    }
    rc = orc_test_run_many(n, cmds, ORC_HARNESS_CMD_TIMEOUT_MS, results);
out:
    for (size_t i = 0; i < ready; i++)
        prep_fini(&preps[i]);
    free(preps);
    free(cmds);
    return rc;
}

int orc_harness_cli_env(const orc_harness *h, const char *key, const char *secret,
                        const char *const *env, const char *stdin_text, int *exit_code, char **out,
                        char **err, const char *const *args)
{
    orc_harness_call call = {
        .key = key, .secret = secret, .env = env, .stdin_text = stdin_text, .args = args};
    orc_test_result r;
    int rc = orc_harness_cli_many(h, 1, &call, &r);
    *exit_code = r.exit_code;
    *out = r.out;
    *err = r.err;
    return rc;
}

int orc_harness_cli_argv(const orc_harness *h, const char *key, const char *secret,
                         const char *stdin_text, int *exit_code, char **out, char **err,
                         const char *const *args)
{
    return orc_harness_cli_env(h, key, secret, NULL, stdin_text, exit_code, out, err, args);
}

/* collect_args gathers a NULL-terminated variadic list into args (at most cap - 1). */
static int collect_args(const char **args, size_t cap, const char *first, va_list ap)
{
    size_t n = 0;
    for (const char *a = first; a != NULL; a = va_arg(ap, const char *)) {
        if (n + 1 >= cap)
            return -1;
        args[n++] = a;
    }
    args[n] = NULL;
    return 0;
}

int orc_harness_cli_as(const orc_harness *h, const char *key, const char *secret,
                       const char *stdin_text, int *exit_code, char **out, char **err,
                       const char *arg, ...)
{
    const char *args[MAX_ARGV];
    va_list ap;
    va_start(ap, arg);
    int ok = collect_args(args, MAX_ARGV - 4, arg, ap);
    va_end(ap);
    if (ok != 0) {
        fprintf(stderr, "orc_harness_cli: too many arguments\n");
        *exit_code = -1;
        *out = *err = NULL;
        return -1;
    }
    return orc_harness_cli_argv(h, key, secret, stdin_text, exit_code, out, err, args);
}

int orc_harness_cli(const orc_harness *h, const char *stdin_text, int *exit_code, char **out,
                    char **err, const char *arg, ...)
{
    const char *args[MAX_ARGV];
    va_list ap;
    va_start(ap, arg);
    int ok = collect_args(args, MAX_ARGV - 4, arg, ap);
    va_end(ap);
    if (ok != 0) {
        fprintf(stderr, "orc_harness_cli: too many arguments\n");
        *exit_code = -1;
        *out = *err = NULL;
        return -1;
    }
    return orc_harness_cli_argv(h, ORC_TEST_DEV_KEY, ORC_TEST_DEV_SECRET, stdin_text, exit_code,
                                out, err, args);
}

int orc_harness_orchestrad_admin(const orc_harness *h, int *exit_code, char **out, char **err,
                                 const char *arg, ...)
{
    const char *argv[MAX_ARGV];
    argv[0] = orc_test_env("ORC_ORCHESTRAD");
    va_list ap;
    va_start(ap, arg);
    int ok = collect_args(argv + 1, MAX_ARGV - 4, arg, ap);
    va_end(ap);
    if (ok != 0) {
        fprintf(stderr, "orc_harness_orchestrad_admin: too many arguments\n");
        *exit_code = -1;
        *out = *err = NULL;
        return -1;
    }
    size_t n = 1;
    while (argv[n] != NULL)
        n++;
    argv[n++] = "--db";
    argv[n++] = h->db_path;
    argv[n] = NULL;
    return orc_test_run(argv, NULL, NULL, ORC_HARNESS_CMD_TIMEOUT_MS, exit_code, out, err);
}

/* ---- raw requests and workflow folders ------------------------------------------------- */

int orc_test_raw_request(const char *url, const void *req, size_t len, int timeout_ms, void **reply,
                         size_t *reply_len)
{
    nng_socket s = NNG_SOCKET_INITIALIZER;
    *reply = NULL;
    *reply_len = 0;
    int rv = nng_req0_open(&s);
    if (rv != 0)
        return rv;
    void *buf = NULL;
    size_t got = 0;
    if ((rv = nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, timeout_ms)) != 0 ||
        (rv = nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, timeout_ms)) != 0 ||
        (rv = nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, 64u << 20)) != 0 ||
        (rv = nng_dial(s, url, NULL, 0)) != 0 || (rv = nng_send(s, (void *)req, len, 0)) != 0 ||
        (rv = nng_recv(s, &buf, &got, NNG_FLAG_ALLOC)) != 0)
        goto out;
    *reply = malloc(got > 0 ? got : 1);
    if (*reply == NULL) {
        rv = NNG_ENOMEM;
        goto out;
    }
    memcpy(*reply, buf, got);
    *reply_len = got;
out:
    if (buf != NULL)
        nng_free(buf, got);
    nng_close(s);
    return rv;
}

int orc_test_small_workflow(const char *parent, const char *slug, char *out, size_t out_size)
{
    char path[1024], text[2048];
    int n = snprintf(out, out_size, "%s/%s", parent, slug);
    if (n < 0 || (size_t)n >= out_size)
        return -1;
    snprintf(path, sizeof path, "%s/workflow.json", out);
    snprintf(text, sizeof text,
             "{\"slug\": \"%s\", \"name\": \"Workflow %s\",\n"
             " \"description\": \"A small test workflow.\", \"certifications\": []}\n",
             slug, slug);
    if (orc_test_write_file(path, text) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/v1/version.json", out);
    snprintf(text, sizeof text,
             "{\"slug\": \"v1\", \"name\": \"%s version 1\", \"description\": \"Two steps.\",\n"
             " \"steps\": [\n"
             "  {\"slug\": \"first\", \"name\": \"First\", \"description\": \"Step one.\",\n"
             "   \"is_human\": true, \"review_policy\": {\"policy\": \"no_review\"}},\n"
             "  {\"slug\": \"second\", \"name\": \"Second\", \"description\": \"Step two.\",\n"
             "   \"is_human\": true, \"creation_depends_on\": [\"first\"],\n"
             "   \"review_policy\": {\"policy\": \"no_review\"}}\n"
             " ]}\n",
             slug);
    return orc_test_write_file(path, text);
}

/* line_value copies the rest of the line after prefix in text into out; 0 when found. */
static int line_value(const char *text, const char *prefix, char *out, size_t out_size)
{
    size_t plen = strlen(prefix);
    for (const char *line = text; line != NULL && *line != '\0';) {
        const char *end = strchr(line, '\n');
        size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
        if (len > plen && strncmp(line, prefix, plen) == 0) {
            size_t vlen = len - plen;
            if (vlen >= out_size)
                return -1;
            memcpy(out, line + plen, vlen);
            out[vlen] = '\0';
            return 0;
        }
        line = end != NULL ? end + 1 : NULL;
    }
    return -1;
}

int orc_harness_create_key(const orc_harness *h, const char *name, const char *scopes, char *key_id,
                           size_t key_id_size, char *secret, size_t secret_size)
{
    int code = -1;
    char *out = NULL, *err = NULL;
    int rc = orc_harness_orchestrad_admin(h, &code, &out, &err, "keys", "create", name, "--scopes",
                                          scopes, NULL);
    if (rc != 0 || code != 0 || line_value(out, "key id: ", key_id, key_id_size) != 0 ||
        line_value(out, "secret: ", secret, secret_size) != 0) {
        fprintf(stderr, "orchestrad keys create %s --scopes %s failed (status %d)\n%s%s\n", name,
                scopes, code, out != NULL ? out : "", err != NULL ? err : "");
        rc = -1;
    }
    free(out);
    free(err);
    return rc;
}
