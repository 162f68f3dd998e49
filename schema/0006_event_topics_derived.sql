-- 0006: an event's topics are derived from its own columns instead of being stored twice (a
-- JSON array in events.topics and one event_topics row per topic, i.e. three more rows and
-- statements per event on the machine-step hot path). The topics follow from project_id,
-- worker, workflow and step (server/README.md "Event topics") plus two facts the columns did
-- not hold:
--   worker_only   1 for a notification, published on the worker's topic only;
--   other_worker  a second worker concerned (the previous worker of a reassignment).
-- One partial index per kind of topic, on the topic text and seq, keeps ListEvents by topic
-- prefix and the publisher's topic_prev_seq seeks on an index as event_topics' primary key
-- did. The queries in events.c repeat these expressions and WHERE clauses word for word:
-- SQLite uses an expression index only for the same expression, and a partial index only
-- when the query's WHERE contains the index's terms.

ALTER TABLE events ADD COLUMN worker_only INTEGER NOT NULL DEFAULT 0
    CHECK (worker_only IN (0, 1));
ALTER TABLE events ADD COLUMN other_worker TEXT NOT NULL DEFAULT '';

-- Existing events: both facts come back from the stored topics. A notification has a task
-- (so a project, workflow and step) but only its worker's topic. An event without project,
-- workflow or step and with only its worker's topic has the same topics either way.
UPDATE events SET worker_only = 1
    WHERE worker != '' AND (project_id > 0 OR workflow != '' OR step != '')
    AND json_array_length(topics) = 1
    AND json_extract(topics, '$[0]') = 'worker.' || worker || '.';
UPDATE events SET other_worker = coalesce(
    (SELECT substr(t.value, 8, length(t.value) - 8) FROM json_each(events.topics) t
     WHERE substr(t.value, 1, 7) = 'worker.' AND t.value != 'worker.' || events.worker || '.'
     LIMIT 1), '')
    WHERE worker_only = 0;

DROP INDEX event_topics_seq;
DROP TABLE event_topics;
ALTER TABLE events DROP COLUMN topics;

-- Retention finds its cutoff walking events in seq order from the floor (events.c,
-- orci_events_prune), so the index on time only cost every event one more index entry.
DROP INDEX events_time;

CREATE INDEX events_topic_project ON events ('project.' || project_id || '.', seq)
    WHERE worker_only = 0 AND project_id > 0;
CREATE INDEX events_topic_worker ON events ('worker.' || worker || '.', seq)
    WHERE worker != '';
CREATE INDEX events_topic_other ON events ('worker.' || other_worker || '.', seq)
    WHERE worker_only = 0 AND other_worker != '' AND other_worker != worker;
CREATE INDEX events_topic_workflow ON events ('workflow.' || workflow || '.', seq)
    WHERE worker_only = 0 AND workflow != '';
CREATE INDEX events_topic_step ON events ('step.' || step || '.', seq)
    WHERE worker_only = 0 AND step != '';
