/*
 * log.c: one line per record on stderr.
 *
 * The program name and the level are process-wide, set by orci_log_init in main before any
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

#define LOG_LINE_MAX 4096
#define LOG_PROGRAM_MAX 64
#define LOG_PATH_MAX 4096

static char log_program[LOG_PROGRAM_MAX] = "orchestra";
static orci_log_level log_min_level = ORCI_LOG_INFO;
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

void orci_log(orci_log_level level, const char *fmt, ...)
{
    if (level < log_min_level || fmt == NULL)
        return;
    if (level > ORCI_LOG_ERROR)
        level = ORCI_LOG_ERROR;

    char stamp[40];
    orci_time_format_digits(orci_clock_now(NULL), 3, stamp, sizeof stamp);
    char line[LOG_LINE_MAX];
    int n = snprintf(line, sizeof line, "%s %s %s: ", stamp, log_level_names[level], log_program);
    if (n < 0 || (size_t)n >= sizeof line)
        return;
    size_t head = (size_t)n;

    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + head, sizeof line - head, fmt, ap);
    va_end(ap);
    size_t len = head;
    if (m > 0)
        len += (size_t)m < sizeof line - head ? (size_t)m : sizeof line - head - 1;

    /* One record is one line: fold embedded line breaks, drop a trailing newline. */
    while (len > head && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    for (size_t i = head; i < len; i++) {
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    }
    /* Keep room for the newline even when the text filled the buffer. */
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    int saved = errno; /* logging must not change what the caller reads next */
    for (size_t off = 0; off < len;) {
        ssize_t w = write(STDERR_FILENO, line + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    errno = saved;
}
