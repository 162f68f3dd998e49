/*
 * test_journalism_e2e.c: the journalism workflow (spec section 6) end to end, with its two
 * machine steps run by a real orchestra-executor (the example plugin, storage in the test's
 * folder) and its six sample workers driving the human steps through the `orchestra` CLI.
 * The photographer puts real colour images into the raw photo folder that document_creation
 * made; photo_adjustment greyscales them; the copy editor captions them.
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <stb_image.h>

#include "cli_flow.h"
#include "exec_harness.h"
#include "harness.h"
#include "support.h"

#define WAIT_MS 60000

enum { EDITOR, REPORTER_1, REPORTER_2, PHOTOGRAPHER_1, PHOTOGRAPHER_2, COPY_EDITOR, N_WORKERS };

static const char *const USERS[N_WORKERS][2] = {
    {"journalism-editor", "editor"},
    {"journalism-reporter-1", "reporter"},
    {"journalism-reporter-2", "reporter"},
    {"journalism-photographer-1", "photographer"},
    {"journalism-photographer-2", "photographer"},
    {"journalism-copy-editor", "copy-editor"},
};

typedef struct fixture {
    orc_harness h;
    orc_exec ex;
    orc_flow_worker w[N_WORKERS];
    int64_t project;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    *state = f;
    if (orc_harness_start(&f->h, NULL) != 0) {
        orc_harness_cleanup(&f->h);
        free(f);
        return -1;
    }
    for (int i = 0; i < N_WORKERS; i++)
        orc_flow_worker_init(&f->w[i], &f->h, USERS[i][0], USERS[i][1]);
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    int status = orc_exec_stop(&f->ex) == 0 ? 0 : -1;
    if (f->h.pid != 0 && orc_harness_stop(&f->h) != 0)
        status = -1;
    orc_harness_cleanup(&f->h);
    free(f);
    return status;
}

/* ---- helpers --------------------------------------------------------------------------- */

static void wait_task(fixture *f, const char *step, const char *want)
{
    orc_exec *exs[1] = {&f->ex};
    assert_int_equal(orc_exec_wait_task(&f->h, f->project, step, want, WAIT_MS, exs, 1), 0);
}

/* take_task runs `task new ROLE` as who and asserts it hands out the project's task of step. */
static int64_t take_task(fixture *f, int who, const char *role, const char *step)
{
    int64_t want = orc_flow_task_id(&f->h, f->project, step);
    assert_int_equal(orc_flow_task_new(&f->h, &f->w[who], role, NULL), want);
    return want;
}

/* url_path decodes a file:// URL (percent-encoded) into a path. 0 on success. */
static int url_path(const char *url, char *out, size_t out_size)
{
    if (url == NULL || strncmp(url, "file://", 7) != 0)
        return -1;
    size_t o = 0;
    for (const char *p = url + 7; *p != '\0'; p++) {
        if (o + 1 >= out_size)
            return -1;
        unsigned v;
        if (*p == '%' && sscanf(p + 1, "%2x", &v) == 1) {
            out[o++] = (char)v;
            p += 2;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
    return 0;
}

/* latest_string returns tasks.<step>.latest_data.<key> of info (borrowed) or fails. */
static const char *latest_string(fixture *f, json_t *info, const char *step, const char *key)
{
    const char *s = json_string_value(
        json_object_get(json_object_get(orc_flow_task(info, step), "latest_data"), key));
    if (s == NULL) {
        char what[200];
        snprintf(what, sizeof what, "tasks.%s.latest_data.%s should be a string", step, key);
        orc_flow_fail_json(&f->h, what, info);
    }
    return s;
}

/* colour is the pixel (x, y) of the test image w x h number seed. */
static void colour(int x, int y, int w, int h, int seed, unsigned char px[3])
{
    px[0] = (unsigned char)(x * 255 / (w - 1));
    px[1] = (unsigned char)(y * 255 / (h - 1));
    px[2] = (unsigned char)((x + y + seed) * 7);
}

/* write_ppm writes the test image w x h number seed as a binary PPM (stb_image reads it). */
static void write_ppm(const char *path, int w, int h, int seed)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fprintf(fp, "P6\n%d %d\n255\n", w, h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            unsigned char px[3];
            colour(x, y, w, h, seed, px);
            assert_int_equal(fwrite(px, 1, 3, fp), 3);
        }
    assert_int_equal(fclose(fp), 0);
}

/*
 * expect_grey decodes path as RGB: it must be the test image w x h number seed in grey:
 * R=G=B everywhere, close to each pixel's luma on average (JPEG is lossy), not flat.
 */
static void expect_grey(const char *path, int w, int h, int seed)
{
    int gw = 0, gh = 0, comp = 0; /* comp: the file's channels (stb writes JPEGs as YCbCr) */
    unsigned char *px = stbi_load(path, &gw, &gh, &comp, 3);
    if (px == NULL)
        fprintf(stderr, "%s: %s\n", path, stbi_failure_reason());
    assert_non_null(px);
    assert_int_equal(gw, w);
    assert_int_equal(gh, h);
    int lo = 255, hi = 0;
    long error = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const unsigned char *p = px + 3 * (y * w + x);
            unsigned char c[3];
            colour(x, y, w, h, seed, c);
            int luma = (c[0] * 77 + c[1] * 150 + c[2] * 29) >> 8;
            assert_int_equal(p[0], p[1]);
            assert_int_equal(p[1], p[2]);
            error += labs((long)p[0] - luma);
            lo = p[0] < lo ? p[0] : lo;
            hi = p[0] > hi ? p[0] : hi;
        }
    stbi_image_free(px);
    assert_true(hi - lo > 64);
    if (error > 3L * w * h)
        fprintf(stderr, "%s: mean error %ld against the luma\n", path, error / (w * h));
    assert_true(error <= 3L * w * h);
}

static const char *const PLAN =
    "{\"who\":\"the mayor\",\"what\":\"opens a bridge\",\"when\":\"Monday\","
    "\"where\":\"the river\",\"notes\":\"bring a camera\"}";
static const char *const REPORT = "{\"draft\":\"The mayor opened the bridge.\"}";
static const char *const PHOTOS = "{\"photos\":[\"ribbon.ppm\",\"crowd.ppm\"]}";

/* ---- the test -------------------------------------------------------------------------- */

/* e2e_start loads the workflow and its workers, starts an executor, creates the project. */
static void e2e_start(fixture *f)
{
    orc_harness *h = &f->h;
    char dir[700], plugins[700];
    snprintf(dir, sizeof dir, "%s/plugins/journalism_workflow", orc_test_env("ORC_SOURCE_DIR"));
    orc_flow_load_workflow(h, dir, "v1");
    orc_flow_run r;
    orc_flow_admin(h, &r, NULL, "workflow", "sample-data", "journalism/v1", NULL);
    orc_flow_expect_ok(&r);
    orc_flow_run_free(&r);
    for (int i = 0; i < N_WORKERS; i++)
        orc_flow_login(h, &f->w[i]);
    static const char *const files[] = {"lib/libjournalism_workflow.so", NULL};
    assert_int_equal(orc_exec_plugin_dir(h, "plugins", files, plugins, sizeof plugins), 0);
    orc_exec_opts o = {.plugins_dir = plugins, .concurrency = 2};
    assert_int_equal(orc_exec_start(h, "journalism", &o, &f->ex), 0);
    f->project =
        orc_flow_create_project(h, "journalism", "v1", "A test run of our journalism workflow",
                                "{\"article_draft_template\":\"template-doc\"}");
}

/* e2e_documents waits for document_creation (on the executor) and checks the article and
 * the photo folder it made; raw_dir receives the folder. */
static void e2e_documents(fixture *f, char *raw_dir, size_t size)
{
    wait_task(f, "document_creation", "Complete/Submitted");
    wait_task(f, "article_planning", "Awaiting Processing/");
    json_t *info = orc_flow_project_info(&f->h, f->project);
    char article[1024];
    assert_int_equal(
        url_path(latest_string(f, info, "document_creation", "raw_photo_folder"), raw_dir, size),
        0);
    assert_int_equal(url_path(latest_string(f, info, "document_creation", "articleURL"), article,
                              sizeof article),
                     0);
    json_decref(info);
    struct stat st;
    assert_int_equal(stat(raw_dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(stat(article, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_non_null(strstr(raw_dir, f->ex.storage));
}

/* e2e_field_work: the editor plans; a reporter and a photographer work in parallel, each
 * reviewed; the photos go into raw_dir. */
static void e2e_field_work(fixture *f, const char *raw_dir)
{
    orc_harness *h = &f->h;
    int64_t planning = take_task(f, EDITOR, "entry_level", "article_planning");
    orc_flow_task_cmd(h, &f->w[EDITOR], "submit", planning, PLAN);
    int64_t reporting = take_task(f, REPORTER_1, "entry_level", "reporting");
    int64_t photography = take_task(f, PHOTOGRAPHER_1, "entry_level", "photography");
    orc_flow_task_cmd(h, &f->w[REPORTER_1], "submit", reporting, REPORT);
    take_task(f, REPORTER_2, "reviewer", "reporting");
    orc_flow_task_cmd(h, &f->w[REPORTER_2], "accept", reporting, NULL);
    orc_flow_expect_task(h, f->project, "reporting", "Complete", "Submitted,Submitted");
    char path[1200];
    snprintf(path, sizeof path, "%s/ribbon.ppm", raw_dir);
    write_ppm(path, 64, 48, 1);
    snprintf(path, sizeof path, "%s/crowd.ppm", raw_dir);
    write_ppm(path, 40, 30, 2);
    orc_flow_task_cmd(h, &f->w[PHOTOGRAPHER_1], "submit", photography, PHOTOS);
    orc_flow_expect_no_task(h, f->project, "photo_adjustment");
    take_task(f, PHOTOGRAPHER_2, "reviewer", "photography");
    orc_flow_task_cmd(h, &f->w[PHOTOGRAPHER_2], "accept", photography, NULL);
}

/* e2e_copy_edit: photo_adjustment runs once the photos are accepted; the copy editor sees the
 * processed photos among the prerequisites and captions them. Returns the article submitted. */
static json_t *e2e_copy_edit(fixture *f)
{
    orc_harness *h = &f->h;
    wait_task(f, "photo_adjustment", "Complete/Submitted");
    wait_task(f, "copy_editing", "Awaiting Processing/");
    int64_t copy = take_task(f, COPY_EDITOR, "entry_level", "copy_editing");
    char id[32];
    snprintf(id, sizeof id, "%" PRId64, copy);
    orc_flow_run r;
    orc_flow_as(h, &f->w[COPY_EDITOR], &r, "task", "show", id, NULL);
    orc_flow_expect_ok(&r);
    json_t *shown = orc_flow_json(&r);
    orc_flow_run_free(&r);
    json_t *photos = json_object_get(
        json_object_get(json_object_get(shown, "prerequisites"), "photo_adjustment"),
        "photos_for_caption");
    if (json_array_size(photos) != 2)
        orc_flow_fail_json(h, "copy_editing should list two photos_for_caption", shown);
    json_t *article_data = json_pack("{s:s,s:[]}", "headline", "Mayor opens bridge", "photos");
    assert_non_null(article_data);
    size_t i;
    json_t *src;
    json_array_foreach(photos, i, src)
    {
        assert_true(json_is_string(src));
        json_array_append_new(json_object_get(article_data, "photos"),
                              json_pack("{s:O,s:s}", "src", src, "caption",
                                        i == 0 ? "The first photo" : "The second photo"));
    }
    json_decref(shown);
    char *article_text = json_dumps(article_data, JSON_COMPACT);
    assert_non_null(article_text);
    orc_flow_task_cmd(h, &f->w[COPY_EDITOR], "submit", copy, article_text);
    free(article_text);
    orc_flow_expect_task(h, f->project, "copy_editing", "Complete", "Submitted");
    orc_flow_expect_project_status(h, f->project, "Completed");
    return article_data;
}

/* e2e_final checks the final article (the headline and the captioned greyscale photos) and
 * that each machine step ran once. */
static void e2e_final(fixture *f, const json_t *article_data)
{
    orc_harness *h = &f->h;
    json_t *info = orc_flow_project_info(h, f->project);
    json_t *final = json_object_get(orc_flow_task(info, "copy_editing"), "latest_data");
    if (!json_equal(final, article_data))
        orc_flow_fail_json(h, "copy_editing.latest_data should be the article", info);
    int seen_ribbon = 0, seen_crowd = 0;
    size_t i;
    json_t *src;
    json_array_foreach(json_object_get(final, "photos"), i, src)
    {
        char grey[1024];
        const char *url = json_string_value(json_object_get(src, "src"));
        assert_int_equal(url_path(url, grey, sizeof grey), 0);
        if (strstr(grey, "/processed_photos/ribbon.jpg") != NULL) {
            expect_grey(grey, 64, 48, 1);
            seen_ribbon++;
        } else if (strstr(grey, "/processed_photos/crowd.jpg") != NULL) {
            expect_grey(grey, 40, 30, 2);
            seen_crowd++;
        }
    }
    assert_int_equal(seen_ribbon, 1);
    assert_int_equal(seen_crowd, 1);
    json_decref(info);
    Orchestra__V1__ListJobsReply *jobs = orc_exec_list_jobs(h, f->project);
    assert_non_null(jobs);
    assert_int_equal(jobs->n_jobs, 2);
    for (size_t k = 0; k < jobs->n_jobs; k++) {
        assert_string_equal(jobs->jobs[k]->status, "completed");
        assert_int_equal(jobs->jobs[k]->attempts, 1);
    }
    protobuf_c_message_free_unpacked(&jobs->base, NULL);
    orc_flow_expect_consistent(h);
}

static void test_journalism_runs_end_to_end_with_the_executor_and_six_workers(void **state)
{
    fixture *f = *state;
    char raw_dir[1024];
    e2e_start(f);
    e2e_documents(f, raw_dir, sizeof raw_dir);
    e2e_field_work(f, raw_dir);
    json_t *article = e2e_copy_edit(f);
    e2e_final(f, article);
    json_decref(article);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_journalism_runs_end_to_end_with_the_executor_and_six_workers, setup, teardown),
    };
    return cmocka_run_group_tests_name("journalism_e2e", tests, NULL, NULL);
}
