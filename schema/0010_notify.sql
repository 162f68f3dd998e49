-- 0010: notifications (issue 18): the workers' e-mail preferences and the webhooks that
-- orchestra-notify delivers the event feed to.

-- Upstream's CommunicationPreference, one row per worker and kind of e-mail (spec 3.7's six
-- messages, named as the events without "notification."). No row means the default: the
-- e-mail is sent, as upstream's default preference has every method set.
CREATE TABLE notification_preferences (
    worker_id   INTEGER NOT NULL REFERENCES workers(id),
    kind        TEXT NOT NULL CHECK (kind IN ('assigned', 'under_review', 'returned',
                                              'ready_for_rereview', 'complete', 'ended')),
    email       INTEGER NOT NULL CHECK (email IN (0, 1)),
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (worker_id, kind)
) STRICT, WITHOUT ROWID;

-- A webhook receives every event having a topic that starts with topic_prefix, from the
-- event after start_seq on. The secret signs each delivery, so it is kept in clear (as API
-- key secrets are). Deleting one keeps the row (deleted_at) so that ids are never reused.
-- The state columns are what orchestra-notify last reported (ReportWebhookStatus).
CREATE TABLE webhooks (
    id                    INTEGER PRIMARY KEY,
    url                   TEXT NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
    topic_prefix          TEXT NOT NULL DEFAULT '' CHECK (length(topic_prefix) <= 512),
    secret                TEXT NOT NULL CHECK (length(secret) BETWEEN 1 AND 256),
    created_at            INTEGER NOT NULL,
    start_seq             INTEGER NOT NULL CHECK (start_seq >= 0),
    deleted_at            INTEGER,
    redeliver_generation  INTEGER NOT NULL DEFAULT 0,
    redeliver_since       INTEGER NOT NULL DEFAULT -1 CHECK (redeliver_since >= -1),
    state                 TEXT NOT NULL DEFAULT '',
    last_error            TEXT NOT NULL DEFAULT '',
    delivered_seq         INTEGER NOT NULL DEFAULT 0,
    delivered             INTEGER NOT NULL DEFAULT 0,
    dead_lettered         INTEGER NOT NULL DEFAULT 0,
    attempts              INTEGER NOT NULL DEFAULT 0,
    next_attempt_at       INTEGER NOT NULL DEFAULT 0,
    status_at             INTEGER NOT NULL DEFAULT 0
) STRICT;
