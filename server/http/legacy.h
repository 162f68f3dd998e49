/*
 * legacy.h: the legacy JSON API of Orchestra (spec 4: create_project, project_information,
 * workflow_types, project_details_url, status), translated to one RPC each. No business
 * logic lives here: the shim checks what only it can see (the request's headers, Date
 * freshness, a signed Digest), builds the signing string, and forwards key id, string and
 * signature to orchestrad, which verifies them (auth.c) and answers.
 *
 * Threads: orci_http_handle may run on many threads at once with one shared config (the
 * orc_client is thread-safe).
 */
#ifndef ORCI_HTTP_LEGACY_H
#define ORCI_HTTP_LEGACY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "httpsig.h"
#include "orchestra/client.h"

typedef struct orci_http_config {
    orc_client *client;    /* borrowed; RPCs carry the request's HTTP signature, not its key */
    int64_t date_window_s; /* Date must lie within +-this of now */
} orci_http_config;

/* orci_http_request is one HTTP request, all borrowed. */
typedef struct orci_http_request {
    const char *method;            /* "GET", "POST", ... */
    const char *path;              /* the path, without the query */
    const char *target;            /* the raw request-target as sent (path?query), for signatures */
    orci_httpsig_header_fn header; /* request header lookup (any case) */
    void *header_arg;
    const char *body;
    size_t body_len;
    bool tls; /* the request came over https (for project_details_url) */
} orci_http_request;

/* orci_http_response is the answer; body is owned (release with orci_http_response_fini). */
typedef struct orci_http_response {
    int status;
    const char *content_type; /* static */
    char *body;
    size_t body_len;
} orci_http_response;

/* orci_http_handle answers req into *res (always filled, 500 when out of memory). */
void orci_http_handle(const orci_http_config *cfg, const orci_http_request *req, int64_t now_s,
                      orci_http_response *res);

/* orci_http_response_fini frees the body; NULL is allowed. */
void orci_http_response_fini(orci_http_response *res);

/* orci_http_error_json fills res with {"error":status,"message":msg}. */
void orci_http_error_json(orci_http_response *res, int status, const char *msg);

/* orci_http_detail_json fills res with {"detail":msg}. */
void orci_http_detail_json(orci_http_response *res, int status, const char *msg);

#endif
