-- 0010 (PostgreSQL): mirrors schema/0010_notify.sql (e-mail preferences, webhooks).

CREATE TABLE notification_preferences (
    worker_id   BIGINT NOT NULL REFERENCES workers(id),
    kind        TEXT NOT NULL CHECK (kind IN ('assigned', 'under_review', 'returned',
                                              'ready_for_rereview', 'complete', 'ended')),
    email       BIGINT NOT NULL CHECK (email IN (0, 1)),
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (worker_id, kind)
);

CREATE TABLE webhooks (
    id                    BIGINT PRIMARY KEY,
    url                   TEXT NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
    topic_prefix          TEXT NOT NULL DEFAULT '' CHECK (length(topic_prefix) <= 512),
    secret                TEXT NOT NULL CHECK (length(secret) BETWEEN 1 AND 256),
    created_at            BIGINT NOT NULL,
    start_seq             BIGINT NOT NULL CHECK (start_seq >= 0),
    deleted_at            BIGINT,
    redeliver_generation  BIGINT NOT NULL DEFAULT 0,
    redeliver_since       BIGINT NOT NULL DEFAULT -1 CHECK (redeliver_since >= -1),
    state                 TEXT NOT NULL DEFAULT '',
    last_error            TEXT NOT NULL DEFAULT '',
    delivered_seq         BIGINT NOT NULL DEFAULT 0,
    delivered             BIGINT NOT NULL DEFAULT 0,
    dead_lettered         BIGINT NOT NULL DEFAULT 0,
    attempts              BIGINT NOT NULL DEFAULT 0,
    next_attempt_at       BIGINT NOT NULL DEFAULT 0,
    status_at             BIGINT NOT NULL DEFAULT 0
);
SELECT orc_rowid_trigger('webhooks');
