-- 0004 (PostgreSQL): mirrors schema/0004_events.sql (the event outbox). seq is assigned by
-- the statements (the current maximum plus one, in the writer's transaction), never by a
-- sequence: a rolled-back job leaves no gap.

CREATE TABLE events (
    seq         BIGINT PRIMARY KEY,
    type        TEXT NOT NULL,
    time        BIGINT NOT NULL,
    project_id  BIGINT NOT NULL DEFAULT 0,
    task_id     BIGINT NOT NULL DEFAULT 0,
    step        TEXT NOT NULL DEFAULT '',
    workflow    TEXT NOT NULL DEFAULT '',
    worker      TEXT NOT NULL DEFAULT '',
    old_status  TEXT NOT NULL DEFAULT '',
    new_status  TEXT NOT NULL DEFAULT '',
    payload     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(payload)),
    topics      TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(topics))
);
CREATE INDEX events_time ON events(time);

CREATE TABLE event_topics (
    topic  TEXT NOT NULL,
    seq    BIGINT NOT NULL REFERENCES events(seq) ON DELETE CASCADE,
    PRIMARY KEY (topic, seq)
);
CREATE INDEX event_topics_seq ON event_topics(seq);

CREATE TABLE events_meta (
    id          BIGINT PRIMARY KEY CHECK (id = 1),
    first_kept  BIGINT NOT NULL CHECK (first_kept >= 1)
);
INSERT INTO events_meta (id, first_kept) VALUES (1, 1);
