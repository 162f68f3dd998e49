-- 0006 (PostgreSQL): mirrors schema/0006_event_topics_derived.sql: an event's topics follow
-- from its columns; one partial index per kind of topic on the same expressions as SQLite's
-- (text || bigint is 0001's immutable operator, so 'project.' || project_id || '.' can be
-- indexed and the statements keep one text). No PostgreSQL database predates this migration
-- with events in it, so the data-moving UPDATEs of the SQLite migration have nothing to do.

ALTER TABLE events ADD COLUMN worker_only BIGINT NOT NULL DEFAULT 0
    CHECK (worker_only IN (0, 1));
ALTER TABLE events ADD COLUMN other_worker TEXT NOT NULL DEFAULT '';

DROP INDEX event_topics_seq;
DROP TABLE event_topics;
ALTER TABLE events DROP COLUMN topics;
DROP INDEX events_time;

CREATE INDEX events_topic_project ON events (('project.' || project_id || '.'), seq)
    WHERE worker_only = 0 AND project_id > 0;
CREATE INDEX events_topic_worker ON events (('worker.' || worker || '.'), seq)
    WHERE worker != '';
CREATE INDEX events_topic_other ON events (('worker.' || other_worker || '.'), seq)
    WHERE worker_only = 0 AND other_worker != '' AND other_worker != worker;
CREATE INDEX events_topic_workflow ON events (('workflow.' || workflow || '.'), seq)
    WHERE worker_only = 0 AND workflow != '';
CREATE INDEX events_topic_step ON events (('step.' || step || '.'), seq)
    WHERE worker_only = 0 AND step != '';
