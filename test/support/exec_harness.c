/*
 * exec_harness.c: orchestra-executor processes and the job RPCs for the integration tests
 * (exec_harness.h).
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "call.h"
#include "exec_harness.h"
#include "support.h"

extern char **environ;

#define EXEC_MAX_ENV 512

/* exec_binary puts the executor's path in out. */
static void exec_binary(char *out, size_t out_size)
{
    const char *p = getenv("ORC_EXECUTOR");
    if (p != NULL && p[0] != '\0')
        snprintf(out, out_size, "%s", p);
    else
        snprintf(out, out_size, "%s/plugins/orchestra-executor", orc_test_env("ORC_BUILD_DIR"));
}

/* exec_reap waits up to timeout_ms for pid; its status in *status. 0 when it exited. */
static int exec_reap(pid_t pid, int timeout_ms, int *status)
{
    int64_t deadline = orc_test_now_ms() + timeout_ms;
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
        if (orc_test_now_ms() >= deadline)
            return -1;
        orc_test_sleep_ms(20);
    }
}

static int exec_status_code(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

/* exec_number_arg appends "flag value" to argv when value > 0 (buf holds the digits). */
static void exec_number_arg(const char **argv, size_t *n, const char *flag, int value, char buf[16])
{
    if (value <= 0)
        return;
    snprintf(buf, 16, "%d", value);
    argv[(*n)++] = flag;
    argv[(*n)++] = buf;
}

/* exec_wait_ready waits for the started executor's "plugins loaded" line; 0, or -1 (its log
 * printed, the process gone) when it exited or did not get there in time. */
static int exec_wait_ready(orc_exec *ex)
{
    int64_t deadline = orc_test_now_ms() + ORC_EXEC_START_TIMEOUT_MS;
    for (;;) {
        if (orc_exec_log_count(ex, "plugins loaded") > 0)
            return 0;
        int status;
        if (waitpid(ex->pid, &status, WNOHANG) == ex->pid) {
            ex->pid = 0;
            fprintf(stderr, "exec_harness: executor %s exited (%d) before it was ready\n", ex->name,
                    exec_status_code(status));
            orc_exec_print_log(ex);
            return -1;
        }
        if (orc_test_now_ms() >= deadline)
            break;
        orc_test_sleep_ms(20);
    }
    fprintf(stderr, "exec_harness: executor %s not ready after %d ms\n", ex->name,
            ORC_EXEC_START_TIMEOUT_MS);
    orc_exec_kill(ex);
    orc_exec_print_log(ex);
    return -1;
}

int orc_exec_start(const orc_harness *h, const char *name, const orc_exec_opts *opts, orc_exec *ex)
{
    char binary[600], conc[16], timeout[16], lease[16], memory[16];
    memset(ex, 0, sizeof *ex);
    exec_binary(binary, sizeof binary);
    snprintf(ex->name, sizeof ex->name, "%s", name);
    snprintf(ex->log_path, sizeof ex->log_path, "%s/executor-%s.log", h->dir, name);
    if (opts->storage != NULL)
        snprintf(ex->storage, sizeof ex->storage, "%s", opts->storage);
    else
        snprintf(ex->storage, sizeof ex->storage, "%s/storage", h->dir);
    if (access(binary, X_OK) != 0) {
        fprintf(stderr, "exec_harness: no executor at %s (build orchestra_executor)\n", binary);
        return -1;
    }

    const char *argv[32];
    size_t n = 0;
    argv[n++] = binary;
    argv[n++] = "--rpc";
    argv[n++] = h->rpc_url;
    argv[n++] = "--plugins";
    argv[n++] = opts->plugins_dir;
    argv[n++] = "--storage";
    argv[n++] = ex->storage;
    argv[n++] = "--log-level";
    argv[n++] = "debug";
    exec_number_arg(argv, &n, "--concurrency", opts->concurrency, conc);
    exec_number_arg(argv, &n, "--job-timeout", opts->job_timeout_s, timeout);
    exec_number_arg(argv, &n, "--lease", opts->lease_s, lease);
    exec_number_arg(argv, &n, "--job-memory", opts->job_memory_mb, memory);
    if (opts->allow_commands)
        argv[n++] = "--allow-commands";
    for (size_t i = 0; opts->args != NULL && opts->args[i] != NULL && n < 31; i++)
        argv[n++] = opts->args[i];
    argv[n] = NULL;

    /* The environment is built before the fork: nothing but exec after it. */
    char key_env[300], secret_env[300];
    snprintf(key_env, sizeof key_env, "ORCHESTRA_API_KEY=%s",
             opts->key != NULL ? opts->key : ORC_TEST_DEV_KEY);
    snprintf(secret_env, sizeof secret_env, "ORCHESTRA_API_SECRET=%s",
             opts->secret != NULL ? opts->secret : ORC_TEST_DEV_SECRET);
    const char *envp[EXEC_MAX_ENV];
    size_t ne = 0;
    for (size_t i = 0; environ[i] != NULL && ne < EXEC_MAX_ENV - 3; i++)
        if (strncmp(environ[i], "ORCHESTRA_", 10) != 0)
            envp[ne++] = environ[i];
    for (size_t i = 0; opts->env != NULL && opts->env[i] != NULL && ne < EXEC_MAX_ENV - 3; i++)
        envp[ne++] = opts->env[i];
    envp[ne++] = key_env;
    envp[ne++] = secret_env;
    envp[ne] = NULL;

    int fd = open(ex->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "exec_harness: cannot open %s: %s\n", ex->log_path, strerror(errno));
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(fd);
        fprintf(stderr, "exec_harness: fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        /* Do not outlive a test that crashes. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int null_fd = open("/dev/null", O_RDONLY);
        if (null_fd >= 0)
            dup2(null_fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        execve(binary, (char *const *)argv, (char *const *)envp);
        _exit(127);
    }
    close(fd);
    ex->pid = pid;
    return exec_wait_ready(ex);
}

int orc_exec_stop(orc_exec *ex)
{
    if (ex->pid == 0)
        return 0;
    int status = 0, code;
    kill(ex->pid, SIGTERM);
    if (exec_reap(ex->pid, ORC_EXEC_STOP_TIMEOUT_MS, &status) == 0) {
        code = exec_status_code(status);
    } else {
        fprintf(stderr, "exec_harness: executor %s ignored SIGTERM for %d ms; killing it\n",
                ex->name, ORC_EXEC_STOP_TIMEOUT_MS);
        kill(ex->pid, SIGKILL);
        exec_reap(ex->pid, 5000, &status);
        code = -1;
    }
    ex->pid = 0;
    if (code != 0) {
        fprintf(stderr, "exec_harness: executor %s stopped with status %d\n", ex->name, code);
        orc_exec_print_log(ex);
    }
    return code;
}

void orc_exec_kill(orc_exec *ex)
{
    if (ex->pid == 0)
        return;
    int status;
    kill(ex->pid, SIGKILL);
    exec_reap(ex->pid, 5000, &status);
    ex->pid = 0;
}

char *orc_exec_read_log(const orc_exec *ex)
{
    return orc_test_read_file(ex->log_path, NULL);
}

void orc_exec_print_log(const orc_exec *ex)
{
    char *log = orc_exec_read_log(ex);
    fprintf(stderr, "---- executor %s log (%s) ----\n%s---- end of executor %s log ----\n",
            ex->name, ex->log_path, log != NULL ? log : "(unreadable)\n", ex->name);
    free(log);
}

size_t orc_exec_log_count(const orc_exec *ex, const char *needle)
{
    char *log = orc_exec_read_log(ex);
    size_t count = 0;
    for (char *line = log; line != NULL && *line != '\0';) {
        char *end = strchr(line, '\n');
        if (end != NULL)
            *end = '\0';
        if (strstr(line, needle) != NULL)
            count++;
        line = end != NULL ? end + 1 : NULL;
    }
    free(log);
    return count;
}

int orc_exec_plugin_dir(const orc_harness *h, const char *name, const char *const *files, char *out,
                        size_t out_size)
{
    int n = snprintf(out, out_size, "%s/%s", h->dir, name);
    if (n < 0 || (size_t)n >= out_size)
        return -1;
    if (mkdir(out, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "exec_harness: mkdir %s: %s\n", out, strerror(errno));
        return -1;
    }
    for (size_t i = 0; files[i] != NULL; i++) {
        char target[1200], link[1200];
        snprintf(target, sizeof target, "%s/plugins/%s", orc_test_env("ORC_BUILD_DIR"), files[i]);
        const char *base = strrchr(files[i], '/');
        snprintf(link, sizeof link, "%s/%s", out, base != NULL ? base + 1 : files[i]);
        if (access(target, R_OK) != 0) {
            fprintf(stderr, "exec_harness: no plugin %s (build the tests' plugins)\n", target);
            return -1;
        }
        if (symlink(target, link) != 0 && errno != EEXIST) {
            fprintf(stderr, "exec_harness: symlink %s: %s\n", link, strerror(errno));
            return -1;
        }
    }
    return 0;
}

json_t *orc_exec_project_info(const orc_harness *h, int64_t project_id)
{
    orc_client *c = NULL;
    char *text = NULL;
    json_t *v = NULL;
    orc_error err = {0};
    if (orc_harness_client_dev(h, &c) != ORC_OK) {
        fprintf(stderr, "exec_harness: cannot open a client\n");
        goto cleanup;
    }
    if (orc_project_info_json(c, project_id, &text, &err) != ORC_OK) {
        fprintf(stderr, "exec_harness: project info %" PRId64 ": %s\n", project_id, err.message);
        goto cleanup;
    }
    v = json_loads(text, 0, NULL);
    if (v == NULL)
        fprintf(stderr, "exec_harness: project info is not JSON: %s\n", text);
cleanup:
    orc_free(text);
    orc_client_destroy(c);
    return v;
}

/* exec_state_of formats info's task of step as orc_exec_task_state does. */
static void exec_state_of(json_t *info, const char *step, char *out, size_t out_size)
{
    json_t *task = json_object_get(json_object_get(info, "tasks"), step);
    if (task == NULL) {
        snprintf(out, out_size, "-");
        return;
    }
    const char *status = json_string_value(json_object_get(task, "status"));
    size_t len = (size_t)snprintf(out, out_size, "%s/", status != NULL ? status : "?");
    json_t *a;
    size_t i;
    json_array_foreach(json_object_get(task, "assignments"), i, a)
    {
        const char *s = json_string_value(json_object_get(a, "status"));
        if (len < out_size)
            len += (size_t)snprintf(out + len, out_size - len, "%s%s", i > 0 ? "," : "",
                                    s != NULL ? s : "?");
    }
}

int orc_exec_task_state(const orc_harness *h, int64_t project_id, const char *step, char *out,
                        size_t out_size)
{
    json_t *info = orc_exec_project_info(h, project_id);
    if (info == NULL)
        return -1;
    exec_state_of(info, step, out, out_size);
    json_decref(info);
    return 0;
}

int orc_exec_wait_task(const orc_harness *h, int64_t project_id, const char *step, const char *want,
                       int timeout_ms, orc_exec *const *exs, size_t n)
{
    int64_t deadline = orc_test_now_ms() + timeout_ms;
    char state[512] = "(no answer)";
    json_t *info = NULL;
    for (;;) {
        json_decref(info);
        info = orc_exec_project_info(h, project_id);
        if (info != NULL) {
            exec_state_of(info, step, state, sizeof state);
            if (strcmp(state, want) == 0) {
                json_decref(info);
                return 0;
            }
        }
        if (orc_test_now_ms() >= deadline)
            break;
        orc_test_sleep_ms(50);
    }
    fprintf(stderr,
            "exec_harness: project %" PRId64 " step %s: expected %s within %d ms, still %s\n",
            project_id, step, want, timeout_ms, state);
    if (info != NULL) {
        char *text = json_dumps(info, JSON_INDENT(2));
        fprintf(stderr, "%s\n", text != NULL ? text : "");
        free(text);
        json_decref(info);
    }
    orc_harness_print_log(h);
    for (size_t i = 0; i < n; i++)
        if (exs[i] != NULL)
            orc_exec_print_log(exs[i]);
    return -1;
}

Orchestra__V1__ListJobsReply *orc_exec_list_jobs(const orc_harness *h, int64_t project_id)
{
    orc_client *c = NULL;
    ProtobufCMessage *out = NULL;
    orc_error err = {0};
    if (orc_harness_client_dev(h, &c) != ORC_OK) {
        fprintf(stderr, "exec_harness: cannot open a client\n");
        return NULL;
    }
    Orchestra__V1__ListJobsRequest in = ORCHESTRA__V1__LIST_JOBS_REQUEST__INIT;
    in.project_id = project_id;
    if (orci_client_call(c, "ListJobs", &in.base, &orchestra__v1__list_jobs_reply__descriptor, &out,
                         &err) != ORC_OK) {
        fprintf(stderr, "exec_harness: ListJobs: %s\n", err.message);
        out = NULL;
    }
    orc_client_destroy(c);
    return (Orchestra__V1__ListJobsReply *)out;
}

const Orchestra__V1__JobInfo *orc_exec_find_job(const Orchestra__V1__ListJobsReply *jobs,
                                                int64_t project_id, const char *step)
{
    for (size_t i = 0; jobs != NULL && i < jobs->n_jobs; i++)
        if (jobs->jobs[i]->project_id == project_id && strcmp(jobs->jobs[i]->step, step) == 0)
            return jobs->jobs[i];
    return NULL;
}

int orc_exec_retry_job(const orc_harness *h, int64_t task_id)
{
    orc_client *c = NULL;
    ProtobufCMessage *out = NULL;
    orc_error err = {0};
    int rc = orc_harness_client_dev(h, &c);
    if (rc != ORC_OK) {
        fprintf(stderr, "exec_harness: cannot open a client\n");
        return rc;
    }
    Orchestra__V1__RetryJobRequest in = ORCHESTRA__V1__RETRY_JOB_REQUEST__INIT;
    in.task_id = task_id;
    rc = orci_client_call(c, "RetryJob", &in.base, &orchestra__v1__retry_job_reply__descriptor,
                          &out, &err);
    if (rc != ORC_OK)
        fprintf(stderr, "exec_harness: RetryJob %" PRId64 ": %s\n", task_id, err.message);
    else
        protobuf_c_message_free_unpacked(out, NULL);
    orc_client_destroy(c);
    return rc;
}

bool orc_proc_info(pid_t pid, pid_t *ppid, pid_t *pgid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    char *text = orc_test_read_file(path, NULL);
    if (text == NULL)
        return false;
    /* "pid (comm) state ppid pgrp ...": comm may hold anything, so read after its last ')'. */
    char *p = strrchr(text, ')');
    char state = 0;
    long pp = 0, pg = 0;
    bool ok = p != NULL && sscanf(p + 1, " %c %ld %ld", &state, &pp, &pg) == 3;
    free(text);
    if (ppid != NULL)
        *ppid = (pid_t)pp;
    if (pgid != NULL)
        *pgid = (pid_t)pg;
    return ok && state != 'Z' && state != 'X';
}

size_t orc_proc_find(pid_t ppid, pid_t pgid, pid_t *out, size_t max)
{
    size_t n = 0;
    DIR *d = opendir("/proc");
    struct dirent *de;
    while (d != NULL && (de = readdir(d)) != NULL) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        pid_t pp, pg;
        if (*end != '\0' || pid <= 0 || !orc_proc_info((pid_t)pid, &pp, &pg))
            continue;
        if ((ppid > 0 && pp == ppid) || (pgid > 0 && pg == pgid)) {
            if (n < max)
                out[n] = (pid_t)pid;
            n++;
        }
    }
    if (d != NULL)
        closedir(d);
    return n;
}
