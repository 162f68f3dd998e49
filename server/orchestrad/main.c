/*
 * main.c: the orchestrad daemon and its admin subcommands (`orchestrad keys ...`,
 * `orchestrad check`).
 *
 * The daemon locks its database (one coordinator per database: <db>.lock), opens the
 * store, serves RPC (rpc.c) and binds the event feed until SIGTERM or SIGINT, then stops in
 * order: RPC (answering what it already received), the event socket, the store. SIGHUP
 * reopens the log file. Every nng close has a deadline (daemon.h): after one times out no
 * further nng call is made, and the process leaves once the store is closed.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "crypto.h"
#include "daemon.h"
#include "files.h"
#include "rpc/dispatch.h"
#include "store/events.h"
#include "rpc/keys.h"
#include "domain/lifecycle.h"
#include "log.h"
#include "metrics.h"
#include "options.h"
#include "rpc/observe_http.h"
#include "rpc/rpc.h"
#include "svc/observe.h"
#include "svc/server.h"
#include "store/db.h"
#include "store/migrate.h"
#include "store/store.h"

#define DEFAULT_DB "./orchestra-data/orchestra.db"
#define DEFAULT_RPC "tcp://127.0.0.1:7400"
#define DEFAULT_EVENTS "tcp://127.0.0.1:7401"
#define DEV_KEY_ID "orchestra-user"
#define DEV_KEY_SECRET "CHANGEME"
#define EXIT_USAGE 2
#define DEFAULT_SESSION_TTL_S 43200
#define SESSION_TTL_MIN_S 1
#define SESSION_TTL_MAX_S 2592000

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: orchestrad [OPTIONS]\n"
        "       orchestrad keys create NAME --scopes project,admin,executor,notify [--db PATH] "
        "[--json]\n"
        "       orchestrad keys list [--db PATH] [--json]\n"
        "       orchestrad keys revoke KEY_ID [--db PATH]\n"
        "       orchestrad check [--db PATH] [--json]\n"
        "       orchestrad migrate-store --from FILE --to postgresql://... [--json]\n"
        "\n"
        "The Orchestra coordinator: serves RPC, owns the database, publishes events.\n"
        "\n"
        "`check` verifies the task lifecycle invariants of every task and project in the\n"
        "database and prints each violation; it exits 0 when there is none, 1 when there\n"
        "are violations or the check could not run, 2 on a usage error.\n"
        "\n"
        "`migrate-store` copies a SQLite database into a new, empty PostgreSQL database, all\n"
        "or nothing, every table's rows counted on both sides (no coordinator may serve\n"
        "either meanwhile; the PostgreSQL user must be a superuser for the copy).\n"
        "\n"
        "options:\n"
        "  --db PATH|URL          database file (default " DEFAULT_DB "), or a PostgreSQL\n"
        "                         postgresql://USER@HOST:PORT/DB?... URL (PG* variables and\n"
        "                         ~/.pgpass apply); several coordinators may share one: one\n"
        "                         is active, the others wait on standby to take over\n"
        "  --rpc URL              RPC endpoint: tcp://, ipc:// or tls+tcp:// (default " DEFAULT_RPC
        ")\n"
        "  --events URL           event feed endpoint (default " DEFAULT_EVENTS ")\n"
        "  --log-level LEVEL      debug, info, warn or error (default info); every request\n"
        "                         logs a line: writes at info, reads at debug\n"
        "  --log-format FORMAT    text (default) or json (one object per line, for shippers)\n"
        "  --log-file PATH        append the log to PATH instead of stderr (SIGHUP reopens it)\n"
        "  --metrics-listen HOST:PORT  serve /metrics (Prometheus), /livez and /readyz over\n"
        "                         HTTP on this address (default: off)\n"
        "  --config FILE          read settings from FILE first, one `name = value` per line\n"
        "                         (names as the long options; flags given here win)\n"
        "  --dev                  seed the example key " DEV_KEY_ID " / " DEV_KEY_SECRET
        " with every scope (demos and tests only)\n"
        "  --tls-cert FILE        PEM certificate for tls+tcp:// endpoints\n"
        "  --tls-key FILE         PEM private key for tls+tcp:// endpoints\n"
        "  --auth-window SECONDS  accepted clock skew of signed requests (default 300)\n"
        "  --max-message BYTES    largest request accepted (default 4194304)\n"
        "  --workers N            RPC worker threads (default 8)\n"
        "  --pbkdf2-iterations N  password hashing cost (default %u)\n"
        "  --session-ttl SECONDS  worker session lifetime (default %d, %d to %d)\n"
        "  --events-keep-days N   prune events older than N days (default 0: keep all)\n"
        "  --help                 show this help\n"
        "  --version              show the version\n",
        (unsigned)ORCI_PBKDF2_DEFAULT_ITERATIONS, DEFAULT_SESSION_TTL_S, SESSION_TTL_MIN_S,
        SESSION_TTL_MAX_S);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "orchestrad: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'orchestrad --help'.\n");
    va_end(ap);
    return EXIT_USAGE;
}

/* ---- keys subcommands ----------------------------------------------------------------- */

/* The words of an admin subcommand (`keys ...`, `check`). */
typedef struct admin_args {
    const char *db;
    const char *scopes;
    bool json;
    const char *pos[3];
    int n_pos;
} admin_args;

/*
 * admin_parse reads a subcommand's words with getopt_long (argv[0] is the subcommand's
 * name): --db PATH, --json, --scopes LIST when allowed, --help, and up to 3 operands.
 * Returns -1 to go on, or the exit status.
 */
static int admin_parse(int argc, char **argv, bool scopes_allowed, admin_args *a)
{
    enum { ADMIN_DB = 256, ADMIN_SCOPES, ADMIN_JSON };
    static const struct option lo[] = {{"db", required_argument, NULL, ADMIN_DB},
                                       {"scopes", required_argument, NULL, ADMIN_SCOPES},
                                       {"json", no_argument, NULL, ADMIN_JSON},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    *a = (admin_args){.db = DEFAULT_DB};
    opterr = 0;
    optind = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        switch (c) {
        case 'h':
            usage(stdout);
            return 0;
        case ADMIN_DB:
            a->db = optarg;
            break;
        case ADMIN_SCOPES:
            if (!scopes_allowed)
                return usage_error("--scopes is only for keys create");
            a->scopes = optarg;
            break;
        case ADMIN_JSON:
            a->json = true;
            break;
        case ':':
            return usage_error("%s needs a value", argv[optind - 1]);
        default:
            return usage_error("unknown option %s", argv[optind - 1]);
        }
    }
    for (; optind < argc; optind++) {
        if (a->n_pos == 3)
            return usage_error("unexpected argument %s", argv[optind]);
        a->pos[a->n_pos++] = argv[optind];
    }
    if (a->db[0] == '\0')
        return usage_error("--db needs a path");
    return -1;
}

typedef struct keys_create_job {
    const char *name;
    unsigned scopes;
    orci_key key;
} keys_create_job;

static int keys_create_fn(orci_db *db, void *arg, orc_error *err)
{
    keys_create_job *j = arg;
    return orci_keys_create(db, j->name, j->scopes, NULL, NULL, orci_clock_now(&orci_clock_system),
                            &j->key, err);
}

static int keys_revoke_fn(orci_db *db, void *arg, orc_error *err)
{
    return orci_keys_revoke(db, arg, orci_clock_now(&orci_clock_system), err);
}

static json_t *scopes_json(unsigned bits)
{
    json_t *a = json_array();
    unsigned bit;
    const char *name;
    for (size_t i = 0; (name = orci_key_scope(i, &bit)) != NULL; i++)
        if (bits & bit)
            json_array_append_new(a, json_string(name));
    return a;
}

static void print_json(json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (text)
        printf("%s\n", text);
    free(text);
}

typedef struct keys_list_state {
    bool json;
    json_t *arr;
} keys_list_state;

static void keys_list_fn(const orci_key *k, void *arg)
{
    keys_list_state *st = arg;
    char created[40], revoked[40], scopes[64];
    orci_time_format(k->created_at, created, sizeof created);
    if (k->revoked_at)
        orci_time_format(k->revoked_at, revoked, sizeof revoked);
    orci_scopes_format(k->scopes, scopes, sizeof scopes);
    if (st->json) {
        json_t *o = json_object();
        json_object_set_new(o, "key_id", json_string(k->key_id));
        json_object_set_new(o, "name", json_string(k->name));
        json_object_set_new(o, "scopes", scopes_json(k->scopes));
        json_object_set_new(o, "created", json_string(created));
        json_object_set_new(o, "revoked", k->revoked_at ? json_string(revoked) : json_null());
        json_array_append_new(st->arr, o);
    } else {
        printf("%-28s %-20s %-24s %-28s %s\n", k->key_id, k->name, scopes, created,
               k->revoked_at ? revoked : "-");
    }
}

static int keys_main(int argc, char **argv)
{
    admin_args a;
    int parsed = admin_parse(argc, argv, true, &a);
    if (parsed >= 0)
        return parsed;
    const char *db_path = a.db, *scopes_text = a.scopes, *const *pos = a.pos;
    bool json = a.json;
    int n_pos = a.n_pos;
    const char *cmd = pos[0];
    if (!cmd)
        return usage_error("keys needs a command: create, list or revoke");
    int want = strcmp(cmd, "list") == 0 ? 1 : 2;
    if (strcmp(cmd, "create") != 0 && strcmp(cmd, "list") != 0 && strcmp(cmd, "revoke") != 0)
        return usage_error("unknown keys command %s", cmd);
    if (n_pos != want)
        return usage_error("wrong number of arguments for keys %s", cmd);

    unsigned scopes = 0;
    if (strcmp(cmd, "create") == 0) {
        if (!scopes_text)
            return usage_error("keys create needs --scopes (project,admin,executor,notify)");
        int bits = orci_scopes_parse(scopes_text);
        if (bits <= 0)
            return usage_error("bad --scopes %s: use project, admin, executor and notify",
                               scopes_text);
        scopes = (unsigned)bits;
        size_t name_len = strlen(pos[1]);
        if (name_len == 0 || name_len >= sizeof((orci_key *)0)->name)
            return usage_error("the key name must have 1 to 127 characters");
    } else if (scopes_text) {
        return usage_error("--scopes is only for keys create");
    }

    orc_error err;
    orc_error_clear(&err);
    orci_store *store = NULL;
    orci_store_opts so = {.path = db_path, .shared = true};
    int rc = orci_store_open(&so, &store, &err);
    if (rc != ORC_OK) {
        char shown[512];
        orci_log_url(db_path, shown, sizeof shown);
        fprintf(stderr, "orchestrad: cannot open %s: %s\n", shown, err.message);
        return 1;
    }
    int status = 0;
    if (strcmp(cmd, "create") == 0) {
        keys_create_job job = {.name = pos[1], .scopes = scopes};
        rc = orci_store_write(store, keys_create_fn, &job, &err);
        if (rc != ORC_OK) {
            fprintf(stderr, "orchestrad: %s\n", err.message);
            status = 1;
        } else if (json) {
            json_t *o = json_object();
            json_object_set_new(o, "key_id", json_string(job.key.key_id));
            json_object_set_new(o, "secret", json_string(job.key.secret));
            json_object_set_new(o, "name", json_string(job.key.name));
            json_object_set_new(o, "scopes", scopes_json(job.key.scopes));
            print_json(o);
            json_decref(o);
        } else {
            printf("key id: %s\nsecret: %s\nKeep the secret now: it is not shown again.\n",
                   job.key.key_id, job.key.secret);
        }
        explicit_bzero(job.key.secret, sizeof job.key.secret);
    } else if (strcmp(cmd, "list") == 0) {
        orci_db *rdb = NULL;
        keys_list_state st = {.json = json, .arr = json ? json_array() : NULL};
        rc = orci_db_open_reader(store, &rdb, &err);
        if (rc == ORC_OK) {
            if (!json)
                printf("%-28s %-20s %-24s %-28s %s\n", "KEY ID", "NAME", "SCOPES", "CREATED",
                       "REVOKED");
            rc = orci_keys_list(rdb, keys_list_fn, &st, &err);
        }
        orci_db_close(rdb);
        if (rc != ORC_OK) {
            fprintf(stderr, "orchestrad: %s\n", err.message);
            status = 1;
        } else if (json) {
            print_json(st.arr);
        }
        json_decref(st.arr);
    } else {
        rc = orci_store_write(store, keys_revoke_fn, (void *)pos[1], &err);
        if (rc == ORC_NOT_FOUND) {
            fprintf(stderr, "orchestrad: no active key %s\n", pos[1]);
            status = 1;
        } else if (rc != ORC_OK) {
            fprintf(stderr, "orchestrad: %s\n", err.message);
            status = 1;
        } else {
            printf("revoked %s\n", pos[1]);
        }
    }
    orci_store_close(store);
    return status;
}

/* ---- check subcommand ---------------------------------------------------------------- */

typedef struct check_state {
    bool json;
    json_t *arr; /* --json: the violations */
} check_state;

static void check_report_fn(int64_t task_id, const char *msg, void *arg)
{
    check_state *st = arg;
    if (st->json) {
        json_t *o = json_object();
        json_object_set_new(o, "task_id", json_integer(task_id));
        json_object_set_new(o, "message", json_string(msg));
        json_array_append_new(st->arr, o);
    } else {
        /* Project-level rules report task 0, and some messages already name their task. */
        char prefix[40];
        snprintf(prefix, sizeof prefix, "task %lld: ", (long long)task_id);
        if (task_id <= 0 || strncmp(msg, prefix, strlen(prefix)) == 0)
            printf("%s\n", msg);
        else
            printf("%s%s\n", prefix, msg);
    }
}

/* check_count runs a fixed SELECT count(*) query. */
static int check_count(orci_db *db, const char *sql, int64_t *out, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(db, sql, err);
    if (!st)
        return ORC_INTERNAL;
    int r = orci_db_row(db, st, err);
    if (r < 0)
        return ORC_INTERNAL;
    *out = r == 1 ? orci_col_int(st, 0) : 0;
    orci_stmt_reset(st);
    return ORC_OK;
}

/*
 * check_run counts and checks inside one read transaction, so that the summary describes
 * the same snapshot as the violations.
 */
static int check_run(orci_db *db, check_state *st, int64_t *projects, int64_t *tasks,
                     int64_t *violations, orc_error *err)
{
    int rc = orci_db_read_begin(db, err);
    if (rc != ORC_OK)
        return rc;
    rc = check_count(db, "SELECT count(*) FROM projects", projects, err);
    if (rc == ORC_OK)
        rc = check_count(db, "SELECT count(*) FROM tasks", tasks, err);
    if (rc == ORC_OK)
        rc = orci_lc_check_all(db, check_report_fn, st, violations, err);
    orci_db_read_end(db);
    return rc;
}

static int check_main(int argc, char **argv)
{
    admin_args a;
    int parsed = admin_parse(argc, argv, false, &a);
    if (parsed >= 0)
        return parsed;
    if (a.n_pos > 0)
        return usage_error("unexpected argument %s", a.pos[0]);
    const char *db_path = a.db;
    bool json = a.json;
    /* Opening creates a missing database: checking an empty new one would prove nothing. */
    if (!orci_pg_is_url(db_path) && access(db_path, F_OK) != 0) {
        fprintf(stderr, "orchestrad: no database at %s\n", db_path);
        return 1;
    }

    orc_error err;
    orc_error_clear(&err);
    orci_store *store = NULL;
    orci_store_opts so = {.path = db_path, .shared = true};
    int rc = orci_store_open(&so, &store, &err);
    if (rc != ORC_OK) {
        char shown[512];
        orci_log_url(db_path, shown, sizeof shown);
        fprintf(stderr, "orchestrad: cannot open %s: %s\n", shown, err.message);
        return 1;
    }
    check_state st = {.json = json, .arr = json ? json_array() : NULL};
    int64_t projects = 0, tasks = 0, violations = 0;
    orci_db *rdb = NULL;
    rc = orci_db_open_reader(store, &rdb, &err);
    if (rc == ORC_OK)
        rc = check_run(rdb, &st, &projects, &tasks, &violations, &err);
    orci_db_close(rdb);
    orci_store_close(store);
    int status;
    if (rc != ORC_OK) {
        fprintf(stderr, "orchestrad: check failed: %s\n", err.message);
        status = 1;
    } else {
        if (json) {
            json_t *o = json_object();
            json_object_set_new(o, "violations", st.arr);
            st.arr = NULL;
            print_json(o);
            json_decref(o);
        } else if (violations == 0) {
            printf("consistent: %lld projects, %lld tasks checked\n", (long long)projects,
                   (long long)tasks);
        } else {
            printf("inconsistent: %lld violations in %lld projects, %lld tasks checked\n",
                   (long long)violations, (long long)projects, (long long)tasks);
        }
        status = violations == 0 ? 0 : 1;
    }
    json_decref(st.arr);
    return status;
}

/* ---- the daemon ----------------------------------------------------------------------- */

/* The daemon's settings, from --config FILE and the command line (options.h). */
typedef struct daemon_opts {
    const char *db;
    const char *rpc;
    const char *events;
    const char *tls_cert;
    const char *tls_key;
    int log_level;
    const char *log_format;
    const char *log_file;
    const char *metrics_listen;
    bool dev;
    long long auth_window;
    long long max_message;
    long long workers;
    long long pbkdf2_iterations;
    long long session_ttl_s;
    long long events_keep_days;
} daemon_opts;

/* parse_daemon_opts reads the settings into o: -1 to go on, or the exit status. */
static int parse_daemon_opts(int argc, char **argv, daemon_opts *o)
{
    const orci_opt opts[] = {
        {"db", ORCI_OPT_STRING, &o->db, 0, 0, NULL},
        {"rpc", ORCI_OPT_STRING, &o->rpc, 0, 0, NULL},
        {"events", ORCI_OPT_STRING, &o->events, 0, 0, NULL},
        {"log-level", ORCI_OPT_LEVEL, &o->log_level, 0, 0, NULL},
        {"log-format", ORCI_OPT_STRING, &o->log_format, 0, 0, NULL},
        {"log-file", ORCI_OPT_STRING, &o->log_file, 0, 0, NULL},
        {"metrics-listen", ORCI_OPT_STRING, &o->metrics_listen, 0, 0, NULL},
        {"dev", ORCI_OPT_FLAG, &o->dev, 0, 0, NULL},
        {"tls-cert", ORCI_OPT_STRING, &o->tls_cert, 0, 0, NULL},
        {"tls-key", ORCI_OPT_STRING, &o->tls_key, 0, 0, NULL},
        {"auth-window", ORCI_OPT_INT, &o->auth_window, 1, 86400, "seconds"},
        {"max-message", ORCI_OPT_INT, &o->max_message, 1024, 1LL << 30, "bytes"},
        {"workers", ORCI_OPT_INT, &o->workers, 1, 256, NULL},
        {"pbkdf2-iterations", ORCI_OPT_INT, &o->pbkdf2_iterations, 1000, 100000000, NULL},
        {"session-ttl", ORCI_OPT_INT, &o->session_ttl_s, SESSION_TTL_MIN_S, SESSION_TTL_MAX_S,
         "seconds"},
        {"events-keep-days", ORCI_OPT_INT, &o->events_keep_days, 0, 100000, "days"},
    };
    orci_opts_spec spec = {.program = "orchestrad",
                           .version = ORCI_VERSION,
                           .opts = opts,
                           .n_opts = sizeof opts / sizeof opts[0],
                           .usage = usage,
                           .default_config = ORC_SYSCONF_DIR "/orchestrad.conf"};
    int st = orci_opts_parse(&spec, argc, argv, NULL, 0);
    if (st >= 0)
        return st;
    if (!o->tls_cert != !o->tls_key)
        return usage_error("--tls-cert and --tls-key go together");
    if (orci_log_parse_format(o->log_format) < 0)
        return usage_error("bad --log-format %s: use text or json", o->log_format);
    if (o->metrics_listen && !o->metrics_listen[0])
        o->metrics_listen = NULL; /* "metrics-listen =" in a file: off */
    return -1;
}

/* Set by the store's writer when the PostgreSQL session (and its lock) is gone. */
static atomic_bool daemon_store_gone;

static bool daemon_should_stop(void *arg)
{
    (void)arg;
    return orci_daemon_stopping();
}

/*
 * daemon_store_lost: another coordinator may be active by now, so this one stops serving at
 * once (requests in flight fail UNAVAILABLE and clients go to the new one) and exits with
 * status 1, for its supervisor to start it again as a standby.
 */
static void daemon_store_lost(void *arg)
{
    (void)arg;
    atomic_store(&daemon_store_gone, true);
    orci_daemon_request_stop();
}

static int dev_key_fn(orci_db *db, void *arg, orc_error *err)
{
    (void)arg;
    return orci_keys_ensure(db, "dev example key", ORCI_SCOPE_ALL_KEYS, DEV_KEY_ID, DEV_KEY_SECRET,
                            orci_clock_now(&orci_clock_system), err);
}

/* The running daemon's parts, so that the stop can release what was started. */
typedef struct daemon_parts {
    orci_store *store;
    orci_rpc *rpc;
    nng_socket pub;
    bool pub_open;
    orci_events_pub *publisher;
    orci_metrics *metrics; /* NULL unless --metrics-listen */
    orci_server_metrics *server_metrics;
    orci_obs_http *obs;
} daemon_parts;

/* daemon_open_events binds the event feed and starts its publisher. */
static int daemon_open_events(const daemon_opts *o, daemon_parts *d, orc_error *err)
{
    int rv = nng_pub0_open(&d->pub);
    if (rv != 0)
        return orc_error_set(err, ORC_UNAVAILABLE, "cannot open the event socket: %s",
                             nng_strerror(rv));
    d->pub_open = true;
    /* PUB drops the oldest message of a full per-subscriber queue (STACK.md 1.3): a deep
     * queue rides out bursts; what still drops is read back with ListEvents. */
    nng_socket_set_int(d->pub, NNG_OPT_SENDBUF, 8192);
    nng_socket_set_size(d->pub, NNG_OPT_RECVMAXSZ, 64 * 1024);
    int rc = orci_listen(d->pub, o->events, o->tls_cert, o->tls_key, err);
    if (rc != ORC_OK)
        return rc;
    if ((rc = orci_events_pub_start(d->store, d->pub, &d->publisher, err)) != ORC_OK)
        return orc_error_set(err, (orc_code)rc, "cannot start the event publisher: %s",
                             err->message);
    return ORC_OK;
}

/* daemon_lock_db takes <db>.lock for the daemon's life: one coordinator per database. */
static int daemon_lock_db(const char *db, orc_error *err)
{
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s.lock", db) >= sizeof path)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "the database path is too long");
    int rc = orci_make_parents(path, 0700, err); /* a new database's folder */
    return rc == ORC_OK ? orci_daemon_lock(path, err) : rc;
}

static void daemon_close_pub(void *arg)
{
    nng_close(*(nng_socket *)arg);
}

/*
 * daemon_stop releases what d holds, each nng close with a deadline. When one times out
 * (nng 1.5.2 can hang there), no further nng call is made: the store is closed and the
 * process leaves at once with status.
 */
static int daemon_stop(daemon_parts *d, int status)
{
    orci_obs_http_stop(d->obs); /* its scrapes read the store and the publisher */
    bool nng_ok = orci_rpc_stop_within(d->rpc, 2000);
    if (!nng_ok)
        orci_warn("rpc: the socket did not close within 2 s (a known nng 1.5.2 hang); every "
                  "request was answered, leaving it to the process exit");
    orci_events_pub_stop(d->publisher);
    if (d->pub_open && nng_ok && !orci_run_within(daemon_close_pub, &d->pub, 1000)) {
        orci_warn("events: the socket did not close within 1 s; leaving it to the process exit");
        nng_ok = false;
    }
    orci_store_close(d->store);
    if (status == 0)
        orci_info("orchestrad stopped");
    if (!nng_ok)
        orci_daemon_exit(status);
    orci_server_metrics_destroy(d->server_metrics);
    orci_metrics_destroy(d->metrics); /* last: the writer recorded into it until the close */
    return status;
}

/* daemon_serve waits for a stop, handling SIGHUP meanwhile. */
static void daemon_serve(void)
{
    while (!orci_daemon_stopping()) {
        orci_daemon_wait(1000);
        if (orci_daemon_take_reload()) {
            if (orci_log_reopen() != 0)
                orci_warn("SIGHUP: cannot reopen the log file: %s", strerror(errno));
            orci_info("SIGHUP: log file reopened; API keys and sessions are read per request, "
                      "so changes to them need no reload; endpoints and TLS certificates "
                      "change with a restart");
        }
    }
}

/* daemon_metrics makes the registry and the request metrics when --metrics-listen is on. */
static int daemon_metrics(const daemon_opts *o, daemon_parts *d, orc_error *err)
{
    if (!o->metrics_listen)
        return ORC_OK;
    int rc = orci_metrics_new(&d->metrics, err);
    if (rc == ORC_OK)
        rc = orci_metrics_add_process(d->metrics, "orchestrad", ORCI_VERSION, err);
    if (rc == ORC_OK)
        rc = orci_server_metrics_new(d->metrics, &d->server_metrics, err);
    return rc;
}

static int daemon_main(const daemon_opts *o)
{
    orc_error err;
    orc_error_clear(&err);
    daemon_parts d = {.pub = NNG_SOCKET_INITIALIZER};
    int status = 1;

    if (orci_methods_check(&err) != ORC_OK) {
        orci_error("method table is inconsistent: %s", err.message);
        return 1;
    }
    /* SQLite: a lock file. PostgreSQL: the store's advisory lock, waited for (standby). */
    if (!orci_pg_is_url(o->db) && daemon_lock_db(o->db, &err) != ORC_OK) {
        orci_error("another orchestrad serves this database: %s", err.message);
        return 1;
    }
    if (daemon_metrics(o, &d, &err) != ORC_OK) {
        orci_error("cannot set up the metrics: %s", err.message);
        return daemon_stop(&d, 1);
    }
    char db_shown[512];
    orci_log_url(o->db, db_shown, sizeof db_shown);
    orci_store_opts so = {.path = o->db,
                          .metrics = d.metrics,
                          .wait = true,
                          .should_stop = daemon_should_stop,
                          .on_lost = daemon_store_lost};
    if (orci_store_open(&so, &d.store, &err) != ORC_OK) {
        if (orci_daemon_stopping())
            return daemon_stop(&d, 0); /* a standby asked to stop */
        orci_error("cannot open the database %s: %s", db_shown, err.message);
        return daemon_stop(&d, 1);
    }
    orci_server srv = {
        .store = d.store,
        .clock = &orci_clock_system,
        .rng = &orci_rng_system,
        .settings = {.auth_window_s = (int)o->auth_window,
                     .dev = o->dev,
                     .pbkdf2_iterations = (unsigned)o->pbkdf2_iterations,
                     .session_ttl_s = o->session_ttl_s,
                     .events_keep_days = (int)o->events_keep_days},
        .started_at_us = orci_clock_now(&orci_clock_system),
        .metrics = d.server_metrics,
    };
    if (o->dev) {
        if (orci_store_write(d.store, dev_key_fn, NULL, &err) != ORC_OK) {
            orci_error("cannot seed the dev key: %s", err.message);
            return daemon_stop(&d, 1);
        }
        /* The secret is in --help; a log line never carries one. */
        orci_warn("dev credentials are enabled: API key %s (its secret is in --help) has every "
                  "scope; never use --dev in production",
                  DEV_KEY_ID);
    }
    if (daemon_open_events(o, &d, &err) != ORC_OK) {
        orci_error("%s", err.message);
        return daemon_stop(&d, 1);
    }
    orci_rpc_opts ro = {.url = o->rpc,
                        .tls_cert_file = o->tls_cert,
                        .tls_key_file = o->tls_key,
                        .max_message = (size_t)o->max_message,
                        .workers = (int)o->workers};
    if (orci_rpc_start(&srv, &ro, &d.rpc, &err) != ORC_OK) {
        orci_error("%s", err.message);
        return daemon_stop(&d, 1);
    }
    if (o->metrics_listen) {
        orci_obs_http_opts ho = {.listen = o->metrics_listen,
                                 .metrics = d.metrics,
                                 .store = d.store,
                                 .publisher = d.publisher};
        if (orci_obs_http_start(&ho, &d.obs, &err) != ORC_OK) {
            orci_error("%s", err.message);
            return daemon_stop(&d, 1);
        }
        orci_info("metrics on %s (port %u): /metrics, /livez, /readyz", o->metrics_listen,
                  (unsigned)orci_obs_http_port(d.obs));
    }
    orci_info("orchestrad %s serving rpc=%s events=%s db=%s schema=%d", ORCI_VERSION, o->rpc,
              o->events, db_shown, orci_store_schema_version(d.store));
    daemon_serve();
    orci_info("stopping");
    orci_daemon_watchdog(ORCI_DAEMON_STOP_BUDGET_MS);
    status = atomic_load(&daemon_store_gone) ? 1 : 0;
    return daemon_stop(&d, status);
}

/* migrate_print writes the report: a table per line, or one JSON document. */
static void migrate_print(const orci_migrate_report *rep, bool json)
{
    if (!json) {
        for (int i = 0; i < rep->n_tables; i++)
            printf("%-32s %lld\n", rep->tables[i].name, (long long)rep->tables[i].rows);
        printf("moved %lld rows in %d tables (schema %d), counts verified\n", (long long)rep->rows,
               rep->n_tables, rep->schema_version);
        return;
    }
    json_t *tables = json_object();
    for (int i = 0; i < rep->n_tables; i++)
        json_object_set_new(tables, rep->tables[i].name, json_integer(rep->tables[i].rows));
    json_t *doc = json_pack("{s:o,s:I,s:i}", "tables", tables, "rows", (json_int_t)rep->rows,
                            "schema_version", rep->schema_version);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    printf("%s\n", text ? text : "{}");
    free(text);
    json_decref(doc);
}

/* migrate_main: orchestrad migrate-store --from FILE --to URL [--json]. */
static int migrate_main(int argc, char **argv)
{
    const char *from = NULL, *to = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
            from = argv[++i];
        else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
            to = argv[++i];
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else
            return usage_error("migrate-store: unexpected argument %s", argv[i]);
    }
    if (from == NULL || to == NULL || orci_pg_is_url(from) || !orci_pg_is_url(to))
        return usage_error("migrate-store needs --from FILE (SQLite) and --to postgresql://...");
    orc_error err;
    orc_error_clear(&err);
    /* No coordinator may write the file meanwhile: its lock, as orchestrad takes it. */
    if (access(from, F_OK) == 0 && daemon_lock_db(from, &err) != ORC_OK) {
        fprintf(stderr, "orchestrad: an orchestrad serves %s: %s\n", from, err.message);
        return 1;
    }
    orci_migrate_report *rep = calloc(1, sizeof *rep);
    if (rep == NULL) {
        fprintf(stderr, "orchestrad: out of memory\n");
        return 1;
    }
    int rc = orci_store_migrate(from, to, rep, &err);
    if (rc == ORC_OK)
        migrate_print(rep, json);
    else
        fprintf(stderr, "orchestrad: migrate-store failed, nothing was moved: %s\n", err.message);
    free(rep);
    return rc == ORC_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "keys") == 0) {
        orci_log_init("orchestrad", ORCI_LOG_WARN);
        json_object_seed(0);
        return keys_main(argc - 1, argv + 1);
    }
    if (argc >= 2 && strcmp(argv[1], "migrate-store") == 0) {
        orci_log_init("orchestrad", ORCI_LOG_WARN);
        json_object_seed(0);
        return migrate_main(argc - 1, argv + 1);
    }
    if (argc >= 2 && strcmp(argv[1], "check") == 0) {
        orci_log_init("orchestrad", ORCI_LOG_WARN);
        json_object_seed(0);
        return check_main(argc - 1, argv + 1);
    }
    daemon_opts o = {.db = DEFAULT_DB,
                     .rpc = DEFAULT_RPC,
                     .events = DEFAULT_EVENTS,
                     .log_level = ORCI_LOG_INFO,
                     .log_format = "text",
                     .auth_window = 300,
                     .max_message = ORCI_RPC_DEFAULT_MAX_MESSAGE,
                     .workers = ORCI_RPC_DEFAULT_WORKERS,
                     .pbkdf2_iterations = ORCI_PBKDF2_DEFAULT_ITERATIONS,
                     .session_ttl_s = DEFAULT_SESSION_TTL_S};
    int st = parse_daemon_opts(argc, argv, &o);
    if (st >= 0)
        return st;
    orci_log_init("orchestrad", (orci_log_level)o.log_level);
    orci_log_set_format((orci_log_format)orci_log_parse_format(o.log_format));
    if (o.log_file && orci_log_open_file(o.log_file) != 0) {
        fprintf(stderr, "orchestrad: cannot open the log file %s: %s\n", o.log_file,
                strerror(errno));
        return 1;
    }
    json_object_seed(0);
    if (orci_daemon_signals() != 0) {
        orci_error("cannot install signal handlers: %s", strerror(errno));
        return 1;
    }
    return daemon_main(&o);
}
