/*
 * smtp.h: the sending of one e-mail over SMTP with libcurl: smtp:// (with STARTTLS as asked),
 * smtps:// (TLS from the start), AUTH with the URL's user:password or the given pair, the
 * server's certificate verified. The connection is kept between messages (libcurl reuses it).
 *
 * One orci_smtp belongs to one thread.
 */
#ifndef ORCI_NOTIFY_SMTP_H
#define ORCI_NOTIFY_SMTP_H

#include <stdatomic.h>
#include <stddef.h>

#include "orchestra/error.h"
#include "sent.h"

/* TLS on an smtp:// URL (smtps:// is TLS from the start, whatever this says). */
typedef enum orci_smtp_tls {
    ORCI_SMTP_TLS_NONE,     /* never STARTTLS */
    ORCI_SMTP_TLS_TRY,      /* STARTTLS when the server offers it */
    ORCI_SMTP_TLS_REQUIRED, /* STARTTLS or fail */
} orci_smtp_tls;

typedef struct orci_smtp orci_smtp;

/* orci_smtp_opts configures the sender; strings are copied. */
typedef struct orci_smtp_opts {
    const char *url;      /* smtp://host:port or smtps://host:port, maybe with user:password@ */
    const char *user;     /* AUTH user (NULL: the URL's, or none) */
    const char *password; /* AUTH password */
    const char *ca_file;  /* PEM CA bundle for TLS; NULL: the system's */
    orci_smtp_tls tls;
    int timeout_ms;
    const atomic_bool *stop; /* set: a transaction in flight is abandoned */
} orci_smtp_opts;

/* orci_smtp_new makes a sender (no connection yet); release with orci_smtp_free. */
int orci_smtp_new(const orci_smtp_opts *o, orci_smtp **out, orc_error *err);

/* orci_smtp_free closes the connection; NULL is allowed. */
void orci_smtp_free(orci_smtp *s);

/*
 * orci_smtp_send sends message (len bytes) from `from` to `to` (one recipient): OK on the
 * server's 250 after the data, FAIL on a 5xx (refused for good), RETRY on a 4xx, a refused
 * or lost connection or a timeout; why says what went wrong.
 */
orci_sent orci_smtp_send(orci_smtp *s, const char *from, const char *to, const char *message,
                         size_t len, char *why, size_t why_size);

#endif
