/*
 * test_python_runner.c: the executor's side of Python functions (python_setup.h,
 * python_runner.h, python_job.h). Which packages a --python-path folder and PYTHONPATH give;
 * the runner protocol against a fake runner that misbehaves on purpose (crash, signal,
 * garbage, a hang past the deadline, output over the cap, the near-memory note); and the real
 * runner script calling functions as upstream did: kwargs, a module kept imported between
 * calls, an exception's traceback, a set and a NaN refused, a policy's truthy answer, the
 * abort hook's project, a sample-data record, and a MemoryError under the memory limit.
 * Needs Debian's /usr/bin/python3.
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "job.h"
#include "python_job.h"
#include "python_runner.h"
#include "python_setup.h"
#include "support.h"

typedef struct fixture {
    char dir[256];
    orc_plugin_host host;
    orci_plugin_set *plugins; /* none loaded: every step below is Python's */
    orci_python *py;
    orci_pyrunner *runner;
} fixture;

static void write_file(const fixture *f, const char *rel, const char *text)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", f->dir, rel);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    char cmd[700];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", path);
    assert_int_equal(system(cmd), 0);
    *slash = '/';
    assert_int_equal(orc_test_write_file(path, text), 0);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    orc_test_tmpdir("pyrunner", f->dir, sizeof f->dir);
    orc_error err = {0};
    orci_plugin_host_init(&f->host, f->dir);
    assert_int_equal(orci_plugin_set_new(&f->host, &f->plugins, &err), ORC_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    orci_pyrunner_destroy(f->runner);
    orci_python_destroy(f->py);
    orci_plugin_set_destroy(f->plugins);
    orc_test_rmtree(f->dir);
    free(f);
    return 0;
}

/* expect_json asserts that JSON text got equals want (as JSON values). */
static void expect_json(const char *got, const char *want)
{
    json_t *g = json_loads(got ? got : "", 0, NULL), *w = json_loads(want, 0, NULL);
    assert_non_null(w);
    if (!g || !json_equal(g, w))
        fail_msg("got %s\nwant %s", got ? got : "(null)", want);
    json_decref(g);
    json_decref(w);
}

/* ---- which packages ---------------------------------------------------------------------- */

static void test_setup_lists_the_packages_of_the_python_path(void **state)
{
    fixture *f = *state;
    write_file(f, "apps/pkg_a/__init__.py", "");
    write_file(f, "apps/pkg_a/v1/__init__.py", "");
    write_file(f, "apps/no_init/steps.py", "");
    write_file(f, "apps/mod_c.py", "");
    write_file(f, "apps/9bad/__init__.py", "");
    write_file(f, "apps/notes.txt", "");
    write_file(f, "apps/bad-name.py", "");
    write_file(f, "more/pkg_d/__init__.py", "");
    char apps[400], pythonpath[900];
    snprintf(apps, sizeof apps, "%s/apps", f->dir);
    snprintf(pythonpath, sizeof pythonpath, "%s/missing:%s/more", f->dir, f->dir);
    const char *paths[] = {apps};
    const char *extra[] = {"installed_pkg", "pkg_a"};
    orci_python_opts o = {
        .paths = paths, .n_paths = 1, .packages = extra, .n_packages = 2, .pythonpath = pythonpath};
    orc_error err = {0};
    if (orci_python_setup(&o, &f->py, &err) != ORC_OK)
        fail_msg("%s", err.message);
    const char *want[] = {"installed_pkg", "mod_c", "pkg_a", "pkg_d"};
    assert_int_equal(f->py->n_packages, 4);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(f->py->packages[i], want[i]);
    assert_string_equal(f->py->interpreter, ORCI_PYTHON_DEFAULT);
    assert_non_null(strstr(f->py->script, ORCI_PYTHON_RUNNER));
    assert_true(orci_python_takes(f->py, "pkg_a.v1.steps.greet"));
    assert_true(orci_python_takes(f->py, "mod_c.fn"));
    assert_false(orci_python_takes(f->py, "pkg.fn"));
    assert_false(orci_python_takes(f->py, "pkg_a"));
    assert_false(orci_python_takes(f->py, "no_init.steps.fn"));
}

static void test_a_c_plugin_of_the_same_name_wins(void **state)
{
    fixture *f = *state;
    orc_error err = {0};
    char so[600];
    snprintf(so, sizeof so, "%s/test_plugin_host.so", ORC_TEST_PLUGIN_DIR);
    if (orci_plugin_set_load(f->plugins, so, &err) != ORC_OK)
        fail_msg("%s", err.message);
    write_file(f, "apps/test_plugins/__init__.py", "");
    char apps[400];
    snprintf(apps, sizeof apps, "%s/apps", f->dir);
    const char *paths[] = {apps};
    orci_python_opts o = {.paths = paths, .n_paths = 1};
    assert_int_equal(orci_python_setup(&o, &f->py, &err), ORC_OK);
    orci_job_spec spec = {.plugins = f->plugins, .python = f->py};
    /* The C port of a step keeps running it... */
    spec.function = "test_plugins.host.pid";
    assert_true(orci_plugin_set_find(f->plugins, spec.function, NULL) != NULL);
    assert_false(orci_python_job_wanted(&spec));
    /* ...the package's other functions are Python's, other packages nobody's here... */
    spec.function = "test_plugins.steps.other";
    assert_true(orci_python_job_wanted(&spec));
    spec.function = "nopkg.m.fn";
    assert_false(orci_python_job_wanted(&spec));
    spec.function = "command";
    assert_false(orci_python_job_wanted(&spec));
    /* ...and hooks are always Python's, with or without Python (they fail without). */
    spec = (orci_job_spec){
        .plugins = f->plugins, .function = "test_plugins.host.pid", .kind = "creation_policy"};
    assert_true(orci_python_job_wanted(&spec));
    orci_job_outcome out;
    orci_python_job_run(&spec, 1 << 20, &out);
    assert_false(out.ok);
    assert_false(out.retryable);
    assert_string_equal(out.error, "this executor runs no Python functions (started with "
                                   "--no-python, or without python3)");
    orci_job_outcome_fini(&out);
}

static void test_setup_refuses_what_cannot_work(void **state)
{
    fixture *f = *state;
    orc_error err = {0};
    char file[400];
    snprintf(file, sizeof file, "%s/file", f->dir);
    write_file(f, "file", "");
    const char *paths[] = {file};
    orci_python_opts o = {.paths = paths, .n_paths = 1};
    assert_int_equal(orci_python_setup(&o, &f->py, &err), ORC_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "is not a folder"));
    const char *pkgs[] = {"a.b"};
    o = (orci_python_opts){.packages = pkgs, .n_packages = 1};
    assert_int_equal(orci_python_setup(&o, &f->py, &err), ORC_INVALID_ARGUMENT);
    assert_string_equal(err.message, "--python-package a.b is not a top-level package name");
    o = (orci_python_opts){.interpreter = "/nonexistent/python3"};
    assert_int_equal(orci_python_setup(&o, &f->py, &err), ORC_NOT_FOUND);
    assert_string_equal(err.message, "no Python interpreter at /nonexistent/python3");
    assert_null(f->py);
}

/* ---- a runner and a job ------------------------------------------------------------------- */

/* start makes f's set-up (the apps folder, an optional script) and a runner. */
static void start(fixture *f, const char *script, int memory_mb)
{
    char apps[400];
    snprintf(apps, sizeof apps, "%s/apps", f->dir);
    mkdir(apps, 0755);
    const char *paths[] = {apps};
    orci_python_opts o = {.paths = paths, .n_paths = 1, .script = script};
    orc_error err = {0};
    if (orci_python_setup(&o, &f->py, &err) != ORC_OK)
        fail_msg("%s", err.message);
    orci_pyrunner_opts ro = {.interpreter = f->py->interpreter,
                             .script = f->py->script,
                             .paths = (const char *const *)f->py->paths,
                             .n_paths = f->py->n_paths,
                             .memory_mb = memory_mb};
    assert_int_equal(orci_pyrunner_new(&ro, &f->runner, &err), ORC_OK);
}

typedef struct call {
    const char *kind, *function, *spec, *project_data, *prerequisites, *context;
    int64_t timeout_ms;
    size_t output_max;
} call;

/* run runs one job in f's runner into *out (the caller finis it). */
static void run(fixture *f, const call *c, orci_job_outcome *out)
{
    orci_job_spec spec = {.function = c->function,
                          .execution_function = c->spec,
                          .project_data = c->project_data,
                          .prerequisites = c->prerequisites,
                          .plugins = f->plugins,
                          .timeout_ms = c->timeout_ms ? c->timeout_ms : 30000,
                          .output_max = c->output_max,
                          .kind = c->kind,
                          .context = c->context,
                          .python = f->py,
                          .runner = f->runner};
    assert_true(orci_python_job_wanted(&spec));
    orci_job_run(&spec, out);
}

/* step runs step pkg path (kwargs JSON or NULL) with project_data; returns the outcome. */
static void step(fixture *f, const char *path, const char *kwargs, const char *pd,
                 orci_job_outcome *out)
{
    char spec[512];
    snprintf(spec, sizeof spec, "{\"path\":\"%s\"%s%s}", path, kwargs ? ",\"kwargs\":" : "",
             kwargs ? kwargs : "");
    call c = {.function = path, .spec = spec, .project_data = pd ? pd : "{\"project_id\":7}"};
    run(f, &c, out);
}

/* ---- the fake runner ------------------------------------------------------------------------ */

/* A runner that speaks the frames and misbehaves as the function's name says. */
static const char fake_runner[] =
    "import json, os, struct, sys, time\n"
    "req, rep = os.dup(0), os.dup(1)\n"
    "def read(n):\n"
    "    b = b''\n"
    "    while len(b) < n:\n"
    "        c = os.read(req, n - len(b))\n"
    "        if not c: sys.exit(0)\n"
    "        b += c\n"
    "    return b\n"
    "def send(kind, data):\n"
    "    os.write(rep, struct.pack('>IB', len(data), ord(kind)) + data)\n"
    "while True:\n"
    "    n, k = struct.unpack('>IB', read(5))\n"
    "    name = read(n).split(b'\\0')[0].decode().split('.')[-1]\n"
    "    ok = json.dumps({'status': 'ok', 'output': {'pid': os.getpid()}}).encode()\n"
    "    if name == 'crash': os._exit(3)\n"
    "    if name == 'signal': os.kill(os.getpid(), 9)\n"
    "    if name == 'hang': time.sleep(60)\n"
    "    if name == 'garbage': send('X', b'hello'); continue\n"
    "    if name == 'notjson': send('R', b'{nope'); continue\n"
    "    if name == 'big': send('R', b'x' * 100000); continue\n"
    "    if name == 'near': send('L', ok); sys.exit(0)\n"
    "    send('R', ok)\n";

static long fake_pid(fixture *f)
{
    orci_job_outcome out;
    step(f, "fake.ok", NULL, NULL, &out);
    assert_true(out.ok);
    json_t *o = json_loads(out.output, 0, NULL);
    long pid = (long)json_integer_value(json_object_get(o, "pid"));
    json_decref(o);
    orci_job_outcome_fini(&out);
    return pid;
}

/* expect_fail runs path and checks that it failed, retryable or not, with message. */
static void expect_fail(fixture *f, const call *c, bool retryable, const char *message)
{
    orci_job_outcome out;
    run(f, c, &out);
    assert_false(out.ok);
    if (strcmp(out.error, message) != 0)
        fail_msg("error \"%s\", want \"%s\"", out.error, message);
    assert_int_equal(out.retryable, retryable);
    orci_job_outcome_fini(&out);
}

static void test_the_runner_protocol_survives_a_misbehaving_runner(void **state)
{
    fixture *f = *state;
    char script[400];
    snprintf(script, sizeof script, "%s/fake_runner.py", f->dir);
    write_file(f, "fake_runner.py", fake_runner);
    write_file(f, "apps/fake.py", "");
    start(f, script, 0);
    long first = fake_pid(f);
    assert_int_equal(fake_pid(f), first); /* one runner serves many calls */
    assert_int_equal(orci_pyrunner_pid(f->runner), first);

    call c = {.function = "fake.crash", .spec = "{\"path\":\"fake.crash\"}"};
    expect_fail(f, &c, true, "function exited with status 3");
    long second = fake_pid(f);
    assert_true(second != first); /* replaced */
    c.function = "fake.signal";
    expect_fail(f, &c, true, "function crashed: signal 9");
    const char *bad[] = {"fake.garbage", "fake.notjson"};
    for (size_t i = 0; i < 2; i++) {
        c.function = bad[i];
        orci_job_outcome out;
        run(f, &c, &out);
        assert_false(out.ok);
        assert_true(out.retryable);
        assert_non_null(strstr(out.error, "function gave no result"));
        orci_job_outcome_fini(&out);
    }
    c = (call){.function = "fake.hang", .spec = "{\"path\":\"fake.hang\"}", .timeout_ms = 1000};
    expect_fail(f, &c, true, "function timed out after 1 s");
    c = (call){.function = "fake.big", .spec = "{\"path\":\"fake.big\"}", .output_max = 1000};
    expect_fail(f, &c, false, "function output exceeds 1000 bytes");
    long before = fake_pid(f);
    orci_job_outcome near;
    step(f, "fake.near", NULL, NULL, &near);
    assert_true(near.ok); /* its reply counts, then it exits */
    orci_job_outcome_fini(&near);
    assert_true(fake_pid(f) != before);
}

/* ---- the real runner ------------------------------------------------------------------------- */

static const char unit_steps[] =
    "import math\n"
    "calls = 0\n"
    "def greet(project_data, prerequisites, greeting='hi', times=1):\n"
    "    global calls\n"
    "    calls += 1\n"
    "    return {'text': ' '.join([greeting] * times), 'project_id': project_data['project_id'],"
    " 'prereq': prerequisites, 'calls': calls}\n"
    "def boom(project_data, prerequisites):\n"
    "    return helper()\n"
    "def helper():\n"
    "    raise KeyError('missing')\n"
    "def a_set(project_data, prerequisites):\n"
    "    return {'a', 'b'}\n"
    "def a_nan(project_data, prerequisites):\n"
    "    return {'x': math.nan}\n"
    "def hungry(project_data, prerequisites):\n"
    "    return {'n': len(bytearray(400 << 20))}\n"
    "def printer(project_data, prerequisites):\n"
    "    print('not a frame')\n"
    "    return {'printed': True}\n"
    "def policy(prerequisites, project_data, flag='x'):\n"
    "    return project_data.get(flag) and 'yes'\n"
    "def on_abort(project, path=None):\n"
    "    open(path, 'w').write('%s %s %s' % (project.id, project.workflow_version.slug,"
    " project.project_data['k']))\n";

static const char unit_load[] =
    "from django.contrib.auth.models import User\n"
    "from orchestra.models import Worker, Certification, WorkerCertification\n"
    "def load(workflow_version):\n"
    "    user, created = User.objects.update_or_create(username='u1', defaults={'first_name':"
    " workflow_version.slug})\n"
    "    user.set_password('pw')\n"
    "    user.save()\n"
    "    if created:\n"
    "        Worker.objects.create(user=user)\n"
    "    old, created_old = User.objects.get_or_create(username='old')\n"
    "    w, _ = Worker.objects.get_or_create(user=old)\n"
    "    WorkerCertification.objects.get_or_create(certification=Certification.objects.get("
    "slug='c1'), worker=w, role=WorkerCertification.Role.REVIEWER)\n"
    "    if created_old:\n"
    "        raise ValueError('old should exist')\n";

static void start_real(fixture *f, int memory_mb)
{
    write_file(f, "apps/unitpy/__init__.py", "");
    write_file(f, "apps/unitpy/steps.py", unit_steps);
    write_file(f, "apps/unitpy/load.py", unit_load);
    start(f, NULL, memory_mb);
}

static json_t *ok_output(fixture *f, const char *path, const char *kwargs, const char *pd)
{
    orci_job_outcome out;
    step(f, path, kwargs, pd, &out);
    if (!out.ok)
        fail_msg("%s failed: %s", path, out.error);
    json_t *o = json_loads(out.output, 0, NULL);
    orci_job_outcome_fini(&out);
    assert_non_null(o);
    return o;
}

static void test_the_runner_calls_steps_as_upstream_did(void **state)
{
    fixture *f = *state;
    start_real(f, 0);
    orci_job_outcome out;
    call c = {.function = "unitpy.steps.greet",
              .spec = "{\"module\":\"unitpy.steps\",\"name\":\"greet\"}",
              .project_data = "{\"project_id\":42}",
              .prerequisites = "{\"crawl\":{\"image\":\"i.png\"}}"};
    run(f, &c, &out);
    assert_true(out.ok);
    expect_json(out.output, "{\"text\":\"hi\",\"project_id\":42,\"prereq\":{\"crawl\":{\"image\":"
                            "\"i.png\"}},\"calls\":1}");
    orci_job_outcome_fini(&out);
    /* HEAD's kwargs; the module stayed imported (its counter goes on). */
    json_t *o = ok_output(f, "unitpy.steps.greet", "{\"greeting\":\"yo\",\"times\":3}", NULL);
    assert_string_equal(json_string_value(json_object_get(o, "text")), "yo yo yo");
    assert_int_equal(json_integer_value(json_object_get(o, "calls")), 2);
    json_decref(o);
    /* What a function prints goes to the log, not into the protocol. */
    o = ok_output(f, "unitpy.steps.printer", NULL, NULL);
    assert_true(json_is_true(json_object_get(o, "printed")));
    json_decref(o);
}

static void test_the_runner_reports_what_went_wrong(void **state)
{
    fixture *f = *state;
    start_real(f, 0);
    orci_job_outcome out;
    step(f, "unitpy.steps.boom", NULL, NULL, &out);
    assert_false(out.ok);
    assert_true(out.retryable);
    assert_non_null(strstr(out.error, "unitpy/steps.py\", line 10, in helper"));
    assert_non_null(strstr(out.error, "raise KeyError('missing')"));
    assert_string_equal(strrchr(out.error, '\n') + 1, "KeyError: 'missing'");
    orci_job_outcome_fini(&out);
    call c = {.function = "unitpy.steps.a_set", .spec = "{\"path\":\"unitpy.steps.a_set\"}"};
    expect_fail(f, &c, false, "the function returned set, not a dict (a JSON object)");
    c = (call){.function = "unitpy.steps.a_nan", .spec = "{\"path\":\"unitpy.steps.a_nan\"}"};
    expect_fail(f, &c, false,
                "the function returned a dict that is not JSON: Out of range float values are "
                "not JSON compliant");
    c = (call){.function = "unitpy.steps.nothing", .spec = "{\"path\":\"unitpy.steps.nothing\"}"};
    expect_fail(f, &c, true,
                "cannot import unitpy.steps.nothing: unitpy.steps has no attribute 'nothing'");
    c = (call){.function = "unitpy.gone.fn",
               .spec = "{\"module\":\"unitpy.gone\",\"name\":\"fn\"}"};
    expect_fail(f, &c, true, "cannot import unitpy.gone.fn: unitpy has no attribute 'gone'");
}

static void test_the_runner_runs_hooks(void **state)
{
    fixture *f = *state;
    start_real(f, 0);
    orci_job_outcome out;
    call c = {.kind = "creation_policy",
              .function = "creation_policy:unitpy.steps.policy",
              .spec = "{\"path\":\"unitpy.steps.policy\",\"kwargs\":{\"flag\":\"go\"}}",
              .project_data = "{\"go\":1}"};
    run(f, &c, &out);
    assert_true(out.ok);
    assert_string_equal(out.output, "{\"create\":true}");
    orci_job_outcome_fini(&out);
    c.project_data = "{}";
    run(f, &c, &out);
    assert_string_equal(out.output, "{\"create\":false}");
    orci_job_outcome_fini(&out);

    char path[400], spec[600];
    snprintf(path, sizeof path, "%s/aborted", f->dir);
    snprintf(spec, sizeof spec, "{\"path\":\"unitpy.steps.on_abort\",\"kwargs\":{\"path\":\"%s\"}}",
             path);
    c = (call){.kind = "abort_completion",
               .function = "abort_completion:unitpy.steps.on_abort",
               .spec = spec,
               .context = "{\"project\":{\"id\":5,\"status\":2,\"project_data\":{\"k\":\"v\"},"
                          "\"start_datetime\":\"2016-04-28T10:00:00Z\",\"workflow_version\":"
                          "{\"slug\":\"v1\",\"name\":\"V\",\"workflow\":{\"slug\":\"w\"}}}}"};
    run(f, &c, &out);
    assert_true(out.ok);
    orci_job_outcome_fini(&out);
    char *text = orc_test_read_file(path, NULL);
    assert_string_equal(text, "5 v1 v");
    free(text);

    c = (call){.kind = "sample_data",
               .function = "sample_data:unitpy.load.load",
               .spec = "{\"module\":\"unitpy.load\",\"name\":\"load\"}",
               .context = "{\"workflow_version\":{\"slug\":\"v1\",\"workflow\":{\"slug\":\"w\"}},"
                          "\"certifications\":[{\"slug\":\"c1\",\"name\":\"C\"}],"
                          "\"users\":{\"old\":{\"worker\":true}}}"};
    run(f, &c, &out);
    if (!out.ok)
        fail_msg("%s", out.error);
    json_t *rec = json_loads(out.output, 0, NULL);
    json_t *u1 = json_array_get(json_object_get(rec, "users"), 0);
    json_t *old = json_array_get(json_object_get(rec, "users"), 1);
    assert_string_equal(json_string_value(json_object_get(u1, "username")), "u1");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(u1, "fields"), "first_name")), "v1");
    assert_non_null(
        strstr(json_string_value(json_object_get(json_object_get(u1, "fields"), "password")),
               "pbkdf2-sha256$"));
    assert_true(json_is_true(json_object_get(u1, "worker")));
    assert_string_equal(json_string_value(json_object_get(old, "username")), "old");
    assert_null(json_object_get(old, "worker")); /* already one: get_or_create made nothing */
    char *certs = json_dumps(json_object_get(old, "certifications"), JSON_COMPACT);
    expect_json(certs, "[{\"certification\":\"c1\",\"role\":\"reviewer\",\"task_class\":"
                       "\"real\"}]");
    free(certs);
    json_decref(rec);
    orci_job_outcome_fini(&out);
}

static void test_the_runner_fails_past_its_memory_limit_and_is_replaced(void **state)
{
    fixture *f = *state;
    start_real(f, 128);
    json_t *o = ok_output(f, "unitpy.steps.greet", NULL, NULL);
    json_decref(o);
    pid_t before = orci_pyrunner_pid(f->runner);
    orci_job_outcome out;
    step(f, "unitpy.steps.hungry", NULL, NULL, &out);
    assert_false(out.ok);
    assert_true(out.retryable);
    assert_non_null(strstr(out.error, "MemoryError"));
    orci_job_outcome_fini(&out);
    /* The next call works, in this runner or a fresh one. */
    o = ok_output(f, "unitpy.steps.greet", NULL, NULL);
    json_decref(o);
    assert_true(before > 0);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_setup_lists_the_packages_of_the_python_path),
        T(test_a_c_plugin_of_the_same_name_wins),
        T(test_setup_refuses_what_cannot_work),
        T(test_the_runner_protocol_survives_a_misbehaving_runner),
        T(test_the_runner_calls_steps_as_upstream_did),
        T(test_the_runner_reports_what_went_wrong),
        T(test_the_runner_runs_hooks),
        T(test_the_runner_fails_past_its_memory_limit_and_is_replaced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
