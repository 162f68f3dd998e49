/*
 * tls.h: orchestra-http's certificate, reloadable without a restart.
 *
 * libmicrohttpd asks for the certificate at every TLS handshake through a GnuTLS callback
 * (MHD_OPTION_HTTPS_CERT_CALLBACK), so a new certificate and key read on SIGHUP serve every
 * connection made afterwards, while connections already made keep theirs. A reload that
 * fails (unreadable file, key not matching) keeps the current pair and says why.
 *
 * Threads: orci_http_tls_new/free from the main thread; orci_http_tls_reload from the main
 * thread; the callback from libmicrohttpd's connection threads.
 */
#ifndef ORCI_HTTP_TLS_H
#define ORCI_HTTP_TLS_H

#include "orchestra/error.h"

typedef struct orci_http_tls orci_http_tls;

/* orci_http_tls_new loads the PEM certificate chain and key files (paths are copied). */
int orci_http_tls_new(const char *cert_file, const char *key_file, orci_http_tls **out,
                      orc_error *err);

/*
 * orci_http_tls_reload reads the files again; on success the new pair serves the next
 * handshakes. On failure the current pair stays.
 */
int orci_http_tls_reload(orci_http_tls *t, orc_error *err);

/*
 * orci_http_tls_install makes t the pair the handshake callback serves and returns the
 * callback, to pass as MHD_OPTION_HTTPS_CERT_CALLBACK. One per process: the GnuTLS callback
 * carries no user pointer (libmicrohttpd keeps the session's pointer for itself), so the
 * installed pair is a process-wide pointer, the one global besides the stop flags and log.
 */
void *orci_http_tls_install(orci_http_tls *t);

/* orci_http_tls_free releases t (after the HTTP daemon stopped); NULL allowed. */
void orci_http_tls_free(orci_http_tls *t);

#endif
