-- 0011 (PostgreSQL): mirrors schema/0011_python_jobs.sql: jobs that are not machine steps
-- (creation policies, abort hooks, sample-data loads). The table is rebuilt as SQLite's is,
-- so that its columns keep the same order on both stores.

CREATE TABLE jobs_v11 (
    id                   BIGINT PRIMARY KEY,
    kind                 BIGINT NOT NULL DEFAULT 0 CHECK (kind BETWEEN 0 AND 3),
    task_id              BIGINT UNIQUE REFERENCES tasks(id),
    project_id           BIGINT REFERENCES projects(id),
    step_id              BIGINT REFERENCES steps(id),
    workflow_version_id  BIGINT REFERENCES workflow_versions(id),
    function             TEXT NOT NULL,
    package              TEXT NOT NULL DEFAULT '',
    spec                 TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(spec)),
    status               BIGINT NOT NULL DEFAULT 0 CHECK (status BETWEEN 0 AND 4),
    attempts             BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts         BIGINT NOT NULL CHECK (max_attempts >= 1),
    initial_delay_ms     BIGINT NOT NULL CHECK (initial_delay_ms >= 0),
    max_delay_ms         BIGINT NOT NULL CHECK (max_delay_ms >= 0),
    next_attempt_at      BIGINT NOT NULL,
    lease_token_hash     BYTEA,
    lease_owner          TEXT,
    lease_expires_at     BIGINT,
    output               TEXT CHECK (output IS NULL OR json_valid(output)),
    last_error           TEXT NOT NULL DEFAULT '',
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    CHECK ((kind = 0) = (task_id IS NOT NULL)),
    CHECK ((kind = 3) = (project_id IS NULL)),
    CHECK ((kind = 1) = (step_id IS NOT NULL)),
    CHECK ((kind = 3) = (workflow_version_id IS NOT NULL))
);

INSERT INTO jobs_v11 (id, kind, task_id, project_id, function, package, status, attempts,
                      max_attempts, initial_delay_ms, max_delay_ms, next_attempt_at,
                      lease_token_hash, lease_owner, lease_expires_at, output, last_error,
                      created_at, updated_at)
SELECT id, 0, task_id, project_id, function,
       CASE WHEN function != 'command' AND strpos(function, '.') > 1
            THEN substr(function, 1, strpos(function, '.') - 1) ELSE '' END,
       status, attempts, max_attempts, initial_delay_ms, max_delay_ms, next_attempt_at,
       lease_token_hash, lease_owner, lease_expires_at, output, last_error, created_at,
       updated_at
FROM jobs;

DROP TABLE jobs;
DROP FUNCTION orc_rowid_jobs();
ALTER TABLE jobs_v11 RENAME TO jobs;
SELECT orc_rowid_trigger('jobs');

CREATE INDEX jobs_due ON jobs(status, next_attempt_at);
CREATE INDEX jobs_lease ON jobs(status, lease_expires_at);
CREATE INDEX jobs_project ON jobs(project_id, status);
CREATE UNIQUE INDEX jobs_policy ON jobs(project_id, step_id) WHERE kind = 1;
