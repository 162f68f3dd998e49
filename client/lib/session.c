/*
 * session.c: the worker session file (session.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "json.h"
#include "session.h"

/* env_or_null reads an environment variable, treating an empty value as unset. */
static const char *env_or_null(const char *name)
{
    const char *v = getenv(name);
    return v && v[0] ? v : NULL;
}

int orci_session_path(char *out, size_t out_size, orc_error *err)
{
    const char *explicit_path = env_or_null("ORCHESTRA_SESSION");
    const char *xdg = env_or_null("XDG_CONFIG_HOME");
    const char *home = env_or_null("HOME");
    int n;

    if (out_size > 0)
        out[0] = '\0';
    if (explicit_path)
        n = snprintf(out, out_size, "%s", explicit_path);
    else if (xdg && xdg[0] == '/')
        n = snprintf(out, out_size, "%s/orchestra/session", xdg);
    else if (home)
        n = snprintf(out, out_size, "%s/.config/orchestra/session", home);
    else
        return orc_error_set(err, ORC_FAILED_PRECONDITION,
                             "no place for the session file: set ORCHESTRA_SESSION or HOME");
    if (n < 0 || (size_t)n >= out_size) {
        if (out_size > 0)
            out[0] = '\0';
        return orc_error_set(err, ORC_OUT_OF_RANGE, "the session file's path is too long");
    }
    return ORC_OK;
}

/* make_parents creates the missing folders above the file at path, with mode 0700;
 * folders that exist keep their mode. */
static int make_parents(const char *path, orc_error *err)
{
    char *dir = strdup(path);
    int rc = ORC_OK;
    if (!dir)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    char *last = strrchr(dir, '/');
    if (!last || last == dir)
        goto out; /* in the current folder or in / */
    *last = '\0';
    for (char *p = dir + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            rc = orc_error_set(err, ORC_INTERNAL, "cannot create folder %s: %s", dir,
                               strerror(errno));
            goto out;
        }
        *p = saved;
        if (saved == '\0')
            break;
    }
out:
    free(dir);
    return rc;
}

/* write_all writes len bytes of buf to fd; 0 or -1 with errno. */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

/* session_document renders s as its JSON text (free() it), or NULL when out of memory. */
static char *session_document(const orci_session *s)
{
    json_t *doc = json_object();
    if (!doc)
        return NULL;
    int bad = 0;
    if (s->rpc)
        bad |= json_object_set_new(doc, "rpc", json_string(s->rpc));
    bad |= json_object_set_new(doc, "username", json_string(s->username));
    bad |= json_object_set_new(doc, "token", json_string(s->token));
    if (s->expires_at)
        bad |= json_object_set_new(doc, "expires_at", json_string(s->expires_at));
    char *text = bad ? NULL : json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return text;
}

int orci_session_save(const char *path, const orci_session *s, orc_error *err)
{
    char *tmp = NULL;
    char *text = NULL;
    int fd = -1;
    int rc = ORC_OK;

    if (!path || !path[0])
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no session file path");
    if (!s || !s->username || !s->username[0] || !s->token || !s->token[0])
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "a session needs a username and a token");
    if ((rc = make_parents(path, err)) != ORC_OK)
        return rc;
    text = session_document(s);
    size_t n = strlen(path) + sizeof ".XXXXXX";
    tmp = malloc(n);
    if (!tmp) {
        rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
        goto out;
    }
    if (!text) {
        /* jansson refuses invalid UTF-8 (or memory ran out). */
        rc = orc_error_set(err, ORC_INVALID_ARGUMENT, "cannot encode the session as JSON");
        free(tmp);
        tmp = NULL;
        goto out;
    }
    snprintf(tmp, n, "%s.XXXXXX", path);
    /* mkstemp creates the file with mode 0600; fchmod says so whatever the umask did. */
    fd = mkstemp(tmp);
    if (fd < 0) {
        rc = orc_error_set(err, ORC_INTERNAL, "cannot create %s: %s", tmp, strerror(errno));
        free(tmp);
        tmp = NULL;
        goto out;
    }
    if (fchmod(fd, 0600) != 0 || write_all(fd, text, strlen(text)) != 0 ||
        write_all(fd, "\n", 1) != 0 || fsync(fd) != 0) {
        rc = orc_error_set(err, ORC_INTERNAL, "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    int closed = close(fd);
    fd = -1;
    if (closed != 0) {
        rc = orc_error_set(err, ORC_INTERNAL, "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (rename(tmp, path) != 0) {
        rc = orc_error_set(err, ORC_INTERNAL, "cannot save the session to %s: %s", path,
                           strerror(errno));
        goto out;
    }
    free(tmp);
    tmp = NULL; /* renamed: nothing left to remove */

out:
    if (fd >= 0)
        close(fd);
    if (tmp) {
        unlink(tmp);
        free(tmp);
    }
    if (text) {
        memset(text, 0, strlen(text));
        free(text);
    }
    return rc;
}

/* read_capped reads the whole file fd into a NUL-terminated *buf (free() it), at most
 * ORCI_SESSION_FILE_MAX bytes. 0, -1 with errno, or 1 when the file is too large. */
static int read_capped(int fd, char **buf, size_t *len)
{
    char *b = malloc(ORCI_SESSION_FILE_MAX + 1);
    size_t n = 0;
    *buf = NULL;
    if (!b)
        return -1;
    for (;;) {
        ssize_t r = read(fd, b + n, ORCI_SESSION_FILE_MAX + 1 - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            free(b);
            return -1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > ORCI_SESSION_FILE_MAX) {
            memset(b, 0, n);
            free(b);
            return 1;
        }
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 0;
}

/* dup_member copies the string member key of doc into *out; NULL when absent. Returns
 * false when the member is there but not a string, or when out of memory. */
static bool dup_member(const json_t *doc, const char *key, char **out)
{
    json_t *v = json_object_get(doc, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v))
        return false;
    *out = strdup(json_string_value(v));
    return *out != NULL;
}

int orci_session_load(const char *path, orci_session *s, orc_error *err)
{
    char *text = NULL;
    size_t len = 0;
    json_t *doc = NULL;
    int rc = ORC_OK;

    if (!s)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no place for the session");
    memset(s, 0, sizeof *s);
    if (!path || !path[0])
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no session file path");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return orc_error_set(err, ORC_NOT_FOUND, "no session saved in %s", path);
        return orc_error_set(err, ORC_INTERNAL, "cannot read %s: %s", path, strerror(errno));
    }
    int r = read_capped(fd, &text, &len);
    int saved_errno = errno;
    close(fd);
    if (r < 0)
        return orc_error_set(err, ORC_INTERNAL, "cannot read %s: %s", path, strerror(saved_errno));
    if (r > 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "%s is too large to be a session", path);

    doc = orci_json_parse_object(text, len, path, err);
    if (!doc) {
        rc = ORC_INVALID_ARGUMENT;
        goto out;
    }
    if (!dup_member(doc, "rpc", &s->rpc) || !dup_member(doc, "username", &s->username) ||
        !dup_member(doc, "token", &s->token) || !dup_member(doc, "expires_at", &s->expires_at) ||
        !s->username || !s->username[0] || !s->token || !s->token[0]) {
        rc = orc_error_set(err, ORC_INVALID_ARGUMENT,
                           "%s is not a session (it needs \"username\" and \"token\" strings)",
                           path);
        goto out;
    }

out:
    if (rc != ORC_OK)
        orci_session_fini(s);
    json_decref(doc);
    if (text) {
        memset(text, 0, len);
        free(text);
    }
    return rc;
}

int orci_session_remove(const char *path, orc_error *err)
{
    if (!path || !path[0])
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no session file path");
    if (unlink(path) != 0) {
        if (errno == ENOENT)
            return orc_error_set(err, ORC_NOT_FOUND, "no session saved in %s", path);
        return orc_error_set(err, ORC_INTERNAL, "cannot remove %s: %s", path, strerror(errno));
    }
    return ORC_OK;
}

void orci_session_fini(orci_session *s)
{
    if (!s)
        return;
    if (s->token)
        memset(s->token, 0, strlen(s->token));
    free(s->rpc);
    free(s->username);
    free(s->token);
    free(s->expires_at);
    memset(s, 0, sizeof *s);
}
