/*
 * documents.c: journalism_workflow.v1.documents.create_documents, and the helpers the
 * plugin's functions share (project folder, file:// URLs, errors).
 *
 * create_documents makes <root>/project-<id>/article/ with an article draft in it, and
 * <root>/project-<id>/raw_photos/ where the photographers put their photos, and returns
 * {"articleURL": "file://.../article/article.txt", "raw_photo_folder": "file://.../raw_photos"}
 * (upstream's keys). Running it again (a retry) keeps what is there.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "journalism.h"

int orci_jw_fail(const orc_plugin_host *host, char **error, int status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t n = strlen(msg);
    char *p = host->alloc(n + 1);
    if (p) {
        memcpy(p, msg, n + 1);
        *error = p;
    }
    return status;
}

int orci_jw_output(const orc_plugin_host *host, char **output, char **error, json_t *v)
{
    char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    if (!text)
        return orci_jw_fail(host, error, ORC_PLUGIN_FAIL, "out of memory");
    size_t n = strlen(text);
    char *p = host->alloc(n + 1);
    if (p)
        memcpy(p, text, n + 1);
    free(text);
    if (!p)
        return orci_jw_fail(host, error, ORC_PLUGIN_FAIL, "out of memory");
    *output = p;
    return ORC_PLUGIN_OK;
}

bool orci_jw_project_dir(const orc_plugin_host *host, const json_t *project_data, char *out,
                         size_t out_size, char **error, int *status)
{
    const json_t *id = json_object_get(project_data, "project_id");
    *status = ORC_PLUGIN_FAIL_PERMANENT;
    if (!json_is_integer(id) || json_integer_value(id) <= 0) {
        orci_jw_fail(host, error, *status, "project_data has no project_id");
        return false;
    }
    if (!host->storage_root || host->storage_root[0] != '/') {
        orci_jw_fail(host, error, *status,
                     "the executor has no absolute storage root (orchestra-executor --storage)");
        return false;
    }
    int n = snprintf(out, out_size, "%s/project-%lld", host->storage_root,
                     (long long)json_integer_value(id));
    if (n < 0 || (size_t)n >= out_size) {
        orci_jw_fail(host, error, *status, "the storage root path is too long");
        return false;
    }
    return true;
}

int orci_jw_mkdirs(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -1;
        buf[i] = c;
    }
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

char *orci_jw_file_url(const char *path)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(path);
    char *out = malloc(7 + 3 * n + 1);
    if (!out)
        return NULL;
    char *o = out + sprintf(out, "file://");
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("/-._~", *p)) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool orci_jw_url_path(const char *url, char *out, size_t out_size)
{
    if (!url || strncmp(url, "file://", 7) != 0 || url[7] != '/')
        return false;
    size_t o = 0;
    for (const char *p = url + 7; *p; p++) {
        char c = *p;
        if (c == '%') {
            int hi = hex_value(p[1]), lo = hi >= 0 ? hex_value(p[2]) : -1;
            if (lo < 0 || (hi == 0 && lo == 0))
                return false;
            c = (char)(hi * 16 + lo);
            p += 2;
        }
        if (o + 1 >= out_size)
            return false;
        out[o++] = c;
    }
    out[o] = '\0';
    return true;
}

/* jw_write_draft writes the article draft unless one exists already. */
static int jw_write_draft(const char *path, const json_t *project_data)
{
    FILE *f = fopen(path, "wx");
    if (!f)
        return errno == EEXIST ? 0 : -1;
    const char *tmpl = json_string_value(json_object_get(project_data, "article_draft_template"));
    fprintf(f, "Article draft\n\n");
    if (tmpl)
        fprintf(f, "Template: %s\n\n", tmpl);
    fprintf(f, "Headline:\n\nBody:\n");
    return fclose(f) == 0 ? 0 : -1;
}

int orci_jw_create_documents(const orc_plugin_host *host, const char *project_data,
                             const char *prerequisites, char **output, char **error)
{
    (void)prerequisites;
    char dir[3072], article_dir[3200], raw_dir[3200], draft[3300];
    char *article_url = NULL, *raw_url = NULL;
    int rc;
    json_t *pd = json_loads(project_data, JSON_REJECT_DUPLICATES, NULL);
    if (!orci_jw_project_dir(host, pd, dir, sizeof dir, error, &rc))
        goto out;
    snprintf(article_dir, sizeof article_dir, "%s/article", dir);
    snprintf(raw_dir, sizeof raw_dir, "%s/raw_photos", dir);
    snprintf(draft, sizeof draft, "%s/article.txt", article_dir);
    if (orci_jw_mkdirs(article_dir) != 0 || orci_jw_mkdirs(raw_dir) != 0) {
        rc = orci_jw_fail(host, error, ORC_PLUGIN_FAIL, "cannot create the folders in %s: %s", dir,
                          strerror(errno));
        goto out;
    }
    if (jw_write_draft(draft, pd) != 0) {
        rc = orci_jw_fail(host, error, ORC_PLUGIN_FAIL, "cannot write %s: %s", draft,
                          strerror(errno));
        goto out;
    }
    article_url = orci_jw_file_url(draft);
    raw_url = orci_jw_file_url(raw_dir);
    if (!article_url || !raw_url) {
        rc = orci_jw_fail(host, error, ORC_PLUGIN_FAIL, "out of memory");
        goto out;
    }
    host->log(host, ORC_PLUGIN_LOG_INFO, "create_documents: made %s", dir);
    rc = orci_jw_output(
        host, output, error,
        json_pack("{s:s,s:s}", "articleURL", article_url, "raw_photo_folder", raw_url));
out:
    free(article_url);
    free(raw_url);
    json_decref(pd);
    return rc;
}
