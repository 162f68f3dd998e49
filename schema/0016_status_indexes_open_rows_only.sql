-- 0016: the indexes that find work by status hold only the rows that can still be work.
--
-- jobs_due (queued and failed jobs), jobs_lease (leased jobs) and tasks_status (tasks before
-- Complete) indexed every row, so each machine step moved its job and its task into the
-- finished part of all three: in a database with a history, leaf pages of its own in each,
-- written by every step's commit, and entries that stayed for ever. Every query that uses
-- them names the status it wants (status = 0, 1 or 3; status < 5), which is, or is one side
-- of, the partial index's WHERE, so SQLite uses them for the same queries.
DROP INDEX jobs_due;
CREATE INDEX jobs_due ON jobs(status, next_attempt_at) WHERE status = 0 OR status = 3;
DROP INDEX jobs_lease;
CREATE INDEX jobs_lease ON jobs(status, lease_expires_at) WHERE status = 1;
DROP INDEX tasks_status;
CREATE INDEX tasks_status ON tasks(status) WHERE status < 5;
