/*
 * fuzz_http_input.c: splitting the fuzz targets' HTTP request text (fuzz_http_input.h).
 */
#include "fuzz_http_input.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* next_line cuts the line starting at *pos (before end) and moves *pos past it. */
static char *next_line(char *buf, size_t end, size_t *pos)
{
    char *line = buf + *pos;
    char *nl = memchr(line, '\n', end - *pos);
    size_t len = nl ? (size_t)(nl - line) : end - *pos;
    *pos += len + (nl ? 1 : 0);
    if (len > 0 && line[len - 1] == '\r')
        len--;
    line[len] = '\0';
    return line;
}

int fuzz_http_input_parse(const uint8_t *data, size_t size, fuzz_http_input *in)
{
    memset(in, 0, sizeof *in);
    in->buf = malloc(size + 1);
    if (!in->buf)
        return -1;
    memcpy(in->buf, data, size);
    in->buf[size] = '\0';
    size_t pos = 0;
    char *first = next_line(in->buf, size, &pos);
    char *sp = strchr(first, ' ');
    in->method = first;
    in->target = "";
    if (sp) {
        *sp = '\0';
        in->target = sp + 1;
    }
    size_t plen = strcspn(in->target, "?");
    in->path = strndup(in->target, plen);
    if (!in->path) {
        fuzz_http_input_fini(in);
        return -1;
    }
    while (pos < size) {
        char *line = next_line(in->buf, size, &pos);
        if (line[0] == '\0')
            break;
        if (in->n_headers == FUZZ_HTTP_HEADERS_MAX)
            continue;
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        in->names[in->n_headers] = line;
        in->values[in->n_headers] = v;
        in->n_headers++;
    }
    in->body = in->buf + pos;
    in->body_len = size - pos;
    return 0;
}

void fuzz_http_input_fini(fuzz_http_input *in)
{
    free(in->path);
    free(in->buf);
    memset(in, 0, sizeof *in);
}

const char *fuzz_http_header(void *arg, const char *name)
{
    const fuzz_http_input *in = arg;
    for (size_t i = 0; i < in->n_headers; i++)
        if (strcasecmp(in->names[i], name) == 0)
            return in->values[i];
    return NULL;
}
