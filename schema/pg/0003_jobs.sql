-- 0003 (PostgreSQL): mirrors schema/0003_jobs.sql (the machine tasks' jobs, the job signal).

CREATE TABLE jobs (
    id                BIGINT PRIMARY KEY,
    task_id           BIGINT NOT NULL UNIQUE REFERENCES tasks(id),
    project_id        BIGINT NOT NULL REFERENCES projects(id),
    function          TEXT NOT NULL,
    status            BIGINT NOT NULL DEFAULT 0 CHECK (status BETWEEN 0 AND 4),
    attempts          BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts      BIGINT NOT NULL CHECK (max_attempts >= 1),
    initial_delay_ms  BIGINT NOT NULL CHECK (initial_delay_ms >= 0),
    max_delay_ms      BIGINT NOT NULL CHECK (max_delay_ms >= 0),
    next_attempt_at   BIGINT NOT NULL,
    lease_token_hash  BYTEA,
    lease_owner       TEXT,
    lease_expires_at  BIGINT,
    output            TEXT CHECK (output IS NULL OR json_valid(output)),
    last_error        TEXT NOT NULL DEFAULT '',
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
SELECT orc_rowid_trigger('jobs');
CREATE INDEX jobs_due ON jobs(status, next_attempt_at);
CREATE INDEX jobs_lease ON jobs(status, lease_expires_at);
CREATE INDEX jobs_project ON jobs(project_id, status);

CREATE TABLE job_signal (
    id   BIGINT PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL
);
INSERT INTO job_signal (id, seq) VALUES (1, 0);
