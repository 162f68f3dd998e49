-- 0003: jobs, the machine tasks run by executors (DESIGN.md "Machine steps", jobs.h).
--
-- One job per machine task. status: 0 queued, 1 leased, 2 completed, 3 failed,
-- 4 cancelled. attempts counts the leases handed out (the tries started). Only the SHA-256
-- of the current (or last) lease token is stored; it is kept after the lease ends so that a
-- duplicate report of the same lease is recognised.
CREATE TABLE jobs (
    id                INTEGER PRIMARY KEY,
    task_id           INTEGER NOT NULL UNIQUE REFERENCES tasks(id),
    project_id        INTEGER NOT NULL REFERENCES projects(id),
    function          TEXT NOT NULL,                 -- "module.name" or "command"
    status            INTEGER NOT NULL DEFAULT 0 CHECK (status BETWEEN 0 AND 4),
    attempts          INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts      INTEGER NOT NULL CHECK (max_attempts >= 1),
    initial_delay_ms  INTEGER NOT NULL CHECK (initial_delay_ms >= 0),
    max_delay_ms      INTEGER NOT NULL CHECK (max_delay_ms >= 0),
    next_attempt_at   INTEGER NOT NULL,             -- queued: due from this time
    lease_token_hash  BLOB,
    lease_owner       TEXT,                         -- executor id of the current/last lease
    lease_expires_at  INTEGER,
    output            TEXT CHECK (output IS NULL OR json_valid(output)),
    last_error        TEXT NOT NULL DEFAULT '',
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) STRICT;
-- The lease query: due queued jobs in order; expired leases.
CREATE INDEX jobs_due ON jobs(status, next_attempt_at);
CREATE INDEX jobs_lease ON jobs(status, lease_expires_at);
CREATE INDEX jobs_project ON jobs(project_id, status);

-- A counter bumped in every transaction that may make a job available (created, re-queued,
-- retried, project resumed). The RPC server compares it after each write to wake parked
-- LeaseJob polls.
CREATE TABLE job_signal (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL
) STRICT;
INSERT INTO job_signal (id, seq) VALUES (1, 0);
