-- 0011: jobs that are not machine steps (issue 16, Python functions on the executors).
--
-- Upstream calls Python functions at three more places than machine steps: a step's
-- creation policy (whether its task is created), a version's abort_completion_function (on
-- end project) and a workflow's sample_data_load_function. orchestrad never runs user code,
-- so these become jobs too, leased and reported like a step's, and the coordinator acts on
-- the answer in the transaction that records it (domain/jobs_hooks.c). kind: 0 a machine
-- step (task_id set), 1 a creation policy (project_id, step_id), 2 an abort hook
-- (project_id), 3 a sample-data load (workflow_version_id; no project).
--
-- package is the first dotted component of the function for a Python-runnable name ("" for
-- "command" and for names without a dot): executors with Python advertise the top-level
-- packages they can import and lease by it (jobs.h). spec is the hook's function
-- ({"path", "kwargs"} or {"module", "name"}); a step's stays with the step.
--
-- SQLite cannot drop NOT NULL from task_id and project_id, so the table is rebuilt with the
-- same rows (every existing job is a machine step) and the same indexes.
CREATE TABLE jobs_v11 (
    id                   INTEGER PRIMARY KEY,
    kind                 INTEGER NOT NULL DEFAULT 0 CHECK (kind BETWEEN 0 AND 3),
    task_id              INTEGER UNIQUE REFERENCES tasks(id),
    project_id           INTEGER REFERENCES projects(id),
    step_id              INTEGER REFERENCES steps(id),
    workflow_version_id  INTEGER REFERENCES workflow_versions(id),
    function             TEXT NOT NULL,
    package              TEXT NOT NULL DEFAULT '',
    spec                 TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(spec)),
    status               INTEGER NOT NULL DEFAULT 0 CHECK (status BETWEEN 0 AND 4),
    attempts             INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts         INTEGER NOT NULL CHECK (max_attempts >= 1),
    initial_delay_ms     INTEGER NOT NULL CHECK (initial_delay_ms >= 0),
    max_delay_ms         INTEGER NOT NULL CHECK (max_delay_ms >= 0),
    next_attempt_at      INTEGER NOT NULL,
    lease_token_hash     BLOB,
    lease_owner          TEXT,
    lease_expires_at     INTEGER,
    output               TEXT CHECK (output IS NULL OR json_valid(output)),
    last_error           TEXT NOT NULL DEFAULT '',
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    CHECK ((kind = 0) = (task_id IS NOT NULL)),
    CHECK ((kind = 3) = (project_id IS NULL)),
    CHECK ((kind = 1) = (step_id IS NOT NULL)),
    CHECK ((kind = 3) = (workflow_version_id IS NOT NULL))
) STRICT;

INSERT INTO jobs_v11 (id, kind, task_id, project_id, function, package, status, attempts,
                      max_attempts, initial_delay_ms, max_delay_ms, next_attempt_at,
                      lease_token_hash, lease_owner, lease_expires_at, output, last_error,
                      created_at, updated_at)
SELECT id, 0, task_id, project_id, function,
       CASE WHEN function != 'command' AND instr(function, '.') > 1
            THEN substr(function, 1, instr(function, '.') - 1) ELSE '' END,
       status, attempts, max_attempts, initial_delay_ms, max_delay_ms, next_attempt_at,
       lease_token_hash, lease_owner, lease_expires_at, output, last_error, created_at,
       updated_at
FROM jobs;

DROP TABLE jobs;
ALTER TABLE jobs_v11 RENAME TO jobs;

-- As 0003: the lease query walks due queued jobs in order; expired leases; a project's jobs.
CREATE INDEX jobs_due ON jobs(status, next_attempt_at);
CREATE INDEX jobs_lease ON jobs(status, lease_expires_at);
CREATE INDEX jobs_project ON jobs(project_id, status);
-- One creation-policy job per project and step: asking again re-queues it.
CREATE UNIQUE INDEX jobs_policy ON jobs(project_id, step_id) WHERE kind = 1;
