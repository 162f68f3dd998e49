-- 0013 (PostgreSQL): mirrors schema/0013_graph_rev.sql: a revision of each version's step
-- graph, changed to a new random value whenever a row of its steps or creation dependencies,
-- or its workflow's slug, changes (the coordinator's graph cache, domain/graph.h).
ALTER TABLE workflow_versions ADD COLUMN graph_rev BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION orc_graph_rev_new() RETURNS bigint LANGUAGE sql VOLATILE AS $$
    SELECT (floor(random() * 9007199254740991) - 4503599627370495)::bigint
$$;

UPDATE workflow_versions SET graph_rev = orc_graph_rev_new();

CREATE FUNCTION graph_rev_version_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE workflow_versions SET graph_rev = orc_graph_rev_new() WHERE id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER graph_rev_version_insert AFTER INSERT ON workflow_versions FOR EACH ROW
    EXECUTE FUNCTION graph_rev_version_insert();

CREATE FUNCTION graph_rev_step_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE workflow_versions SET graph_rev = orc_graph_rev_new() WHERE id = NEW.workflow_version_id;
    RETURN NULL;
END $$;
CREATE TRIGGER graph_rev_step_insert AFTER INSERT ON steps FOR EACH ROW
    EXECUTE FUNCTION graph_rev_step_insert();

CREATE FUNCTION graph_rev_step_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE workflow_versions SET graph_rev = orc_graph_rev_new()
        WHERE id IN (OLD.workflow_version_id, NEW.workflow_version_id);
    RETURN NULL;
END $$;
CREATE TRIGGER graph_rev_step_update AFTER UPDATE ON steps FOR EACH ROW
    EXECUTE FUNCTION graph_rev_step_update();

CREATE FUNCTION graph_rev_step_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE workflow_versions SET graph_rev = orc_graph_rev_new() WHERE id = OLD.workflow_version_id;
    RETURN NULL;
END $$;
CREATE TRIGGER graph_rev_step_delete AFTER DELETE ON steps FOR EACH ROW
    EXECUTE FUNCTION graph_rev_step_delete();

CREATE FUNCTION graph_rev_dep_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE workflow_versions SET graph_rev = orc_graph_rev_new()
        WHERE id = (SELECT workflow_version_id FROM steps WHERE id = NEW.step_id);
    RETURN NULL;
END $$;
CREATE TRIGGER graph_rev_dep_insert AFTER INSERT ON step_creation_deps FOR EACH ROW
    EXECUTE FUNCTION graph_rev_dep_insert();

CREATE FUNCTION graph_rev_dep_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE workflow_versions SET graph_rev = orc_graph_rev_new()
        WHERE id IN (SELECT workflow_version_id FROM steps WHERE id IN (OLD.step_id, NEW.step_id));
    RETURN NULL;
END $$;
CREATE TRIGGER graph_rev_dep_update AFTER UPDATE ON step_creation_deps FOR EACH ROW
    EXECUTE FUNCTION graph_rev_dep_update();

CREATE FUNCTION graph_rev_dep_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE workflow_versions SET graph_rev = orc_graph_rev_new()
        WHERE id = (SELECT workflow_version_id FROM steps WHERE id = OLD.step_id);
    RETURN NULL;
END $$;
CREATE TRIGGER graph_rev_dep_delete AFTER DELETE ON step_creation_deps FOR EACH ROW
    EXECUTE FUNCTION graph_rev_dep_delete();

CREATE FUNCTION graph_rev_workflow_slug() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE workflow_versions SET graph_rev = orc_graph_rev_new() WHERE workflow_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER graph_rev_workflow_slug AFTER UPDATE OF slug ON workflows FOR EACH ROW
    WHEN (OLD.slug IS DISTINCT FROM NEW.slug) EXECUTE FUNCTION graph_rev_workflow_slug();
