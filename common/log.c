/*
 * log.c: one line per record on stderr.
 *
 * The program name, the level and the format are process-wide, set in main before any
 * thread starts and only read afterwards. Each record is formatted into one buffer and
 * written with a single write(2) to file descriptor 2, so lines from different threads (and
 * from processes sharing the file, which is opened O_APPEND) never interleave. A log file
 * replaces descriptor 2 by dup2, which is atomic: a reopen never loses or splits a line.
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "clock.h"

/* The message as formatted, at most; each field's value is cut at LOG_VALUE_MAX bytes. */
#define LOG_MSG_MAX 4096
#define LOG_VALUE_MAX 512
/* Room for the longest record: the head, the message and every field escaped (JSON escapes
 * a byte into at most 6), bounded below by the caps the writers apply. */
#define LOG_LINE_MAX (256 + LOG_MSG_MAX + ORCI_LOG_MAX_FIELDS * (LOG_VALUE_MAX + 96))
#define LOG_PROGRAM_MAX 64
#define LOG_PATH_MAX 4096

static char log_program[LOG_PROGRAM_MAX] = "orchestra";
static orci_log_level log_min_level = ORCI_LOG_INFO;
static orci_log_format log_format = ORCI_LOG_TEXT;
/* The log file's path, "" when the log goes to the inherited stderr. */
static char log_path[LOG_PATH_MAX];

static const char *const log_level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

void orci_log_init(const char *program, orci_log_level level)
{
    if (program != NULL && program[0] != '\0')
        snprintf(log_program, sizeof log_program, "%s", program);
    if (level >= ORCI_LOG_DEBUG && level <= ORCI_LOG_ERROR)
        log_min_level = level;
}

/* log_swap_in opens path and makes it descriptor 2. */
static int log_swap_in(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return -1;
    int rc = fd == STDERR_FILENO ? 0 : dup2(fd, STDERR_FILENO);
    int e = errno;
    if (fd != STDERR_FILENO)
        close(fd);
    errno = e;
    return rc < 0 ? -1 : 0;
}

int orci_log_open_file(const char *path)
{
    if (path == NULL || path[0] == '\0' || strlen(path) >= sizeof log_path) {
        errno = EINVAL;
        return -1;
    }
    fflush(stderr);
    if (log_swap_in(path) != 0)
        return -1;
    snprintf(log_path, sizeof log_path, "%s", path);
    return 0;
}

int orci_log_reopen(void)
{
    if (log_path[0] == '\0')
        return 0;
    fflush(stderr);
    return log_swap_in(log_path);
}

int orci_log_parse_format(const char *s)
{
    if (s != NULL && strcmp(s, "text") == 0)
        return ORCI_LOG_TEXT;
    if (s != NULL && strcmp(s, "json") == 0)
        return ORCI_LOG_JSON;
    return -1;
}

void orci_log_set_format(orci_log_format format)
{
    log_format = format == ORCI_LOG_JSON ? ORCI_LOG_JSON : ORCI_LOG_TEXT;
}

bool orci_log_enabled(orci_log_level level)
{
    return level >= log_min_level;
}

void orci_log_spec(char *out, size_t out_size)
{
    snprintf(out, out_size, "%s%s", orci_log_level_name(log_min_level),
             log_format == ORCI_LOG_JSON ? ":json" : "");
}

void orci_log_init_spec(const char *program, const char *spec)
{
    char level[16] = "";
    const char *colon = spec ? strchr(spec, ':') : NULL;
    size_t n = colon ? (size_t)(colon - spec) : spec ? strlen(spec) : 0;
    if (n < sizeof level) {
        memcpy(level, spec ? spec : "", n);
        level[n] = '\0';
    }
    int lv = orci_log_parse_level(level);
    orci_log_init(program, lv < 0 ? ORCI_LOG_INFO : (orci_log_level)lv);
    orci_log_set_format(colon && strcmp(colon + 1, "json") == 0 ? ORCI_LOG_JSON : ORCI_LOG_TEXT);
}

const char *orci_log_level_name(orci_log_level level)
{
    static const char *const lower[] = {"debug", "info", "warn", "error"};
    return level >= ORCI_LOG_DEBUG && level <= ORCI_LOG_ERROR ? lower[level] : "info";
}

int orci_log_parse_level(const char *s)
{
    if (s == NULL)
        return -1;
    for (size_t i = 0; i < sizeof log_level_names / sizeof log_level_names[0]; i++) {
        if (strcasecmp(s, log_level_names[i]) == 0)
            return (int)i;
    }
    return -1;
}

void orci_log_url(const char *url, char *out, size_t out_size)
{
    if (out_size == 0)
        return;
    const char *u = url ? url : "";
    const char *scheme = strstr(u, "://");
    const char *auth = scheme ? scheme + 3 : u;
    size_t auth_len = strcspn(auth, "/?#");
    const char *at = memchr(auth, '@', auth_len);
    /* The last '@' of the authority ends the credentials (a password may hold one). */
    while (at && memchr(at + 1, '@', auth_len - (size_t)(at + 1 - auth)))
        at = memchr(at + 1, '@', auth_len - (size_t)(at + 1 - auth));
    if (!at)
        snprintf(out, out_size, "%s", u);
    else
        snprintf(out, out_size, "%.*s***%s", (int)(auth - u), u, at);
}

/* ---- one record ------------------------------------------------------------------------ */

/* log_line is the record being built; it never passes its cap (writers check room first). */
typedef struct log_line {
    char p[LOG_LINE_MAX];
    size_t len;
} log_line;

static void line_add(log_line *l, const char *s, size_t n)
{
    if (n > sizeof l->p - 1 - l->len) /* one byte stays for the newline */
        n = sizeof l->p - 1 - l->len;
    memcpy(l->p + l->len, s, n);
    l->len += n;
}

static void line_adds(log_line *l, const char *s)
{
    line_add(l, s, strlen(s));
}

/* log_utf8_len is the length of the valid UTF-8 character at s[0..n) (0 when invalid). */
static size_t log_utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t more;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        more = 1;
    else if (c == 0xE0)
        more = 2, lo = 0xA0;
    else if (c == 0xED)
        more = 2, hi = 0x9F;
    else if (c >= 0xE1 && c <= 0xEF)
        more = 2;
    else if (c == 0xF0)
        more = 3, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3)
        more = 3;
    else if (c == 0xF4)
        more = 3, hi = 0x8F;
    else
        return 0;
    if (n <= more || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t k = 2; k <= more; k++)
        if (s[k] < 0x80 || s[k] > 0xBF)
            return 0;
    return more + 1;
}

/*
 * line_json_str appends s[0..n) as a JSON string, quotes included, writing at most max bytes
 * of it (a cut string ends with "..." and is still well-formed).
 */
static void line_json_str(log_line *l, const char *s, size_t n, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t room = sizeof l->p - 1 - l->len;
    if (max > room)
        max = room;
    if (max < 8)
        return;                      /* never a half string: the record is already at its cap */
    size_t limit = l->len + max - 5; /* room for "...\"" */
    line_add(l, "\"", 1);
    size_t i = 0;
    while (i < n) {
        char esc[8];
        const char *out = esc;
        size_t k = log_utf8_len(p + i, n - i), w;
        if (p[i] == '"' || p[i] == '\\') {
            esc[0] = '\\', esc[1] = (char)p[i], w = 2;
        } else if (p[i] == '\n' || p[i] == '\r' || p[i] == '\t') {
            esc[0] = '\\', esc[1] = p[i] == '\n' ? 'n' : p[i] == '\r' ? 'r' : 't', w = 2;
        } else if (p[i] < 0x20) {
            w = (size_t)snprintf(esc, sizeof esc, "\\u%04x", p[i]);
        } else if (k == 0) {
            out = "\\ufffd", w = 6;
        } else {
            out = (const char *)p + i, w = k;
        }
        if (l->len + w > limit) {
            line_adds(l, "...");
            break;
        }
        line_add(l, out, w);
        i += k ? k : 1;
    }
    line_add(l, "\"", 1);
}

/* text_needs_quotes: empty, or holding a blank, a quote, '=' or a control character. */
static bool text_needs_quotes(const char *s)
{
    if (!s[0])
        return true;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= ' ' || *p == '"' || *p == '=' || *p == 0x7f)
            return true;
    return false;
}

/* line_text_value appends a field's value in text form (quoted when needed), cut at max. */
static void line_text_value(log_line *l, const char *s, size_t max)
{
    size_t n = strlen(s);
    bool cut = n > max;
    if (cut)
        n = max;
    if (!cut && !text_needs_quotes(s)) {
        line_add(l, s, n);
        return;
    }
    line_add(l, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '"' || c == '\\')
            line_add(l, "\\", 1);
        if ((unsigned char)c < 0x20)
            c = ' ';
        line_add(l, &c, 1);
    }
    if (cut)
        line_adds(l, "...");
    line_add(l, "\"", 1);
}

/* field_text formats a non-string field's value. */
static const char *field_text(const orci_log_field *f, char *buf, size_t size)
{
    if (f->kind == ORCI_LOG_FIELD_INT)
        snprintf(buf, size, "%lld", f->num);
    else if (f->kind == ORCI_LOG_FIELD_MS)
        snprintf(buf, size, "%.3f", f->ms);
    else
        return f->str ? f->str : "";
    return buf;
}

/* log_text builds "stamp LEVEL program: msg key=value...". */
static void log_text(log_line *l, const char *stamp, orci_log_level level, const char *msg,
                     size_t msg_len, const orci_log_field *fields, size_t n)
{
    line_adds(l, stamp);
    line_adds(l, " ");
    line_adds(l, log_level_names[level]);
    line_adds(l, " ");
    line_adds(l, log_program);
    line_adds(l, ": ");
    size_t head = l->len;
    line_add(l, msg, msg_len);
    /* One record is one line: fold embedded line breaks. */
    for (size_t i = head; i < l->len; i++)
        if (l->p[i] == '\n' || l->p[i] == '\r')
            l->p[i] = ' ';
    for (size_t i = 0; i < n; i++) {
        char num[48];
        line_adds(l, " ");
        line_adds(l, fields[i].key);
        line_adds(l, "=");
        line_text_value(l, field_text(&fields[i], num, sizeof num), LOG_VALUE_MAX);
    }
}

/* log_json builds {"time":...,"level":...,"program":...,"msg":...,fields}. */
static void log_json(log_line *l, const char *stamp, orci_log_level level, const char *msg,
                     size_t msg_len, const orci_log_field *fields, size_t n)
{
    static const char *const lower[] = {"debug", "info", "warn", "error"};
    line_adds(l, "{\"time\":\"");
    line_adds(l, stamp);
    line_adds(l, "\",\"level\":\"");
    line_adds(l, lower[level]);
    line_adds(l, "\",\"program\":");
    line_json_str(l, log_program, strlen(log_program), LOG_PROGRAM_MAX * 6);
    line_adds(l, ",\"msg\":");
    line_json_str(l, msg, msg_len, LOG_MSG_MAX + 16);
    for (size_t i = 0; i < n; i++) {
        char num[48];
        /* The fields' room is reserved by LOG_LINE_MAX: each one fits whole. */
        line_adds(l, ",");
        line_json_str(l, fields[i].key, strlen(fields[i].key), 80);
        line_adds(l, ":");
        if (fields[i].kind == ORCI_LOG_FIELD_STR) {
            const char *v = fields[i].str ? fields[i].str : "";
            line_json_str(l, v, strlen(v), LOG_VALUE_MAX);
        } else {
            line_adds(l, field_text(&fields[i], num, sizeof num));
        }
    }
    line_adds(l, "}");
}

/* log_write writes the record (and its newline) with one write(2). */
static void log_write(log_line *l)
{
    l->p[l->len++] = '\n';
    int saved = errno; /* logging must not change what the caller reads next */
    for (size_t off = 0; off < l->len;) {
        ssize_t w = write(STDERR_FILENO, l->p + off, l->len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    errno = saved;
}

static void log_record(orci_log_level level, const orci_log_field *fields, size_t n,
                       const char *fmt, va_list ap)
{
    if (level > ORCI_LOG_ERROR)
        level = ORCI_LOG_ERROR;
    if (n > ORCI_LOG_MAX_FIELDS)
        n = ORCI_LOG_MAX_FIELDS;
    char stamp[40];
    orci_time_format_digits(orci_clock_now(NULL), 3, stamp, sizeof stamp);
    char msg[LOG_MSG_MAX];
    int m = vsnprintf(msg, sizeof msg, fmt, ap);
    size_t msg_len = m < 0 ? 0 : (size_t)m < sizeof msg ? (size_t)m : sizeof msg - 1;
    while (msg_len > 0 && (msg[msg_len - 1] == '\n' || msg[msg_len - 1] == '\r'))
        msg_len--; /* a trailing newline in fmt is not needed */
    /* About 18 KiB of stack: every thread here has the default 8 MiB (none sets less). */
    log_line l;
    l.len = 0;
    if (log_format == ORCI_LOG_JSON)
        log_json(&l, stamp, level, msg, msg_len, fields, n);
    else
        log_text(&l, stamp, level, msg, msg_len, fields, n);
    log_write(&l);
}

void orci_log(orci_log_level level, const char *fmt, ...)
{
    if (level < log_min_level || fmt == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_record(level, NULL, 0, fmt, ap);
    va_end(ap);
}

void orci_log_fields(orci_log_level level, const orci_log_field *fields, size_t n, const char *fmt,
                     ...)
{
    if (level < log_min_level || fmt == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_record(level, fields, fields ? n : 0, fmt, ap);
    va_end(ap);
}
