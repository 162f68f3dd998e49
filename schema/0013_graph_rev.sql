-- 0013: a revision of each version's step graph, for the coordinator's in-memory cache of it
-- (server/orchestrad/domain/graph.h).
--
-- graph_rev changes, in the same transaction, whenever a row of the version's steps or
-- creation dependencies changes, or its workflow's slug does (a forced reload, raw SQL): the
-- cache reads this one integer and keeps using the graph it read at the same revision. The
-- new value is random, not the old one plus one, so that a revision read inside a
-- transaction that then rolled back never comes back with other rows behind it.
-- Every version starts at a random revision too (the cache is shared by the connections of a
-- process, which may open more than one database: tests do).
ALTER TABLE workflow_versions ADD COLUMN graph_rev INTEGER NOT NULL DEFAULT 0;
UPDATE workflow_versions SET graph_rev = random();

CREATE TRIGGER graph_rev_version_insert AFTER INSERT ON workflow_versions
BEGIN
    UPDATE workflow_versions SET graph_rev = random() WHERE id = NEW.id;
END;

CREATE TRIGGER graph_rev_step_insert AFTER INSERT ON steps
BEGIN
    UPDATE workflow_versions SET graph_rev = random() WHERE id = NEW.workflow_version_id;
END;

CREATE TRIGGER graph_rev_step_update AFTER UPDATE ON steps
BEGIN
    UPDATE workflow_versions SET graph_rev = random()
        WHERE id IN (OLD.workflow_version_id, NEW.workflow_version_id);
END;

CREATE TRIGGER graph_rev_step_delete AFTER DELETE ON steps
BEGIN
    UPDATE workflow_versions SET graph_rev = random() WHERE id = OLD.workflow_version_id;
END;

CREATE TRIGGER graph_rev_dep_insert AFTER INSERT ON step_creation_deps
BEGIN
    UPDATE workflow_versions SET graph_rev = random()
        WHERE id = (SELECT workflow_version_id FROM steps WHERE id = NEW.step_id);
END;

CREATE TRIGGER graph_rev_dep_update AFTER UPDATE ON step_creation_deps
BEGIN
    UPDATE workflow_versions SET graph_rev = random()
        WHERE id IN (SELECT workflow_version_id FROM steps WHERE id IN (OLD.step_id, NEW.step_id));
END;

CREATE TRIGGER graph_rev_dep_delete AFTER DELETE ON step_creation_deps
BEGIN
    UPDATE workflow_versions SET graph_rev = random()
        WHERE id = (SELECT workflow_version_id FROM steps WHERE id = OLD.step_id);
END;

CREATE TRIGGER graph_rev_workflow_slug AFTER UPDATE OF slug ON workflows
WHEN OLD.slug IS NOT NEW.slug
BEGIN
    UPDATE workflow_versions SET graph_rev = random() WHERE workflow_id = NEW.id;
END;
