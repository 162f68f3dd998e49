/*
 * files.c: file-system helpers (see files.h).
 */
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int orci_make_parents(const char *path, mode_t mode, orc_error *err)
{
    char *dir = strdup(path);
    if (dir == NULL)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    int code = ORC_OK;
    char *slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir)
        goto out;
    *slash = '\0';
    for (char *p = dir + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(dir, mode) != 0 && errno != EEXIST) {
            code = orc_error_set(err, ORC_UNAVAILABLE, "cannot create folder %s: %s", dir,
                                 strerror(errno));
            goto out;
        }
        *p = c;
        if (c == '\0')
            break;
    }
out:
    free(dir);
    return code;
}

/* read_all reads fd to its end into buf (cap bytes of room), stopping once len > max. */
static int read_all(int fd, const char *path, size_t max, char **buf, size_t *cap, size_t *len,
                    orc_error *err)
{
    for (;;) {
        if (*len == *cap) {
            if (*cap > max)
                return ORC_OK; /* one byte past the limit is enough to know */
            size_t ncap = *cap * 2 > max + 1 ? max + 1 : *cap * 2;
            char *nb = realloc(*buf, ncap + 1);
            if (!nb)
                return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory reading %s", path);
            *buf = nb;
            *cap = ncap;
        }
        ssize_t r = read(fd, *buf + *len, *cap - *len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return orc_error_set(err, ORC_INVALID_ARGUMENT, "cannot read %s: %s", path,
                                 strerror(errno));
        if (r == 0)
            return ORC_OK;
        *len += (size_t)r;
    }
}

int orci_read_file(const char *path, size_t max, char **out, size_t *len, orc_error *err)
{
    *out = NULL;
    if (len)
        *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "cannot open %s: %s", path,
                             strerror(errno));
    char *buf = NULL;
    int rc = ORC_OK;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = orc_error_set(err, ORC_INVALID_ARGUMENT, "%s is not a regular file", path);
        goto out;
    }
    /* The file may grow between fstat and read: the loop reads one byte past the limit. */
    size_t cap = (uint64_t)st.st_size < max ? (size_t)st.st_size + 1 : max + 1, n = 0;
    if (!(buf = malloc(cap + 1))) {
        rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory reading %s", path);
        goto out;
    }
    if ((rc = read_all(fd, path, max, &buf, &cap, &n, err)) != ORC_OK)
        goto out;
    if (n > max) {
        rc = orc_error_set(err, ORC_INVALID_ARGUMENT, "%s is larger than %zu bytes", path, max);
        goto out;
    }
    buf[n] = '\0';
    *out = buf;
    buf = NULL;
    if (len)
        *len = n;
out:
    free(buf);
    close(fd);
    return rc;
}
