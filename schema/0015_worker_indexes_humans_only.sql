-- 0015: the two indexes of task_assignments on worker_id leave machine assignments out.
--
-- A machine step's assignment has no worker (worker_id NULL), yet SQLite indexes NULL keys:
-- every machine step wrote an entry into both indexes (two of the 22 to 29 pages its commit
-- writes), and task_assignments_worker kept one entry per machine step for ever. Every query
-- that uses them names a worker (worker_id = ?N, or a join on it), which implies worker_id
-- IS NOT NULL, so SQLite uses the partial indexes for all of them.
DROP INDEX task_assignments_worker;
CREATE INDEX task_assignments_worker ON task_assignments(worker_id)
    WHERE worker_id IS NOT NULL;
DROP INDEX task_assignments_worker_open;
CREATE INDEX task_assignments_worker_open ON task_assignments(worker_id)
    WHERE is_deleted = 0 AND status = 0 AND worker_id IS NOT NULL;
