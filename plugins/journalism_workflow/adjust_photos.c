/*
 * adjust_photos.c: journalism_workflow.v1.adjust_photos.autoadjust_photos.
 *
 * Reads every image in document_creation's raw_photo_folder (PNG, JPEG, GIF, BMP, ... as
 * stb_image decodes them), converts it to greyscale (stb_image's luma conversion) and
 * writes it as a JPEG into <root>/project-<id>/processed_photos/, then returns
 * {"processed_photo_folder": "file://...", "photos_for_caption": ["file://...jpg", ...]}
 * (upstream's keys) in file name order. Files that are not images are skipped.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <stb_image.h>
#include <stb_image_write.h>

#include "journalism.h"

/* Larger images are refused rather than decoded (memory). */
#define JW_MAX_PIXELS (64L * 1024 * 1024)
#define JW_JPEG_QUALITY 90
#define JW_MAX_PHOTOS 10000

/* jw_raw_folder finds raw_photo_folder in the flat prerequisites dict: under
 * document_creation first, else under any step. */
static const char *jw_raw_folder(const json_t *prereq)
{
    const char *v = json_string_value(
        json_object_get(json_object_get(prereq, "document_creation"), "raw_photo_folder"));
    if (v)
        return v;
    const char *key;
    json_t *step;
    json_object_foreach((json_t *)prereq, key, step)
    {
        if ((v = json_string_value(json_object_get(step, "raw_photo_folder"))) != NULL)
            return v;
    }
    return NULL;
}

/* jw_under says whether path is root or inside it, once both are resolved. */
static bool jw_under(const char *root, const char *path)
{
    char r[PATH_MAX], p[PATH_MAX];
    if (!realpath(root, r) || !realpath(path, p))
        return false;
    size_t n = strlen(r);
    return strncmp(r, p, n) == 0 && (p[n] == '/' || p[n] == '\0');
}

static int jw_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* jw_list lists the visible regular files of dir, sorted; -1 with errno on failure. */
static int jw_list(const char *dir, char ***names, size_t *n)
{
    DIR *d = opendir(dir);
    size_t cap = 0;
    *names = NULL;
    *n = 0;
    if (!d)
        return -1;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && *n < JW_MAX_PHOTOS) {
        char path[PATH_MAX];
        struct stat st;
        if (de->d_name[0] == '.')
            continue;
        if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path ||
            stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nn = realloc(*names, cap * sizeof *nn);
            if (!nn)
                goto oom;
            *names = nn;
        }
        if (!((*names)[*n] = strdup(de->d_name)))
            goto oom;
        (*n)++;
    }
    closedir(d);
    if (*n > 0)
        qsort(*names, *n, sizeof **names, jw_name_cmp);
    return 0;
oom:
    closedir(d);
    errno = ENOMEM;
    return -1;
}

static void jw_free_list(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* jw_out_name makes "<stem>.jpg" for name, adding "-2", "-3"... when taken. */
static void jw_out_name(const char *out_dir, const char *name, const json_t *taken, char *out,
                        size_t out_size)
{
    char stem[256];
    const char *dot = strrchr(name, '.');
    size_t n = dot && dot != name ? (size_t)(dot - name) : strlen(name);
    if (n >= sizeof stem)
        n = sizeof stem - 1;
    memcpy(stem, name, n);
    stem[n] = '\0';
    for (int k = 1;; k++) {
        char file[300];
        if (k == 1)
            snprintf(file, sizeof file, "%s.jpg", stem);
        else
            snprintf(file, sizeof file, "%s-%d.jpg", stem, k);
        if (!json_object_get(taken, file)) {
            snprintf(out, out_size, "%s/%s", out_dir, file);
            return;
        }
    }
}

/* jw_greyscale converts in_path to a greyscale JPEG at out_path; -1 with why on failure. */
static int jw_greyscale(const char *in_path, const char *out_path, char *why, size_t why_size)
{
    int w, h, comp;
    if (!stbi_info(in_path, &w, &h, &comp)) {
        snprintf(why, why_size, "not an image (%s)", stbi_failure_reason());
        return -1;
    }
    if (w <= 0 || h <= 0 || (long)w * (long)h > JW_MAX_PIXELS) {
        snprintf(why, why_size, "image of %dx%d pixels is too large", w, h);
        return -1;
    }
    /* Asking stb_image for 1 channel makes it compute each pixel's luma. */
    unsigned char *grey = stbi_load(in_path, &w, &h, &comp, 1);
    if (!grey) {
        snprintf(why, why_size, "cannot decode (%s)", stbi_failure_reason());
        return -1;
    }
    int ok = stbi_write_jpg(out_path, w, h, 1, grey, JW_JPEG_QUALITY);
    stbi_image_free(grey);
    if (!ok) {
        snprintf(why, why_size, "cannot write the JPEG");
        return -1;
    }
    return 0;
}

int orci_jw_autoadjust_photos(const orc_plugin_host *host, const char *project_data,
                              const char *prerequisites, char **output, char **error)
{
    char dir[3072], out_dir[3200], raw_dir[PATH_MAX];
    char **names = NULL;
    size_t n_names = 0;
    char *folder_url = NULL;
    int rc;
    json_t *pd = json_loads(project_data, JSON_REJECT_DUPLICATES, NULL);
    json_t *pr = json_loads(prerequisites, JSON_REJECT_DUPLICATES, NULL);
    json_t *taken = json_object(), *photos = json_array();
    if (!taken || !photos) {
        rc = orci_jw_fail(host, error, ORC_PLUGIN_FAIL, "out of memory");
        goto out;
    }
    if (!orci_jw_project_dir(host, pd, dir, sizeof dir, error, &rc))
        goto out;
    const char *raw_url = jw_raw_folder(pr);
    if (!raw_url) {
        rc = orci_jw_fail(host, error, ORC_PLUGIN_FAIL_PERMANENT,
                          "the prerequisites have no raw_photo_folder (from document_creation)");
        goto out;
    }
    if (!orci_jw_url_path(raw_url, raw_dir, sizeof raw_dir) ||
        !jw_under(host->storage_root, raw_dir)) {
        rc = orci_jw_fail(host, error, ORC_PLUGIN_FAIL_PERMANENT,
                          "raw_photo_folder %s is not a folder under the storage root", raw_url);
        goto out;
    }
    snprintf(out_dir, sizeof out_dir, "%s/processed_photos", dir);
    if (orci_jw_mkdirs(out_dir) != 0) {
        rc = orci_jw_fail(host, error, ORC_PLUGIN_FAIL, "cannot create %s: %s", out_dir,
                          strerror(errno));
        goto out;
    }
    if (jw_list(raw_dir, &names, &n_names) != 0) {
        rc = orci_jw_fail(host, error, ORC_PLUGIN_FAIL, "cannot read %s: %s", raw_dir,
                          strerror(errno));
        goto out;
    }
    for (size_t i = 0; i < n_names; i++) {
        char in_path[PATH_MAX + 256], out_path[PATH_MAX + 512], why[512];
        snprintf(in_path, sizeof in_path, "%s/%s", raw_dir, names[i]);
        jw_out_name(out_dir, names[i], taken, out_path, sizeof out_path);
        if (jw_greyscale(in_path, out_path, why, sizeof why) != 0) {
            host->log(host, ORC_PLUGIN_LOG_WARN, "autoadjust_photos: skipping %s: %s", in_path,
                      why);
            continue;
        }
        char *url = orci_jw_file_url(out_path);
        if (!url || json_array_append_new(photos, json_string(url)) != 0 ||
            json_object_set_new(taken, strrchr(out_path, '/') + 1, json_true()) != 0) {
            free(url);
            rc = orci_jw_fail(host, error, ORC_PLUGIN_FAIL, "out of memory");
            goto out;
        }
        free(url);
    }
    if (!(folder_url = orci_jw_file_url(out_dir))) {
        rc = orci_jw_fail(host, error, ORC_PLUGIN_FAIL, "out of memory");
        goto out;
    }
    host->log(host, ORC_PLUGIN_LOG_INFO, "autoadjust_photos: %zu photos greyscaled into %s",
              json_array_size(photos), out_dir);
    rc = orci_jw_output(
        host, output, error,
        json_pack("{s:s,s:O}", "processed_photo_folder", folder_url, "photos_for_caption", photos));
out:
    jw_free_list(names, n_names);
    free(folder_url);
    json_decref(taken);
    json_decref(photos);
    json_decref(pd);
    json_decref(pr);
    return rc;
}
