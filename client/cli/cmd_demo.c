/*
 * cmd_demo.c: the example workflows' own commands, as upstream's management commands:
 * `orchestra demo simple` (interactive_simple_workflow_demo) walks through the simple
 * workflow, and `orchestra journalism` (journalism_workflow_ctl) starts and inspects
 * journalism projects (spec section 6).
 *
 * The demo needs a running orchestra-executor with the simple_workflow plugin: the crawl
 * is a machine step, run asynchronously, so the demo polls the project until it is done.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "clock.h"

#define DEMO_DEFAULT_URL "http://www.jrbotros.com/"
#define DEMO_USER "demo"
#define DEMO_RATING "5: This image is very awesome"
#define DEMO_POLL_MS 500
#define DEMO_CRAWL_WAIT_S 60
#define DEMO_CRAWL_WAIT_MAX_S 86400

/* The template document upstream's journalism_workflow_ctl puts in project_data. */
#define JOURNALISM_TEMPLATE "1F9ULJ_eoJFz1whqjK2thsC6gJup2f35IsUUpbcizcfA"
#define JOURNALISM_NOT_FINAL "The '--final' option must be used with a completed project"

/* demo_out is where the narrative goes: stdout, or stderr under --json (stdout then holds
 * exactly one document). */
static FILE *demo_out(const orci_cli_globals *g)
{
    return g->json ? stderr : stdout;
}

static void say(const orci_cli_globals *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void say(const orci_cli_globals *g, const char *fmt, ...)
{
    va_list ap;
    FILE *f = demo_out(g);
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
    fflush(f);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* print_pretty prints v indented on f, members in the server's order. */
static void print_pretty(FILE *f, const json_t *v)
{
    char *text = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    fprintf(f, "%s\n", text ? text : "(cannot encode)");
    free(text);
}

/* fetch_info returns the project's project_information document (new reference), or NULL
 * with the exit status in *exit_code after printing the problem. */
static json_t *fetch_info(orc_client *c, int64_t project_id, int *exit_code)
{
    orc_error err;
    char *text = NULL;
    int rc = orc_project_info_json(c, project_id, &text, &err);
    if (rc != ORC_OK) {
        *exit_code = orci_cli_fail(&err, NULL);
        return NULL;
    }
    json_t *doc = orci_cli_parse_document(text, "project information");
    orc_free(text);
    if (!doc)
        *exit_code = ORCI_CLI_EXIT_REFUSED;
    return doc;
}

/* step_task returns tasks.<step> of a project_information document (borrowed; NULL when
 * the step has no task yet). */
static json_t *step_task(const json_t *info, const char *step)
{
    return json_object_get(json_object_get(info, "tasks"), step);
}

static const char *task_status(const json_t *task)
{
    const char *s = json_string_value(json_object_get(task, "status"));
    return s ? s : "";
}

/* print_job_errors prints the last error of each of the project's jobs, to explain a
 * machine step that failed. Best effort: a refused ListJobs prints nothing. */
static void print_job_errors(const orci_cli_globals *g, orc_client *c, int64_t project_id)
{
    orc_error err;
    char *text = NULL;
    if (orc_job_list_json(c, project_id, &text, &err) != ORC_OK)
        return;
    json_t *doc = json_loads(text, 0, NULL);
    orc_free(text);
    size_t i;
    json_t *j;
    json_array_foreach(json_object_get(doc, "jobs"), i, j)
    {
        const char *e = json_string_value(json_object_get(j, "last_error"));
        if (e && e[0])
            say(g, "  job %" JSON_INTEGER_FORMAT " (%s, %s): %s",
                json_integer_value(json_object_get(j, "job_id")),
                json_string_value(json_object_get(j, "step")),
                json_string_value(json_object_get(j, "status")), e);
    }
    json_decref(doc);
}

/*
 * wait_for_crawl polls the project until its crawl task is Complete (then *info is the
 * latest project_information, new reference) or failed, or wait_s pass. Returns
 * ORCI_CLI_CONTINUE when complete, else the exit status after saying why.
 */
static int wait_for_crawl(const orci_cli_globals *g, orc_client *c, int64_t project_id, long wait_s,
                          json_t **info)
{
    int64_t deadline = orci_monotonic_ms() + (int64_t)wait_s * 1000;
    int r = ORCI_CLI_EXIT_REFUSED;
    *info = NULL;
    for (;;) {
        json_t *doc = fetch_info(c, project_id, &r);
        if (!doc)
            return r;
        /* A copy: the document (and the string in it) is released before the checks. */
        char status[64];
        snprintf(status, sizeof status, "%s", task_status(step_task(doc, "crawl")));
        if (strcmp(status, "Complete") == 0) {
            *info = doc;
            return ORCI_CLI_CONTINUE;
        }
        json_decref(doc);
        if (strcmp(status, "Failed") == 0 || strcmp(status, "Aborted") == 0) {
            fflush(stdout);
            fprintf(stderr, "orchestra: the crawl step of project %" PRId64 " is %s.\n", project_id,
                    status);
            print_job_errors(g, c, project_id);
            return ORCI_CLI_EXIT_REFUSED;
        }
        if (orci_monotonic_ms() >= deadline)
            break;
        sleep_ms(DEMO_POLL_MS);
    }
    fflush(stdout);
    fprintf(stderr,
            "orchestra: the crawl step of project %" PRId64 " did not finish within %ld s.\n"
            "Is an orchestra-executor with the simple_workflow plugin serving this orchestrad?\n"
            "  orchestra-executor --plugins DIR   (with an executor-scope API key)\n"
            "  orchestra job list -p %" PRId64 "   (shows the crawl's job)\n",
            project_id, wait_s, project_id);
    return ORCI_CLI_EXIT_REFUSED;
}

/* wait_for_rating polls the project until its rate task is Complete (*info: the latest
 * document, new reference), for as long as it takes: a person is doing the task. */
static int wait_for_rating(const orci_cli_globals *g, orc_client *c, int64_t project_id,
                           json_t **info)
{
    int r = ORCI_CLI_EXIT_REFUSED;
    char last[64] = "";
    *info = NULL;
    for (;;) {
        json_t *doc = fetch_info(c, project_id, &r);
        if (!doc)
            return r;
        const char *status = task_status(step_task(doc, "rate"));
        if (strcmp(status, "Complete") == 0) {
            *info = doc;
            return ORCI_CLI_CONTINUE;
        }
        if (strcmp(status, "Aborted") == 0) {
            json_decref(doc);
            fflush(stdout);
            fprintf(stderr, "orchestra: the rate task of project %" PRId64 " was aborted.\n",
                    project_id);
            return ORCI_CLI_EXIT_REFUSED;
        }
        if (strcmp(last, status) != 0) {
            say(g, "  tasks.rate.status is '%s'; waiting for 'Complete'...", status);
            snprintf(last, sizeof last, "%s", status);
        }
        json_decref(doc);
        sleep_ms(DEMO_POLL_MS * 2);
    }
}

/*
 * rate_as_demo does the rate task as the demo user: log in, ask for a new entry-level
 * task (it must be this project's rate task), show the crawled image, submit the rating.
 */
static int rate_as_demo(const orci_cli_globals *g, int64_t rate_task_id)
{
    orc_client_opts opts;
    orc_client_opts_from_env(&opts);
    opts.api_key = NULL; /* the calls run as the worker */
    opts.api_secret = NULL;
    opts.token = NULL;
    const char *password = getenv("ORCHESTRA_DEMO_PASSWORD");
    if (!password || !password[0])
        password = DEMO_USER;
    orc_client *w = NULL;
    int r = orci_cli_connect_opts(g, &opts, &w);
    if (r != ORCI_CLI_EXIT_OK)
        return r;
    orc_error err;
    char *text = NULL;
    json_t *task = NULL, *detail = NULL;

    say(g, "\n$ orchestra login %s", DEMO_USER);
    int rc = orc_login(w, DEMO_USER, password, NULL, NULL, &err);
    if (rc != ORC_OK) {
        r = orci_cli_fail(&err, "orchestra: cannot log in as " DEMO_USER ": ");
        goto out;
    }
    say(g, "Logged in as %s.", DEMO_USER);

    say(g, "\n$ orchestra task new entry_level");
    if ((rc = orc_task_new_json(w, "entry_level", &text, &err)) != ORC_OK) {
        r = orci_cli_fail_worker(&err);
        goto out;
    }
    if (!(task = orci_cli_parse_document(text, "new task"))) {
        r = ORCI_CLI_EXIT_REFUSED;
        goto out;
    }
    orc_free(text);
    text = NULL;
    int64_t task_id = (int64_t)json_integer_value(json_object_get(task, "id"));
    say(g, "Got task %" PRId64 " (step %s of \"%s\").", task_id,
        json_string_value(json_object_get(task, "step")),
        json_string_value(json_object_get(task, "detail")));
    if (task_id != rate_task_id) {
        fflush(stdout);
        fprintf(stderr,
                "orchestra: the demo user was given task %" PRId64 ", not this project's rate "
                "task %" PRId64 ": another project is waiting for it. Finish that task first.\n",
                task_id, rate_task_id);
        r = ORCI_CLI_EXIT_REFUSED;
        goto out;
    }

    if ((rc = orc_task_info_json(w, task_id, &text, &err)) != ORC_OK) {
        r = orci_cli_fail_worker(&err);
        goto out;
    }
    if (!(detail = orci_cli_parse_document(text, "task information"))) {
        r = ORCI_CLI_EXIT_REFUSED;
        goto out;
    }
    const char *image = json_string_value(json_object_get(
        json_object_get(json_object_get(detail, "prerequisites"), "crawl"), "image"));
    say(g, "The task shows the crawled image: %s", image ? image : "(none: the crawl found none)");

    char data[128];
    snprintf(data, sizeof data, "{\"rating\":\"%s\"}", DEMO_RATING);
    say(g, "\n$ orchestra task submit %" PRId64 " --data '%s'", task_id, data);
    if ((rc = orc_task_submit(w, task_id, data, "submit", &err)) != ORC_OK) {
        r = orci_cli_fail_worker(&err);
        goto out;
    }
    say(g, "Submitted: the rate step needs no review, so its task is now Complete.");
    r = ORCI_CLI_CONTINUE;

out:
    json_decref(task);
    json_decref(detail);
    orc_free(text);
    orc_logout(w, NULL);
    orc_client_destroy(w);
    return r;
}

/* demo_create creates the demo's project with project_data {"url": url}. */
static int demo_create(const orci_cli_globals *g, orc_client *c, const char *url,
                       int64_t *project_id)
{
    json_t *data = json_pack("{s:s}", "url", url);
    char *data_text = data ? json_dumps(data, JSON_COMPACT) : NULL;
    json_decref(data);
    if (!data_text)
        return orci_cli_print_json(NULL);
    say(g, "Orchestra simple workflow demo: a machine step crawls a web page for an image,\n"
           "then a person rates it.");
    say(g,
        "\nCreating a project: simple_workflow/v1, \"A test run of our simple workflow\", "
        "priority 10,\nproject_data %s, task class training.",
        data_text);
    orc_project_params p = {.workflow = "simple_workflow",
                            .version = "v1",
                            .description = "A test run of our simple workflow",
                            .priority = 10,
                            .task_class = "training",
                            .project_data = data_text};
    orc_error err;
    int rc = orc_project_create(c, &p, project_id, &err);
    free(data_text);
    if (rc != ORC_OK)
        return orci_cli_fail(&err, NULL);
    say(g, "Project with id %" PRId64 " created!", *project_id);
    return ORCI_CLI_CONTINUE;
}

/* demo_show_crawl prints what the crawl found; returns its data (a new reference, may be
 * NULL) and the rate task's id. */
static json_t *demo_show_crawl(const orci_cli_globals *g, int64_t project_id, json_t *info,
                               int64_t *rate_task_id)
{
    say(g, "\nProject information (orchestra project info %" PRId64 " --json):", project_id);
    if (!g->json)
        print_pretty(stdout, info);
    json_t *crawled = json_object_get(step_task(info, "crawl"), "latest_data");
    const char *image = json_string_value(json_object_get(crawled, "image"));
    const char *crawl_error = json_string_value(json_object_get(crawled, "error_message"));
    json_t *rate = step_task(info, "rate");
    say(g, "\ntasks.crawl.status is 'Complete'; tasks.crawl.latest_data.image is %s%s%s.",
        image ? image : "null", crawl_error ? ": " : "", crawl_error ? crawl_error : "");
    say(g, "tasks.rate.status is '%s': the human step comes next.", task_status(rate));
    *rate_task_id = (int64_t)json_integer_value(json_object_get(rate, "id"));
    return json_incref(crawled);
}

/* demo_report prints the outcome once the rate task is Complete (takes crawl_data). */
static int demo_report(const orci_cli_globals *g, int64_t project_id, json_t *crawl_data,
                       json_t *info)
{
    json_t *rating =
        json_object_get(json_object_get(step_task(info, "rate"), "latest_data"), "rating");
    const char *rating_text = json_string_value(rating);
    if (g->json)
        return orci_cli_print_json(json_pack("{s:I,s:o,s:O}", "project_id", (json_int_t)project_id,
                                             "crawl", crawl_data ? crawl_data : json_null(),
                                             "rating", rating ? rating : json_null()));
    json_decref(crawl_data);
    printf("\nThe rate task is Complete.\n");
    if (rating_text)
        printf("tasks.rate.latest_data.rating is '%s'.\n", rating_text);
    else
        printf("The task was submitted without a rating (tasks.rate.latest_data has none).\n");
    printf("\nYou have completed your first Orchestra project.\n");
    return ORCI_CLI_EXIT_OK;
}

/* demo_run runs the demo on c once the options are read. */
static int demo_run(const orci_cli_globals *g, orc_client *c, const char *url, long wait_s,
                    bool yes)
{
    int64_t project_id = 0, rate_task_id = 0;
    json_t *info = NULL;
    int r = demo_create(g, c, url, &project_id);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    say(g, "\nWaiting for an executor to run the crawl step (at most %ld s)...", wait_s);
    if ((r = wait_for_crawl(g, c, project_id, wait_s, &info)) != ORCI_CLI_CONTINUE)
        return r;
    json_t *crawl_data = demo_show_crawl(g, project_id, info, &rate_task_id);
    json_decref(info);
    info = NULL;
    if (yes) {
        say(g, "\nDoing the rate task as the demo user (--yes):");
        r = rate_as_demo(g, rate_task_id);
    } else {
        say(g,
            "\nNow do the rate task as a worker, in another terminal (the demo user's\n"
            "password is demo):\n"
            "  orchestra login %s\n"
            "  orchestra task new entry_level\n"
            "  orchestra task submit %" PRId64 " --data '{\"rating\": \"%s\"}'\n"
            "Waiting until tasks.rate.status is 'Complete' (Ctrl-C to stop)...",
            DEMO_USER, rate_task_id, DEMO_RATING);
    }
    if (r == ORCI_CLI_CONTINUE)
        r = wait_for_rating(g, c, project_id, &info);
    if (r != ORCI_CLI_CONTINUE) {
        json_decref(crawl_data);
        return r;
    }
    r = demo_report(g, project_id, crawl_data, info);
    json_decref(info);
    return r;
}

static int cmd_demo_simple(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    bool yes = false;
    const char *url = DEMO_DEFAULT_URL, *wait = NULL;
    const orci_cli_opt opts[] = {
        {.name = "--yes", .flag = &yes},
        {.name = "-y", .flag = &yes},
        {.name = "--url", .value = &url},
        {.name = "--wait", .value = &wait},
    };
    int n_pos;
    int r = orci_cli_parse(g, cmd, argc, argv, opts, sizeof opts / sizeof opts[0], 0, 0, &n_pos);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    long wait_s = DEMO_CRAWL_WAIT_S;
    if (wait) {
        char *end;
        wait_s = strtol(wait, &end, 10);
        if (end == wait || *end || wait_s <= 0 || wait_s > DEMO_CRAWL_WAIT_MAX_S)
            return orci_cli_usage_error(cmd, "--wait needs seconds between 1 and %d, not \"%s\"",
                                        DEMO_CRAWL_WAIT_MAX_S, wait);
    }
    if (!url[0])
        return orci_cli_usage_error(cmd, "--url needs a URL");
    orc_client *c = NULL;
    if ((r = orci_cli_connect(g, &c)) != ORCI_CLI_EXIT_OK)
        return r;
    r = demo_run(g, c, url, wait_s, yes);
    orc_client_destroy(c);
    return r;
}

/* ---- journalism ----------------------------------------------------------------------- */

/* print_info prints a project's information: pretty for people, one line with --json. */
static int print_info(const orci_cli_globals *g, orc_client *c, int64_t project_id)
{
    int r = ORCI_CLI_EXIT_REFUSED;
    json_t *info = fetch_info(c, project_id, &r);
    if (!info)
        return r;
    if (g->json)
        return orci_cli_print_json(info);
    printf("Information received! Here's what we got:\n\n");
    print_pretty(stdout, info);
    json_decref(info);
    return ORCI_CLI_EXIT_OK;
}

static int journalism_new(const orci_cli_globals *g, orc_client *c)
{
    orc_project_params p = {
        .workflow = "journalism",
        .version = "v1",
        .description = "A test run of our journalism workflow",
        .priority = 10,
        .task_class = "training",
        .project_data = "{\"article_draft_template\":\"" JOURNALISM_TEMPLATE "\"}",
    };
    orc_error err;
    int64_t project_id = 0;
    if (orc_project_create(c, &p, &project_id, &err) != ORC_OK)
        return orci_cli_fail(&err, NULL);
    if (g->json) {
        int r = ORCI_CLI_EXIT_REFUSED;
        json_t *info = fetch_info(c, project_id, &r);
        if (!info)
            return r;
        return orci_cli_print_json(json_pack("{s:I,s:o}", "project_id", (json_int_t)project_id,
                                             "project_information", info));
    }
    printf("Project with id %" PRId64 " created!\n", project_id);
    return print_info(g, c, project_id);
}

static int journalism_final(const orci_cli_globals *g, orc_client *c, int64_t project_id)
{
    int r = ORCI_CLI_EXIT_REFUSED;
    json_t *info = fetch_info(c, project_id, &r);
    if (!info)
        return r;
    json_t *task = step_task(info, "copy_editing");
    json_t *article = json_object_get(task, "latest_data");
    if (strcmp(task_status(task), "Complete") != 0 || !article) {
        json_decref(info);
        fflush(stdout);
        fprintf(stderr, "%s\n", JOURNALISM_NOT_FINAL);
        return ORCI_CLI_EXIT_REFUSED;
    }
    if (g->json)
        r = orci_cli_print_json(json_incref(article));
    else {
        print_pretty(stdout, article);
        r = ORCI_CLI_EXIT_OK;
    }
    json_decref(info);
    return r;
}

static int cmd_journalism(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    bool is_new = false, status = false, final = false;
    const char *project = NULL;
    const orci_cli_opt opts[] = {
        {.name = "--new", .flag = &is_new},          {.name = "-n", .flag = &is_new},
        {.name = "--status", .flag = &status},       {.name = "-s", .flag = &status},
        {.name = "--final", .flag = &final},         {.name = "-f", .flag = &final},
        {.name = "--project-id", .value = &project}, {.name = "-p", .value = &project},
    };
    int n_pos;
    int64_t project_id = 0;
    int r = orci_cli_parse(g, cmd, argc, argv, opts, sizeof opts / sizeof opts[0], 0, 0, &n_pos);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    if ((int)is_new + (int)status + (int) final != 1)
        return orci_cli_usage_error(cmd, "exactly one of --new, --status and --final is required");
    if (is_new && project)
        return orci_cli_usage_error(
            cmd, "The '--new' option cannot be used in conjunction with a project id.");
    if (!is_new && !project)
        return orci_cli_usage_error(cmd,
                                    "The '--%s' option must be used in conjunction with a "
                                    "project id.",
                                    status ? "status" : "final");
    if (project &&
        (r = orci_cli_parse_id(cmd, "--project-id", project, &project_id)) != ORCI_CLI_CONTINUE)
        return r;
    orc_client *c = NULL;
    if ((r = orci_cli_connect(g, &c)) != ORCI_CLI_EXIT_OK)
        return r;
    if (is_new)
        r = journalism_new(g, c);
    else if (status)
        r = print_info(g, c, project_id);
    else
        r = journalism_final(g, c, project_id);
    orc_client_destroy(c);
    return r;
}

const orci_cli_command orci_cli_demo_commands[] = {
    {
        .group = "example",
        .name = "simple",
        .run = cmd_demo_simple,
        .usage = "[--yes] [--url URL] [--wait SECONDS]",
        .summary = "Walk through the simple workflow: crawl a page for an image, then rate it",
        .help =
            "Creates a simple_workflow/v1 project (training) for --url (default\n" DEMO_DEFAULT_URL
            "), waits up to --wait seconds (default 60) for an orchestra-executor to\n"
            "run the crawl step and prints the project information. Then it asks you to\n"
            "do the rate task as the demo user and waits until it is Complete; with --yes\n"
            "it logs in as demo itself (password $ORCHESTRA_DEMO_PASSWORD, else demo),\n"
            "takes the task and submits the rating \"" DEMO_RATING "\".\n"
            "Prints the final rating. --json sends the narrative to stderr and prints\n"
            "{\"project_id\":N,\"crawl\":{...},\"rating\":\"...\"}.\n",
    },
    {
        .group = "example",
        .name = "journalism",
        .run = cmd_journalism,
        .usage = "--new | --status -p ID | --final -p ID",
        .summary = "Start and examine projects of the journalism workflow",
        .help = "-n/--new creates a journalism/v1 project (training) and prints its id and\n"
                "information; -s/--status prints the information of project -p/--project-id;\n"
                "-f/--final prints the finished article (tasks.copy_editing.latest_data) once\n"
                "copy editing is Complete, otherwise exits 1. --json prints one document:\n"
                "{\"project_id\",\"project_information\"} for --new, the information, or the\n"
                "article.\n",
    },
    {0},
};
