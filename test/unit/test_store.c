/* test_store.c: the SQLite store (migrations, writer thread, group commit, statements). */
#define _GNU_SOURCE /* pthread_getname_np, pthread_tryjoin_np */
/* cmocka needs these headers first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/migrations.h"
#include "store/store.h"
#include "support.h"

typedef struct fixture {
    char dir[256];
    char path[320];
    orci_store *s;
} fixture;

static int last_migration(void)
{
    return orci_migrations[orci_migrations_count - 1].version;
}

static orci_store *open_store(fixture *f)
{
    orci_store_opts opts = {.path = f->path};
    orc_error err = {0};
    orci_store *s = NULL;
    int rc = orci_store_open(&opts, &s, &err);
    if (rc != ORC_OK)
        print_error("orci_store_open: %s\n", err.message);
    assert_int_equal(rc, ORC_OK);
    assert_non_null(s);
    return s;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    orc_test_tmpdir("store", f->dir, sizeof f->dir);
    /* a folder that does not exist yet: the store creates it */
    snprintf(f->path, sizeof f->path, "%s/data/orchestra.db", f->dir);
    f->s = open_store(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    orci_store_close(f->s);
    orc_test_rmtree(f->dir);
    free(f);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------ */

typedef struct insert_job {
    const char *username;
    const char *created_at_text; /* when set, bound as TEXT to the INTEGER column */
    bool fail_after;             /* insert, then return an error */
} insert_job;

static int insert_user(orci_db *db, void *arg, orc_error *err)
{
    insert_job *j = arg;
    sqlite3_stmt *st =
        orci_db_stmt(db, "INSERT INTO users (username, created_at) VALUES (?1, ?2)", err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_text(st, 1, j->username);
    if (j->created_at_text != NULL)
        orci_bind_text(st, 2, j->created_at_text);
    else
        orci_bind_int(st, 2, 1);
    int rc = orci_db_step(db, st, err);
    if (rc != ORC_OK)
        return rc;
    if (j->fail_after)
        return orc_error_set(err, ORC_ABORTED, "job %s gave up", j->username);
    return ORC_OK;
}

static int write_user(orci_store *s, const char *username, orc_error *err)
{
    insert_job j = {.username = username};
    return orci_store_write(s, insert_user, &j, err);
}

static int64_t query_int(orci_db *db, const char *sql, const char *param)
{
    orc_error err = {0};
    sqlite3_stmt *st = orci_db_stmt(db, sql, &err);
    assert_non_null(st);
    if (param != NULL)
        orci_bind_text(st, 1, param);
    assert_int_equal(orci_db_row(db, st, &err), 1);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return v;
}

static int64_t count_users(orci_store *s, const char *like)
{
    orci_db *r = NULL;
    orc_error err = {0};
    assert_int_equal(orci_db_open_reader(s, &r, &err), ORC_OK);
    int64_t n = query_int(r, "SELECT count(*) FROM users WHERE username LIKE ?1", like);
    orci_db_close(r);
    return n;
}

/* A gate a write job waits at, holding the writer thread until the test opens it. */
typedef struct gate {
    orc_test_gate gate;
    orci_store *s;
    int result;
    orc_error err;
} gate;

static void gate_init(gate *g, orci_store *s)
{
    memset(g, 0, sizeof *g);
    orc_test_gate_init(&g->gate);
    g->s = s;
}

static int gate_job(orci_db *db, void *arg, orc_error *err)
{
    gate *g = arg;
    insert_job ins = {.username = "gate"};
    int rc = insert_user(db, &ins, err);
    orc_test_gate_enter(&g->gate);
    return rc;
}

static void *gate_thread(void *arg)
{
    gate *g = arg;
    g->result = orci_store_write(g->s, gate_job, g, &g->err);
    return NULL;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- migrations --------------------------------------------------------------------- */

static void test_store_fresh_database_gets_every_migration(void **state)
{
    fixture *f = *state;
    assert_true(orci_migrations_count > 0);
    assert_int_equal(orci_store_schema_version(f->s), last_migration());

    orci_db *r = NULL;
    orc_error err = {0};
    assert_int_equal(orci_db_open_reader(f->s, &r, &err), ORC_OK);
    assert_int_equal(query_int(r, "PRAGMA user_version", NULL), last_migration());
    assert_int_equal(
        query_int(r, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?1",
                  "rpc_replies"),
        1);
    orci_db_close(r);

    /* the database holds secrets: private file in a private folder */
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char folder[300];
    snprintf(folder, sizeof folder, "%s/data", f->dir);
    assert_int_equal(stat(folder, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
}

static void test_store_reopen_is_noop_and_keeps_data(void **state)
{
    fixture *f = *state;
    orc_error err = {0};
    assert_int_equal(write_user(f->s, "alice", &err), ORC_OK);
    orci_store_close(f->s);
    f->s = open_store(f);
    assert_int_equal(orci_store_schema_version(f->s), last_migration());
    assert_int_equal(count_users(f->s, "alice"), 1);
    /* and the data survives a second round */
    orci_store_close(f->s);
    f->s = open_store(f);
    assert_int_equal(count_users(f->s, "alice"), 1);
}

static void set_user_version(const char *path, int v)
{
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v);
    assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
}

static void test_store_refuses_database_from_the_future(void **state)
{
    fixture *f = *state;
    orci_store_close(f->s);
    f->s = NULL;
    set_user_version(f->path, last_migration() + 1);

    orci_store_opts opts = {.path = f->path};
    orc_error err = {0};
    orci_store *s = NULL;
    assert_int_equal(orci_store_open(&opts, &s, &err), ORC_FAILED_PRECONDITION);
    assert_null(s);
    char want[160];
    snprintf(want, sizeof want,
             "database schema version %d is newer than this orchestrad supports (%d)",
             last_migration() + 1, last_migration());
    assert_string_equal(err.message, want);
}

static void test_store_failing_migration_rolls_back_and_names_it(void **state)
{
    fixture *f = *state;
    orci_store_close(f->s);
    f->s = NULL;
    char other[340];
    snprintf(other, sizeof other, "%s/broken.db", f->dir);
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(other, &h), SQLITE_OK);
    /* a table the first migration creates, so it fails half-way */
    assert_int_equal(sqlite3_exec(h, "CREATE TABLE workflows (x INTEGER)", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(h);

    orci_store_opts opts = {.path = other};
    orc_error err = {0};
    orci_store *s = NULL;
    assert_int_equal(orci_store_open(&opts, &s, &err), ORC_INTERNAL);
    assert_null(s);
    assert_non_null(strstr(err.message, orci_migrations[0].name));
    assert_non_null(strstr(err.message, "workflows"));

    assert_int_equal(sqlite3_open(other, &h), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(h,
                                        "SELECT (SELECT user_version FROM pragma_user_version), "
                                        "(SELECT count(*) FROM sqlite_schema WHERE name = "
                                        "'users')",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 0); /* still unmigrated */
    assert_int_equal(sqlite3_column_int(st, 1), 0); /* users (created first) rolled back */
    sqlite3_finalize(st);
    sqlite3_close(h);
}

/* ---- connection settings ------------------------------------------------------------ */

static int insert_orphan_worker(orci_db *db, void *arg, orc_error *err)
{
    (void)arg;
    sqlite3_stmt *st =
        orci_db_stmt(db, "INSERT INTO workers (user_id, start_datetime) VALUES (999999, 0)", err);
    if (st == NULL)
        return ORC_INTERNAL;
    return orci_db_step(db, st, err);
}

static void test_store_uses_wal_and_foreign_keys(void **state)
{
    fixture *f = *state;
    orci_db *r = NULL;
    orc_error err = {0};
    assert_int_equal(orci_db_open_reader(f->s, &r, &err), ORC_OK);
    sqlite3_stmt *st = orci_db_stmt(r, "PRAGMA journal_mode", &err);
    assert_non_null(st);
    assert_int_equal(orci_db_row(r, st, &err), 1);
    assert_string_equal(orci_col_text(st, 0), "wal");
    sqlite3_reset(st);
    assert_int_equal(query_int(r, "PRAGMA foreign_keys", NULL), 1);
    /* readers are read-only */
    st = orci_db_stmt(r, "INSERT INTO users (username, created_at) VALUES ('x', 1)", &err);
    assert_non_null(st);
    assert_int_not_equal(orci_db_step(r, st, &err), ORC_OK);
    orci_db_close(r);

    assert_int_equal(orci_store_write(f->s, insert_orphan_worker, NULL, &err),
                     ORC_FAILED_PRECONDITION);
    assert_non_null(strstr(err.message, "FOREIGN KEY"));
}

static void test_store_strict_refuses_wrong_type(void **state)
{
    fixture *f = *state;
    orc_error err = {0};
    insert_job j = {.username = "typed", .created_at_text = "yesterday"};
    assert_int_equal(orci_store_write(f->s, insert_user, &j, &err), ORC_FAILED_PRECONDITION);
    assert_non_null(strstr(err.message, "cannot store TEXT value in INTEGER column"));
    assert_int_equal(count_users(f->s, "typed"), 0);
}

/* ---- the writer --------------------------------------------------------------------- */

#define WRITER_THREADS 8
#define WRITES_PER_THREAD 50

typedef struct writer_arg {
    orci_store *s;
    int index;
    int failures;
} writer_arg;

static void *writer_thread(void *p)
{
    writer_arg *a = p;
    for (int i = 0; i < WRITES_PER_THREAD; i++) {
        char name[64];
        snprintf(name, sizeof name, "w%d-%d", a->index, i);
        orc_error err = {0};
        if (write_user(a->s, name, &err) != ORC_OK)
            a->failures++;
    }
    return NULL;
}

static void test_store_concurrent_writes_all_commit(void **state)
{
    fixture *f = *state;
    pthread_t t[WRITER_THREADS];
    writer_arg a[WRITER_THREADS];
    for (int i = 0; i < WRITER_THREADS; i++) {
        a[i] = (writer_arg){.s = f->s, .index = i};
        assert_int_equal(pthread_create(&t[i], NULL, writer_thread, &a[i]), 0);
    }
    for (int i = 0; i < WRITER_THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(a[i].failures, 0);
    }
    assert_int_equal(count_users(f->s, "w%"), WRITER_THREADS * WRITES_PER_THREAD);
    /* and they are on disk: a fresh store sees them */
    orci_store_close(f->s);
    f->s = open_store(f);
    assert_int_equal(count_users(f->s, "w%"), WRITER_THREADS * WRITES_PER_THREAD);
}

typedef struct queued_write {
    orci_store *s;
    insert_job job;
    int result;
    orc_error err;
    pthread_mutex_t *mu;
    pthread_cond_t *cv;
    int *started;
} queued_write;

static void *queued_thread(void *p)
{
    queued_write *q = p;
    pthread_mutex_lock(q->mu);
    (*q->started)++;
    pthread_cond_broadcast(q->cv);
    pthread_mutex_unlock(q->mu);
    q->result = orci_store_write(q->s, insert_user, &q->job, &q->err);
    return NULL;
}

static void test_store_failing_job_rolls_back_only_its_own_changes(void **state)
{
    fixture *f = *state;
    /* Hold the writer so that the next jobs queue up and (most likely) share one batch;
     * the outcome asserted below must hold however they are batched. */
    gate g;
    gate_init(&g, f->s);
    pthread_t gt;
    assert_int_equal(pthread_create(&gt, NULL, gate_thread, &g), 0);
    orc_test_gate_wait_entered(&g.gate);

    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
    int started = 0;
    const char *names[3] = {"good-1", "bad", "good-2"};
    queued_write q[3];
    pthread_t t[3];
    for (int i = 0; i < 3; i++) {
        q[i] = (queued_write){.s = f->s, .mu = &mu, .cv = &cv, .started = &started};
        q[i].job.username = names[i];
        q[i].job.fail_after = i == 1;
        assert_int_equal(pthread_create(&t[i], NULL, queued_thread, &q[i]), 0);
    }
    pthread_mutex_lock(&mu);
    while (started < 3)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    sleep_ms(50);
    orc_test_gate_open(&g.gate);
    pthread_join(gt, NULL);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);

    assert_int_equal(g.result, ORC_OK);
    assert_int_equal(q[0].result, ORC_OK);
    assert_int_equal(q[1].result, ORC_ABORTED);
    assert_string_equal(q[1].err.message, "job bad gave up");
    assert_int_equal(q[2].result, ORC_OK);
    assert_int_equal(count_users(f->s, "good-%"), 2);
    assert_int_equal(count_users(f->s, "bad"), 0);
    assert_int_equal(count_users(f->s, "gate"), 1);
    orc_test_gate_fini(&g.gate);
}

static void *close_thread(void *p)
{
    orci_store_close(p);
    return NULL;
}

static int noop_job(orci_db *db, void *arg, orc_error *err)
{
    (void)db;
    (void)arg;
    (void)err;
    return ORC_OK;
}

static void never_done(void *arg, int status, const orc_error *err)
{
    (void)arg;
    (void)status;
    (void)err;
    fail_msg("a refused asynchronous job was called back");
}

static void test_store_write_refused_once_close_starts(void **state)
{
    fixture *f = *state;
    gate g;
    gate_init(&g, f->s);
    pthread_t gt, ct;
    assert_int_equal(pthread_create(&gt, NULL, gate_thread, &g), 0);
    orc_test_gate_wait_entered(&g.gate);
    assert_int_equal(pthread_create(&ct, NULL, close_thread, f->s), 0);

    /* The close cannot finish while the gate job runs; wait until it has started. */
    orc_error err = {0};
    for (;;) {
        orci_db *r = NULL;
        int rc = orci_db_open_reader(f->s, &r, &err);
        if (rc == ORC_UNAVAILABLE)
            break;
        assert_int_equal(rc, ORC_OK);
        orci_db_close(r);
        sleep_ms(1);
    }
    assert_int_equal(orci_store_write(f->s, noop_job, NULL, &err), ORC_UNAVAILABLE);
    assert_string_equal(err.message, "store is closing");
    /* An asynchronous job is refused too, and its callback never comes. */
    orc_error aerr = {0};
    assert_int_equal(orci_store_write_async(f->s, noop_job, NULL, never_done, NULL, &aerr),
                     ORC_UNAVAILABLE);
    assert_string_equal(aerr.message, "store is closing");

    orc_test_gate_open(&g.gate);
    pthread_join(gt, NULL);
    pthread_join(ct, NULL);
    f->s = NULL;
    /* the job that was running when close started still committed */
    assert_int_equal(g.result, ORC_OK);
    f->s = open_store(f);
    assert_int_equal(count_users(f->s, "gate"), 1);
    orc_test_gate_fini(&g.gate);
}

typedef struct nested {
    orci_store *s;
    int result;
} nested;

static int nested_job(orci_db *db, void *arg, orc_error *err)
{
    (void)db;
    (void)err;
    nested *n = arg;
    orc_error inner = {0};
    n->result = orci_store_write(n->s, noop_job, NULL, &inner);
    return ORC_OK;
}

static void test_store_write_from_writer_thread_is_refused(void **state)
{
    fixture *f = *state;
    nested n = {.s = f->s, .result = -1};
    orc_error err = {0};
    assert_int_equal(orci_store_write(f->s, nested_job, &n, &err), ORC_OK);
    assert_int_equal(n.result, ORC_INTERNAL);
}

static int rollback_job(orci_db *db, void *arg, orc_error *err)
{
    int rc = insert_user(db, arg, err);
    if (rc != ORC_OK)
        return rc;
    return orci_db_exec(db, "ROLLBACK", err);
}

static void test_store_job_ending_transaction_fails_cleanly(void **state)
{
    fixture *f = *state;
    orc_error err = {0};
    insert_job j = {.username = "rogue"};
    assert_int_equal(orci_store_write(f->s, rollback_job, &j, &err), ORC_INTERNAL);
    assert_int_equal(count_users(f->s, "rogue"), 0);
    /* the writer keeps working */
    assert_int_equal(write_user(f->s, "after", &err), ORC_OK);
    assert_int_equal(count_users(f->s, "after"), 1);
}

/* A lone job's view: whether it ran bare, and what it does there (bare_job). */
typedef struct bare_probe {
    enum { BARE_KEEP, BARE_FAIL, BARE_DISCARD, BARE_AGAIN } mode;
    int runs;
    bool bare[2];
} bare_probe;

static int bare_job(orci_db *db, void *arg, orc_error *err)
{
    bare_probe *p = arg;
    bool bare = orci_db_bare(db);
    if (p->runs < 2)
        p->bare[p->runs] = bare;
    p->runs++;
    insert_job ins = {.username = bare ? "bare" : "in-savepoint"};
    int rc = insert_user(db, &ins, err);
    if (rc != ORC_OK)
        return rc;
    if (p->mode == BARE_FAIL)
        return orc_error_set(err, ORC_FAILED_PRECONDITION, "refused");
    if (p->mode == BARE_DISCARD && bare)
        orci_db_discard(db);
    if (p->mode == BARE_AGAIN && bare)
        return orci_db_again(db, err);
    return ORC_OK;
}

static int delete_users(orci_db *db, void *arg, orc_error *err)
{
    (void)arg;
    return orci_db_exec(db, "DELETE FROM users", err);
}

/* bare_run runs a probe in mode alone and returns how many users it left behind. */
static int bare_run(fixture *f, bare_probe *p, int expect)
{
    orc_error err = {0};
    assert_int_equal(orci_store_write(f->s, bare_job, p, &err), expect);
    int kept = count_users(f->s, "bare") + count_users(f->s, "in-savepoint");
    orc_error_clear(&err);
    assert_int_equal(orci_store_write(f->s, delete_users, NULL, &err), ORC_OK);
    return kept;
}

/* The only job of a transaction runs without a savepoint, and may ask for one. */
static void test_store_a_lone_job_runs_bare(void **state)
{
    fixture *f = *state;
    bare_probe keep = {.mode = BARE_KEEP};
    assert_int_equal(bare_run(f, &keep, ORC_OK), 1);
    assert_int_equal(keep.runs, 1);
    assert_true(keep.bare[0]);

    bare_probe fail = {.mode = BARE_FAIL};
    assert_int_equal(bare_run(f, &fail, ORC_FAILED_PRECONDITION), 0);
    assert_int_equal(fail.runs, 1);

    bare_probe discard = {.mode = BARE_DISCARD};
    assert_int_equal(bare_run(f, &discard, ORC_OK), 0);
    assert_int_equal(discard.runs, 1);

    /* Run again in a savepoint: only the second run's change is kept. */
    bare_probe again = {.mode = BARE_AGAIN};
    orc_error err = {0};
    assert_int_equal(orci_store_write(f->s, bare_job, &again, &err), ORC_OK);
    assert_int_equal(again.runs, 2);
    assert_true(again.bare[0]);
    assert_false(again.bare[1]);
    assert_int_equal(count_users(f->s, "bare"), 0);
    assert_int_equal(count_users(f->s, "in-savepoint"), 1);
}

/* ---- statements --------------------------------------------------------------------- */

static int insert_twice(orci_db *db, void *arg, orc_error *err)
{
    orc_error *second = arg;
    insert_job j = {.username = "bob"};
    int rc = insert_user(db, &j, err);
    if (rc != ORC_OK)
        return rc;
    int rc2 = insert_user(db, &j, second);
    return rc2 == ORC_ALREADY_EXISTS ? ORC_OK : ORC_INTERNAL;
}

static void test_store_step_maps_unique_violation_to_already_exists(void **state)
{
    fixture *f = *state;
    orc_error err = {0}, second = {0};
    assert_int_equal(orci_store_write(f->s, insert_twice, &second, &err), ORC_OK);
    assert_int_equal(second.code, ORC_ALREADY_EXISTS);
    assert_non_null(strstr(second.message, "UNIQUE constraint failed: users.username"));
    assert_int_equal(count_users(f->s, "bob"), 1);
    /* through the writer too */
    assert_int_equal(write_user(f->s, "bob", &err), ORC_ALREADY_EXISTS);
}

static void test_store_reader_sees_committed_write(void **state)
{
    fixture *f = *state;
    orci_db *r = NULL;
    orc_error err = {0};
    assert_int_equal(orci_db_open_reader(f->s, &r, &err), ORC_OK);
    const char *sql = "SELECT count(*) FROM users WHERE username = ?1";
    assert_int_equal(query_int(r, sql, "carol"), 0);
    assert_int_equal(write_user(f->s, "carol", &err), ORC_OK);
    assert_int_equal(query_int(r, sql, "carol"), 1);
    orci_db_close(r);
}

static void test_store_statement_cache_holds_hundreds(void **state)
{
    fixture *f = *state;
    orci_db *r = NULL;
    orc_error err = {0};
    assert_int_equal(orci_db_open_reader(f->s, &r, &err), ORC_OK);
    enum { N = 300 };
    char *texts[N];
    sqlite3_stmt *first[N];
    for (int i = 0; i < N; i++) {
        texts[i] = malloc(48);
        assert_non_null(texts[i]);
        snprintf(texts[i], 48, "SELECT %d + ?1", i);
        first[i] = orci_db_stmt(r, texts[i], &err);
        assert_non_null(first[i]);
        sqlite3_bind_int(first[i], 1, 1000);
        assert_int_equal(orci_db_row(r, first[i], &err), 1);
        assert_int_equal(sqlite3_column_int(first[i], 0), i + 1000);
        /* left mid-step on purpose: the next lookup resets it */
    }
    for (int i = 0; i < N; i++) {
        char copy[48]; /* same text, another pointer */
        snprintf(copy, sizeof copy, "SELECT %d + ?1", i);
        sqlite3_stmt *st = orci_db_stmt(r, copy, &err);
        assert_ptr_equal(st, first[i]);
        /* bindings were cleared: NULL + NULL */
        assert_int_equal(orci_db_row(r, st, &err), 1);
        assert_int_equal(sqlite3_column_type(st, 0), SQLITE_NULL);
        assert_int_equal(orci_db_row(r, st, &err), 0);
        free(texts[i]);
    }
    assert_null(orci_db_stmt(r, "SELECT FROM nowhere", &err));
    assert_int_equal(err.code, ORC_INTERNAL);
    orci_db_close(r);
}

/* ---- asynchronous writes and the checkpointer ---------------------------------------- */

typedef struct async_seen {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int calls;
    int status[4];
    int64_t visible[4]; /* rows of the user the job wrote, read in the callback */
    bool off_caller;    /* no callback ran on the thread that queued the jobs */
    pthread_t caller;
    orci_db *reader;
} async_seen;

typedef struct async_job {
    async_seen *seen;
    insert_job insert;
    int index;
} async_job;

static int async_insert(orci_db *db, void *arg, orc_error *err)
{
    return insert_user(db, &((async_job *)arg)->insert, err);
}

static void async_done(void *arg, int status, const orc_error *err)
{
    async_job *j = arg;
    async_seen *s = j->seen;
    (void)err;
    /* Called after the commit: another connection already sees the row. */
    int64_t rows =
        query_int(s->reader, "SELECT count(*) FROM users WHERE username = ?1", j->insert.username);
    pthread_mutex_lock(&s->mu);
    if (pthread_equal(s->caller, pthread_self()))
        s->off_caller = false;
    s->status[j->index] = status;
    s->visible[j->index] = rows;
    s->calls++;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/*
 * With the writer idle and nothing queued, a lone asynchronous job runs on its caller's
 * thread (store.c, "A job run by its caller"): committed, synced and answered before
 * orci_store_write_async_lone returns; orci_store_write_async leaves it to the writer. With
 * the writer busy, jobs queue and the writer runs them (as one batch, most likely) and
 * answers them on its own thread; a failing job loses only its own changes either way.
 */
static void test_store_write_async_calls_back_after_commit(void **state)
{
    fixture *f = *state;
    async_seen seen = {.off_caller = true, .caller = pthread_self()};
    pthread_mutex_init(&seen.mu, NULL);
    pthread_cond_init(&seen.cv, NULL);
    orc_error err = {0};
    assert_int_equal(orci_db_open_reader(f->s, &seen.reader, &err), ORC_OK);

    async_job first = {&seen, {.username = "async-idle"}, 3};
    assert_int_equal(
        orci_store_write_async_lone(f->s, async_insert, &first, async_done, &first, &err), ORC_OK);
    assert_int_equal(seen.calls, 1); /* answered already, on this thread */
    assert_false(seen.off_caller);
    assert_int_equal(seen.status[3], ORC_OK);
    assert_int_equal(seen.visible[3], 1);
    seen.calls = 0;
    seen.off_caller = true;
    async_job queued = {&seen, {.username = "async-queued"}, 3};
    assert_int_equal(orci_store_write_async(f->s, async_insert, &queued, async_done, &queued, &err),
                     ORC_OK);
    pthread_mutex_lock(&seen.mu);
    while (seen.calls < 1)
        pthread_cond_wait(&seen.cv, &seen.mu);
    pthread_mutex_unlock(&seen.mu);
    assert_true(seen.off_caller); /* the writer's */
    assert_int_equal(seen.visible[3], 1);

    gate g;
    gate_init(&g, f->s);
    pthread_t gt;
    assert_int_equal(pthread_create(&gt, NULL, gate_thread, &g), 0);
    orc_test_gate_wait_entered(&g.gate);
    seen.calls = 0;
    seen.off_caller = true;
    async_job jobs[3] = {
        {&seen, {.username = "async-a"}, 0},
        {&seen, {.username = "async-b", .fail_after = true}, 1},
        {&seen, {.username = "async-c"}, 2},
    };
    for (int i = 0; i < 3; i++)
        assert_int_equal(
            orci_store_write_async(f->s, async_insert, &jobs[i], async_done, &jobs[i], &err),
            ORC_OK);
    pthread_mutex_lock(&seen.mu);
    assert_int_equal(seen.calls, 0); /* queued behind the gate */
    pthread_mutex_unlock(&seen.mu);
    orc_test_gate_open(&g.gate);
    pthread_join(gt, NULL);
    pthread_mutex_lock(&seen.mu);
    while (seen.calls < 3)
        pthread_cond_wait(&seen.cv, &seen.mu);
    pthread_mutex_unlock(&seen.mu);
    assert_int_equal(g.result, ORC_OK);
    assert_true(seen.off_caller);
    assert_int_equal(seen.status[0], ORC_OK);
    assert_int_equal(seen.visible[0], 1);
    /* A failing job gets its error, and only its own changes are gone. */
    assert_int_equal(seen.status[1], ORC_ABORTED);
    assert_int_equal(seen.visible[1], 0);
    assert_int_equal(seen.status[2], ORC_OK);
    assert_int_equal(seen.visible[2], 1);
    orc_test_gate_fini(&g.gate);
    orci_db_close(seen.reader);
    pthread_cond_destroy(&seen.cv);
    pthread_mutex_destroy(&seen.mu);
}

/* Many threads queue asynchronous jobs at once: some run on their caller's thread, the
 * rest on the writer's; never two on the connection at the same time, and each is answered
 * once with its row committed. */
#define OVERLAP_THREADS 4
#define OVERLAP_JOBS 50

typedef struct overlap_run {
    atomic_int inside;  /* jobs running now */
    atomic_int overlap; /* times a job found another running */
    atomic_int answered;
    atomic_int failed;
    orci_store *s;
} overlap_run;

typedef struct overlap_arg {
    overlap_run *run;
    insert_job insert;
    char name[32];
} overlap_arg;

static int overlap_job(orci_db *db, void *arg, orc_error *err)
{
    overlap_arg *a = arg;
    if (atomic_fetch_add(&a->run->inside, 1) != 0)
        atomic_fetch_add(&a->run->overlap, 1);
    int rc = insert_user(db, &a->insert, err);
    atomic_fetch_sub(&a->run->inside, 1);
    return rc;
}

static void overlap_done(void *arg, int status, const orc_error *err)
{
    (void)err;
    overlap_arg *a = arg;
    if (status != ORC_OK)
        atomic_fetch_add(&a->run->failed, 1);
    atomic_fetch_add(&a->run->answered, 1);
}

static void *overlap_thread(void *p)
{
    overlap_arg *args = p;
    orc_error err = {0};
    for (int i = 0; i < OVERLAP_JOBS; i++)
        if ((i % 2 ? orci_store_write_async : orci_store_write_async_lone)(
                args[i].run->s, overlap_job, &args[i], overlap_done, &args[i], &err) != ORC_OK)
            atomic_fetch_add(&args[i].run->failed, 1);
    return NULL;
}

static void test_store_async_jobs_of_many_threads_never_share_the_connection(void **state)
{
    fixture *f = *state;
    overlap_run run = {.s = f->s};
    static overlap_arg args[OVERLAP_THREADS][OVERLAP_JOBS];
    pthread_t t[OVERLAP_THREADS];
    for (int i = 0; i < OVERLAP_THREADS; i++) {
        for (int j = 0; j < OVERLAP_JOBS; j++) {
            overlap_arg *a = &args[i][j];
            a->run = &run;
            snprintf(a->name, sizeof a->name, "overlap-%d-%d", i, j);
            a->insert = (insert_job){.username = a->name};
        }
        assert_int_equal(pthread_create(&t[i], NULL, overlap_thread, args[i]), 0);
    }
    for (int i = 0; i < OVERLAP_THREADS; i++)
        pthread_join(t[i], NULL);
    for (int waited = 0; atomic_load(&run.answered) < OVERLAP_THREADS * OVERLAP_JOBS; waited++) {
        assert_true(waited < 10000);
        sleep_ms(1);
    }
    assert_int_equal(atomic_load(&run.overlap), 0);
    assert_int_equal(atomic_load(&run.failed), 0);
    assert_int_equal(count_users(f->s, "overlap-%"), OVERLAP_THREADS * OVERLAP_JOBS);
}

/* ---- deferred statements ------------------------------------------------------------- */

#define BUMP "UPDATE counter SET n = n + ?1, runs = runs + 1"

typedef struct defer_case {
    int defers;   /* requests */
    int undefers; /* taken back */
    bool fail;    /* the job fails after them */
    bool nested;  /* they are made inside a savepoint that is rolled back */
} defer_case;

static int defer_job(orci_db *db, void *arg, orc_error *err)
{
    defer_case *c = arg;
    int rc = orci_db_exec(db,
                          "CREATE TABLE IF NOT EXISTS counter (n INTEGER NOT NULL, runs INTEGER"
                          " NOT NULL); INSERT INTO counter SELECT 0, 0 WHERE NOT EXISTS"
                          " (SELECT 1 FROM counter)",
                          err);
    if (rc == ORC_OK && c->nested)
        rc = orci_db_exec(db, "SAVEPOINT inner_one", err);
    for (int i = 0; rc == ORC_OK && i < c->defers; i++)
        rc = orci_db_defer(db, BUMP, err);
    orc_error other = {0};
    if (rc == ORC_OK && c->defers > 0 && orci_db_defer(db, "SELECT 1", &other) != ORC_INTERNAL)
        return orc_error_set(err, ORC_INTERNAL, "a second statement was deferred");
    for (int i = 0; i < c->undefers; i++)
        orci_db_undefer(db);
    if (rc == ORC_OK && c->nested)
        rc = orci_db_exec(db, "ROLLBACK TO inner_one", err);
    if (rc == ORC_OK && c->nested)
        rc = orci_db_exec(db, "RELEASE inner_one", err);
    return rc == ORC_OK && c->fail ? orc_error_set(err, ORC_ABORTED, "failed") : rc;
}

/* counter_of reads a column of the counter table on a reader of its own. */
static int64_t counter_of(orci_store *s, const char *sql)
{
    orci_db *r = NULL;
    orc_error err = {0};
    assert_int_equal(orci_db_open_reader(s, &r, &err), ORC_OK);
    int64_t n = query_int(r, sql, NULL);
    orci_db_close(r);
    return n;
}

/* A statement deferred n times runs once with ?1 = n; taken back, it does not run; a failed
 * job's requests go with it, and so do requests made inside a savepoint rolled back. */
static void test_store_deferred_statement_runs_once_per_job(void **state)
{
    fixture *f = *state;
    orc_error err = {0};
    defer_case c = {.defers = 3};
    assert_int_equal(orci_store_write(f->s, defer_job, &c, &err), ORC_OK);
    assert_int_equal(counter_of(f->s, "SELECT n FROM counter"), 3);
    assert_int_equal(counter_of(f->s, "SELECT runs FROM counter"), 1);
    c = (defer_case){.defers = 2, .undefers = 1};
    assert_int_equal(orci_store_write(f->s, defer_job, &c, &err), ORC_OK);
    assert_int_equal(counter_of(f->s, "SELECT n FROM counter"), 4);
    c = (defer_case){.defers = 1, .undefers = 1};
    assert_int_equal(orci_store_write(f->s, defer_job, &c, &err), ORC_OK);
    assert_int_equal(counter_of(f->s, "SELECT runs FROM counter"), 2);
    c = (defer_case){.defers = 5, .fail = true};
    assert_int_equal(orci_store_write(f->s, defer_job, &c, &err), ORC_ABORTED);
    c = (defer_case){.defers = 5, .nested = true};
    assert_int_equal(orci_store_write(f->s, defer_job, &c, &err), ORC_OK);
    c = (defer_case){0};
    assert_int_equal(orci_store_write(f->s, defer_job, &c, &err), ORC_OK);
    assert_int_equal(counter_of(f->s, "SELECT n FROM counter"), 4);
    assert_int_equal(counter_of(f->s, "SELECT runs FROM counter"), 2);
}

typedef struct blob_job {
    int rows;
} blob_job;

static int insert_blobs(orci_db *db, void *arg, orc_error *err)
{
    blob_job *j = arg;
    int rc = orci_db_exec(db, "CREATE TABLE IF NOT EXISTS blobs (b BLOB) STRICT", err);
    sqlite3_stmt *st = rc == ORC_OK ? orci_db_stmt(db, "INSERT INTO blobs VALUES (?1)", err) : NULL;
    if (st == NULL)
        return ORC_INTERNAL;
    for (int i = 0; i < j->rows && rc == ORC_OK; i++) {
        sqlite3_bind_zeroblob(st, 1, 4000); /* about one page each */
        rc = orci_db_step(db, st, err);
    }
    return rc;
}

static off_t file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? sb.st_size : 0;
}

static void test_store_checkpoints_while_open(void **state)
{
    fixture *f = *state;
    off_t before = file_size(f->path);
    orc_error err = {0};
    /* About 3,000 pages, in 30 commits: well past the checkpoint threshold (1,000). */
    for (int i = 0; i < 30; i++) {
        blob_job j = {.rows = 100};
        assert_int_equal(orci_store_write(f->s, insert_blobs, &j, &err), ORC_OK);
    }
    /* The WAL is copied back into the database while the store stays open (by the
     * checkpointer thread, not at close): the database file grows with the data. */
    off_t want = before + (off_t)1000 * 4096;
    for (int waited = 0; file_size(f->path) < want && waited < 20000; waited += 50) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_true(file_size(f->path) >= want);
}

static void test_store_wal_stays_bounded_under_steady_writes(void **state)
{
    fixture *f = *state;
    char wal[400];
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    orc_error err = {0};
    /* About 12,000 pages without a pause: a checkpoint racing the writer never copies the
     * last frame, so only the writer's own checkpoint past 4,000 pages lets the WAL start
     * over; without it the WAL would hold every page written. */
    off_t most = 0;
    for (int i = 0; i < 120; i++) {
        blob_job j = {.rows = 100};
        assert_int_equal(orci_store_write(f->s, insert_blobs, &j, &err), ORC_OK);
        if (file_size(wal) > most)
            most = file_size(wal);
    }
    /* A WAL frame is a 24-byte header and a 4,096-byte page. */
    assert_true(most > 0);
    assert_true(most < (off_t)6000 * (4096 + 24));
}

/* ---- durability: nothing is answered before the WAL's fdatasync ------------------------ */

/* Holds each fdatasync of the WAL (orci_store_opts.before_sync) until the test lets it go. */
typedef struct sync_hold {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int arrived;            /* syncs that reached the hook */
    int released;           /* syncs let through */
    char thread[2][16];     /* the threads of the first two */
    int hooks;              /* commit hook calls */
    atomic_bool a_answered; /* the asynchronous job's callback ran */
} sync_hold;

static void hold_sync(void *arg)
{
    sync_hold *h = arg;
    pthread_mutex_lock(&h->mu);
    int me = h->arrived++;
    if (me < 2)
        pthread_getname_np(pthread_self(), h->thread[me], sizeof h->thread[me]);
    pthread_cond_broadcast(&h->cv);
    while (h->released <= me)
        pthread_cond_wait(&h->cv, &h->mu);
    pthread_mutex_unlock(&h->mu);
}

static void hold_count_hook(void *arg)
{
    sync_hold *h = arg;
    pthread_mutex_lock(&h->mu);
    h->hooks++;
    pthread_mutex_unlock(&h->mu);
}

static void hold_answered(void *arg, int status, const orc_error *err)
{
    (void)err;
    assert_int_equal(status, ORC_OK);
    atomic_store(&((sync_hold *)arg)->a_answered, true);
}

typedef struct durable_reader {
    orci_store *s;
    atomic_bool done;
} durable_reader;

static void *wait_durable_thread(void *arg)
{
    durable_reader *r = arg;
    orci_store_wait_durable(r->s);
    atomic_store(&r->done, true);
    return NULL;
}

static void test_store_answers_wait_for_the_wal_sync(void **state)
{
    fixture *f = *state;
    orci_store_close(f->s);
    sync_hold h = {.released = 0};
    pthread_mutex_init(&h.mu, NULL);
    pthread_cond_init(&h.cv, NULL);
    orci_store_opts opts = {.path = f->path, .before_sync = hold_sync, .before_sync_arg = &h};
    orc_error err = {0};
    assert_int_equal(orci_store_open(&opts, &f->s, &err), ORC_OK);
    orci_store_set_commit_hook(f->s, hold_count_hook, &h);

    /* G holds the writer while A queues: G's batch is then handed to the syncer (another
     * job waits), and A's, alone, is synced on the writer's own thread. */
    gate g;
    gate_init(&g, f->s);
    pthread_t gt;
    assert_int_equal(pthread_create(&gt, NULL, gate_thread, &g), 0);
    orc_test_gate_wait_entered(&g.gate);
    insert_job a = {.username = "durable-a"};
    assert_int_equal(orci_store_write_async(f->s, insert_user, &a, hold_answered, &h, &err),
                     ORC_OK);
    orc_test_gate_open(&g.gate);
    pthread_mutex_lock(&h.mu);
    while (h.arrived < 2)
        pthread_cond_wait(&h.cv, &h.mu);
    pthread_mutex_unlock(&h.mu);

    /* Both batches are committed (another connection sees them), yet nobody was answered,
     * the commit hook did not run, and a reader's reply waits as well. What was seen is
     * checked once the syncs are let go, so that a failure leaves no thread stuck. */
    int64_t rows = count_users(f->s, "gate") + count_users(f->s, "durable-a");
    durable_reader r = {.s = f->s};
    pthread_t rt;
    assert_int_equal(pthread_create(&rt, NULL, wait_durable_thread, &r), 0);
    sleep_ms(100);
    pthread_mutex_lock(&h.mu);
    int hooks = h.hooks;
    bool answered =
        atomic_load(&h.a_answered) || atomic_load(&r.done) || pthread_tryjoin_np(gt, NULL) != EBUSY;
    char names[2][16];
    memcpy(names, h.thread, sizeof names);
    h.released = 1 << 30; /* this and every later sync pass */
    pthread_cond_broadcast(&h.cv);
    pthread_mutex_unlock(&h.mu);
    assert_int_equal(rows, 2);
    assert_int_equal(hooks, 0);
    assert_false(answered);
    bool syncer = strcmp(names[0], "orc:syncer") == 0 || strcmp(names[1], "orc:syncer") == 0;
    bool writer = strcmp(names[0], "orc:writer") == 0 || strcmp(names[1], "orc:writer") == 0;
    if (!syncer || !writer)
        fail_msg("the syncs ran on %s and %s", names[0], names[1]);

    assert_int_equal(pthread_join(gt, NULL), 0);
    assert_int_equal(g.result, ORC_OK);
    assert_int_equal(pthread_join(rt, NULL), 0);
    assert_true(atomic_load(&r.done));
    for (int waited = 0; !atomic_load(&h.a_answered) && waited < 10000; waited += 5)
        sleep_ms(5);
    assert_true(atomic_load(&h.a_answered));
    pthread_mutex_lock(&h.mu);
    hooks = h.hooks;
    pthread_mutex_unlock(&h.mu);
    assert_true(hooks >= 1);
    orci_store_close(f->s);
    f->s = NULL;
    orc_test_gate_fini(&g.gate);
    pthread_cond_destroy(&h.cv);
    pthread_mutex_destroy(&h.mu);
}

/* break_wal_sync (before_sync) puts a pipe where the store's own read-only descriptor of the
 * WAL was: its fdatasync then fails (EINVAL), as a failing disk's would (EIO). */
static void break_wal_sync(void *arg)
{
    (void)arg;
    int p[2];
    if (pipe(p) != 0)
        return;
    char link[64], target[512];
    for (int fd = 3; fd < 1024; fd++) {
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n < 4)
            continue;
        target[n] = '\0';
        int fl = fcntl(fd, F_GETFL);
        if (strcmp(target + n - 4, "-wal") == 0 && fl >= 0 && (fl & O_ACCMODE) == O_RDONLY)
            dup2(p[0], fd);
    }
}

/* In a child: a write whose WAL sync fails is never answered, and the process exits 1. */
static void test_store_a_failed_wal_sync_stops_the_process(void **state)
{
    fixture *f = *state;
    orci_store_close(f->s);
    f->s = NULL;
    int out[2];
    assert_int_equal(pipe(out), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        dup2(out[1], STDERR_FILENO);
        orci_store_opts opts = {.path = f->path, .before_sync = break_wal_sync};
        orci_store *s = NULL;
        orc_error err = {0};
        if (orci_store_open(&opts, &s, &err) != ORC_OK)
            _exit(7);
        int rc = write_user(s, "never-answered", &err);
        printf("write returned %d\n", rc);
        fflush(stdout);
        _exit(0);
    }
    close(out[1]);
    char buf[4096];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof buf - 1 && (n = read(out[0], buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
    close(out[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 1 || strstr(buf, "write returned") != NULL ||
        strstr(buf, "cannot sync the WAL") == NULL)
        fail_msg("status %d, output:\n%s", status, buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_fresh_database_gets_every_migration, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_reopen_is_noop_and_keeps_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_refuses_database_from_the_future, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_failing_migration_rolls_back_and_names_it, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_uses_wal_and_foreign_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_strict_refuses_wrong_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_concurrent_writes_all_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_failing_job_rolls_back_only_its_own_changes,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_write_refused_once_close_starts, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_write_from_writer_thread_is_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_job_ending_transaction_fails_cleanly, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_step_maps_unique_violation_to_already_exists,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_reader_sees_committed_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_a_lone_job_runs_bare, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_statement_cache_holds_hundreds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_write_async_calls_back_after_commit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_store_async_jobs_of_many_threads_never_share_the_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_deferred_statement_runs_once_per_job, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_answers_wait_for_the_wal_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_a_failed_wal_sync_stops_the_process, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_checkpoints_while_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_wal_stays_bounded_under_steady_writes, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
