-- 0005: the hand-out queue behind request-new-task (DESIGN.md "Lifecycle": its cost follows
-- the answer, not the backlog).
--
-- One row per task that request-new-task may hand out: a task of a human step, Awaiting
-- Processing (0, entry-level work) or Pending Review (2, review work), in an Active project.
-- rank is ~priority (-priority - 1: the same order reversed, with no overflow at either end of
-- int64), so ascending (rank, project_start, task_id) is the pick-up order: project priority
-- highest first, then project start oldest first, then task id. The walk reads one step's
-- rows in that order through queue_walk and seeks past a row with a row-value comparison on
-- (rank, project_start, task_id); task_id must be a real column for that, not a rowid alias
-- (SQLite then bounds only (rank, project_start) and scans every tie), hence WITHOUT ROWID.
--
-- The triggers below keep the table right on every path that writes tasks, projects or
-- steps (the lifecycle, management operations, forced workflow reloads, raw SQL in tests), so
-- no C code has to remember it. Nothing changes a project's priority or start today; the
-- project trigger covers it should that come.
CREATE TABLE handout_queue (
    task_id        INTEGER NOT NULL PRIMARY KEY,
    step_id        INTEGER NOT NULL,
    status         INTEGER NOT NULL CHECK (status IN (0, 2)),
    rank           INTEGER NOT NULL,
    project_start  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX handout_queue_walk ON handout_queue(step_id, status, rank, project_start, task_id);

-- The returned-task block reads a worker's Processing assignments; without this it read
-- every assignment the worker ever had.
CREATE INDEX task_assignments_worker_open ON task_assignments(worker_id)
    WHERE is_deleted = 0 AND status = 0;

-- Existing databases: every task that qualifies today.
INSERT INTO handout_queue (task_id, step_id, status, rank, project_start)
    SELECT t.id, t.step_id, t.status, ~p.priority, p.start_datetime
    FROM tasks t JOIN projects p ON p.id = t.project_id JOIN steps s ON s.id = t.step_id
    WHERE t.status IN (0, 2) AND p.status = 0 AND s.is_human = 1;

CREATE TRIGGER handout_task_insert AFTER INSERT ON tasks
WHEN NEW.status IN (0, 2)
BEGIN
    INSERT INTO handout_queue (task_id, step_id, status, rank, project_start)
        SELECT NEW.id, NEW.step_id, NEW.status, ~p.priority, p.start_datetime
        FROM projects p JOIN steps s ON s.id = NEW.step_id
        WHERE p.id = NEW.project_id AND p.status = 0 AND s.is_human = 1;
END;

CREATE TRIGGER handout_task_update AFTER UPDATE OF status, step_id, project_id ON tasks
WHEN OLD.status IS NOT NEW.status OR OLD.step_id IS NOT NEW.step_id
    OR OLD.project_id IS NOT NEW.project_id
BEGIN
    DELETE FROM handout_queue WHERE task_id = OLD.id;
    INSERT INTO handout_queue (task_id, step_id, status, rank, project_start)
        SELECT NEW.id, NEW.step_id, NEW.status, ~p.priority, p.start_datetime
        FROM projects p JOIN steps s ON s.id = NEW.step_id
        WHERE NEW.status IN (0, 2) AND p.id = NEW.project_id AND p.status = 0
            AND s.is_human = 1;
END;

CREATE TRIGGER handout_task_delete AFTER DELETE ON tasks
BEGIN
    DELETE FROM handout_queue WHERE task_id = OLD.id;
END;

-- Pausing, resuming, ending or completing a project takes its tasks out of the queue or puts
-- them back; a project has one task per step at most, so this touches a handful of rows.
CREATE TRIGGER handout_project_update AFTER UPDATE OF status, priority, start_datetime ON projects
WHEN OLD.status IS NOT NEW.status OR OLD.priority IS NOT NEW.priority
    OR OLD.start_datetime IS NOT NEW.start_datetime
BEGIN
    DELETE FROM handout_queue
        WHERE task_id IN (SELECT id FROM tasks WHERE project_id = NEW.id);
    INSERT INTO handout_queue (task_id, step_id, status, rank, project_start)
        SELECT t.id, t.step_id, t.status, ~NEW.priority, NEW.start_datetime
        FROM tasks t JOIN steps s ON s.id = t.step_id
        WHERE NEW.status = 0 AND t.project_id = NEW.id AND t.status IN (0, 2)
            AND s.is_human = 1;
END;

-- A forced workflow reload may turn a step human or machine (rare: this reads every task).
CREATE TRIGGER handout_step_update AFTER UPDATE OF is_human ON steps
WHEN OLD.is_human IS NOT NEW.is_human
BEGIN
    DELETE FROM handout_queue WHERE step_id = NEW.id;
    INSERT INTO handout_queue (task_id, step_id, status, rank, project_start)
        SELECT t.id, t.step_id, t.status, ~p.priority, p.start_datetime
        FROM tasks t JOIN projects p ON p.id = t.project_id
        WHERE NEW.is_human = 1 AND t.step_id = NEW.id AND t.status IN (0, 2)
            AND p.status = 0;
END;
