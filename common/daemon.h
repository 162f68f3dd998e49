/*
 * daemon.h: what every long-running process of the project does the same way: signals,
 * a bounded stop, and the one-instance lock.
 *
 * Signals. SIGTERM and SIGINT ask the process to stop, SIGHUP asks it to reload what it can
 * without a restart (at least: reopen its log file), SIGPIPE is ignored (a peer that went
 * away is an error return, never a death). The handlers only set flags; the main thread
 * polls them with orci_daemon_wait. These two flags and the log sink are the process-wide
 * state the style allows.
 *
 * A bounded stop. nng 1.5.2 can block forever closing a socket with a busy peer, so a stop
 * never waits on nng without a bound: orci_run_within gives a call a deadline, after which
 * the caller makes no further nng calls and leaves with orci_daemon_exit. The watchdog
 * (orci_daemon_watchdog) ends the process with status 1 if the whole stop still takes too
 * long, whatever hangs.
 *
 * Threads: install, lock and watchdog from the main thread; the flags from any thread.
 */
#ifndef ORCI_DAEMON_H
#define ORCI_DAEMON_H

#include <stdbool.h>

#include "orchestra/error.h"

/* ORCI_DAEMON_STOP_BUDGET_MS: SIGTERM to exit, at most (the watchdog's deadline). */
#define ORCI_DAEMON_STOP_BUDGET_MS 4500

/* orci_daemon_signals installs the handlers above. Returns 0, or -1 with errno. */
int orci_daemon_signals(void);

/* orci_daemon_stopping says whether a stop was asked for (signal or orci_daemon_request_stop). */
bool orci_daemon_stopping(void);

/* orci_daemon_request_stop asks for a stop from inside the process. */
void orci_daemon_request_stop(void);

/* orci_daemon_take_reload says whether SIGHUP arrived since the last call, and clears it. */
bool orci_daemon_take_reload(void);

/*
 * orci_daemon_wait sleeps up to ms milliseconds, returning early once a stop or a reload
 * is pending.
 */
void orci_daemon_wait(int ms);

/*
 * orci_daemon_watchdog starts a thread that, ms milliseconds later, logs that the stop hung
 * and ends the process with _exit(1). Call it when the stop begins.
 */
void orci_daemon_watchdog(int ms);

/*
 * orci_daemon_exit flushes stdio and ends the process at once with status (no atexit
 * handlers and no library destructors: nng's may block). The log is unbuffered.
 */
_Noreturn void orci_daemon_exit(int status);

/*
 * orci_run_within runs fn(arg) on a new thread and waits at most timeout_ms for it. Returns
 * true when fn finished; false when it is still running (it then goes on, detached, and arg
 * must stay valid until the process ends) or no thread could be made (fn was then run on
 * the caller's thread, which returns true once it finishes).
 */
bool orci_run_within(void (*fn)(void *), void *arg, int timeout_ms);

/*
 * orci_daemon_lock takes an exclusive advisory lock (flock) on path, creating it with mode
 * 0600, and writes the process id into it. The lock lasts for the process's life (the
 * descriptor is kept open, close-on-exec). ORC_ALREADY_EXISTS "... is in use by process N"
 * when another process holds it, ORC_UNAVAILABLE when the file cannot be opened.
 */
int orci_daemon_lock(const char *path, orc_error *err);

#endif
