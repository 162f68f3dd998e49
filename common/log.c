/*
 * log.c: one line per record on stderr.
 *
 * The program name and the level are process-wide, set by orci_log_init in main before any
 * thread starts and only read afterwards. Each record is formatted into one buffer and
 * written with a single fputs: stdio locks stderr for the call, so lines from different
 * threads never interleave.
 */
#include "log.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "clock.h"

#define LOG_LINE_MAX 4096
#define LOG_PROGRAM_MAX 64

static char log_program[LOG_PROGRAM_MAX] = "orchestra";
static orci_log_level log_min_level = ORCI_LOG_INFO;

static const char *const log_level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

void orci_log_init(const char *program, orci_log_level level)
{
    if (program != NULL && program[0] != '\0')
        snprintf(log_program, sizeof log_program, "%s", program);
    if (level >= ORCI_LOG_DEBUG && level <= ORCI_LOG_ERROR)
        log_min_level = level;
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

    int64_t us = orci_clock_now(NULL);
    if (us < 0)
        us = 0;
    int64_t secs = us / 1000000;
    time_t t = (time_t)secs;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL)
        memset(&tm, 0, sizeof tm);

    char line[LOG_LINE_MAX];
    int n = snprintf(line, sizeof line,
                     "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s %s: ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (int)((us % 1000000) / 1000), log_level_names[level], log_program);
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
    line[len] = '\n';
    line[len + 1] = '\0';
    fputs(line, stderr);
}
