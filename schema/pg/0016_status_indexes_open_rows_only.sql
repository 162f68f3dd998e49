-- 0016 (PostgreSQL): mirrors schema/0016_status_indexes_open_rows_only.sql. PostgreSQL's
-- planner proves each partial index's WHERE from the queries' status terms.
DROP INDEX jobs_due;
CREATE INDEX jobs_due ON jobs(status, next_attempt_at) WHERE status = 0 OR status = 3;
DROP INDEX jobs_lease;
CREATE INDEX jobs_lease ON jobs(status, lease_expires_at) WHERE status = 1;
DROP INDEX tasks_status;
CREATE INDEX tasks_status ON tasks(status) WHERE status < 5;
