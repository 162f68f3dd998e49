/* replies.c: the rpc_replies table (stored answers for idempotent retries). */
#include "rpc/replies.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"

int orci_reply_get(orci_db *db, const char *principal, const char *request_id,
                   orci_stored_reply *out, orc_error *err)
{
    if (principal == NULL || request_id == NULL || out == NULL)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no principal or request id given");
    memset(out, 0, sizeof *out);
    orci_stmt *st = orci_db_stmt(db,
                                 "SELECT status, message, details, body FROM rpc_replies "
                                 "WHERE principal = ?1 AND request_id = ?2",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_text(st, 1, principal);
    orci_bind_text(st, 2, request_id);
    int r = orci_db_row(db, st, err);
    if (r < 0)
        return err != NULL ? (int)err->code : ORC_INTERNAL;
    if (r == 0)
        return orc_error_set(err, ORC_NOT_FOUND, "no stored reply for request %s", request_id);

    out->status = (int)orci_col_int(st, 0);
    snprintf(out->message, sizeof out->message, "%s", orci_col_text(st, 1));
    out->details = strdup(orci_col_text(st, 2));
    size_t len = 0;
    const void *body = orci_col_blob(st, 3, &len);
    if (out->details == NULL)
        goto nomem;
    if (len > 0 && body != NULL) {
        out->body = malloc(len);
        if (out->body == NULL)
            goto nomem;
        memcpy(out->body, body, len);
        out->body_len = len;
    }
    orci_stmt_reset(st);
    return ORC_OK;
nomem:
    orci_stmt_reset(st);
    orci_stored_reply_fini(out);
    return orc_error_set(err, ORC_INTERNAL, "out of memory reading a stored reply");
}

int orci_reply_put(orci_db *db, const char *principal, const char *request_id, const char *method,
                   int status, const char *message, const char *details, const void *body,
                   size_t body_len, int64_t now_us, orc_error *err)
{
    if (principal == NULL || request_id == NULL || method == NULL)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no principal, request id or method given");
    if (body == NULL && body_len > 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "reply body missing");
    orci_stmt *st = orci_db_stmt(db,
                                 "INSERT INTO rpc_replies (principal, request_id, method, "
                                 "status, message, details, body, created_at) "
                                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_text(st, 1, principal);
    orci_bind_text(st, 2, request_id);
    orci_bind_text(st, 3, method);
    orci_bind_int(st, 4, status);
    orci_bind_text(st, 5, message != NULL ? message : "");
    orci_bind_text(st, 6, details != NULL ? details : "");
    /* A NULL pointer with no bytes binds an empty blob (the column wants one, not NULL). */
    orci_bind_blob(st, 7, body, body_len);
    orci_bind_int(st, 8, now_us);
    int code = orci_db_step(db, st, err);
    if (code == ORC_ALREADY_EXISTS)
        return orc_error_set(err, code, "a reply for request %s is already stored", request_id);
    return code;
}

int orci_replies_prune(orci_db *db, int64_t cutoff_us, int64_t *deleted, orc_error *err)
{
    if (deleted != NULL)
        *deleted = 0;
    /* The replies are kept in arrival order (migration 0017): delete the oldest while they
     * are older than the cutoff. A reply stored after a newer one (the clock went back)
     * waits for that one, so none newer than the cutoff is ever deleted. */
    orci_stmt *st = orci_db_stmt(db,
                                 "DELETE FROM rpc_replies WHERE id < coalesce("
                                 "(SELECT id FROM rpc_replies WHERE created_at >= ?1"
                                 " ORDER BY id LIMIT 1),"
                                 " (SELECT max(id) FROM rpc_replies) + 1)",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, cutoff_us);
    int code = orci_db_step(db, st, err);
    if (code == ORC_OK && deleted != NULL)
        *deleted = orci_db_changes(db);
    return code;
}

void orci_stored_reply_fini(orci_stored_reply *r)
{
    if (r == NULL)
        return;
    free(r->details);
    free(r->body);
    r->details = NULL;
    r->body = NULL;
    r->body_len = 0;
}
