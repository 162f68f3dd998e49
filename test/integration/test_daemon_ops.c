/*
 * test_daemon_ops.c: what operators do to the daemons. One orchestrad per database (a second
 * one exits 1 and says who holds it, while `orchestrad check` still works against the live
 * one); SIGHUP leaves orchestrad and orchestra-http serving and reopens their log files
 * (logrotate's move-then-HUP), and so does orchestra-executor; SIGTERM stops each within the
 * 5 s budget.
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "support.h"

/* SIGTERM to exit, at most (the contract's budget). */
#define STOP_BUDGET_MS 5000

typedef struct fixture {
    orc_harness h;
    char log_path[400]; /* orchestrad's --log-file */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    *state = f;
    if (!f)
        return -1;
    char dir[256];
    orc_test_tmpdir("daemon-ops", dir, sizeof dir);
    snprintf(f->log_path, sizeof f->log_path, "%s/orchestrad-file.log", dir);
    orc_harness_opts o = {.extra_args = {"--log-file", f->log_path, NULL}};
    return orc_harness_start(&f->h, &o) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f) {
        orc_harness_cleanup(&f->h);
        char *slash = strrchr(f->log_path, '/');
        if (slash) {
            *slash = '\0';
            orc_test_rmtree(f->log_path);
        }
        free(f);
    }
    return 0;
}

/* serving says whether orchestrad answers Health. */
static int serving(const orc_harness *h)
{
    orc_client *c = NULL;
    orc_error e = {0};
    int ok = orc_harness_client_dev(h, &c) == ORC_OK && orc_health(c, &e) == ORC_OK;
    orc_client_destroy(c);
    return ok;
}

/* wait_for_file_text waits up to 10 s for needle to appear in the file at path. */
static int wait_for_file_text(const char *path, const char *needle)
{
    int64_t deadline = orc_test_now_ms() + 10000;
    while (orc_test_now_ms() < deadline) {
        if (orc_test_file_has(path, needle))
            return 1;
        orc_test_sleep_ms(20);
    }
    return 0;
}

/* stop_within sends SIGTERM and asserts the exit status 0 within the budget. */
static void stop_within(pid_t pid)
{
    int status = -1;
    assert_int_equal(kill(pid, SIGTERM), 0);
    int rc = orc_test_wait_exit(pid, STOP_BUDGET_MS, &status);
    if (rc != 0) {
        orc_test_print_backtrace(pid, "still running after SIGTERM");
        kill(pid, SIGKILL);
    }
    assert_int_equal(rc, 0);
    assert_int_equal(status, 0);
}

/*
 * second_waits_on_standby: on PostgreSQL a second coordinator of the database is a standby
 * (issue 19): it says so, binds nothing and serves nothing while the first holds the lock,
 * and stops at once on SIGTERM.
 */
static void second_waits_on_standby(pid_t pid, const char *log)
{
    bool said = false;
    for (int i = 0; i < 200 && !said; i++) { /* 20 s at most */
        said = orc_test_file_has(log, "standby: another coordinator is active");
        if (!said)
            usleep(100 * 1000);
    }
    assert_true(said);
    int status = -1;
    assert_int_equal(orc_test_wait_exit(pid, 1000, &status), -1); /* still waiting */
    assert_false(orc_test_file_has(log, "serving rpc="));
    assert_int_equal(kill(pid, SIGTERM), 0);
    assert_int_equal(orc_test_wait_exit(pid, STOP_BUDGET_MS, &status), 0);
    assert_int_equal(status, 0);
}

static void test_second_orchestrad_on_the_same_database_exits_1(void **state)
{
    fixture *f = *state;
    char rpc[64], events[64], log[420];
    snprintf(rpc, sizeof rpc, "tcp://127.0.0.1:%d", orc_test_free_port());
    snprintf(events, sizeof events, "tcp://127.0.0.1:%d", orc_test_free_port());
    snprintf(log, sizeof log, "%s.second", f->log_path);
    const char *argv[] = {orc_test_env("ORC_ORCHESTRAD"),
                          "--db",
                          f->h.db_path,
                          "--rpc",
                          rpc,
                          "--events",
                          events,
                          NULL};
    pid_t pid = orc_test_spawn(argv, log);
    assert_true(pid > 0);
    int status = -1;
    if (orc_test_store_pg()) {
        second_waits_on_standby(pid, log);
    } else {
        assert_int_equal(orc_test_wait_exit(pid, 10000, &status), 0);
        assert_int_equal(status, 1);
        char want[64];
        snprintf(want, sizeof want, "is in use by process %d", (int)f->h.pid);
        assert_true(orc_test_file_has(log, want));
    }
    /* The first one serves on; read-only admin commands work against the live database. */
    assert_true(serving(&f->h));
    int code = -1;
    char *out = NULL, *err = NULL;
    assert_int_equal(orc_harness_orchestrad_admin(&f->h, &code, &out, &err, "check", NULL), 0);
    assert_int_equal(code, 0);
    assert_non_null(strstr(out, "consistent"));
    free(out);
    free(err);
    assert_int_equal(orc_harness_stop(&f->h), 0);
}

static void test_sighup_reopens_the_log_and_orchestrad_serves_on(void **state)
{
    fixture *f = *state;
    assert_true(wait_for_file_text(f->log_path, "serving rpc="));
    /* logrotate moves the file, then sends SIGHUP. */
    char moved[420];
    snprintf(moved, sizeof moved, "%s.1", f->log_path);
    assert_int_equal(rename(f->log_path, moved), 0);
    assert_int_equal(kill(f->h.pid, SIGHUP), 0);
    assert_true(wait_for_file_text(f->log_path, "SIGHUP"));
    assert_false(orc_test_file_has(moved, "SIGHUP"));
    assert_true(serving(&f->h));
    /* A second SIGHUP, in case the first was special. */
    assert_int_equal(kill(f->h.pid, SIGHUP), 0);
    assert_true(serving(&f->h));
    pid_t pid = f->h.pid;
    stop_within(pid);
    f->h.pid = 0;
    assert_true(wait_for_file_text(f->log_path, "orchestrad stopped"));
}

/* http_status sends GET path to 127.0.0.1:port and returns the status code, or -1. */
static int http_status(int port, const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char req[256], buf[256];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
    int status = -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0 && write(fd, req, (size_t)n) == n) {
        ssize_t got = read(fd, buf, sizeof buf - 1);
        if (got > 12) {
            buf[got] = '\0';
            sscanf(buf, "HTTP/1.1 %d", &status);
        }
    }
    close(fd);
    return status;
}

static int wait_http(int port)
{
    int64_t deadline = orc_test_now_ms() + 10000;
    while (orc_test_now_ms() < deadline) {
        if (http_status(port, "/orchestra/api/status/") == 200)
            return 1;
        orc_test_sleep_ms(20);
    }
    return 0;
}

static void test_orchestra_http_survives_sighup_and_stops_on_sigterm(void **state)
{
    fixture *f = *state;
    int port = orc_test_free_port();
    char listen[64], log[420];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    snprintf(log, sizeof log, "%s.http", f->log_path);
    const char *argv[] = {orc_test_env("ORC_HTTP"),
                          "--listen",
                          listen,
                          "--rpc",
                          f->h.rpc_url,
                          "--log-file",
                          log,
                          NULL};
    pid_t pid = orc_test_spawn(argv, log);
    assert_true(pid > 0);
    assert_true(wait_http(port));
    char moved[440];
    snprintf(moved, sizeof moved, "%s.1", log);
    assert_int_equal(rename(log, moved), 0);
    assert_int_equal(kill(pid, SIGHUP), 0);
    assert_true(wait_for_file_text(log, "SIGHUP"));
    assert_int_equal(http_status(port, "/orchestra/api/status/"), 200);
    stop_within(pid);
    assert_int_equal(orc_harness_stop(&f->h), 0);
}

static void test_orchestra_executor_survives_sighup_and_stops_on_sigterm(void **state)
{
    fixture *f = *state;
    char key[128], secret[128], plugins[400], log[420], storage[420];
    assert_int_equal(
        orc_harness_create_key(&f->h, "runner", "executor", key, sizeof key, secret, sizeof secret),
        0);
    snprintf(plugins, sizeof plugins, "%s/plugins/lib", orc_test_env("ORC_BUILD_DIR"));
    snprintf(log, sizeof log, "%s.executor", f->log_path);
    snprintf(storage, sizeof storage, "%s.storage", f->log_path);
    setenv("ORCHESTRA_API_KEY", key, 1);
    setenv("ORCHESTRA_API_SECRET", secret, 1);
    const char *argv[] = {orc_test_env("ORC_EXECUTOR"),
                          "--rpc",
                          f->h.rpc_url,
                          "--plugins",
                          plugins,
                          "--storage",
                          storage,
                          "--log-file",
                          log,
                          NULL};
    pid_t pid = orc_test_spawn(argv, log);
    unsetenv("ORCHESTRA_API_KEY");
    unsetenv("ORCHESTRA_API_SECRET");
    assert_true(pid > 0);
    assert_true(wait_for_file_text(log, "serving"));
    char moved[440];
    snprintf(moved, sizeof moved, "%s.1", log);
    assert_int_equal(rename(log, moved), 0);
    assert_int_equal(kill(pid, SIGHUP), 0);
    assert_true(wait_for_file_text(log, "SIGHUP"));
    int status = 0;
    assert_int_equal(orc_test_wait_exit(pid, 200, &status), -1); /* still running */
    stop_within(pid);
    assert_true(orc_test_file_has(log, "stopped"));
    assert_int_equal(orc_harness_stop(&f->h), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_second_orchestrad_on_the_same_database_exits_1, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sighup_reopens_the_log_and_orchestrad_serves_on, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_orchestra_http_survives_sighup_and_stops_on_sigterm,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_orchestra_executor_survives_sighup_and_stops_on_sigterm, setup, teardown),
    };
    return cmocka_run_group_tests_name("daemon_ops", tests, NULL, NULL);
}
