/*
 * test_worker_auth.c: the worker-session-token rows of the auth matrix on a real orchestrad,
 * through the client library: a worker acting on another worker's task, a token used
 * again after logout, an expired session, a made-up token, and a worker token calling
 * admin and project methods. Every row must be refused with its code and a message that
 * says why, and must leave the database as it was: the project as the admin reads it, the
 * project count and the event log's last sequence number are compared before and after.
 *
 * The daemon runs with a 60 s session lifetime, far more than any row takes; for the expiry
 * row it is relaunched on the same database with a 1 s lifetime, and the row waits just past
 * the expiry the server itself reported at login: a bound on the wait, not on the machine's
 * speed. Nothing in that row expects a session to be still alive after its login.
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "support.h"

#define WF "wauth_wf"
#define SESSION_TTL "60"
#define SHORT_TTL_S 1
#define ANN "ann"
#define ANN_PASSWORD "ann-secret-1"
#define BOB "bob"
#define BOB_PASSWORD "bob-secret-2"
/* What ann saved on her task in the group set-up. */
#define ANN_DATA "{\"draft\": \"ann's words\", \"n\": 1}"

static orc_harness H;
static orc_client *ADMIN;   /* the --dev key: admin and project scopes */
static int64_t PROJECT_ID;  /* the project whose first task ann holds */
static int64_t ANN_TASK_ID; /* ann's task (step "first"), Processing, with ANN_DATA saved */
static char WF_DIR[700];    /* the loaded workflow's folder */
static int group_teardown_failed;

/* ---- helpers --------------------------------------------------------------------------- */

static int64_t wall_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void expect_code(const char *what, int got, int want, const orc_error *e)
{
    if (got != want) {
        fprintf(stderr, "%s: got %s (%s), want %s\n", what, orc_code_name(got),
                got != ORC_OK ? e->message : "", orc_code_name(want));
        orc_harness_print_log(&H);
    }
    assert_int_equal(got, want);
}

/* expect_refusal checks a refusal's code and that its message names the reason. */
static void expect_refusal(const char *what, int got, int want, const orc_error *e,
                           const char *reason)
{
    expect_code(what, got, want, e);
    assert_int_equal(e->code, want);
    if (strstr(e->message, reason) == NULL)
        fail_msg("%s: message \"%s\" does not say \"%s\"", what, e->message, reason);
}

/* worker_client opens a client with no API key at all. */
static orc_client *worker_client(void)
{
    orc_client *c = NULL;
    assert_int_equal(orc_harness_client(&H, NULL, NULL, &c), ORC_OK);
    assert_non_null(c);
    return c;
}

/* token_client opens a client that carries only the session token tok, as a saved session. */
static orc_client *token_client(const char *tok)
{
    orc_client_opts o = {.rpc_url = H.rpc_url, .token = tok};
    orc_client *c = NULL;
    orc_error e;
    expect_code("client with a token only", orc_client_new(&o, &c, &e), ORC_OK, &e);
    assert_non_null(c);
    return c;
}

/* login logs username in on c; *token (orc_free) and *expires_at_us when not NULL. */
static void login(orc_client *c, const char *username, const char *password, char **token,
                  int64_t *expires_at_us)
{
    orc_error e;
    expect_code("login", orc_login(c, username, password, token, expires_at_us, &e), ORC_OK, &e);
}

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, 0, &je);
    if (v == NULL)
        fail_msg("not JSON (%s): %s", je.text, text);
    return v;
}

/* is_string tells whether v is the JSON string want. */
static bool is_string(const json_t *v, const char *want)
{
    return json_is_string(v) && strcmp(json_string_value(v), want) == 0;
}

/* project_info reads the project as the admin reads it. */
static json_t *project_info(void)
{
    char *text = NULL;
    orc_error e;
    expect_code("project information", orc_project_info_json(ADMIN, PROJECT_ID, &text, &e), ORC_OK,
                &e);
    json_t *v = parse(text);
    orc_free(text);
    return v;
}

/* last_seq is the newest committed event: every committed change appends events. */
static int64_t last_seq(void)
{
    orc_event_page *page = NULL;
    orc_error e;
    expect_code("ListEvents", orc_events_list(ADMIN, 0, "", 1, &page, &e), ORC_OK, &e);
    int64_t seq = page->last_seq;
    orc_event_page_free(page);
    return seq;
}

/*
 * count_projects counts the projects the admin can read, probing ids upwards until three in
 * a row are unknown (ids are never reused nor removed here).
 */
static int count_projects(void)
{
    int found = 0, misses = 0;
    for (int64_t id = 1; misses < 3; id++) {
        char *text = NULL;
        orc_error e;
        int rc = orc_project_info_json(ADMIN, id, &text, &e);
        orc_free(text);
        if (rc == ORC_NOT_FOUND) {
            misses++;
            continue;
        }
        expect_code("project information while counting", rc, ORC_OK, &e);
        found++;
        misses = 0;
    }
    return found;
}

/* snapshot is the state a refused call must leave as it was. */
typedef struct snapshot {
    json_t *project;
    int64_t seq;
    int projects;
} snapshot;

static snapshot snap(void)
{
    snapshot s = {.project = project_info(), .seq = last_seq(), .projects = count_projects()};
    return s;
}

/* ann_assignment finds ann's live assignment in the admin's view of her task (borrowed). */
static json_t *ann_assignment(json_t *project)
{
    json_t *task = json_object_get(json_object_get(project, "tasks"), "first");
    assert_non_null(task);
    assert_int_equal(json_integer_value(json_object_get(task, "id")), ANN_TASK_ID);
    json_t *as = json_object_get(task, "assignments");
    assert_true(json_is_array(as));
    assert_int_equal(json_array_size(as), 1);
    json_t *a = json_array_get(as, 0);
    json_t *who = json_object_get(a, "worker");
    assert_string_equal(json_string_value(json_object_get(who, "username")), ANN);
    return a;
}

/* expect_ann_untouched checks the state ann's task must keep: Processing, ANN_DATA saved. */
static void expect_ann_untouched(json_t *project)
{
    json_t *task = json_object_get(json_object_get(project, "tasks"), "first");
    assert_string_equal(json_string_value(json_object_get(task, "status")), "Processing");
    assert_null(json_object_get(json_object_get(project, "tasks"), "second"));
    json_t *a = ann_assignment(project);
    assert_string_equal(json_string_value(json_object_get(a, "status")), "Processing");
    json_t *want = parse(ANN_DATA);
    if (!json_equal(json_object_get(a, "in_progress_task_data"), want)) {
        char *got = json_dumps(json_object_get(a, "in_progress_task_data"), JSON_COMPACT);
        fprintf(stderr, "ann's data is now %s, want %s\n", got ? got : "?", ANN_DATA);
        free(got);
        fail();
    }
    json_decref(want);
}

/* expect_unchanged compares the state now with before, then frees before. */
static void expect_unchanged(snapshot *before)
{
    snapshot now = snap();
    if (!json_equal(before->project, now.project)) {
        char *a = json_dumps(before->project, JSON_COMPACT);
        char *b = json_dumps(now.project, JSON_COMPACT);
        fprintf(stderr, "project changed\n-- before --\n%s\n-- after --\n%s\n", a ? a : "?",
                b ? b : "?");
        free(a);
        free(b);
        fail();
    }
    assert_int_equal(now.seq, before->seq);
    assert_int_equal(now.projects, before->projects);
    expect_ann_untouched(now.project);
    json_decref(now.project);
    json_decref(before->project);
    before->project = NULL;
}

/* dashboard_in_progress tells whether task_id is listed in progress on c's dashboard. */
static bool dashboard_in_progress(orc_client *c, int64_t task_id)
{
    char *text = NULL;
    orc_error e;
    expect_code("dashboard", orc_dashboard_json(c, &text, &e), ORC_OK, &e);
    json_t *d = parse(text);
    orc_free(text);
    json_t *list = json_object_get(json_object_get(d, "tasks"), "in_progress");
    assert_true(json_is_array(list));
    bool found = false;
    size_t i;
    json_t *t;
    json_array_foreach(list, i, t)
    {
        if (json_integer_value(json_object_get(t, "id")) == task_id)
            found = true;
    }
    json_decref(d);
    return found;
}

/* expect_session_refused: a dead token is refused on dashboard, save and submit. */
static void expect_session_refused(orc_client *c, const char *what)
{
    char label[160];
    char *text = NULL;
    orc_error e;
    snprintf(label, sizeof label, "%s: dashboard", what);
    expect_refusal(label, orc_dashboard_json(c, &text, &e), ORC_UNAUTHENTICATED, &e,
                   "session token");
    assert_null(text);
    snprintf(label, sizeof label, "%s: save", what);
    expect_refusal(label, orc_task_save(c, ANN_TASK_ID, "{\"draft\": \"overwritten\"}", &e),
                   ORC_UNAUTHENTICATED, &e, "session token");
    snprintf(label, sizeof label, "%s: submit", what);
    expect_refusal(label, orc_task_submit(c, ANN_TASK_ID, "{\"draft\": \"sent\"}", "submit", &e),
                   ORC_UNAUTHENTICATED, &e, "session token");
    snprintf(label, sizeof label, "%s: task info", what);
    expect_refusal(label, orc_task_info_json(c, ANN_TASK_ID, &text, &e), ORC_UNAUTHENTICATED, &e,
                   "session token");
    assert_null(text);
}

/* random_token makes len characters of the alphabet of real tokens from /dev/urandom. */
static void random_token(char *out, size_t len)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char bytes[256];
    assert_true(len < sizeof bytes);
    int fd = open("/dev/urandom", O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(read(fd, bytes, len), (ssize_t)len);
    close(fd);
    for (size_t i = 0; i < len; i++)
        out[i] = alphabet[bytes[i] % 64];
    out[len] = '\0';
}

/* ---- set-up ------------------------------------------------------------------------------ */

static int group_setup(void **state)
{
    (void)state;
    orc_harness_opts opts = {.extra_args = {"--session-ttl", SESSION_TTL, NULL}};
    orc_error e;
    if (orc_harness_start(&H, &opts) != 0 || orc_harness_client_dev(&H, &ADMIN) != ORC_OK ||
        orc_test_small_workflow(H.dir, WF, WF_DIR, sizeof WF_DIR) != 0 ||
        orc_workflow_load(ADMIN, WF_DIR, "v1", false, NULL, &e) != ORC_OK) {
        fprintf(stderr, "set-up failed\n");
        return -1;
    }
    int64_t wid;
    orc_worker_params ann = {.username = ANN, .password = ANN_PASSWORD};
    orc_worker_params bob = {.username = BOB, .password = BOB_PASSWORD};
    orc_project_params p = {.workflow = WF, .version = "v1", .description = "auth matrix"};
    if (orc_worker_add(ADMIN, &ann, &wid, &e) != ORC_OK ||
        orc_worker_add(ADMIN, &bob, &wid, &e) != ORC_OK ||
        orc_project_create(ADMIN, &p, &PROJECT_ID, &e) != ORC_OK) {
        fprintf(stderr, "set-up: %s\n", e.message);
        return -1;
    }

    /* ann takes the project's first task and saves a draft on it. */
    orc_client *c = NULL;
    char *task = NULL;
    int rc = orc_harness_client(&H, NULL, NULL, &c);
    if (rc == ORC_OK)
        rc = orc_login(c, ANN, ANN_PASSWORD, NULL, NULL, &e);
    if (rc == ORC_OK)
        rc = orc_task_new_json(c, "entry_level", &task, &e);
    if (rc == ORC_OK) {
        json_t *t = json_loads(task, 0, NULL);
        ANN_TASK_ID = json_integer_value(json_object_get(t, "id"));
        json_decref(t);
        rc = orc_task_save(c, ANN_TASK_ID, ANN_DATA, &e);
    }
    if (rc == ORC_OK)
        rc = orc_logout(c, &e);
    orc_free(task);
    orc_client_destroy(c);
    if (rc != ORC_OK || ANN_TASK_ID <= 0) {
        fprintf(stderr, "set-up (ann's task): %s %s\n", orc_code_name(rc), e.message);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    orc_client_destroy(ADMIN);
    int status = H.pid != 0 ? orc_harness_stop(&H) : 0;
    orc_harness_cleanup(&H);
    group_teardown_failed = status != 0;
    return status == 0 ? 0 : -1;
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_setup_state_is_anns_saved_draft(void **state)
{
    (void)state;
    json_t *project = project_info();
    expect_ann_untouched(project);
    json_decref(project);
    assert_int_equal(count_projects(), 1);
}

static void test_other_worker_cannot_save_or_submit_anns_task(void **state)
{
    (void)state;
    orc_client *bob = worker_client();
    login(bob, BOB, BOB_PASSWORD, NULL, NULL);
    /* bob's session works: his own dashboard answers, without ann's task. */
    assert_false(dashboard_in_progress(bob, ANN_TASK_ID));

    snapshot before = snap();
    orc_error e;
    expect_refusal("bob saves ann's task",
                   orc_task_save(bob, ANN_TASK_ID, "{\"draft\": \"bob was here\"}", &e),
                   ORC_PERMISSION_DENIED, &e, "not associated with task");
    expect_refusal("bob submits ann's task with data",
                   orc_task_submit(bob, ANN_TASK_ID, "{\"draft\": \"bob's\"}", "submit", &e),
                   ORC_PERMISSION_DENIED, &e, "not associated with task");
    /* Without data the server would submit what bob last saved: he has nothing there. */
    expect_refusal("bob submits ann's task without data",
                   orc_task_submit(bob, ANN_TASK_ID, NULL, "submit", &e), ORC_PERMISSION_DENIED, &e,
                   "not associated with task");
    expect_refusal("bob accepts ann's task",
                   orc_task_submit(bob, ANN_TASK_ID, "{\"draft\": \"bob's\"}", "accept", &e),
                   ORC_PERMISSION_DENIED, &e, "not associated with task");
    char *text = NULL;
    expect_refusal("bob reads ann's task", orc_task_info_json(bob, ANN_TASK_ID, &text, &e),
                   ORC_PERMISSION_DENIED, &e, "not associated with task");
    assert_null(text);
    expect_unchanged(&before);
    assert_false(dashboard_in_progress(bob, ANN_TASK_ID));

    expect_code("bob logs out", orc_logout(bob, &e), ORC_OK, &e);
    orc_client_destroy(bob);
}

static void test_token_used_again_after_logout_is_unauthenticated(void **state)
{
    (void)state;
    orc_client *ann = worker_client();
    char *token = NULL;
    login(ann, ANN, ANN_PASSWORD, &token, NULL);
    assert_non_null(token);
    /* The session is live before the logout. */
    assert_true(dashboard_in_progress(ann, ANN_TASK_ID));

    orc_error e;
    expect_code("ann logs out", orc_logout(ann, &e), ORC_OK, &e);
    snapshot before = snap();
    assert_int_equal(orc_client_set_token(ann, token), ORC_OK);
    expect_session_refused(ann, "token after logout");
    /* Logging the dead session out again is refused the same way. */
    expect_refusal("second logout", orc_logout(ann, &e), ORC_UNAUTHENTICATED, &e, "session token");
    /* A client holding only the old token, as a saved session file would give, too. */
    orc_client *saved = token_client(token);
    expect_session_refused(saved, "saved token after logout");
    orc_client_destroy(saved);
    expect_unchanged(&before);

    orc_free(token);
    orc_client_destroy(ann);
}

static void test_made_up_token_is_unauthenticated(void **state)
{
    (void)state;
    /* A real token's length, so that only its value can make it wrong. */
    orc_client *ann = worker_client();
    char *real = NULL;
    login(ann, ANN, ANN_PASSWORD, &real, NULL);
    size_t len = strlen(real);
    assert_true(len > 0 && len < 200);
    orc_error e;
    expect_code("ann logs out", orc_logout(ann, &e), ORC_OK, &e);
    orc_free(real);
    orc_client_destroy(ann);

    snapshot before = snap();
    char fake[256];
    random_token(fake, len);
    orc_client *c = token_client(fake);
    expect_session_refused(c, "random token");
    assert_int_equal(orc_client_set_token(c, "not a token at all, \xc3\xbc ~ {}"), ORC_OK);
    expect_session_refused(c, "text that is no token");
    /*
     * Bytes that are not UTF-8 cannot even be decoded as the envelope's string field: that
     * refusal may come from the decoder (INVALID_ARGUMENT) rather than from the session
     * lookup, but it must still name the token and change nothing.
     */
    assert_int_equal(orc_client_set_token(c, "bad \x01\xff\xfe bytes"), ORC_OK);
    int rc = orc_task_save(c, ANN_TASK_ID, "{\"draft\": \"overwritten\"}", &e);
    if (rc != ORC_UNAUTHENTICATED && rc != ORC_INVALID_ARGUMENT)
        expect_code("token of bytes that are not UTF-8", rc, ORC_UNAUTHENTICATED, &e);
    assert_non_null(strstr(e.message, "token"));
    orc_client_destroy(c);
    expect_unchanged(&before);
}

static void test_worker_token_cannot_call_admin_or_project_methods(void **state)
{
    (void)state;
    orc_client *login_client = worker_client();
    char *token = NULL;
    login(login_client, BOB, BOB_PASSWORD, &token, NULL);
    orc_client *bob = token_client(token);
    /* The token alone is a live worker session. */
    assert_false(dashboard_in_progress(bob, ANN_TASK_ID));

    snapshot before = snap();
    assert_int_equal(before.projects, 1);
    orc_error e;
    orc_project_params p = {.workflow = WF, .version = "v1", .description = "by a worker"};
    int64_t pid = -1;
    expect_refusal("worker creates a project", orc_project_create(bob, &p, &pid, &e),
                   ORC_PERMISSION_DENIED, &e, "CreateProject requires");
    assert_true(strstr(e.message, "scope") != NULL);

    char dir[700];
    assert_int_equal(orc_test_small_workflow(H.dir, "wauth_by_worker", dir, sizeof dir), 0);
    expect_refusal("worker loads a workflow", orc_workflow_load(bob, dir, "v1", false, NULL, &e),
                   ORC_PERMISSION_DENIED, &e, "LoadWorkflow requires");
    expect_refusal("worker reloads the loaded workflow",
                   orc_workflow_load(bob, WF_DIR, "v1", true, NULL, &e), ORC_PERMISSION_DENIED, &e,
                   "LoadWorkflow requires");

    int64_t aid = -1;
    expect_refusal("worker assigns ann's task to himself",
                   orc_task_assign(bob, ANN_TASK_ID, BOB, &aid, &e), ORC_PERMISSION_DENIED, &e,
                   "AssignTask requires");
    expect_refusal("worker ends the project", orc_project_end(bob, PROJECT_ID, &e),
                   ORC_PERMISSION_DENIED, &e, "EndProject requires");
    char *text = NULL;
    expect_refusal("worker reads the project", orc_project_info_json(bob, PROJECT_ID, &text, &e),
                   ORC_PERMISSION_DENIED, &e, "GetProjectInformation requires");
    assert_null(text);
    orc_worker_params w = {.username = "mallory", .password = "mallory-pw-3"};
    int64_t wid = -1;
    expect_refusal("worker adds a worker", orc_worker_add(bob, &w, &wid, &e), ORC_PERMISSION_DENIED,
                   &e, "AddWorker requires");

    expect_unchanged(&before);
    assert_int_equal(count_projects(), 1);
    /* No workflow was loaded by the refused call: the admin's list lacks it. */
    expect_code("workflow list", orc_workflow_types_json(ADMIN, &text, &e), ORC_OK, &e);
    json_t *types = parse(text);
    orc_free(text);
    json_t *wfs = json_object_get(types, "workflows");
    assert_non_null(json_object_get(wfs, WF));
    assert_null(json_object_get(wfs, "wauth_by_worker"));
    json_decref(types);
    /* No worker was added: mallory cannot log in. */
    orc_client *m = worker_client();
    expect_refusal("mallory logs in", orc_login(m, "mallory", "mallory-pw-3", NULL, NULL, &e),
                   ORC_UNAUTHENTICATED, &e, "username or password");
    orc_client_destroy(m);

    expect_code("bob logs out", orc_logout(bob, &e), ORC_OK, &e);
    orc_client_destroy(bob);
    orc_client_destroy(login_client);
    orc_free(token);
}

/* relaunch_with_ttl restarts the daemon on the same database with --session-ttl seconds. */
static void relaunch_with_ttl(const char *seconds)
{
    for (size_t i = 0; i + 1 < ORC_HARNESS_MAX_ARGS && H.extra_args[i] != NULL; i++) {
        if (strcmp(H.extra_args[i], "--session-ttl") == 0 && H.extra_args[i + 1] != NULL) {
            char *copy = strdup(seconds);
            assert_non_null(copy);
            free(H.extra_args[i + 1]);
            H.extra_args[i + 1] = copy;
        }
    }
    assert_int_equal(orc_harness_stop(&H), 0);
    assert_int_equal(orc_harness_relaunch(&H), 0);
}

static void test_expired_session_is_unauthenticated_and_login_works_again(void **state)
{
    (void)state;
    char short_ttl[16];
    snprintf(short_ttl, sizeof short_ttl, "%d", SHORT_TTL_S);
    relaunch_with_ttl(short_ttl);
    orc_client *ann = worker_client();
    char *token = NULL;
    int64_t expires_at = 0;
    int64_t t0 = wall_now_us();
    login(ann, ANN, ANN_PASSWORD, &token, &expires_at);
    int64_t t1 = wall_now_us();
    /* --session-ttl counts seconds: the session ends SHORT_TTL_S after the login. */
    assert_true(expires_at >= t0 + (int64_t)SHORT_TTL_S * 1000000 - 1000000);
    assert_true(expires_at <= t1 + (int64_t)SHORT_TTL_S * 1000000 + 1000000);

    /* Wait until the server's own expiry time is well past (same host clock). */
    fprintf(stderr, "(waiting %.1f s for the session to expire)\n",
            (double)(expires_at - wall_now_us()) / 1e6 + 1.5);
    while (wall_now_us() < expires_at + 1500000)
        orc_test_sleep_ms(200);

    snapshot before = snap();
    orc_error e;
    expect_refusal("save after expiry",
                   orc_task_save(ann, ANN_TASK_ID, "{\"draft\": \"too late\"}", &e),
                   ORC_UNAUTHENTICATED, &e, "expired session token");
    expect_session_refused(ann, "expired session");
    orc_client *saved = token_client(token);
    expect_session_refused(saved, "saved expired token");
    orc_client_destroy(saved);
    expect_unchanged(&before);

    /* Back to the long lifetime: a fresh login works, and the draft is what ann saved. */
    relaunch_with_ttl(SESSION_TTL);
    orc_client *again = worker_client();
    char *fresh = NULL;
    login(again, ANN, ANN_PASSWORD, &fresh, NULL);
    assert_string_not_equal(fresh, token);
    assert_true(dashboard_in_progress(again, ANN_TASK_ID));
    char *text = NULL;
    expect_code("task info after a fresh login", orc_task_info_json(again, ANN_TASK_ID, &text, &e),
                ORC_OK, &e);
    json_t *info = parse(text);
    orc_free(text);
    json_t *want = parse(ANN_DATA);
    json_t *task = json_object_get(info, "task");
    if (!json_equal(json_object_get(task, "data"), want) ||
        !is_string(json_object_get(task, "status"), "Processing") ||
        !is_string(json_object_get(info, "status"), "Processing")) {
        char *dump = json_dumps(info, JSON_COMPACT);
        fail_msg("ann's task info after a fresh login: %s", dump ? dump : "?");
    }
    json_decref(want);
    json_decref(info);
    /* The old token stays dead beside the new session. */
    orc_client *old = token_client(token);
    expect_session_refused(old, "expired token beside a new session");
    orc_client_destroy(old);

    expect_code("ann logs out", orc_logout(again, &e), ORC_OK, &e);
    orc_free(fresh);
    orc_free(token);
    orc_client_destroy(again);
    orc_client_destroy(ann);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_setup_state_is_anns_saved_draft),
        cmocka_unit_test(test_other_worker_cannot_save_or_submit_anns_task),
        cmocka_unit_test(test_token_used_again_after_logout_is_unauthenticated),
        cmocka_unit_test(test_made_up_token_is_unauthenticated),
        cmocka_unit_test(test_worker_token_cannot_call_admin_or_project_methods),
        cmocka_unit_test(test_expired_session_is_unauthenticated_and_login_works_again),
    };
    int failed = cmocka_run_group_tests_name("worker_auth", tests, group_setup, group_teardown);
    return failed + group_teardown_failed;
}
