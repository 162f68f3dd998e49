-- 0001: the data model of spec section 1, plus API keys, worker sessions and stored replies.
--
-- Conventions: times are INTEGER microseconds since the Unix epoch (UTC); JSON is TEXT
-- checked with json_valid; enums are INTEGER with the upstream numbering; booleans are
-- INTEGER 0/1; BaseModel rows carry created_at and is_deleted (soft delete).

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 150),
    password      TEXT NOT NULL DEFAULT '',          -- pbkdf2-sha256$iter$salt$hash, '' = no login
    first_name    TEXT NOT NULL DEFAULT '',
    last_name     TEXT NOT NULL DEFAULT '',
    email         TEXT NOT NULL DEFAULT '',
    is_active     INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    is_staff      INTEGER NOT NULL DEFAULT 0 CHECK (is_staff IN (0, 1)),
    is_superuser  INTEGER NOT NULL DEFAULT 0 CHECK (is_superuser IN (0, 1)),
    created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE workers (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL UNIQUE REFERENCES users(id),
    start_datetime  INTEGER NOT NULL,
    slack_username  TEXT,
    phone           TEXT
) STRICT;

-- Worker login sessions; only the SHA-256 of the token is stored.
CREATE TABLE sessions (
    id          INTEGER PRIMARY KEY,
    token_hash  BLOB NOT NULL UNIQUE,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
) STRICT;

-- API keys for signed RPC and the legacy HTTP signatures. The secret must stay
-- recoverable: both schemes compute an HMAC with it.
CREATE TABLE api_keys (
    id          INTEGER PRIMARY KEY,
    key_id      TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    secret      TEXT NOT NULL,
    scopes      INTEGER NOT NULL,                    -- bit set, see server.h
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
) STRICT;

-- Answers to mutating requests, for idempotency: a repeated (principal, request_id)
-- gets the stored reply. Pruned once older than the timestamp window allows a replay.
CREATE TABLE rpc_replies (
    principal   TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    method      TEXT NOT NULL,
    status      INTEGER NOT NULL,
    message     TEXT NOT NULL,
    details     TEXT NOT NULL DEFAULT '',
    body        BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (principal, request_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX rpc_replies_created ON rpc_replies(created_at);

CREATE TABLE workflows (
    id                         INTEGER PRIMARY KEY,
    slug                       TEXT NOT NULL UNIQUE CHECK (length(slug) BETWEEN 1 AND 200),
    name                       TEXT NOT NULL CHECK (length(name) <= 200),
    description                TEXT NOT NULL,
    code_directory             TEXT NOT NULL UNIQUE CHECK (length(code_directory) <= 255),
    sample_data_load_function  TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(sample_data_load_function)),
    -- the folder's sample_data.json (our declarative stand-in for the load function)
    sample_data                TEXT CHECK (sample_data IS NULL OR json_valid(sample_data)),
    created_at                 INTEGER NOT NULL
) STRICT;

CREATE TABLE workflow_versions (
    id           INTEGER PRIMARY KEY,
    workflow_id  INTEGER NOT NULL REFERENCES workflows(id),
    slug         TEXT NOT NULL CHECK (length(slug) BETWEEN 1 AND 200),
    name         TEXT NOT NULL CHECK (length(name) <= 200),
    description  TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (workflow_id, slug)
) STRICT;

CREATE TABLE certifications (
    id           INTEGER PRIMARY KEY,
    workflow_id  INTEGER NOT NULL REFERENCES workflows(id),
    slug         TEXT NOT NULL CHECK (length(slug) BETWEEN 1 AND 200),
    name         TEXT NOT NULL CHECK (length(name) <= 200),
    description  TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (workflow_id, slug)
) STRICT;

-- Certification.required_certifications (stored, never enforced, as upstream).
CREATE TABLE certification_requirements (
    certification_id  INTEGER NOT NULL REFERENCES certifications(id),
    required_id       INTEGER NOT NULL REFERENCES certifications(id),
    PRIMARY KEY (certification_id, required_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE steps (
    id                   INTEGER PRIMARY KEY,
    workflow_version_id  INTEGER NOT NULL REFERENCES workflow_versions(id),
    slug                 TEXT NOT NULL CHECK (length(slug) BETWEEN 1 AND 200),
    name                 TEXT NOT NULL CHECK (length(name) <= 200),
    description          TEXT NOT NULL,
    is_human             INTEGER NOT NULL CHECK (is_human IN (0, 1)),
    execution_function   TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(execution_function)),
    assignment_policy    TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(assignment_policy)),
    review_policy        TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(review_policy)),
    user_interface       TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(user_interface)),
    -- machine steps: {max_attempts, initial_delay_ms, max_delay_ms}; '{}' = defaults
    retry_policy         TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(retry_policy)),
    position             INTEGER NOT NULL,           -- order in version.json
    created_at           INTEGER NOT NULL,
    UNIQUE (workflow_version_id, slug)
) STRICT;

CREATE TABLE step_creation_deps (
    step_id        INTEGER NOT NULL REFERENCES steps(id),
    depends_on_id  INTEGER NOT NULL REFERENCES steps(id),
    PRIMARY KEY (step_id, depends_on_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE step_submission_deps (
    step_id        INTEGER NOT NULL REFERENCES steps(id),
    depends_on_id  INTEGER NOT NULL REFERENCES steps(id),
    PRIMARY KEY (step_id, depends_on_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE step_certifications (
    step_id           INTEGER NOT NULL REFERENCES steps(id),
    certification_id  INTEGER NOT NULL REFERENCES certifications(id),
    PRIMARY KEY (step_id, certification_id)
) STRICT, WITHOUT ROWID;

-- task_class: 0 Training, 1 Real. role: 0 Entry-level, 1 Reviewer.
CREATE TABLE worker_certifications (
    id                INTEGER PRIMARY KEY,
    certification_id  INTEGER NOT NULL REFERENCES certifications(id),
    worker_id         INTEGER NOT NULL REFERENCES workers(id),
    task_class        INTEGER NOT NULL CHECK (task_class IN (0, 1)),
    role              INTEGER NOT NULL CHECK (role IN (0, 1)),
    created_at        INTEGER NOT NULL,
    UNIQUE (certification_id, worker_id, task_class, role)
) STRICT;

-- status: 0 Active, 2 Aborted, 3 Paused, 4 Completed.
CREATE TABLE projects (
    id                   INTEGER PRIMARY KEY,
    start_datetime       INTEGER NOT NULL,
    status               INTEGER NOT NULL DEFAULT 0 CHECK (status IN (0, 2, 3, 4)),
    workflow_version_id  INTEGER NOT NULL REFERENCES workflow_versions(id),
    short_description    TEXT NOT NULL,
    priority             INTEGER NOT NULL,
    project_data         TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(project_data)),
    task_class           INTEGER NOT NULL CHECK (task_class IN (0, 1)),
    team_messages_url    TEXT,
    slack_group_id       TEXT
) STRICT;

-- status: 0 Awaiting Processing, 1 Processing, 2 Pending Review, 3 Reviewing,
-- 4 Post-review Processing, 5 Complete, 6 Aborted. At most one task per (project, step).
CREATE TABLE tasks (
    id              INTEGER PRIMARY KEY,
    start_datetime  INTEGER NOT NULL,
    step_id         INTEGER NOT NULL REFERENCES steps(id),
    project_id      INTEGER NOT NULL REFERENCES projects(id),
    status          INTEGER NOT NULL CHECK (status BETWEEN 0 AND 6),
    UNIQUE (project_id, step_id)
) STRICT;
CREATE INDEX tasks_status ON tasks(status);

-- status: 0 Processing, 1 Submitted, 2 Failed (machine steps).
CREATE TABLE task_assignments (
    id                     INTEGER PRIMARY KEY,
    created_at             INTEGER NOT NULL,
    is_deleted             INTEGER NOT NULL DEFAULT 0 CHECK (is_deleted IN (0, 1)),
    start_datetime         INTEGER NOT NULL,
    worker_id              INTEGER REFERENCES workers(id),
    task_id                INTEGER NOT NULL REFERENCES tasks(id),
    status                 INTEGER NOT NULL CHECK (status BETWEEN 0 AND 2),
    assignment_counter     INTEGER NOT NULL DEFAULT 0 CHECK (assignment_counter >= 0),
    in_progress_task_data  TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(in_progress_task_data))
) STRICT;
-- unique (task, counter) among live rows: a reverted (soft-deleted) level may be redone.
CREATE UNIQUE INDEX task_assignments_task_counter
    ON task_assignments(task_id, assignment_counter) WHERE is_deleted = 0;
CREATE INDEX task_assignments_worker ON task_assignments(worker_id);

-- status: 0 Processing, 1 Requested Review, 2 Provided Review.
CREATE TABLE iterations (
    id              INTEGER PRIMARY KEY,
    created_at      INTEGER NOT NULL,
    is_deleted      INTEGER NOT NULL DEFAULT 0 CHECK (is_deleted IN (0, 1)),
    start_datetime  INTEGER NOT NULL,
    end_datetime    INTEGER,
    assignment_id   INTEGER NOT NULL REFERENCES task_assignments(id),
    status          INTEGER NOT NULL DEFAULT 0 CHECK (status BETWEEN 0 AND 2),
    submitted_data  TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(submitted_data))
) STRICT;
CREATE INDEX iterations_assignment ON iterations(assignment_id);

CREATE TABLE time_entries (
    id               INTEGER PRIMARY KEY,
    created_at       INTEGER NOT NULL,
    is_deleted       INTEGER NOT NULL DEFAULT 0 CHECK (is_deleted IN (0, 1)),
    date             TEXT NOT NULL,                 -- YYYY-MM-DD
    time_worked_us   INTEGER NOT NULL CHECK (time_worked_us >= 0),
    worker_id        INTEGER REFERENCES workers(id),
    assignment_id    INTEGER REFERENCES task_assignments(id),
    description      TEXT CHECK (description IS NULL OR length(description) <= 200),
    timer_start_time INTEGER,
    timer_stop_time  INTEGER
) STRICT;
CREATE INDEX time_entries_worker_date ON time_entries(worker_id, date);

CREATE TABLE task_timers (
    id             INTEGER PRIMARY KEY,
    worker_id      INTEGER NOT NULL UNIQUE REFERENCES workers(id),
    assignment_id  INTEGER REFERENCES task_assignments(id),
    start_time     INTEGER,
    stop_time      INTEGER,
    description    TEXT CHECK (description IS NULL OR length(description) <= 200)
) STRICT;
