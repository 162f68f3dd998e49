/*
 * log.h: one-line log records with a level, written to stderr.
 *
 * Any thread may log. The sink, the level and the format are the only process-wide state
 * (set once in main before threads start). Two formats:
 *  - text (the default): "2026-11-27T05:14:57.123Z INFO orchestrad: text key=value ...";
 *    a value with blanks, quotes or '=' is quoted ("..." with \ and \" escaped);
 *  - json, for log shippers: one object per line, {"time":"2026-11-27T05:14:57.123Z",
 *    "level":"info","program":"orchestrad","msg":"text","key":value,...}, valid JSON
 *    whatever the text holds (invalid UTF-8 becomes U+FFFD, a long text is cut).
 * A record's fields (orci_log_fields) are the request's facts: request_id, method, code,
 * duration_ms... Never put a secret (API key secret, password, session token, cookie) in a
 * message or a field.
 *
 * A daemon may send its log to a file instead (orci_log_open_file): the file then takes the
 * place of stderr (file descriptor 2), so what child processes and libraries write to stderr
 * lands there too, and orci_log_reopen (on SIGHUP, after logrotate moved the file) swaps in
 * a fresh file without losing a line.
 */
#ifndef ORCI_LOG_H
#define ORCI_LOG_H

#include <stdbool.h>
#include <stddef.h>

typedef enum orci_log_level {
    ORCI_LOG_DEBUG = 0,
    ORCI_LOG_INFO = 1,
    ORCI_LOG_WARN = 2,
    ORCI_LOG_ERROR = 3,
} orci_log_level;

typedef enum orci_log_format {
    ORCI_LOG_TEXT = 0,
    ORCI_LOG_JSON = 1,
} orci_log_format;

/* orci_log_init sets the program name shown in each line and the minimum level. */
void orci_log_init(const char *program, orci_log_level level);

/* orci_log_parse_format maps "text|json" to a format; -1 when unknown. */
int orci_log_parse_format(const char *s);

/* orci_log_set_format chooses the format (main thread, before other threads start). */
void orci_log_set_format(orci_log_format format);

/*
 * orci_log_enabled says whether a record at level would be written: check it before
 * gathering what only a log line needs, so that a level that is off costs nothing.
 */
bool orci_log_enabled(orci_log_level level);

/*
 * orci_log_spec writes the level and format as one word ("debug", "info:json") for a child
 * process's command line; orci_log_init_spec sets both from such a word (an unknown level
 * gives info, an unknown format text).
 */
void orci_log_spec(char *out, size_t out_size);
void orci_log_init_spec(const char *program, const char *spec);

/* orci_log_parse_level maps "debug|info|warn|error" to a level; -1 when unknown. */
int orci_log_parse_level(const char *s);

/* orci_log_level_name is the lower-case name of a level ("info"). */
const char *orci_log_level_name(orci_log_level level);

/*
 * orci_log_open_file appends the log (and everything written to stderr) to path, created
 * with mode 0640 when missing. Returns 0, or -1 with errno set (the log stays on stderr).
 * Call it from main before threads start.
 */
int orci_log_open_file(const char *path);

/*
 * orci_log_reopen opens the log file again by its path and makes it the new stderr; a
 * no-op returning 0 when no file is set. Any thread (the swap is one dup2). -1 with errno
 * when the file cannot be opened: logging then goes on to the old file.
 */
int orci_log_reopen(void);

/* orci_log writes one line (a trailing newline in fmt is not needed). */
void orci_log(orci_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

typedef enum orci_log_kind {
    ORCI_LOG_FIELD_STR, /* str; NULL is written as "" */
    ORCI_LOG_FIELD_INT, /* num */
    ORCI_LOG_FIELD_MS,  /* ms: a duration in milliseconds, written with 3 decimals */
} orci_log_kind;

/* orci_log_field is one key and value of a record (borrowed for the call). */
typedef struct orci_log_field {
    const char *key; /* [a-z_]+, not time, level, program or msg */
    orci_log_kind kind;
    const char *str;
    long long num;
    double ms;
} orci_log_field;

#define ORCI_LOG_STR(k, v) ((orci_log_field){.key = (k), .kind = ORCI_LOG_FIELD_STR, .str = (v)})
#define ORCI_LOG_INT(k, v)                                                                         \
    ((orci_log_field){.key = (k), .kind = ORCI_LOG_FIELD_INT, .num = (long long)(v)})
#define ORCI_LOG_MS(k, v) ((orci_log_field){.key = (k), .kind = ORCI_LOG_FIELD_MS, .ms = (v)})

/*
 * orci_log_url writes url into out for a log line, its credentials (the user:password@ of
 * "scheme://user:password@host/...") replaced by "***@". A secret in the path or the query
 * cannot be told apart from the rest and is written as is.
 */
void orci_log_url(const char *url, char *out, size_t out_size);

/* The most fields a record carries; more are left out. */
#define ORCI_LOG_MAX_FIELDS 16

/*
 * orci_log_fields writes one record with n fields after the message: "key=value" pairs in
 * text, keys of the object in json.
 */
void orci_log_fields(orci_log_level level, const orci_log_field *fields, size_t n, const char *fmt,
                     ...) __attribute__((format(printf, 4, 5)));

#define orci_debug(...) orci_log(ORCI_LOG_DEBUG, __VA_ARGS__)
#define orci_info(...) orci_log(ORCI_LOG_INFO, __VA_ARGS__)
#define orci_warn(...) orci_log(ORCI_LOG_WARN, __VA_ARGS__)
#define orci_error(...) orci_log(ORCI_LOG_ERROR, __VA_ARGS__)

#endif
