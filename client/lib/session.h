/*
 * session.h: the worker session that `orchestra login` keeps on disk, so that later worker
 * commands (dashboard, task ...) run as that worker without asking for the password again.
 *
 * The file is one JSON object {"rpc": url, "username": name, "token": token,
 * "expires_at": ISO 8601 UTC}. It holds a secret: it is written atomically (a temporary
 * file in the same folder renamed over the old one) with mode 0600, and the folders
 * created for it get mode 0700. Internal to liborchestra and the CLI; single-threaded use.
 */
#ifndef ORCI_SESSION_H
#define ORCI_SESSION_H

#include <stddef.h>

#include "orchestra/error.h"

/* The largest session file accepted by orci_session_load. */
#define ORCI_SESSION_FILE_MAX (64 * 1024)

/* orci_session is a saved session; every string is malloc'd and owned by the struct. */
typedef struct orci_session {
    char *rpc;        /* the orchestrad URL the session belongs to; may be NULL */
    char *username;   /* the worker */
    char *token;      /* the session token (a secret) */
    char *expires_at; /* ISO 8601 UTC; may be NULL */
} orci_session;

/*
 * orci_session_path writes the session file's path into out: $ORCHESTRA_SESSION, else
 * $XDG_CONFIG_HOME/orchestra/session (an absolute XDG_CONFIG_HOME only, as the XDG spec
 * says), else $HOME/.config/orchestra/session. Empty variables count as unset. Errors:
 * ORC_FAILED_PRECONDITION when none of them is set, ORC_OUT_OF_RANGE when the path does
 * not fit in out_size bytes.
 */
int orci_session_path(char *out, size_t out_size, orc_error *err);

/*
 * orci_session_save writes s (borrowed) to path, creating the missing parent folders with
 * mode 0700; the file replaces any previous one atomically and has mode 0600. NULL rpc
 * and expires_at are left out. Errors: ORC_INVALID_ARGUMENT (no username or token),
 * ORC_INTERNAL for a file system failure, with the path and the reason.
 */
int orci_session_save(const char *path, const orci_session *s, orc_error *err);

/*
 * orci_session_load reads the session at path into *s (release with orci_session_fini;
 * *s is zeroed on failure). Errors: ORC_NOT_FOUND when there is no file;
 * ORC_INVALID_ARGUMENT when it is not a session (bad JSON, no token or username, too
 * large); ORC_INTERNAL when it cannot be read.
 */
int orci_session_load(const char *path, orci_session *s, orc_error *err);

/* orci_session_remove deletes the session file at path. ORC_NOT_FOUND when there is none. */
int orci_session_remove(const char *path, orc_error *err);

/* orci_session_fini frees the strings of s (wiping the token) and zeroes it; NULL allowed. */
void orci_session_fini(orci_session *s);

#endif
