/*
 * log.h: one-line log records with a level, written to stderr.
 *
 * Any thread may log. The sink and the level are the only process-wide state (set once in
 * main before threads start). Format: "2026-11-27T05:14:57.123Z INFO orchestrad: text".
 *
 * A daemon may send its log to a file instead (orci_log_open_file): the file then takes the
 * place of stderr (file descriptor 2), so what child processes and libraries write to stderr
 * lands there too, and orci_log_reopen (on SIGHUP, after logrotate moved the file) swaps in
 * a fresh file without losing a line.
 */
#ifndef ORCI_LOG_H
#define ORCI_LOG_H

typedef enum orci_log_level {
    ORCI_LOG_DEBUG = 0,
    ORCI_LOG_INFO = 1,
    ORCI_LOG_WARN = 2,
    ORCI_LOG_ERROR = 3,
} orci_log_level;

/* orci_log_init sets the program name shown in each line and the minimum level. */
void orci_log_init(const char *program, orci_log_level level);

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

#define orci_debug(...) orci_log(ORCI_LOG_DEBUG, __VA_ARGS__)
#define orci_info(...) orci_log(ORCI_LOG_INFO, __VA_ARGS__)
#define orci_warn(...) orci_log(ORCI_LOG_WARN, __VA_ARGS__)
#define orci_error(...) orci_log(ORCI_LOG_ERROR, __VA_ARGS__)

#endif
