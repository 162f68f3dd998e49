/*
 * main.c: orchestra-notify, the notifier: upstream's e-mails (spec 3.7) and signed webhooks
 * from the event feed, at least once, in order per target (notifier.h).
 *
 *   orchestra-notify [--rpc URL] [--events URL] [--state DIR] [--smtp URL] [--smtp-from ADDR]
 *                    [--app-url URL] ... (--help lists every setting)
 *
 * Credentials come from ORCHESTRA_API_KEY and ORCHESTRA_API_SECRET: a key with the notify
 * scope (or admin). SIGTERM or SIGINT stop it within 5 s; SIGHUP reopens the log file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <curl/curl.h>
#include <jansson.h>

#include "daemon.h"
#include "log.h"
#include "notifier.h"
#include "options.h"
#include "orchestra/client.h"

#define MAIN_DEFAULT_STATE "orchestra-notify"
#define MAIN_DEFAULT_APP_URL "http://127.0.0.1:8000"
#define MAIN_DEFAULT_FROM "orchestra@localhost"
#define MAIN_CALL_TIMEOUT_MS 10000

static void main_usage(FILE *f)
{
    fprintf(
        f,
        "usage: orchestra-notify [--rpc URL] [--events URL] [--state DIR] [--smtp URL]\n"
        "                        [--smtp-from ADDR] [--app-url URL] [options]\n"
        "\n"
        "Turns the event feed into upstream's e-mails (to the workers concerned, as each\n"
        "chose) and signed webhook deliveries, at least once and in order per target.\n"
        "  --rpc URL[,URL...]     orchestrad's RPC endpoint, or the coordinators of one\n"
        "                         database (default $ORCHESTRA_RPC, else\n"
        "                         " ORC_DEFAULT_RPC_URL ")\n"
        "  --events URL[,URL...]  orchestrad's event feed(s) (default $ORCHESTRA_EVENTS, else\n"
        "                         " ORC_DEFAULT_EVENTS_URL ")\n"
        "  --tls-ca FILE          CA bundle for tls+tcp:// coordinator endpoints\n"
        "  --state DIR            delivery state (made when missing; default ./" MAIN_DEFAULT_STATE
        ")\n"
        "E-mail (off without --smtp):\n"
        "  --smtp URL             smtp://HOST:PORT or smtps://HOST:PORT (user:password@ allowed)\n"
        "  --smtp-from ADDR       sender address (default " MAIN_DEFAULT_FROM ")\n"
        "  --smtp-user USER       AUTH user (with --smtp-password-file)\n"
        "  --smtp-password-file F AUTH password: the first line of F\n"
        "  --smtp-tls MODE        STARTTLS on smtp://: none, try (default) or required\n"
        "  --smtp-ca FILE         CA bundle to verify the SMTP server (default: the system's)\n"
        "  --app-url URL          the web app's address, for the task's link (default\n"
        "                         " MAIN_DEFAULT_APP_URL ")\n"
        "  --email-start SEQ|now  where e-mail starts the first time: after SEQ, or after the\n"
        "                         newest event (now, the default)\n"
        "Webhooks (`orchestra webhook create`):\n"
        "  --webhook-ca FILE      CA bundle to verify https receivers (default: the system's)\n"
        "  --webhook-timeout MS   one delivery's limit (default 10000)\n"
        "  --refresh MS           how often the webhooks are read and reported (default 2000)\n"
        "Retries of a failed delivery (a non-2xx, a timeout, a temporary SMTP failure):\n"
        "  --retry-min MS         first wait (default 1000), doubling with jitter up to\n"
        "  --retry-max MS         (default 3600000), for\n"
        "  --retry-for SECONDS    from the first failure (default 86400); then the event is\n"
        "                         dead-lettered and the next one goes\n"
        "  --log-level LEVEL      debug, info (default), warn or error\n"
        "  --log-format FORMAT    text (default) or json (one object per line, for shippers)\n"
        "  --log-file PATH        append the log to PATH instead of stderr (SIGHUP reopens it)\n"
        "  --config FILE          read settings from FILE first, one `name = value` per line\n"
        "Environment: ORCHESTRA_API_KEY and ORCHESTRA_API_SECRET, a key with the notify scope\n"
        "(orchestrad keys create NAME --scopes notify) or admin.\n"
        "SIGTERM stops within 5 s (a delivery in flight goes again after a restart); SIGHUP\n"
        "reopens the log file.\n");
}

/* main_args are the settings. */
typedef struct main_args {
    const char *rpc, *events, *tls_ca, *state, *log_file, *log_format;
    const char *smtp, *smtp_from, *smtp_user, *smtp_password_file, *smtp_tls, *smtp_ca;
    const char *app_url, *email_start, *webhook_ca;
    long long webhook_timeout_ms, refresh_ms, retry_min_ms, retry_max_ms, retry_for_s;
    int level;
} main_args;

/* main_parse reads --config FILE and the flags: -1 to go on, or the exit status. */
static int main_parse(int argc, char **argv, main_args *a)
{
    const orci_opt opts[] = {
        {"rpc", ORCI_OPT_STRING, &a->rpc, 0, 0, NULL},
        {"events", ORCI_OPT_STRING, &a->events, 0, 0, NULL},
        {"tls-ca", ORCI_OPT_STRING, &a->tls_ca, 0, 0, NULL},
        {"state", ORCI_OPT_STRING, &a->state, 0, 0, NULL},
        {"smtp", ORCI_OPT_STRING, &a->smtp, 0, 0, NULL},
        {"smtp-from", ORCI_OPT_STRING, &a->smtp_from, 0, 0, NULL},
        {"smtp-user", ORCI_OPT_STRING, &a->smtp_user, 0, 0, NULL},
        {"smtp-password-file", ORCI_OPT_STRING, &a->smtp_password_file, 0, 0, NULL},
        {"smtp-tls", ORCI_OPT_STRING, &a->smtp_tls, 0, 0, NULL},
        {"smtp-ca", ORCI_OPT_STRING, &a->smtp_ca, 0, 0, NULL},
        {"app-url", ORCI_OPT_STRING, &a->app_url, 0, 0, NULL},
        {"email-start", ORCI_OPT_STRING, &a->email_start, 0, 0, NULL},
        {"webhook-ca", ORCI_OPT_STRING, &a->webhook_ca, 0, 0, NULL},
        {"webhook-timeout", ORCI_OPT_INT, &a->webhook_timeout_ms, 100, 600000, "ms"},
        {"refresh", ORCI_OPT_INT, &a->refresh_ms, 50, 600000, "ms"},
        {"retry-min", ORCI_OPT_INT, &a->retry_min_ms, 1, 86400000, "ms"},
        {"retry-max", ORCI_OPT_INT, &a->retry_max_ms, 1, 86400000, "ms"},
        {"retry-for", ORCI_OPT_INT, &a->retry_for_s, 0, 30 * 86400, "seconds"},
        {"log-level", ORCI_OPT_LEVEL, &a->level, 0, 0, NULL},
        {"log-file", ORCI_OPT_STRING, &a->log_file, 0, 0, NULL},
        {"log-format", ORCI_OPT_STRING, &a->log_format, 0, 0, NULL},
    };
    orci_opts_spec spec = {.program = "orchestra-notify",
                           .version = ORC_VERSION,
                           .opts = opts,
                           .n_opts = sizeof opts / sizeof opts[0],
                           .usage = main_usage,
                           .default_config = ORC_SYSCONF_DIR "/orchestra-notify.conf"};
    int st = orci_opts_parse(&spec, argc, argv, NULL, 0);
    if (st >= 0)
        return st;
    const char *why = NULL;
    if (strcmp(a->smtp_tls, "none") != 0 && strcmp(a->smtp_tls, "try") != 0 &&
        strcmp(a->smtp_tls, "required") != 0)
        why = "--smtp-tls is none, try or required";
    else if (a->retry_max_ms < a->retry_min_ms)
        why = "--retry-max must not be below --retry-min";
    else if ((a->smtp_user != NULL) != (a->smtp_password_file != NULL))
        why = "--smtp-user and --smtp-password-file go together";
    else if (orci_log_parse_format(a->log_format) < 0)
        why = "--log-format is text or json";
    if (why) {
        fprintf(stderr, "orchestra-notify: %s\n", why);
        return 2;
    }
    return -1;
}

/* main_email_start reads --email-start: a seq >= 0, or -1 for "now". -2 when malformed. */
static long long main_email_start(const char *text)
{
    if (!text || strcmp(text, "now") == 0)
        return -1;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    return errno == 0 && end != text && *end == '\0' && v >= 0 ? v : -2;
}

/* main_read_secret reads the first line of path into a malloc'd string; NULL with errno. */
static char *main_read_secret(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    char line[1024];
    char *got = fgets(line, sizeof line, f);
    fclose(f);
    if (!got) {
        errno = EINVAL;
        return NULL;
    }
    line[strcspn(line, "\r\n")] = '\0';
    char *s = strdup(line);
    memset(line, 0, sizeof line);
    return s;
}

/* main_env copies an environment value (NULL when unset or empty) and removes it. */
static char *main_env(const char *name)
{
    const char *v = getenv(name);
    char *copy = v && v[0] ? strdup(v) : NULL;
    unsetenv(name);
    return copy;
}

/* main_state makes the state folder, takes its lock and opens the state file. */
static int main_state(const char *dir, orci_nstate **state, orc_error *err)
{
    if (mkdir(dir, 0750) != 0 && errno != EEXIST)
        return orc_error_set(err, ORC_UNAVAILABLE, "cannot create the state folder %s: %s", dir,
                             strerror(errno));
    char lock[4096];
    snprintf(lock, sizeof lock, "%s/notify.lock", dir);
    /* Two notifiers on one state would both deliver everything. */
    int code = orci_daemon_lock(lock, err);
    if (code != ORC_OK)
        return code;
    return orci_nstate_open(dir, state, err);
}

/* main_run connects, builds the configuration and runs the notifier until a stop. */
static int main_run(const main_args *a, const char *key, const char *secret, const char *password)
{
    orc_error err = {0};
    orci_nstate *state = NULL;
    orc_client *rpc = NULL;
    int status = 1;
    if (main_state(a->state, &state, &err) != ORC_OK) {
        orci_error("%s", err.message);
        goto out;
    }
    orc_client_opts co = {.rpc_url = a->rpc,
                          .api_key = key,
                          .api_secret = secret,
                          .tls_ca_file = a->tls_ca,
                          .timeout_ms = MAIN_CALL_TIMEOUT_MS};
    if (orc_client_new(&co, &rpc, &err) != ORC_OK) {
        orci_error("coordinator: %s", err.message);
        goto out;
    }
    orci_smtp_tls tls = strcmp(a->smtp_tls, "none") == 0       ? ORCI_SMTP_TLS_NONE
                        : strcmp(a->smtp_tls, "required") == 0 ? ORCI_SMTP_TLS_REQUIRED
                                                               : ORCI_SMTP_TLS_TRY;
    orci_notifier_config c = {.rpc = rpc,
                              .events_url = a->events,
                              .tls_ca = a->tls_ca,
                              .state = state,
                              .retry = {.min_ms = a->retry_min_ms,
                                        .max_ms = a->retry_max_ms,
                                        .give_up_ms = a->retry_for_s * 1000},
                              .email = a->smtp != NULL,
                              .email_cfg = {.from = a->smtp_from,
                                            .app_url = a->app_url,
                                            .smtp = {.url = a->smtp,
                                                     .user = a->smtp_user,
                                                     .password = password,
                                                     .ca_file = a->smtp_ca,
                                                     .tls = tls,
                                                     .timeout_ms = MAIN_CALL_TIMEOUT_MS}},
                              .email_start = main_email_start(a->email_start),
                              .webhook_ca = a->webhook_ca,
                              .webhook_timeout_ms = (int)a->webhook_timeout_ms,
                              .refresh_ms = (int)a->refresh_ms};
    char smtp[1024]; /* --smtp may hold user:password@: never logged */
    orci_log_url(a->smtp ? a->smtp : "off (no --smtp)", smtp, sizeof smtp);
    orci_info("coordinator %s, feed %s, state %s; e-mail %s; retries for %lld s",
              a->rpc ? a->rpc : "(default)", a->events ? a->events : "(default)", a->state, smtp,
              a->retry_for_s);
    if (orci_notifier_run(&c, &err) != ORC_OK) {
        orci_error("%s", err.message);
        goto out;
    }
    orci_info("stopped");
    status = 0;
out:
    orc_client_destroy(rpc);
    orci_nstate_close(state);
    return status;
}

int main(int argc, char **argv)
{
    main_args a = {.state = MAIN_DEFAULT_STATE,
                   .smtp_from = MAIN_DEFAULT_FROM,
                   .smtp_tls = "try",
                   .app_url = MAIN_DEFAULT_APP_URL,
                   .email_start = "now",
                   .webhook_timeout_ms = 10000,
                   .refresh_ms = 2000,
                   .retry_min_ms = 1000,
                   .retry_max_ms = 3600000,
                   .retry_for_s = 86400,
                   .level = ORCI_LOG_INFO,
                   .log_format = "text"};
    int status = main_parse(argc, argv, &a);
    if (status >= 0)
        return status;
    if (main_email_start(a.email_start) < -1) {
        fprintf(stderr, "orchestra-notify: --email-start is a seq >= 0 or now\n");
        return 2;
    }
    orci_log_init("orchestra-notify", (orci_log_level)a.level);
    orci_log_set_format((orci_log_format)orci_log_parse_format(a.log_format));
    if (a.log_file && orci_log_open_file(a.log_file) != 0) {
        fprintf(stderr, "orchestra-notify: cannot open the log file %s: %s\n", a.log_file,
                strerror(errno));
        return 1;
    }
    char *key = main_env("ORCHESTRA_API_KEY"), *secret = main_env("ORCHESTRA_API_SECRET");
    char *password = NULL;
    status = 2;
    if (!key || !secret) {
        fprintf(stderr, "orchestra-notify: set ORCHESTRA_API_KEY and ORCHESTRA_API_SECRET "
                        "(a key with the notify scope)\n");
        goto out;
    }
    if (a.smtp_password_file && !(password = main_read_secret(a.smtp_password_file))) {
        fprintf(stderr, "orchestra-notify: cannot read --smtp-password-file %s: %s\n",
                a.smtp_password_file, strerror(errno));
        goto out;
    }
    status = 1;
    json_object_seed(0);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || orci_daemon_signals() != 0) {
        orci_error("cannot start: %s", strerror(errno));
        goto out;
    }
    status = main_run(&a, key, secret, password);
out:
    free(key);
    if (secret)
        memset(secret, 0, strlen(secret));
    free(secret);
    if (password)
        memset(password, 0, strlen(password));
    free(password);
    return status;
}
