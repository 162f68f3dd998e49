/*
 * main.c: orchestra-executor, the process that runs machine steps.
 *
 *   orchestra-executor [--rpc URL] [--plugins DIR] [--concurrency N] [--allow-commands]
 *                      [--storage DIR] [--tls-ca FILE] [--log-level L] [--job-timeout SECONDS]
 *                      [--lease SECONDS] [--job-memory MB] [--python-path DIR]...
 *                      [--python-package NAME]... [--python FILE] [--no-python]
 *
 * Run as `orchestra-executor --plugin-host ...` it is a plugin host instead (host.h). Python
 * functions run in Python runners (python_runner.h), on unless --no-python.
 *
 * Credentials come from ORCHESTRA_API_KEY and ORCHESTRA_API_SECRET (a key with the executor
 * scope); they are removed from the environment before any job runs, so neither plugins
 * nor commands see them. SIGTERM or SIGINT stops it cleanly (exit 0).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "executor.h"
#include "host.h"
#include "job.h"
#include "daemon.h"
#include "log.h"
#include "options.h"
#include "plugin_set.h"
#include "python_setup.h"

#define MAIN_DEFAULT_CONCURRENCY 2
#define MAIN_MAX_CONCURRENCY 256
#define MAIN_DEFAULT_JOB_TIMEOUT_S 300
/* The coordinator's bounds on a lease (ORCI_JOB_MIN/MAX_LEASE_MS): 1 s to 10 min. */
#define MAIN_MIN_LEASE_S 1
#define MAIN_MAX_LEASE_S 600
/* --job-memory bounds: 0 (no limit) or enough for a host to load its plugins, up to 1 TiB. */
#define MAIN_MIN_JOB_MEMORY_MB 32
#define MAIN_MAX_JOB_MEMORY_MB (1L << 20)
#define MAIN_DEFAULT_STORAGE "orchestra-storage"

static atomic_bool main_stop;

static void main_usage(FILE *f)
{
    fprintf(
        f,
        "usage: orchestra-executor [--rpc URL] [--plugins DIR] [--concurrency N]\n"
        "                          [--allow-commands] [--storage DIR] [--tls-ca FILE]\n"
        "                          [--log-level debug|info|warn|error] [--job-timeout SECONDS]\n"
        "                          [--lease SECONDS] [--job-memory MB] [--log-file PATH]\n"
        "                          [--log-format text|json] [--python-path DIR]...\n"
        "                          [--python-package NAME]... [--python FILE] [--no-python]\n"
        "\n"
        "Runs machine steps for orchestrad: loads the plugins (*.so) of DIR, leases jobs for\n"
        "their functions and runs them in isolated plugin host processes (one per worker,\n"
        "each serving many jobs, replaced when a job crashes, hangs or outgrows its memory);\n"
        "an external command runs in a process of its own.\n"
        "  --rpc URL[,URL...]   orchestrad's RPC endpoint, or the coordinators of one\n"
        "                       database (default $ORCHESTRA_RPC or %s)\n"
        "  --plugins DIR        folder of plugin shared objects (default: the installed\n"
        "                       " ORC_PLUGIN_INSTALL_DIR " when it exists)\n"
        "  --concurrency N      jobs run at once (default %d)\n"
        "  --allow-commands     also run steps whose execution_function is a \"command\"\n"
        "  --storage DIR        folder plugins store files in (default ./%s)\n"
        "  --tls-ca FILE        CA bundle for a tls+tcp:// endpoint\n"
        "  --log-level L        debug, info (default), warn or error\n"
        "  --log-format F       text (default) or json (one object per line, for shippers;\n"
        "                       the plugin hosts' lines too)\n"
        "  --log-file PATH      append the log to PATH instead of stderr (SIGHUP reopens it)\n"
        "  --config FILE        read settings from FILE first, one `name = value` per line\n"
        "                       (names as the long options; flags given here win)\n"
        "  --job-timeout S      kill and fail a job after S seconds (default %d)\n"
        "  --lease S            lease length asked for, renewed every S/3 while a job runs\n"
        "                       (default %d); a job of an executor that dies is handed out again\n"
        "                       once its lease runs out\n"
        "  --job-memory MB      memory limit of each plugin host and Python runner\n"
        "                       (RLIMIT_DATA; default %d, 0 for none, else at least %d): a job\n"
        "                       that comes near it fails as retryable and its host is replaced\n"
        "  --python-path DIR    a folder Python functions are imported from (repeatable): the\n"
        "                       folder holding the workflow packages, as upstream's Django\n"
        "                       project was. Its packages (folders with __init__.py, NAME.py)\n"
        "                       and PYTHONPATH's are taken; a C plugin of a step's exact\n"
        "                       function name still runs it\n"
        "  --python-package P   also take the jobs of package P, importable from sys.path\n"
        "                       (repeatable)\n"
        "  --python FILE        the interpreter (default " ORCI_PYTHON_DEFAULT ")\n"
        "  --no-python          run no Python functions (on by default: long-lived runners,\n"
        "                       one per worker, under the limits above)\n"
        "Environment: ORCHESTRA_API_KEY and ORCHESTRA_API_SECRET, a key with the executor\n"
        "scope (orchestrad keys create NAME --scopes executor).\n"
        "SIGTERM stops: no new jobs, running ones get %d s, then they are failed back as\n"
        "retryable. SIGHUP reopens the log file.\n",
        ORC_DEFAULT_RPC_URL, MAIN_DEFAULT_CONCURRENCY, MAIN_DEFAULT_STORAGE,
        MAIN_DEFAULT_JOB_TIMEOUT_S, ORCI_EXECUTOR_LEASE_MS / 1000, ORCI_HOST_DEFAULT_MEMORY_MB,
        MAIN_MIN_JOB_MEMORY_MB, ORCI_EXECUTOR_GRACE_MS / 1000);
}

/*
 * main_signals waits for SIGTERM, SIGINT or SIGHUP (blocked in every thread). A stop sets
 * the flag and arms the watchdog (daemon.h): the grace period, the reports and the close fit
 * in the stop budget. SIGHUP reopens the log file.
 */
static void *main_signals(void *arg)
{
    sigset_t *set = arg;
    for (;;) {
        int sig;
        if (sigwait(set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            if (orci_log_reopen() != 0)
                orci_warn("SIGHUP: cannot reopen the log file: %s", strerror(errno));
            orci_info("SIGHUP: log file reopened");
            continue;
        }
        if (atomic_exchange(&main_stop, true))
            continue;
        orci_info("signal %d: stopping (no new jobs; running jobs get %d s)", sig,
                  ORCI_EXECUTOR_GRACE_MS / 1000);
        orci_daemon_watchdog(ORCI_DAEMON_STOP_BUDGET_MS);
    }
    return NULL;
}

/* main_dup copies an environment value (NULL when unset or empty). */
static char *main_dup_env(const char *name)
{
    const char *v = getenv(name);
    return v && v[0] ? strdup(v) : NULL;
}

/* main_args are the command line's settings. */
typedef struct main_args {
    const char *rpc, *plugins_dir, *storage, *tls_ca, *log_file, *log_format;
    int level;
    long long concurrency, timeout_s, lease_s, memory_mb;
    bool allow_commands, no_python;
    const char *python;
    orci_opt_list python_paths, python_packages;
} main_args;

/*
 * main_parse reads --config FILE and the flags into *a (options.h). Returns -1 to go on,
 * else the exit status (after --help, --version or a usage error, said on stderr).
 */
static int main_parse(int argc, char **argv, main_args *a)
{
    const orci_opt opts[] = {
        {"rpc", ORCI_OPT_STRING, &a->rpc, 0, 0, NULL},
        {"plugins", ORCI_OPT_STRING, &a->plugins_dir, 0, 0, NULL},
        {"storage", ORCI_OPT_STRING, &a->storage, 0, 0, NULL},
        {"tls-ca", ORCI_OPT_STRING, &a->tls_ca, 0, 0, NULL},
        {"log-level", ORCI_OPT_LEVEL, &a->level, 0, 0, NULL},
        {"log-file", ORCI_OPT_STRING, &a->log_file, 0, 0, NULL},
        {"log-format", ORCI_OPT_STRING, &a->log_format, 0, 0, NULL},
        {"concurrency", ORCI_OPT_INT, &a->concurrency, 1, MAIN_MAX_CONCURRENCY, NULL},
        {"job-timeout", ORCI_OPT_INT, &a->timeout_s, 1, 7 * 86400, "seconds"},
        {"lease", ORCI_OPT_INT, &a->lease_s, MAIN_MIN_LEASE_S, MAIN_MAX_LEASE_S, "seconds"},
        {"job-memory", ORCI_OPT_INT, &a->memory_mb, 0, MAIN_MAX_JOB_MEMORY_MB, "MB"},
        {"allow-commands", ORCI_OPT_FLAG, &a->allow_commands, 0, 0, NULL},
        {"python-path", ORCI_OPT_LIST, &a->python_paths, 0, 0, NULL},
        {"python-package", ORCI_OPT_LIST, &a->python_packages, 0, 0, NULL},
        {"python", ORCI_OPT_STRING, &a->python, 0, 0, NULL},
        {"no-python", ORCI_OPT_FLAG, &a->no_python, 0, 0, NULL},
    };
    char version[64];
    snprintf(version, sizeof version, "%s (plugin ABI %u)", ORC_VERSION, ORC_PLUGIN_ABI_VERSION);
    orci_opts_spec spec = {.program = "orchestra-executor",
                           .version = version,
                           .opts = opts,
                           .n_opts = sizeof opts / sizeof opts[0],
                           .usage = main_usage,
                           .default_config = ORC_SYSCONF_DIR "/orchestra-executor.conf"};
    int st = orci_opts_parse(&spec, argc, argv, NULL, 0);
    if (st >= 0)
        return st;
    if (orci_log_parse_format(a->log_format) < 0) {
        fprintf(stderr, "orchestra-executor: bad --log-format %s: use text or json\n",
                a->log_format);
        return 2;
    }
    if (a->memory_mb != 0 && a->memory_mb < MAIN_MIN_JOB_MEMORY_MB) {
        fprintf(stderr, "orchestra-executor: --job-memory wants 0 or %d to %ld MB\n",
                MAIN_MIN_JOB_MEMORY_MB, (long)MAIN_MAX_JOB_MEMORY_MB);
        return 2;
    }
    /* An installed executor serves the installed plugins unless told otherwise. */
    if (!a->plugins_dir && access(ORC_PLUGIN_INSTALL_DIR, R_OK | X_OK) == 0)
        a->plugins_dir = ORC_PLUGIN_INSTALL_DIR;
    if (!a->plugins_dir && a->no_python) {
        fprintf(stderr, "orchestra-executor: --plugins DIR is required (see --help)\n");
        return 2;
    }
    return -1;
}

/*
 * main_python sets up Python functions into *out (NULL: off). Python is on by default: a
 * machine without python3 or the runner script runs no Python steps and says so, unless
 * Python was asked for (--python-path, --python-package or --python), which then fails the
 * start, as does a --python-path that is no folder. 0, or -1 after logging why.
 */
static int main_python(const main_args *a, const char *self_exe, orci_python **out)
{
    *out = NULL;
    if (a->no_python)
        return 0;
    orci_python_opts po = {.interpreter = a->python,
                           .paths = a->python_paths.items,
                           .n_paths = a->python_paths.n,
                           .packages = a->python_packages.items,
                           .n_packages = a->python_packages.n,
                           .pythonpath = getenv("PYTHONPATH"),
                           .self_exe = self_exe};
    orc_error err = {0};
    int rc = orci_python_setup(&po, out, &err);
    bool asked = a->python_paths.n > 0 || a->python_packages.n > 0 || a->python;
    if (rc == ORC_NOT_FOUND && !asked) {
        orci_warn("python: %s; Python functions are off", err.message);
        return 0;
    }
    if (rc != ORC_OK) {
        orci_error("python: %s", err.message);
        return -1;
    }
    char list[1024] = "";
    size_t used = 0;
    for (size_t i = 0; i < (*out)->n_packages && used < sizeof list; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                                 (*out)->packages[i]);
    orci_info("python: %s with %s; %zu packages: %s", (*out)->interpreter, (*out)->script,
              (*out)->n_packages, (*out)->n_packages ? list : "none (no job is Python's)");
    return 0;
}

/*
 * main_places resolves the storage folder (made when missing), the executor's own binary
 * (re-executed as the plugin hosts) and its id ("<host>:<pid>"). 0, or -1 after logging why.
 */
static int main_places(const char *storage, char *storage_abs, char *self_exe, char *id,
                       size_t id_size)
{
    char host_name[256];
    if (mkdir(storage, 0755) != 0 && errno != EEXIST) {
        orci_error("cannot create the storage folder %s: %s", storage, strerror(errno));
        return -1;
    }
    if (!realpath(storage, storage_abs)) {
        orci_error("cannot resolve the storage folder %s: %s", storage, strerror(errno));
        return -1;
    }
    ssize_t n = readlink("/proc/self/exe", self_exe, PATH_MAX - 1);
    if (n <= 0) {
        orci_error("cannot find the executor's own binary: %s", strerror(errno));
        return -1;
    }
    self_exe[n] = '\0';
    if (gethostname(host_name, sizeof host_name) != 0)
        snprintf(host_name, sizeof host_name, "localhost");
    host_name[sizeof host_name - 1] = '\0';
    snprintf(id, id_size, "%s:%ld", host_name, (long)getpid());
    return 0;
}

/*
 * main_start_signals routes SIGTERM, SIGINT and SIGHUP to a thread of their own. A child that exits
 * without reading its input must not kill us (SIGPIPE ignored); every child unblocks the
 * signals again.
 */
static int main_start_signals(sigset_t *set)
{
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    pthread_t sig_thread;
    if (pthread_create(&sig_thread, NULL, main_signals, set) != 0) {
        orci_error("cannot start the signal thread");
        return -1;
    }
    pthread_detach(sig_thread);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], ORCI_HOST_FLAG) == 0)
        return orci_host_main(argc, argv);

    main_args a = {.storage = MAIN_DEFAULT_STORAGE,
                   .level = ORCI_LOG_INFO,
                   .log_format = "text",
                   .concurrency = MAIN_DEFAULT_CONCURRENCY,
                   .timeout_s = MAIN_DEFAULT_JOB_TIMEOUT_S,
                   .lease_s = ORCI_EXECUTOR_LEASE_MS / 1000,
                   .memory_mb = ORCI_HOST_DEFAULT_MEMORY_MB};
    int status = main_parse(argc, argv, &a);
    if (status >= 0)
        return status;
    orci_log_init("orchestra-executor", (orci_log_level)a.level);
    orci_log_set_format((orci_log_format)orci_log_parse_format(a.log_format));
    char log_spec[32]; /* the plugin hosts log at the same level, in the same format */
    orci_log_spec(log_spec, sizeof log_spec);
    if (a.log_file && orci_log_open_file(a.log_file) != 0) {
        fprintf(stderr, "orchestra-executor: cannot open the log file %s: %s\n", a.log_file,
                strerror(errno));
        return 1;
    }
    json_object_seed(0);

    status = 1;
    orci_plugin_set *plugins = NULL;
    orci_python *python = NULL;
    char storage_abs[PATH_MAX], self_exe[PATH_MAX], executor_id[320];
    char *api_key = main_dup_env("ORCHESTRA_API_KEY");
    char *api_secret = main_dup_env("ORCHESTRA_API_SECRET");
    unsetenv("ORCHESTRA_API_KEY");
    unsetenv("ORCHESTRA_API_SECRET");
    unsetenv("ORCHESTRA_TOKEN");
    if (!api_key || !api_secret) {
        fprintf(stderr, "orchestra-executor: set ORCHESTRA_API_KEY and ORCHESTRA_API_SECRET "
                        "(a key with the executor scope)\n");
        status = 2;
        goto out;
    }
    sigset_t set;
    if (main_places(a.storage, storage_abs, self_exe, executor_id, sizeof executor_id) != 0 ||
        main_python(&a, self_exe, &python) != 0 || main_start_signals(&set) != 0)
        goto out;

    orc_plugin_host host;
    orc_error err = {0};
    size_t loaded = 0, refused = 0;
    orci_plugin_host_init(&host, storage_abs);
    if (orci_plugin_set_new(&host, &plugins, &err) != ORC_OK ||
        (a.plugins_dir &&
         orci_plugin_set_load_dir(plugins, a.plugins_dir, &loaded, &refused, &err) != ORC_OK)) {
        orci_error("%s", err.message);
        goto out;
    }
    for (size_t i = 0; i < orci_plugin_set_count(plugins); i++)
        orci_info("function %s", orci_plugin_set_function_name(plugins, i));
    orci_info("%zu plugins loaded, %zu refused, from %s; storage %s; job timeout %lld s; "
              "lease %lld s; job memory %lld MB",
              loaded, refused, a.plugins_dir ? a.plugins_dir : "(no --plugins)", storage_abs,
              a.timeout_s, a.lease_s, a.memory_mb);

    orci_executor_opts opts = {.client = {.rpc_url = a.rpc,
                                          .api_key = api_key,
                                          .api_secret = api_secret,
                                          .tls_ca_file = a.tls_ca},
                               .plugins = plugins,
                               .allow_commands = a.allow_commands,
                               .storage_root = storage_abs,
                               .self_exe = self_exe,
                               .log_level = log_spec,
                               .executor_id = executor_id,
                               .concurrency = (int)a.concurrency,
                               .job_timeout_ms = (int64_t)a.timeout_s * 1000,
                               .job_memory_mb = (int)a.memory_mb,
                               .lease_ms = (int)a.lease_s * 1000,
                               .python = python};
    if (orci_executor_run(&opts, &main_stop, &err) != ORC_OK) {
        orci_error("%s", err.message);
        goto out;
    }
    orci_info("stopped");
    status = 0;

out:
    orci_plugin_set_destroy(plugins);
    orci_python_destroy(python);
    free(a.python_paths.items); /* the arrays only: their strings are argv's or kept */
    free(a.python_packages.items);
    free(api_key);
    free(api_secret);
    return status;
}
