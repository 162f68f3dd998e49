/*
 * notify.c: workers' e-mail preferences and the webhooks of orchestra-notify (notify.h).
 */
#include "domain/notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/dbutil.h"
#include "store/events.h"
#include "vec.h"

static const char *const KINDS[ORCI_NOTIFY_KINDS] = {
    "assigned", "under_review", "returned", "ready_for_rereview", "complete", "ended",
};

const char *orci_notify_kind_name(int i)
{
    return i >= 0 && i < ORCI_NOTIFY_KINDS ? KINDS[i] : NULL;
}

int orci_notify_kind_index(const char *name)
{
    for (int i = 0; name != NULL && i < ORCI_NOTIFY_KINDS; i++)
        if (strcmp(KINDS[i], name) == 0)
            return i;
    return -1;
}

static void copy_col(orci_stmt *st, int col, char *out, size_t size)
{
    snprintf(out, size, "%s", orci_col_text(st, col));
}

int orci_notify_settings_get(orci_db *db, const char *username, orci_notify_settings *out,
                             orc_error *err)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < ORCI_NOTIFY_KINDS; i++)
        out->email_on[i] = true;
    orci_stmt *st = orci_db_stmt(db,
                                 "SELECT w.id, u.username, u.email, u.first_name, u.last_name"
                                 " FROM users u JOIN workers w ON w.user_id = u.id"
                                 " WHERE u.username = ?1",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_text(st, 1, username != NULL ? username : "");
    int code = orci_db_first_row(db, st, "", err);
    if (code == ORC_NOT_FOUND)
        return orc_error_set(err, ORC_NOT_FOUND, "No worker named %.150s",
                             username != NULL ? username : "");
    if (code != ORC_OK)
        return code;
    out->worker_id = orci_col_int(st, 0);
    copy_col(st, 1, out->username, sizeof out->username);
    copy_col(st, 2, out->email, sizeof out->email);
    copy_col(st, 3, out->first_name, sizeof out->first_name);
    copy_col(st, 4, out->last_name, sizeof out->last_name);
    orci_stmt_reset(st);

    st = orci_db_stmt(db, "SELECT kind, email FROM notification_preferences WHERE worker_id = ?1",
                      err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, out->worker_id);
    int r;
    while ((r = orci_db_row(db, st, err)) == 1) {
        int k = orci_notify_kind_index(orci_col_text(st, 0));
        if (k >= 0)
            out->email_on[k] = orci_col_int(st, 1) != 0;
    }
    return r < 0 ? orci_db_code(err) : ORC_OK;
}

int orci_notify_settings_set(orci_db *db, int64_t worker_id, int kind, bool email, int64_t now_us,
                             orc_error *err)
{
    const char *name = orci_notify_kind_name(kind);
    if (name == NULL)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "unknown notification kind %d", kind);
    orci_stmt *st =
        orci_db_stmt(db,
                     "INSERT INTO notification_preferences (worker_id, kind, email, updated_at)"
                     " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (worker_id, kind) DO UPDATE SET"
                     " email = excluded.email, updated_at = excluded.updated_at",
                     err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, worker_id);
    orci_bind_text(st, 2, name);
    orci_bind_int(st, 3, email ? 1 : 0);
    orci_bind_int(st, 4, now_us);
    return orci_db_step(db, st, err);
}

/* ---- webhooks ----------------------------------------------------------------------------- */

/* has_bad_char tells whether s holds a blank or a control character (never in a URL). */
static bool has_bad_char(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= ' ' || *p == 0x7f)
            return true;
    return false;
}

int orci_webhook_check(const char *url, const char *prefix, const char *secret, orc_error *err)
{
    url = url != NULL ? url : "";
    prefix = prefix != NULL ? prefix : "";
    secret = secret != NULL ? secret : "";
    size_t scheme = strncmp(url, "http://", 7) == 0 ? 7 : strncmp(url, "https://", 8) == 0 ? 8 : 0;
    if (scheme == 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "a webhook URL starts with http:// or https://");
    if (strlen(url) > ORCI_WEBHOOK_URL_MAX)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "a webhook URL is at most %d bytes",
                             ORCI_WEBHOOK_URL_MAX);
    const char *host = url + scheme;
    if (*host == '\0' || *host == '/' || *host == ':' || *host == '?' || *host == '#')
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "the webhook URL has no host");
    if (has_bad_char(url))
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "the webhook URL holds a blank or a control character");
    if (strlen(prefix) > ORCI_WEBHOOK_PREFIX_MAX)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "a topic prefix is at most %d bytes",
                             ORCI_WEBHOOK_PREFIX_MAX);
    size_t n = strlen(secret);
    if (n == 0 || n > ORCI_WEBHOOK_SECRET_MAX)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "a webhook secret is 1 to %d bytes",
                             ORCI_WEBHOOK_SECRET_MAX);
    return ORC_OK;
}

int orci_webhook_create(orci_db *db, const char *url, const char *prefix, const char *secret,
                        int64_t now_us, int64_t *id, int64_t *start_seq, orc_error *err)
{
    int code = orci_webhook_check(url, prefix, secret, err);
    if (code != ORC_OK)
        return code;
    int64_t first = 0, last = 0;
    if ((code = orci_events_bounds(db, &first, &last, err)) != ORC_OK)
        return code;
    orci_stmt *st = orci_db_stmt(db,
                                 "INSERT INTO webhooks (url, topic_prefix, secret, created_at,"
                                 " start_seq) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_text(st, 1, url);
    orci_bind_text(st, 2, prefix != NULL ? prefix : "");
    orci_bind_text(st, 3, secret);
    orci_bind_int(st, 4, now_us);
    orci_bind_int(st, 5, last);
    if ((code = orci_db_insert(db, st, id, err)) != ORC_OK)
        return code;
    *start_seq = last;
    return ORC_OK;
}

/* changed runs a bound UPDATE of one live webhook: ORC_NOT_FOUND when it changed no row. */
static int changed(orci_db *db, orci_stmt *st, int64_t id, orc_error *err)
{
    int code = orci_db_step(db, st, err);
    if (code != ORC_OK)
        return code;
    if (orci_db_changes(db) == 0)
        return orc_error_set(err, ORC_NOT_FOUND, "No webhook %lld", (long long)id);
    return ORC_OK;
}

int orci_webhook_delete(orci_db *db, int64_t id, int64_t now_us, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(
        db, "UPDATE webhooks SET deleted_at = ?2 WHERE id = ?1 AND deleted_at IS NULL", err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, id);
    orci_bind_int(st, 2, now_us);
    return changed(db, st, id, err);
}

int orci_webhook_redeliver(orci_db *db, int64_t id, int64_t since, int64_t *generation,
                           orc_error *err)
{
    if (since < -1)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "since must be a seq >= 0");
    orci_stmt *st = orci_db_stmt(db,
                                 "UPDATE webhooks SET redeliver_generation ="
                                 " redeliver_generation + 1, redeliver_since = ?2"
                                 " WHERE id = ?1 AND deleted_at IS NULL"
                                 " RETURNING redeliver_generation",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, id);
    orci_bind_int(st, 2, since);
    int r = orci_db_row(db, st, err);
    if (r < 0)
        return orci_db_code(err);
    if (r == 0)
        return orc_error_set(err, ORC_NOT_FOUND, "No webhook %lld", (long long)id);
    *generation = orci_col_int(st, 0);
    orci_stmt_reset(st);
    return ORC_OK;
}

int orci_webhook_report(orci_db *db, const orci_webhook_status *s, int64_t now_us, orc_error *err)
{
    char state[ORCI_WEBHOOK_STATE_MAX + 1], last_error[ORCI_WEBHOOK_ERROR_MAX + 1];
    snprintf(state, sizeof state, "%s", s->state != NULL ? s->state : "");
    snprintf(last_error, sizeof last_error, "%s", s->last_error != NULL ? s->last_error : "");
    orci_stmt *st = orci_db_stmt(
        db,
        "UPDATE webhooks SET state = ?2, last_error = ?3, delivered_seq = ?4, delivered = ?5,"
        " dead_lettered = ?6, attempts = ?7, next_attempt_at = ?8, status_at = ?9"
        " WHERE id = ?1 AND deleted_at IS NULL",
        err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, s->id);
    orci_bind_text(st, 2, state);
    orci_bind_text(st, 3, last_error);
    orci_bind_int(st, 4, s->delivered_seq);
    orci_bind_int(st, 5, s->delivered);
    orci_bind_int(st, 6, s->dead_lettered);
    orci_bind_int(st, 7, s->attempts);
    orci_bind_int(st, 8, s->next_attempt_us);
    orci_bind_int(st, 9, now_us);
    return changed(db, st, s->id, err);
}

void orci_webhook_rows_free(orci_webhook_row *rows, size_t n)
{
    for (size_t i = 0; rows != NULL && i < n; i++) {
        free(rows[i].url);
        free(rows[i].topic_prefix);
        if (rows[i].secret != NULL)
            explicit_bzero(rows[i].secret, strlen(rows[i].secret));
        free(rows[i].secret);
        free(rows[i].state);
        free(rows[i].last_error);
    }
    free(rows);
}

/* row_fill copies the current row of the list query into *w; false when out of memory. */
static bool row_fill(orci_stmt *st, orci_webhook_row *w)
{
    memset(w, 0, sizeof *w);
    w->id = orci_col_int(st, 0);
    w->url = strdup(orci_col_text(st, 1));
    w->topic_prefix = strdup(orci_col_text(st, 2));
    w->secret = strdup(orci_col_text(st, 3));
    w->created_at_us = orci_col_int(st, 4);
    w->start_seq = orci_col_int(st, 5);
    w->redeliver_generation = orci_col_int(st, 6);
    w->redeliver_since = orci_col_int(st, 7);
    w->state = strdup(orci_col_text(st, 8));
    w->last_error = strdup(orci_col_text(st, 9));
    w->delivered_seq = orci_col_int(st, 10);
    w->delivered = orci_col_int(st, 11);
    w->dead_lettered = orci_col_int(st, 12);
    w->attempts = orci_col_int(st, 13);
    w->next_attempt_us = orci_col_int(st, 14);
    w->status_at_us = orci_col_int(st, 15);
    return w->url && w->topic_prefix && w->secret && w->state && w->last_error;
}

int orci_webhook_list(orci_db *db, orci_webhook_row **rows, size_t *n, orc_error *err)
{
    *rows = NULL;
    *n = 0;
    orci_stmt *st = orci_db_stmt(
        db,
        "SELECT id, url, topic_prefix, secret, created_at, start_seq, redeliver_generation,"
        " redeliver_since, state, last_error, delivered_seq, delivered, dead_lettered, attempts,"
        " next_attempt_at, status_at FROM webhooks WHERE deleted_at IS NULL ORDER BY id",
        err);
    if (st == NULL)
        return ORC_INTERNAL;
    size_t cap = 0;
    int r;
    while ((r = orci_db_row(db, st, err)) == 1) {
        if (!orci_grow(rows, &cap, *n + 1, sizeof **rows))
            goto oom;
        if (!row_fill(st, &(*rows)[(*n)++]))
            goto oom;
    }
    if (r < 0) {
        orci_webhook_rows_free(*rows, *n);
        *rows = NULL;
        *n = 0;
        return orci_db_code(err);
    }
    return ORC_OK;
oom:
    orci_stmt_reset(st);
    orci_webhook_rows_free(*rows, *n);
    *rows = NULL;
    *n = 0;
    return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory listing webhooks");
}
