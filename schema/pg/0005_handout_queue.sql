-- 0005 (PostgreSQL): mirrors schema/0005_handout_queue.sql: the hand-out queue behind
-- request-new-task and the triggers that keep it right on every path that writes tasks,
-- projects or steps. Each SQLite trigger is one PL/pgSQL trigger function here, with the
-- same WHEN condition (IS NOT becomes IS DISTINCT FROM).

CREATE TABLE handout_queue (
    task_id        BIGINT NOT NULL PRIMARY KEY,
    step_id        BIGINT NOT NULL,
    status         BIGINT NOT NULL CHECK (status IN (0, 2)),
    rank           BIGINT NOT NULL,
    project_start  BIGINT NOT NULL
);
CREATE INDEX handout_queue_walk ON handout_queue(step_id, status, rank, project_start, task_id);

CREATE INDEX task_assignments_worker_open ON task_assignments(worker_id)
    WHERE is_deleted = 0 AND status = 0;

INSERT INTO handout_queue (task_id, step_id, status, rank, project_start)
    SELECT t.id, t.step_id, t.status, ~p.priority, p.start_datetime
    FROM tasks t JOIN projects p ON p.id = t.project_id JOIN steps s ON s.id = t.step_id
    WHERE t.status IN (0, 2) AND p.status = 0 AND s.is_human = 1;

CREATE FUNCTION handout_task_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO handout_queue (task_id, step_id, status, rank, project_start)
        SELECT NEW.id, NEW.step_id, NEW.status, ~p.priority, p.start_datetime
        FROM projects p JOIN steps s ON s.id = NEW.step_id
        WHERE p.id = NEW.project_id AND p.status = 0 AND s.is_human = 1;
    RETURN NULL;
END $$;
CREATE TRIGGER handout_task_insert AFTER INSERT ON tasks FOR EACH ROW
    WHEN (NEW.status IN (0, 2)) EXECUTE FUNCTION handout_task_insert();

CREATE FUNCTION handout_task_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM handout_queue WHERE task_id = OLD.id;
    INSERT INTO handout_queue (task_id, step_id, status, rank, project_start)
        SELECT NEW.id, NEW.step_id, NEW.status, ~p.priority, p.start_datetime
        FROM projects p JOIN steps s ON s.id = NEW.step_id
        WHERE NEW.status IN (0, 2) AND p.id = NEW.project_id AND p.status = 0
            AND s.is_human = 1;
    RETURN NULL;
END $$;
CREATE TRIGGER handout_task_update AFTER UPDATE OF status, step_id, project_id ON tasks
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.step_id IS DISTINCT FROM NEW.step_id
          OR OLD.project_id IS DISTINCT FROM NEW.project_id)
    EXECUTE FUNCTION handout_task_update();

CREATE FUNCTION handout_task_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM handout_queue WHERE task_id = OLD.id;
    RETURN NULL;
END $$;
CREATE TRIGGER handout_task_delete AFTER DELETE ON tasks FOR EACH ROW
    EXECUTE FUNCTION handout_task_delete();

CREATE FUNCTION handout_project_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM handout_queue
        WHERE task_id IN (SELECT id FROM tasks WHERE project_id = NEW.id);
    INSERT INTO handout_queue (task_id, step_id, status, rank, project_start)
        SELECT t.id, t.step_id, t.status, ~NEW.priority, NEW.start_datetime
        FROM tasks t JOIN steps s ON s.id = t.step_id
        WHERE NEW.status = 0 AND t.project_id = NEW.id AND t.status IN (0, 2)
            AND s.is_human = 1;
    RETURN NULL;
END $$;
CREATE TRIGGER handout_project_update AFTER UPDATE OF status, priority, start_datetime
    ON projects FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.priority IS DISTINCT FROM NEW.priority
          OR OLD.start_datetime IS DISTINCT FROM NEW.start_datetime)
    EXECUTE FUNCTION handout_project_update();

CREATE FUNCTION handout_step_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM handout_queue WHERE step_id = NEW.id;
    INSERT INTO handout_queue (task_id, step_id, status, rank, project_start)
        SELECT t.id, t.step_id, t.status, ~p.priority, p.start_datetime
        FROM tasks t JOIN projects p ON p.id = t.project_id
        WHERE NEW.is_human = 1 AND t.step_id = NEW.id AND t.status IN (0, 2)
            AND p.status = 0;
    RETURN NULL;
END $$;
CREATE TRIGGER handout_step_update AFTER UPDATE OF is_human ON steps FOR EACH ROW
    WHEN (OLD.is_human IS DISTINCT FROM NEW.is_human)
    EXECUTE FUNCTION handout_step_update();
