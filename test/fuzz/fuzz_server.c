/*
 * fuzz_server.c: the in-process coordinator of the dispatch fuzz targets (fuzz_server.h).
 */
#include "fuzz_server.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "crypto.h"
#include "rpc/dispatch.h"
#include "rpc/keys.h"
#include "workflow/loader.h"
#include "log.h"
#include "proto/envelope.pb-c.h"
#include "proto/orchestra.pb-c.h"
#include "sign.h"

static fuzz_server *fuzz_the_server;

static void fuzz_close(fuzz_server *fs);

static int64_t fuzz_clock_now(void *arg)
{
    (void)arg;
    return FUZZ_NOW_US;
}

/* Sampled review always reviews: the deeper path. */
static double fuzz_uniform(void *arg)
{
    (void)arg;
    return 0.0;
}

static void fuzz_die(const char *what, const char *why)
{
    fprintf(stderr, "fuzz fixture: %s: %s\n", what, why ? why : "");
    abort();
}

/* ---- envelopes ------------------------------------------------------------------------- */

fuzz_who fuzz_who_from_char(unsigned char c)
{
    switch (c) {
    case 'a':
        return FUZZ_WHO_ADMIN;
    case 'p':
        return FUZZ_WHO_PROJECT;
    case 'e':
        return FUZZ_WHO_EXECUTOR;
    case 'w':
        return FUZZ_WHO_WORKER;
    default:
        return FUZZ_WHO_ANON;
    }
}

int fuzz_server_envelope(const char *method, fuzz_who who, const char *rid, const void *body,
                         size_t len, uint8_t **out, size_t *out_len)
{
    static const char *const key_ids[] = {
        [FUZZ_WHO_ADMIN] = FUZZ_ADMIN_KEY,
        [FUZZ_WHO_PROJECT] = FUZZ_PROJECT_KEY,
        [FUZZ_WHO_EXECUTOR] = FUZZ_EXECUTOR_KEY,
    };
    Orchestra__V1__Request r = ORCHESTRA__V1__REQUEST__INIT;
    Orchestra__V1__Auth a = ORCHESTRA__V1__AUTH__INIT;
    uint8_t mac[ORCI_SHA256_LEN];
    r.method = (char *)method;
    r.request_id = (char *)rid;
    r.body.data = (uint8_t *)(len ? body : NULL);
    r.body.len = len;
    if (who == FUZZ_WHO_ADMIN || who == FUZZ_WHO_PROJECT || who == FUZZ_WHO_EXECUTOR) {
        a.key_id = (char *)key_ids[who];
        a.timestamp = FUZZ_NOW_S;
        orci_sign_request(FUZZ_SECRET, strlen(FUZZ_SECRET), method, rid, a.timestamp,
                          len ? body : "", len, mac);
        a.signature.data = mac;
        a.signature.len = sizeof mac;
        r.auth = &a;
    } else if (who == FUZZ_WHO_WORKER) {
        a.token = FUZZ_WORKER_TOKEN;
        r.auth = &a;
    }
    size_t n = orchestra__v1__request__get_packed_size(&r);
    *out = malloc(n ? n : 1);
    if (!*out)
        return -1;
    *out_len = orchestra__v1__request__pack(&r, *out);
    return 0;
}

int fuzz_server_call(fuzz_server *fs, const char *method, fuzz_who who, const ProtobufCMessage *in)
{
    static unsigned long setup_rid;
    char rid[32];
    snprintf(rid, sizeof rid, "setup-%lu", ++setup_rid);
    size_t body_len = in ? protobuf_c_message_get_packed_size(in) : 0;
    uint8_t *body = malloc(body_len ? body_len : 1);
    uint8_t *env = NULL, *reply = NULL;
    size_t env_len = 0, reply_len = 0;
    int status = -1;
    if (!body)
        return -1;
    if (in)
        protobuf_c_message_pack(in, body);
    if (fuzz_server_envelope(method, who, rid, body, body_len, &env, &env_len) == 0 &&
        orci_dispatch(&fs->srv, fs->rdb, env, env_len, &reply, &reply_len) == ORC_OK) {
        Orchestra__V1__Reply *r = orchestra__v1__reply__unpack(NULL, reply_len, reply);
        if (r) {
            status = (int)r->status;
            if (status != ORC_OK)
                fprintf(stderr, "fuzz fixture: %s: %s\n", method, r->message);
            orchestra__v1__reply__free_unpacked(r, NULL);
        }
    }
    free(reply);
    free(env);
    free(body);
    return status;
}

/* ---- the fixture ----------------------------------------------------------------------- */

typedef struct fuzz_setup_job {
    int64_t user_id;
} fuzz_setup_job;

/* fuzz_keys_fn creates the API keys (a write job). */
static int fuzz_keys_fn(orci_db *db, void *arg, orc_error *err)
{
    (void)arg;
    static const struct {
        const char *id;
        const char *secret;
        unsigned scopes;
    } keys[] = {
        {FUZZ_ADMIN_KEY, FUZZ_SECRET, ORCI_SCOPE_ADMIN},
        {FUZZ_PROJECT_KEY, FUZZ_SECRET, ORCI_SCOPE_PROJECT},
        {FUZZ_EXECUTOR_KEY, FUZZ_SECRET, ORCI_SCOPE_EXECUTOR},
        {FUZZ_LEGACY_KEY, FUZZ_LEGACY_SECRET, ORCI_SCOPE_PROJECT},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        int rc = orci_keys_ensure(db, keys[i].id, keys[i].scopes, keys[i].id, keys[i].secret,
                                  FUZZ_NOW_US, err);
        if (rc != ORC_OK)
            return rc;
    }
    return ORC_OK;
}

/* fuzz_session_fn gives the fixture's worker the known session token (a write job). */
static int fuzz_session_fn(orci_db *db, void *arg, orc_error *err)
{
    (void)arg;
    uint8_t hash[ORCI_SHA256_LEN];
    orci_sha256(FUZZ_WORKER_TOKEN, strlen(FUZZ_WORKER_TOKEN), hash);
    sqlite3_stmt *st = orci_db_stmt(db,
                                    "INSERT INTO sessions (token_hash, user_id, created_at,"
                                    " expires_at) SELECT ?1, id, ?2, ?3 FROM users"
                                    " WHERE username = ?4"
                                    " ON CONFLICT (token_hash) DO UPDATE SET revoked_at = NULL",
                                    err);
    if (!st)
        return ORC_INTERNAL;
    sqlite3_bind_blob(st, 1, hash, sizeof hash, SQLITE_TRANSIENT);
    orci_bind_int(st, 2, FUZZ_NOW_US);
    orci_bind_int(st, 3, FUZZ_NOW_US + 10LL * 365 * 86400 * 1000000);
    orci_bind_text(st, 4, FUZZ_WORKER);
    return orci_db_step(db, st, err);
}

typedef struct fuzz_load_job {
    const orci_load_plan *plan;
} fuzz_load_job;

static int fuzz_load_fn(orci_db *db, void *arg, orc_error *err)
{
    return orci_loader_apply(db, ((fuzz_load_job *)arg)->plan, false, FUZZ_NOW_US, err);
}

/* fuzz_load loads version v1 of the workflow folder plugins/<app>. */
static void fuzz_load(fuzz_server *fs, const char *source_dir, const char *app)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/plugins/%s", source_dir, app);
    Orchestra__V1__WorkflowBundle *b = NULL;
    orci_load_plan *p = NULL;
    orc_error err;
    orc_error_clear(&err);
    if (orci_bundle_read(dir, &b, &err) != ORC_OK)
        fuzz_die(dir, err.message);
    if (orci_loader_plan(b, "v1", &p, &err) != ORC_OK)
        fuzz_die(dir, err.message);
    fuzz_load_job j = {p};
    if (orci_store_write(fs->srv.store, fuzz_load_fn, &j, &err) != ORC_OK)
        fuzz_die(dir, err.message);
    orci_load_plan_free(p);
    orci_bundle_free(b);
}

/* fuzz_people adds the worker (a project admin), certifies it for every journalism role and
 * starts projects. */
static void fuzz_people(fuzz_server *fs)
{
    Orchestra__V1__AddWorkerRequest w = ORCHESTRA__V1__ADD_WORKER_REQUEST__INIT;
    w.username = FUZZ_WORKER;
    w.password = "fuzz-password";
    w.first_name = "Fuzz";
    w.last_name = "Er";
    w.email = "fuzzer@example.org";
    if (fuzz_server_call(fs, "AddWorker", FUZZ_WHO_ADMIN, &w.base) != ORC_OK)
        fuzz_die("AddWorker", "refused");
    /* A project admin too, so the project management methods are reachable by session. */
    Orchestra__V1__SetWorkerAdminRequest a = ORCHESTRA__V1__SET_WORKER_ADMIN_REQUEST__INIT;
    a.username = FUZZ_WORKER;
    a.project_admin = true;
    if (fuzz_server_call(fs, "SetWorkerAdmin", FUZZ_WHO_ADMIN, &a.base) != ORC_OK)
        fuzz_die("SetWorkerAdmin", "refused");
    static const char *const certs[] = {"editor", "reporter", "photographer", "copy_editor"};
    static const char *const roles[] = {"entry_level", "reviewer"};
    for (size_t i = 0; i < 4; i++) {
        for (size_t k = 0; k < 2; k++) {
            Orchestra__V1__CertifyWorkerRequest c = ORCHESTRA__V1__CERTIFY_WORKER_REQUEST__INIT;
            c.username = FUZZ_WORKER;
            c.workflow = "journalism";
            c.certification = (char *)certs[i];
            c.role = (char *)roles[k];
            c.task_class = "real";
            if (fuzz_server_call(fs, "CertifyWorker", FUZZ_WHO_ADMIN, &c.base) != ORC_OK)
                fuzz_die("CertifyWorker", certs[i]);
        }
    }
    static const char *const workflows[] = {"journalism", "simple_workflow"};
    for (size_t i = 0; i < 2; i++) {
        Orchestra__V1__CreateProjectRequest p = ORCHESTRA__V1__CREATE_PROJECT_REQUEST__INIT;
        p.workflow = (char *)workflows[i];
        p.version = "v1";
        p.description = "fuzz";
        p.priority = 10;
        p.task_class = "real";
        p.project_data = "{\"url\":\"http://127.0.0.1:9/\"}";
        if (fuzz_server_call(fs, "CreateProject", FUZZ_WHO_PROJECT, &p.base) != ORC_OK)
            fuzz_die("CreateProject", workflows[i]);
    }
}

/* fuzz_rmdir removes the fixture's folder: the database and its WAL files, no sub-folders. */
static void fuzz_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            char path[600];
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

static void fuzz_server_cleanup(void)
{
    fuzz_server *fs = fuzz_the_server;
    if (!fs)
        return;
    fuzz_the_server = NULL;
    fuzz_close(fs);
    fuzz_rmdir(fs->dir);
    free(fs);
}

/* fuzz_tmpdir picks /dev/shm when usable (no disk syncs), else $TMPDIR or /tmp. */
static void fuzz_tmpdir(char *out, size_t size)
{
    const char *base = getenv("ORC_FUZZ_TMPDIR");
    if (!base || !base[0])
        base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    if (!base || !base[0])
        base = "/tmp";
    snprintf(out, size, "%s/orc-fuzz-XXXXXX", base);
    if (!mkdtemp(out))
        fuzz_die("mkdtemp", out);
}

/* fuzz_open opens the store at fs->dir/orchestra.db and the fuzz thread's reader. */
static void fuzz_open(fuzz_server *fs)
{
    char path[400];
    snprintf(path, sizeof path, "%s/orchestra.db", fs->dir);
    orci_store_opts so = {.path = path};
    orc_error err;
    orc_error_clear(&err);
    if (orci_store_open(&so, &fs->srv.store, &err) != ORC_OK ||
        orci_db_open_reader(fs->srv.store, &fs->rdb, &err) != ORC_OK)
        fuzz_die(path, err.message);
}

static void fuzz_close(fuzz_server *fs)
{
    orci_db_close(fs->rdb);
    orci_store_close(fs->srv.store);
    fs->rdb = NULL;
    fs->srv.store = NULL;
}

/* fuzz_copy_file copies from to to (replacing it); aborts on failure. */
static void fuzz_copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    char buf[65536];
    size_t n;
    while (in && out && (n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            fuzz_die("copy", to);
    if (!in || !out || ferror(in) || fclose(out) != 0)
        fuzz_die("copy", from);
    fclose(in);
}

/*
 * fuzz_use_template saves (save true) the closed database as the fixture's template, or puts
 * the template back in its place (the WAL files go: the template was checkpointed).
 */
static void fuzz_use_template(fuzz_server *fs, bool save)
{
    char db[400], tpl[400], side[420];
    snprintf(db, sizeof db, "%s/orchestra.db", fs->dir);
    snprintf(tpl, sizeof tpl, "%s/template.db", fs->dir);
    if (save) {
        fuzz_copy_file(db, tpl);
        return;
    }
    snprintf(side, sizeof side, "%s-wal", db);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", db);
    unlink(side);
    fuzz_copy_file(tpl, db);
}

fuzz_server *fuzz_server_get(void)
{
    if (fuzz_the_server)
        return fuzz_the_server;
    /* ORC_FUZZ_LOG=debug shows each request's outcome (dispatch logs it at debug). */
    const char *level = getenv("ORC_FUZZ_LOG");
    int lv = level ? orci_log_parse_level(level) : -1;
    orci_log_init("fuzz", lv >= 0 ? (orci_log_level)lv : ORCI_LOG_ERROR);
    const char *every = getenv("ORC_FUZZ_RESET");
    fuzz_server *fs = calloc(1, sizeof *fs);
    if (!fs)
        fuzz_die("calloc", "out of memory");
    fs->reset_every = every && atol(every) > 0 ? (unsigned long)atol(every) : FUZZ_RESET_EVERY;
    fuzz_tmpdir(fs->dir, sizeof fs->dir);
    fuzz_open(fs);
    fs->clock = (orci_clock){fuzz_clock_now, NULL};
    fs->rng = (orci_rng){fuzz_uniform, NULL};
    fs->srv.clock = &fs->clock;
    fs->srv.rng = &fs->rng;
    fs->srv.settings.auth_window_s = 300;
    fs->srv.settings.pbkdf2_iterations = 2; /* AddWorker and Login stay cheap */
    fs->srv.settings.session_ttl_s = 3600;
    fs->srv.started_at_us = FUZZ_NOW_US;
    fuzz_the_server = fs;
    atexit(fuzz_server_cleanup);

    orc_error err;
    orc_error_clear(&err);
    if (orci_store_write(fs->srv.store, fuzz_keys_fn, NULL, &err) != ORC_OK)
        fuzz_die("keys", err.message);
    const char *src = getenv("ORC_SOURCE_DIR");
    if (!src || !src[0])
        src = ORC_FUZZ_SOURCE_DIR;
    fuzz_load(fs, src, "journalism_workflow");
    fuzz_load(fs, src, "simple_workflow");
    fuzz_people(fs);
    if (orci_store_write(fs->srv.store, fuzz_session_fn, NULL, &err) != ORC_OK)
        fuzz_die("session", err.message);
    fuzz_close(fs);
    fuzz_use_template(fs, true);
    fuzz_open(fs);
    return fs;
}

void fuzz_server_next_input(fuzz_server *fs)
{
    if (++fs->inputs % fs->reset_every != 0)
        return;
    fuzz_close(fs);
    fuzz_use_template(fs, false);
    fuzz_open(fs);
}

void fuzz_server_restore_session(fuzz_server *fs)
{
    orc_error err;
    orc_error_clear(&err);
    if (orci_store_write(fs->srv.store, fuzz_session_fn, NULL, &err) != ORC_OK)
        fuzz_die("session", err.message);
}
