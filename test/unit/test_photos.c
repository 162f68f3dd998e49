/*
 * test_photos.c: the journalism_workflow plugin: create_documents makes the project's
 * folders in the storage root; autoadjust_photos greyscales every raw photo into
 * processed_photos (images generated here with stb_image_write, read back with stb_image).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <stb_image.h>
#include <stb_image_write.h>

#include "job.h"
#include "log.h"
#include "plugin_set.h"

typedef struct fixture {
    char storage[64];
    orc_plugin_host host;
    orci_plugin_set *plugins;
    orc_plugin_fn create_documents, autoadjust;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    orc_error e = {0};
    if (!f)
        return -1;
    snprintf(f->storage, sizeof f->storage, "/tmp/orc_test_photos_XXXXXX");
    if (!mkdtemp(f->storage))
        return -1;
    orci_plugin_host_init(&f->host, f->storage);
    if (orci_plugin_set_new(&f->host, &f->plugins, &e) != ORC_OK ||
        orci_plugin_set_load(f->plugins, ORC_PLUGIN_DIR "/libjournalism_workflow.so", &e) != ORC_OK)
        return -1;
    f->create_documents =
        orci_plugin_set_find(f->plugins, "journalism_workflow.v1.documents.create_documents", NULL);
    f->autoadjust = orci_plugin_set_find(
        f->plugins, "journalism_workflow.v1.adjust_photos.autoadjust_photos", NULL);
    *state = f;
    return f->create_documents && f->autoadjust ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    orci_plugin_set_destroy(f->plugins);
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->storage);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

/* call runs fn and returns its output (parsed) or error (as a JSON string). */
static json_t *call(fixture *f, orc_plugin_fn fn, const char *pd, const char *pr, int want)
{
    char *out = NULL, *err = NULL;
    int rc = fn(&f->host, pd, pr, &out, &err);
    assert_int_equal(rc, want);
    json_t *v = rc == ORC_PLUGIN_OK ? json_loads(out, 0, NULL) : json_string(err ? err : "");
    assert_non_null(v);
    f->host.free(out);
    f->host.free(err);
    return v;
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* create_project_documents runs create_documents for project id and returns its output. */
static json_t *create_project_documents(fixture *f, int id)
{
    char pd[128];
    snprintf(pd, sizeof pd, "{\"project_id\":%d,\"article_draft_template\":\"1F9ULJ\"}", id);
    return call(f, f->create_documents, pd, "{}", ORC_PLUGIN_OK);
}

static void test_create_documents_makes_the_project_folders(void **state)
{
    fixture *f = *state;
    char path[256], url[300];
    json_t *v = create_project_documents(f, 3);
    snprintf(path, sizeof path, "%s/project-3/raw_photos", f->storage);
    assert_true(is_dir(path));
    snprintf(url, sizeof url, "file://%s", path);
    assert_string_equal(json_string_value(json_object_get(v, "raw_photo_folder")), url);
    snprintf(path, sizeof path, "%s/project-3/article/article.txt", f->storage);
    assert_int_equal(access(path, R_OK), 0);
    snprintf(url, sizeof url, "file://%s", path);
    assert_string_equal(json_string_value(json_object_get(v, "articleURL")), url);
    json_decref(v);

    v = create_project_documents(f, 3); /* a retry keeps what is there */
    assert_string_equal(json_string_value(json_object_get(v, "articleURL")), url);
    json_decref(v);
}

static void test_create_documents_without_project_id_fails_permanently(void **state)
{
    fixture *f = *state;
    json_t *v = call(f, f->create_documents, "{}", "{}", ORC_PLUGIN_FAIL_PERMANENT);
    assert_string_equal(json_string_value(v), "project_data has no project_id");
    json_decref(v);
}

/* write_test_images puts a colourful PNG and JPEG and a text file into dir. */
static void write_test_images(const char *dir)
{
    enum { W = 8, H = 6 };
    unsigned char rgb[W * H * 3];
    for (int i = 0; i < W * H; i++) {
        rgb[i * 3 + 0] = (unsigned char)(i % 3 == 0 ? 230 : 20);
        rgb[i * 3 + 1] = (unsigned char)(i % 3 == 1 ? 200 : 40);
        rgb[i * 3 + 2] = (unsigned char)(i % 3 == 2 ? 250 : 10);
    }
    char path[512];
    snprintf(path, sizeof path, "%s/b-street.png", dir);
    assert_true(stbi_write_png(path, W, H, 3, rgb, W * 3) != 0);
    snprintf(path, sizeof path, "%s/a-portrait.jpg", dir);
    assert_true(stbi_write_jpg(path, W, H, 3, rgb, 95) != 0);
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    FILE *t = fopen(path, "w");
    assert_non_null(t);
    fputs("not a photo\n", t);
    fclose(t);
}

/* assert_grey_jpeg checks that url names a greyscale JPEG of the test size. */
static void assert_grey_jpeg(const char *url)
{
    assert_true(strncmp(url, "file://", 7) == 0);
    const char *path = url + 7;
    int w, h, comp;
    assert_true(stbi_info(path, &w, &h, &comp) != 0);
    assert_int_equal(w, 8);
    assert_int_equal(h, 6);
    unsigned char *px = stbi_load(path, &w, &h, &comp, 3);
    assert_non_null(px);
    int lo = 255, hi = 0;
    for (int i = 0; i < w * h; i++) {
        assert_int_equal(px[i * 3], px[i * 3 + 1]);
        assert_int_equal(px[i * 3], px[i * 3 + 2]);
        lo = px[i * 3] < lo ? px[i * 3] : lo;
        hi = px[i * 3] > hi ? px[i * 3] : hi;
    }
    /* The colours became different greys, not one flat value. */
    assert_true(hi - lo > 20);
    stbi_image_free(px);
    FILE *fh = fopen(path, "rb");
    assert_non_null(fh);
    unsigned char magic[2] = {0};
    assert_int_equal(fread(magic, 1, 2, fh), 2);
    fclose(fh);
    assert_int_equal(magic[0], 0xFF);
    assert_int_equal(magic[1], 0xD8);
}

static void test_autoadjust_photos_greyscales_every_raw_photo(void **state)
{
    fixture *f = *state;
    json_t *docs = create_project_documents(f, 5);
    char raw[256], want[300];
    snprintf(raw, sizeof raw, "%s/project-5/raw_photos", f->storage);
    write_test_images(raw);

    json_t *prereq = json_pack("{s:O,s:{}}", "document_creation", docs, "photography");
    char *pr = json_dumps(prereq, JSON_COMPACT);
    json_t *v = call(f, f->autoadjust, "{\"project_id\":5}", pr, ORC_PLUGIN_OK);
    snprintf(want, sizeof want, "file://%s/project-5/processed_photos", f->storage);
    assert_string_equal(json_string_value(json_object_get(v, "processed_photo_folder")), want);
    json_t *photos = json_object_get(v, "photos_for_caption");
    assert_int_equal(json_array_size(photos), 2); /* notes.txt is skipped */
    snprintf(want, sizeof want, "file://%s/project-5/processed_photos/a-portrait.jpg", f->storage);
    assert_string_equal(json_string_value(json_array_get(photos, 0)), want);
    snprintf(want, sizeof want, "file://%s/project-5/processed_photos/b-street.jpg", f->storage);
    assert_string_equal(json_string_value(json_array_get(photos, 1)), want);
    assert_grey_jpeg(json_string_value(json_array_get(photos, 0)));
    assert_grey_jpeg(json_string_value(json_array_get(photos, 1)));
    json_decref(v);
    free(pr);
    json_decref(prereq);
    json_decref(docs);
}

static void test_autoadjust_photos_without_raw_folder_fails_permanently(void **state)
{
    fixture *f = *state;
    json_t *v = call(f, f->autoadjust, "{\"project_id\":6}", "{\"photography\":{}}",
                     ORC_PLUGIN_FAIL_PERMANENT);
    assert_string_equal(json_string_value(v),
                        "the prerequisites have no raw_photo_folder (from document_creation)");
    json_decref(v);
}

static void test_autoadjust_photos_refuses_a_folder_outside_storage(void **state)
{
    fixture *f = *state;
    json_t *v = call(f, f->autoadjust, "{\"project_id\":6}",
                     "{\"document_creation\":{\"raw_photo_folder\":\"file:///etc\"}}",
                     ORC_PLUGIN_FAIL_PERMANENT);
    assert_string_equal(json_string_value(v),
                        "raw_photo_folder file:///etc is not a folder under the storage root");
    json_decref(v);
}

int main(void)
{
    orci_log_init("test_photos", ORCI_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_documents_makes_the_project_folders),
        cmocka_unit_test(test_create_documents_without_project_id_fails_permanently),
        cmocka_unit_test(test_autoadjust_photos_greyscales_every_raw_photo),
        cmocka_unit_test(test_autoadjust_photos_without_raw_folder_fails_permanently),
        cmocka_unit_test(test_autoadjust_photos_refuses_a_folder_outside_storage),
    };
    return cmocka_run_group_tests_name("photos", tests, setup, teardown);
}
