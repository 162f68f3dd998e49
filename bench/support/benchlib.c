/*
 * benchlib.c: clocks, samples, scratch folders and processes of the benchmarks
 * (benchlib.h). The physical baselines are in baseline.c.
 */
#include "benchlib.h"

#include <dirent.h>
#include <errno.h>
#include <libpq-fe.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define BL_MAX_ENV 512
#define BL_DAEMON_START_MS 15000
#define BL_DAEMON_STOP_MS 15000
#define BL_CLIENT_WAIT_MS 10000

int64_t bl_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t bl_real_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void bl_sleep_us(int64_t us)
{
    if (us <= 0)
        return;
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int bl_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

/* ---- samples ----------------------------------------------------------------------------- */

int bl_samples_push(bl_samples *s, int64_t v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        int64_t *nv = realloc(s->v, cap * sizeof *nv);
        if (nv == NULL)
            return -1;
        s->v = nv;
        s->cap = cap;
    }
    s->v[s->n++] = v;
    return 0;
}

int bl_samples_append(bl_samples *into, const bl_samples *from)
{
    for (size_t i = 0; i < from->n; i++)
        if (bl_samples_push(into, from->v[i]) != 0)
            return -1;
    return 0;
}

static int bl_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int64_t bl_percentile(bl_samples *s, double p)
{
    if (s->n == 0)
        return 0;
    qsort(s->v, s->n, sizeof *s->v, bl_cmp_i64);
    size_t rank = (size_t)(p / 100.0 * (double)s->n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > s->n)
        rank = s->n;
    return s->v[rank - 1];
}

void bl_samples_free(bl_samples *s)
{
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* ---- files ---------------------------------------------------------------------------------- */

const char *bl_path(const char *env_name, const char *dflt)
{
    const char *v = getenv(env_name);
    return v != NULL && v[0] != '\0' ? v : dflt;
}

int bl_tmpdir(const char *tag, char *out, size_t out_size)
{
    int n = snprintf(out, out_size, "/tmp/orc-bench-%s-XXXXXX", tag);
    if (n < 0 || (size_t)n >= out_size || mkdtemp(out) == NULL) {
        fprintf(stderr, "bench: cannot make a scratch folder: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

void bl_rmtree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "bench: cannot read %s: %s\n", dir, strerror(errno));
        return;
    }
    struct dirent *e;
    char path[1024];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            bl_rmtree(path);
        else if (unlink(path) != 0)
            fprintf(stderr, "bench: cannot remove %s: %s\n", path, strerror(errno));
    }
    closedir(d);
    if (rmdir(dir) != 0)
        fprintf(stderr, "bench: cannot remove %s: %s\n", dir, strerror(errno));
}

bool bl_file_contains(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    char line[4096];
    bool found = false;
    while (!found && fgets(line, sizeof line, f) != NULL)
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

void bl_print_log(const char *path)
{
    FILE *f = fopen(path, "r");
    fprintf(stderr, "---- %s ----\n", path);
    if (f != NULL) {
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0)
            fwrite(buf, 1, n, stderr);
        fclose(f);
    }
    fprintf(stderr, "---- end of %s ----\n", path);
}

/* ---- processes ---------------------------------------------------------------------------------
 */

pid_t bl_spawn(const char *const *argv, const char *const *env_extra, const char *log_path)
{
    /* Everything is prepared before the fork: the child only redirects and execs. */
    const char *envp[BL_MAX_ENV];
    size_t ne = 0;
    for (size_t i = 0; environ[i] != NULL && ne < BL_MAX_ENV - 32; i++)
        if (strncmp(environ[i], "ORCHESTRA_", 10) != 0)
            envp[ne++] = environ[i];
    for (size_t i = 0; env_extra != NULL && env_extra[i] != NULL && ne < BL_MAX_ENV - 1; i++)
        envp[ne++] = env_extra[i];
    envp[ne] = NULL;
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "bench: cannot open %s: %s\n", log_path, strerror(errno));
        return -1;
    }
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        /* A benchmark that crashes must not leave daemons behind. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int null_fd = open("/dev/null", O_RDONLY);
        if (null_fd >= 0)
            dup2(null_fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        execve(argv[0], (char *const *)argv, (char *const *)envp);
        _exit(127);
    }
    close(fd);
    if (pid < 0)
        fprintf(stderr, "bench: fork: %s\n", strerror(errno));
    return pid;
}

bool bl_alive(pid_t pid)
{
    int status;
    return pid > 0 && waitpid(pid, &status, WNOHANG) == 0;
}

/* bl_reap waits up to timeout_ms for pid; 0 with *status when it exited. */
static int bl_reap(pid_t pid, int timeout_ms, int *status)
{
    int64_t deadline = bl_mono_us() + (int64_t)timeout_ms * 1000;
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
        if (bl_mono_us() >= deadline)
            return -1;
        bl_sleep_us(10000);
    }
}

int bl_stop(pid_t pid, int timeout_ms)
{
    if (pid <= 0)
        return 0;
    int status = 0;
    kill(pid, SIGTERM);
    if (bl_reap(pid, timeout_ms, &status) != 0) {
        kill(pid, SIGKILL);
        bl_reap(pid, 5000, &status);
        return -1;
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

int bl_wait_log(const char *log_path, const char *needle, pid_t pid, int timeout_ms)
{
    int64_t deadline = bl_mono_us() + (int64_t)timeout_ms * 1000;
    while (bl_mono_us() < deadline) {
        if (bl_file_contains(log_path, needle))
            return 0;
        if (!bl_alive(pid)) {
            fprintf(stderr, "bench: process %d exited before logging '%s'\n", (int)pid, needle);
            bl_print_log(log_path);
            return -1;
        }
        bl_sleep_us(20000);
    }
    fprintf(stderr, "bench: no '%s' from process %d after %d ms\n", needle, (int)pid, timeout_ms);
    bl_print_log(log_path);
    return -1;
}

bl_mem bl_proc_mem(pid_t pid)
{
    bl_mem m = {.rss_kib = -1, .hwm_kib = -1};
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return m;
    while (fgets(line, sizeof line, f) != NULL) {
        long v;
        if (sscanf(line, "VmRSS: %ld kB", &v) == 1)
            m.rss_kib = v;
        else if (sscanf(line, "VmHWM: %ld kB", &v) == 1)
            m.hwm_kib = v;
    }
    fclose(f);
    return m;
}

/* bl_proc_stat reads the parent and the CPU time (us, own + waited-for children) of pid. */
static int bl_proc_stat(pid_t pid, pid_t *ppid, int64_t *cpu_us)
{
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The command name may hold spaces: the fields start after its closing parenthesis. */
    char *p = strrchr(buf, ')');
    if (p == NULL)
        return -1;
    int parent;
    unsigned long long utime, stime;
    long long cutime, cstime;
    if (sscanf(p + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %lld %lld", &parent,
               &utime, &stime, &cutime, &cstime) != 5)
        return -1;
    long hz = sysconf(_SC_CLK_TCK);
    *ppid = (pid_t)parent;
    *cpu_us = (int64_t)(utime + stime + (unsigned long long)(cutime + cstime)) * 1000000 /
              (hz > 0 ? hz : 100);
    return 0;
}

int64_t bl_proc_cpu_us(pid_t pid)
{
    pid_t ppid;
    int64_t cpu;
    return bl_proc_stat(pid, &ppid, &cpu) == 0 ? cpu : -1;
}

int64_t bl_tree_cpu_us(pid_t pid)
{
    int64_t sum = bl_proc_cpu_us(pid);
    if (sum < 0)
        return -1;
    DIR *d = opendir("/proc");
    if (d == NULL)
        return sum;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end;
        long child = strtol(e->d_name, &end, 10);
        pid_t ppid;
        int64_t cpu;
        if (*end != '\0' || child <= 0 || bl_proc_stat((pid_t)child, &ppid, &cpu) != 0 ||
            ppid != pid)
            continue;
        int64_t sub = bl_tree_cpu_us((pid_t)child);
        if (sub > 0)
            sum += sub;
    }
    closedir(d);
    return sum;
}

/* bl_status_switches adds the two *_ctxt_switches lines of one status file to *sum. */
static int bl_status_switches(const char *path, int64_t *sum)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    char line[256];
    while (fgets(line, sizeof line, f) != NULL) {
        long long v;
        if (sscanf(line, "voluntary_ctxt_switches: %lld", &v) == 1 ||
            sscanf(line, "nonvoluntary_ctxt_switches: %lld", &v) == 1)
            *sum += v;
    }
    fclose(f);
    return 0;
}

int64_t bl_proc_switches(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    int64_t sum = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char status[sizeof path + sizeof e->d_name + 16];
        snprintf(status, sizeof status, "%s/%s/status", path, e->d_name);
        bl_status_switches(status, &sum); /* a thread that just ended counts nothing */
    }
    closedir(d);
    return sum;
}

int64_t bl_tree_switches(pid_t pid)
{
    int64_t sum = bl_proc_switches(pid);
    if (sum < 0)
        return -1;
    DIR *d = opendir("/proc");
    if (d == NULL)
        return sum;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end;
        long child = strtol(e->d_name, &end, 10);
        pid_t ppid;
        int64_t cpu;
        if (*end != '\0' || child <= 0 || bl_proc_stat((pid_t)child, &ppid, &cpu) != 0 ||
            ppid != pid)
            continue;
        int64_t sub = bl_tree_switches((pid_t)child);
        if (sub > 0)
            sum += sub;
    }
    closedir(d);
    return sum;
}

/* ---- orchestrad --------------------------------------------------------------------------------
 */

int bl_client(const char *rpc_url, const char *key, int timeout_ms, orc_client **out)
{
    orc_client_opts opts = {.rpc_url = rpc_url,
                            .api_key = key,
                            .api_secret = key != NULL ? BL_DEV_SECRET : NULL,
                            .timeout_ms = timeout_ms};
    *out = NULL;
    orc_error err = {0};
    int64_t deadline = bl_mono_us() + (int64_t)BL_CLIENT_WAIT_MS * 1000;
    while (bl_mono_us() < deadline) {
        if (orc_client_new(&opts, out, &err) == ORC_OK && orc_health(*out, &err) == ORC_OK)
            return 0;
        orc_client_destroy(*out);
        *out = NULL;
        bl_sleep_us(20000);
    }
    fprintf(stderr, "bench: cannot reach %s: %s\n", rpc_url, err.message);
    return -1;
}

bool bl_pg_enabled(void)
{
    const char *h = getenv("ORC_BENCH_PG_HOST"), *p = getenv("ORC_BENCH_PG_PORT");
    return h != NULL && h[0] != '\0' && p != NULL && p[0] != '\0';
}

/* bl_pg_admin runs one statement on the server's postgres database; 0 on success. */
static int bl_pg_admin(const char *sql)
{
    char conninfo[512];
    snprintf(conninfo, sizeof conninfo, "host=%s port=%s user=postgres dbname=postgres",
             getenv("ORC_BENCH_PG_HOST"), getenv("ORC_BENCH_PG_PORT"));
    PGconn *c = PQconnectdb(conninfo);
    PGresult *r = c != NULL && PQstatus(c) == CONNECTION_OK ? PQexec(c, sql) : NULL;
    int ok = r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "bench: %s: %s", sql, c != NULL ? PQerrorMessage(c) : "no memory\n");
    PQclear(r);
    PQfinish(c);
    return ok ? 0 : -1;
}

int bl_pg_create(const char *prefix, char *url, size_t url_size, char *name, size_t name_size)
{
    static int counter;
    snprintf(name, name_size, "%s_%d_%d", prefix, (int)getpid(), ++counter);
    char sql[256];
    snprintf(sql, sizeof sql,
             "CREATE DATABASE %s TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'",
             name);
    if (bl_pg_admin(sql) != 0)
        return -1;
    snprintf(url, url_size, "postgresql://postgres@/%s?host=%s&port=%s", name,
             getenv("ORC_BENCH_PG_HOST"), getenv("ORC_BENCH_PG_PORT"));
    return 0;
}

void bl_pg_drop(const char *name)
{
    char sql[160];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    (void)bl_pg_admin(sql);
}

int bl_daemon_start(bl_daemon *d, const char *binary, const char *dir, const char *const *extra)
{
    memset(d, 0, sizeof *d);
    snprintf(d->db, sizeof d->db, "%s/orchestra.db", dir);
    if (bl_pg_enabled() &&
        bl_pg_create("orc_bench", d->db, sizeof d->db, d->pg_name, sizeof d->pg_name) != 0)
        return -1;
    snprintf(d->log, sizeof d->log, "%s/orchestrad.log", dir);
    snprintf(d->rpc_url, sizeof d->rpc_url, "tcp://127.0.0.1:%d", bl_free_port());
    snprintf(d->events_url, sizeof d->events_url, "tcp://127.0.0.1:%d", bl_free_port());
    const char *argv[12 + BL_MAX_EXTRA_ARGS] = {
        binary,     "--dev",    "--db",        d->db,         "--rpc",
        d->rpc_url, "--events", d->events_url, "--log-level", "warn"};
    size_t n = 10;
    for (size_t i = 0; extra != NULL && extra[i] != NULL && i < BL_MAX_EXTRA_ARGS; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    if ((d->pid = bl_spawn(argv, NULL, d->log)) < 0)
        return -1;
    int64_t deadline = bl_mono_us() + (int64_t)BL_DAEMON_START_MS * 1000;
    while (bl_mono_us() < deadline) {
        if (!bl_alive(d->pid)) {
            fprintf(stderr, "bench: %s exited at start\n", binary);
            bl_print_log(d->log);
            d->pid = 0;
            return -1;
        }
        orc_client *c = NULL;
        orc_client_opts opts = {.rpc_url = d->rpc_url, .timeout_ms = 1000};
        bool up = orc_client_new(&opts, &c, NULL) == ORC_OK && orc_health(c, NULL) == ORC_OK;
        orc_client_destroy(c);
        if (up)
            return 0;
        bl_sleep_us(20000);
    }
    fprintf(stderr, "bench: %s did not answer within %d ms\n", binary, BL_DAEMON_START_MS);
    bl_print_log(d->log);
    return -1;
}

int bl_daemon_stop(bl_daemon *d)
{
    if (d->pid <= 0)
        return 0;
    int code = bl_stop(d->pid, BL_DAEMON_STOP_MS);
    d->pid = 0;
    if (d->pg_name[0] != '\0') {
        bl_pg_drop(d->pg_name);
        d->pg_name[0] = '\0';
    }
    if (code != 0) {
        fprintf(stderr, "bench: orchestrad stopped with status %d\n", code);
        bl_print_log(d->log);
        return -1;
    }
    return 0;
}

int bl_workflow_load(orc_client *c, const char *name)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s", bl_path("ORC_BENCH_WORKFLOWS", ORC_BENCH_WORKFLOWS), name);
    orc_error err;
    if (orc_workflow_load(c, dir, "v1", false, NULL, &err) != ORC_OK) {
        fprintf(stderr, "bench: loading %s: %s\n", dir, err.message);
        return -1;
    }
    return 0;
}
