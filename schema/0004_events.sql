-- 0004: the event outbox. Every committed state change appends its events in the same
-- transaction; seq is assigned as the current maximum plus one inside the writer's
-- transaction (never AUTOINCREMENT), so a rolled-back job leaves no gap. After commit the
-- daemon publishes them on the PUB socket; ListEvents reads them back in order.

CREATE TABLE events (
    seq         INTEGER PRIMARY KEY,              -- global, gap-free, from 1
    type        TEXT NOT NULL,                    -- e.g. task.status_changed
    time        INTEGER NOT NULL,                 -- us since the epoch
    project_id  INTEGER NOT NULL DEFAULT 0,       -- 0 when no project is concerned
    task_id     INTEGER NOT NULL DEFAULT 0,
    step        TEXT NOT NULL DEFAULT '',
    workflow    TEXT NOT NULL DEFAULT '',
    worker      TEXT NOT NULL DEFAULT '',         -- username
    old_status  TEXT NOT NULL DEFAULT '',
    new_status  TEXT NOT NULL DEFAULT '',
    payload     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(payload)),
    topics      TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(topics))  -- in publishing order
) STRICT;
CREATE INDEX events_time ON events(time);

-- The topics of each event ("project.<id>.", "worker.<username>.", "workflow.<slug>.",
-- "step.<slug>."): ListEvents with a prefix scans the topic range, then the seqs.
CREATE TABLE event_topics (
    topic  TEXT NOT NULL,
    seq    INTEGER NOT NULL REFERENCES events(seq) ON DELETE CASCADE,
    PRIMARY KEY (topic, seq)
) STRICT, WITHOUT ROWID;
CREATE INDEX event_topics_seq ON event_topics(seq);

-- Retention: first_kept is the oldest seq still kept (1 until something is pruned). The next
-- seq is never below it, even when every row has been pruned.
CREATE TABLE events_meta (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    first_kept  INTEGER NOT NULL CHECK (first_kept >= 1)
) STRICT;
INSERT INTO events_meta (id, first_kept) VALUES (1, 1);
