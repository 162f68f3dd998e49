/*
 * main.c: orchestra-executor, the process that runs machine steps.
 *
 *   orchestra-executor [--rpc URL] --plugins DIR [--concurrency N] [--allow-commands]
 *                      [--storage DIR] [--tls-ca FILE] [--log-level L] [--job-timeout SECONDS]
 *                      [--lease SECONDS]
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
#include "job.h"
#include "log.h"
#include "plugin_set.h"

#define MAIN_DEFAULT_CONCURRENCY 2
#define MAIN_MAX_CONCURRENCY 256
#define MAIN_DEFAULT_JOB_TIMEOUT_S 300
/* The coordinator's bounds on a lease (ORCI_JOB_MIN/MAX_LEASE_MS): 1 s to 10 min. */
#define MAIN_MIN_LEASE_S 1
#define MAIN_MAX_LEASE_S 600
#define MAIN_DEFAULT_STORAGE "orchestra-storage"

static atomic_bool main_stop;

static void main_usage(FILE *f)
{
    fprintf(
        f,
        "usage: orchestra-executor [--rpc URL] --plugins DIR [--concurrency N]\n"
        "                          [--allow-commands] [--storage DIR] [--tls-ca FILE]\n"
        "                          [--log-level debug|info|warn|error] [--job-timeout SECONDS]\n"
        "                          [--lease SECONDS]\n"
        "\n"
        "Runs machine steps for orchestrad: loads the plugins (*.so) of DIR, leases jobs for\n"
        "their functions and runs each in an isolated child process.\n"
        "  --rpc URL            orchestrad's RPC endpoint (default $ORCHESTRA_RPC or %s)\n"
        "  --plugins DIR        folder of plugin shared objects (required)\n"
        "  --concurrency N      jobs run at once (default %d)\n"
        "  --allow-commands     also run steps whose execution_function is a \"command\"\n"
        "  --storage DIR        folder plugins store files in (default ./%s)\n"
        "  --tls-ca FILE        CA bundle for a tls+tcp:// endpoint\n"
        "  --log-level L        debug, info (default), warn or error\n"
        "  --job-timeout S      kill and fail a job after S seconds (default %d)\n"
        "  --lease S            lease length asked for, renewed every S/3 while a job runs\n"
        "                       (default %d); a job of an executor that dies is handed out again\n"
        "                       once its lease runs out\n"
        "Environment: ORCHESTRA_API_KEY and ORCHESTRA_API_SECRET, a key with the executor\n"
        "scope (orchestrad keys create NAME --scopes executor).\n",
        ORC_DEFAULT_RPC_URL, MAIN_DEFAULT_CONCURRENCY, MAIN_DEFAULT_STORAGE,
        MAIN_DEFAULT_JOB_TIMEOUT_S, ORCI_EXECUTOR_LEASE_MS / 1000);
}

/* main_int parses a whole decimal number in [lo, hi]. */
static bool main_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* main_signals waits for SIGTERM or SIGINT (blocked in every thread) and sets the flag. */
static void *main_signals(void *arg)
{
    sigset_t *set = arg;
    for (;;) {
        int sig;
        if (sigwait(set, &sig) == 0) {
            orci_info("signal %d: stopping (no new jobs; running jobs get %d s)", sig,
                      ORCI_EXECUTOR_GRACE_MS / 1000);
            atomic_store(&main_stop, true);
        }
    }
    return NULL;
}

/* main_dup copies an environment value (NULL when unset or empty). */
static char *main_dup_env(const char *name)
{
    const char *v = getenv(name);
    return v && v[0] ? strdup(v) : NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], ORCI_JOB_CHILD_FLAG) == 0)
        return orci_job_child_main(argc, argv);

    const char *rpc = NULL, *plugins_dir = NULL, *storage = MAIN_DEFAULT_STORAGE;
    const char *tls_ca = NULL, *level_name = "info";
    long concurrency = MAIN_DEFAULT_CONCURRENCY, timeout_s = MAIN_DEFAULT_JOB_TIMEOUT_S;
    long lease_s = ORCI_EXECUTOR_LEASE_MS / 1000;
    bool allow_commands = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            main_usage(stdout);
            return 0;
        } else if (strcmp(a, "--version") == 0) {
            printf("orchestra-executor %s (plugin ABI %u)\n", ORC_VERSION, ORC_PLUGIN_ABI_VERSION);
            return 0;
        } else if (strcmp(a, "--allow-commands") == 0) {
            allow_commands = true;
            continue;
        }
        if (!v) {
            fprintf(stderr, "orchestra-executor: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (strcmp(a, "--rpc") == 0) {
            rpc = v;
        } else if (strcmp(a, "--plugins") == 0) {
            plugins_dir = v;
        } else if (strcmp(a, "--storage") == 0) {
            storage = v;
        } else if (strcmp(a, "--tls-ca") == 0) {
            tls_ca = v;
        } else if (strcmp(a, "--log-level") == 0) {
            level_name = v;
        } else if (strcmp(a, "--concurrency") == 0) {
            if (!main_int(v, 1, MAIN_MAX_CONCURRENCY, &concurrency)) {
                fprintf(stderr, "orchestra-executor: --concurrency wants 1 to %d\n",
                        MAIN_MAX_CONCURRENCY);
                return 2;
            }
        } else if (strcmp(a, "--job-timeout") == 0) {
            if (!main_int(v, 1, 7 * 86400, &timeout_s)) {
                fprintf(stderr, "orchestra-executor: --job-timeout wants 1 to %d seconds\n",
                        7 * 86400);
                return 2;
            }
        } else if (strcmp(a, "--lease") == 0) {
            if (!main_int(v, MAIN_MIN_LEASE_S, MAIN_MAX_LEASE_S, &lease_s)) {
                fprintf(stderr, "orchestra-executor: --lease wants %d to %d seconds\n",
                        MAIN_MIN_LEASE_S, MAIN_MAX_LEASE_S);
                return 2;
            }
        } else {
            fprintf(stderr, "orchestra-executor: unknown option %s (see --help)\n", a);
            return 2;
        }
    }
    int level = orci_log_parse_level(level_name);
    if (level < 0) {
        fprintf(stderr, "orchestra-executor: unknown log level %s\n", level_name);
        return 2;
    }
    if (!plugins_dir) {
        fprintf(stderr, "orchestra-executor: --plugins DIR is required (see --help)\n");
        return 2;
    }
    orci_log_init("orchestra-executor", (orci_log_level)level);
    json_object_seed(0);

    int status = 1;
    orci_plugin_set *plugins = NULL;
    char storage_abs[PATH_MAX], self_exe[PATH_MAX], host_name[256], executor_id[320];
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
    if (mkdir(storage, 0755) != 0 && errno != EEXIST) {
        orci_error("cannot create the storage folder %s: %s", storage, strerror(errno));
        goto out;
    }
    if (!realpath(storage, storage_abs)) {
        orci_error("cannot resolve the storage folder %s: %s", storage, strerror(errno));
        goto out;
    }
    ssize_t n = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
    if (n <= 0) {
        orci_error("cannot find the executor's own binary: %s", strerror(errno));
        goto out;
    }
    self_exe[n] = '\0';
    if (gethostname(host_name, sizeof host_name) != 0)
        snprintf(host_name, sizeof host_name, "localhost");
    host_name[sizeof host_name - 1] = '\0';
    snprintf(executor_id, sizeof executor_id, "%s:%ld", host_name, (long)getpid());

    /* A child that exits without reading its input must not kill us; signals go to one
     * thread, and every child unblocks them again. */
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    pthread_t sig_thread;
    if (pthread_create(&sig_thread, NULL, main_signals, &set) != 0) {
        orci_error("cannot start the signal thread");
        goto out;
    }
    pthread_detach(sig_thread);

    orc_plugin_host host;
    orc_error err = {0};
    size_t loaded = 0, refused = 0;
    orci_plugin_host_init(&host, storage_abs);
    if (orci_plugin_set_new(&host, &plugins, &err) != ORC_OK ||
        orci_plugin_set_load_dir(plugins, plugins_dir, &loaded, &refused, &err) != ORC_OK) {
        orci_error("%s", err.message);
        goto out;
    }
    for (size_t i = 0; i < orci_plugin_set_count(plugins); i++)
        orci_info("function %s", orci_plugin_set_function_name(plugins, i));
    orci_info("%zu plugins loaded, %zu refused, from %s; storage %s; job timeout %ld s; "
              "lease %ld s",
              loaded, refused, plugins_dir, storage_abs, timeout_s, lease_s);

    orci_executor_opts opts = {.client = {.rpc_url = rpc,
                                          .api_key = api_key,
                                          .api_secret = api_secret,
                                          .tls_ca_file = tls_ca},
                               .plugins = plugins,
                               .allow_commands = allow_commands,
                               .storage_root = storage_abs,
                               .self_exe = self_exe,
                               .log_level = level_name,
                               .executor_id = executor_id,
                               .concurrency = (int)concurrency,
                               .job_timeout_ms = (int64_t)timeout_s * 1000,
                               .lease_ms = (int)lease_s * 1000};
    if (orci_executor_run(&opts, &main_stop, &err) != ORC_OK) {
        orci_error("%s", err.message);
        goto out;
    }
    orci_info("stopped");
    status = 0;

out:
    orci_plugin_set_destroy(plugins);
    free(api_key);
    free(api_secret);
    return status;
}
