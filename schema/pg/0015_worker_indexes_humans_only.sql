-- 0015 (PostgreSQL): mirrors schema/0015_worker_indexes_humans_only.sql. PostgreSQL's B-trees
-- index NULL keys too, and its planner proves worker_id IS NOT NULL from worker_id = $N.
DROP INDEX task_assignments_worker;
CREATE INDEX task_assignments_worker ON task_assignments(worker_id)
    WHERE worker_id IS NOT NULL;
DROP INDEX task_assignments_worker_open;
CREATE INDEX task_assignments_worker_open ON task_assignments(worker_id)
    WHERE is_deleted = 0 AND status = 0 AND worker_id IS NOT NULL;
