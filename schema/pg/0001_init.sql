-- 0001 (PostgreSQL): the data model of spec section 1, plus API keys, worker sessions and
-- stored replies. Mirrors schema/0001_init.sql column for column (test_schema_pg checks it).
--
-- How SQLite's types map (schema/README.md "PostgreSQL"): INTEGER is BIGINT (SQLite's are
-- 64-bit); TEXT is TEXT; BLOB is BYTEA; booleans stay BIGINT 0/1, so the statements read the
-- same on both. An INTEGER PRIMARY KEY takes max(id) + 1 when inserted without an id, as
-- SQLite's rowid does (a trigger: a rolled-back insert leaves no gap, an explicit id is kept).
-- The functions below give PostgreSQL the few SQLite functions the statements use, under the
-- same names and with the same results, so that one text of each statement runs on both.

-- json_valid(text): 1 when the text is JSON, as SQLite's (the CHECKs of JSON columns).
CREATE FUNCTION json_valid(t text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    PERFORM t::json;
    RETURN true;
EXCEPTION WHEN others THEN
    RETURN false;
END $$;

-- text || bigint: SQLite concatenates integers as their decimal text. PostgreSQL's own
-- text || anynonarray is only STABLE, which an index expression (migration 0006) cannot use.
CREATE FUNCTION orc_cat_int(a text, b bigint) RETURNS text LANGUAGE sql IMMUTABLE STRICT
    PARALLEL SAFE AS $$ SELECT a || b::text $$;
CREATE OPERATOR || (LEFTARG = text, RIGHTARG = bigint, FUNCTION = orc_cat_int);

-- max(a, b) and min(a, b) of two integers: SQLite's scalar forms (NULL when either is NULL,
-- unlike PostgreSQL's greatest and least), beside the aggregates of one argument.
CREATE FUNCTION max(a bigint, b bigint) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE WHEN a IS NULL OR b IS NULL THEN NULL WHEN a > b THEN a ELSE b END $$;
CREATE FUNCTION min(a bigint, b bigint) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE WHEN a IS NULL OR b IS NULL THEN NULL WHEN a < b THEN a ELSE b END $$;

-- json_each(text): the elements of a JSON array as a column "value" (the statements use it for
-- IN lists bound as one JSON array); strings come back as their text.
CREATE FUNCTION json_each(t text) RETURNS TABLE (value text) LANGUAGE sql IMMUTABLE STRICT
    PARALLEL SAFE AS $$ SELECT json_array_elements_text(t::json) $$;

-- json_extract(text, '$.key'): one member of an object as SQLite returns it: a number as a
-- number (here its text, which reads back as an integer), a string as its text, true/false
-- as 1/0, null or a missing key as NULL, an object or array as its JSON text.
CREATE FUNCTION json_extract(t text, path text) RETURNS text LANGUAGE plpgsql IMMUTABLE
    PARALLEL SAFE AS $$
DECLARE
    v json;
BEGIN
    IF t IS NULL OR path IS NULL OR left(path, 2) <> '$.' THEN
        RETURN NULL;
    END IF;
    v := t::json -> substr(path, 3);
    IF v IS NULL THEN
        RETURN NULL;
    END IF;
    CASE json_typeof(v)
        WHEN 'string' THEN RETURN v #>> '{}';
        WHEN 'boolean' THEN RETURN CASE WHEN v::text = 'true' THEN '1' ELSE '0' END;
        WHEN 'null' THEN RETURN NULL;
        ELSE RETURN v::text;
    END CASE;
END $$;

-- json_quote(text): a JSON string as SQLite writes one (the helper of json_object below).
CREATE FUNCTION orc_json_quote(t text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN t IS NULL THEN 'null' ELSE to_json(t)::text END $$;

-- json_object(k, v, ...): compact JSON text as SQLite writes it ({"a":1,"b":"x"}), for the
-- shapes the statements build: integer members, and a last text member.
CREATE FUNCTION json_object(k1 text, v1 bigint, k2 text, v2 bigint) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT '{' || orc_json_quote(k1) || ':' || coalesce(v1::text, 'null') || ','
        || orc_json_quote(k2) || ':' || coalesce(v2::text, 'null') || '}' $$;
CREATE FUNCTION json_object(k1 text, v1 bigint, k2 text, v2 bigint, k3 text, v3 text)
    RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT '{' || orc_json_quote(k1) || ':' || coalesce(v1::text, 'null') || ','
        || orc_json_quote(k2) || ':' || coalesce(v2::text, 'null') || ','
        || orc_json_quote(k3) || ':' || orc_json_quote(v3) || '}' $$;

-- orc_rowid_trigger(table): an INTEGER PRIMARY KEY "id" that takes max(id) + 1 when inserted
-- without one, as SQLite's rowid alias. The writers are serialized (store/README.md), so two
-- inserts never compute the same id.
CREATE FUNCTION orc_rowid_trigger(tbl text, col text DEFAULT 'id') RETURNS void
    LANGUAGE plpgsql AS $f$
BEGIN
    EXECUTE format($$CREATE FUNCTION %I() RETURNS trigger LANGUAGE plpgsql AS $b$
        BEGIN
            IF NEW.%I IS NULL THEN
                NEW.%I := (SELECT coalesce(max(%I), 0) + 1 FROM %I);
            END IF;
            RETURN NEW;
        END $b$ $$, 'orc_rowid_' || tbl, col, col, col, tbl);
    EXECUTE format('CREATE TRIGGER %I BEFORE INSERT ON %I FOR EACH ROW EXECUTE FUNCTION %I()',
                   tbl || '_rowid', tbl, 'orc_rowid_' || tbl);
END $f$;

CREATE TABLE users (
    id            BIGINT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 150),
    password      TEXT NOT NULL DEFAULT '',
    first_name    TEXT NOT NULL DEFAULT '',
    last_name     TEXT NOT NULL DEFAULT '',
    email         TEXT NOT NULL DEFAULT '',
    is_active     BIGINT NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    is_staff      BIGINT NOT NULL DEFAULT 0 CHECK (is_staff IN (0, 1)),
    is_superuser  BIGINT NOT NULL DEFAULT 0 CHECK (is_superuser IN (0, 1)),
    created_at    BIGINT NOT NULL
);
SELECT orc_rowid_trigger('users');

CREATE TABLE workers (
    id              BIGINT PRIMARY KEY,
    user_id         BIGINT NOT NULL UNIQUE REFERENCES users(id),
    start_datetime  BIGINT NOT NULL,
    slack_username  TEXT,
    phone           TEXT
);
SELECT orc_rowid_trigger('workers');

CREATE TABLE sessions (
    id          BIGINT PRIMARY KEY,
    token_hash  BYTEA NOT NULL UNIQUE,
    user_id     BIGINT NOT NULL REFERENCES users(id),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
SELECT orc_rowid_trigger('sessions');

CREATE TABLE api_keys (
    id          BIGINT PRIMARY KEY,
    key_id      TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    secret      TEXT NOT NULL,
    scopes      BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
SELECT orc_rowid_trigger('api_keys');

CREATE TABLE rpc_replies (
    principal   TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    method      TEXT NOT NULL,
    status      BIGINT NOT NULL,
    message     TEXT NOT NULL,
    details     TEXT NOT NULL DEFAULT '',
    body        BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (principal, request_id)
);
CREATE INDEX rpc_replies_created ON rpc_replies(created_at);

CREATE TABLE workflows (
    id                         BIGINT PRIMARY KEY,
    slug                       TEXT NOT NULL UNIQUE CHECK (length(slug) BETWEEN 1 AND 200),
    name                       TEXT NOT NULL CHECK (length(name) <= 200),
    description                TEXT NOT NULL,
    code_directory             TEXT NOT NULL UNIQUE CHECK (length(code_directory) <= 255),
    sample_data_load_function  TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(sample_data_load_function)),
    sample_data                TEXT CHECK (sample_data IS NULL OR json_valid(sample_data)),
    created_at                 BIGINT NOT NULL
);
SELECT orc_rowid_trigger('workflows');

CREATE TABLE workflow_versions (
    id           BIGINT PRIMARY KEY,
    workflow_id  BIGINT NOT NULL REFERENCES workflows(id),
    slug         TEXT NOT NULL CHECK (length(slug) BETWEEN 1 AND 200),
    name         TEXT NOT NULL CHECK (length(name) <= 200),
    description  TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (workflow_id, slug)
);
SELECT orc_rowid_trigger('workflow_versions');

CREATE TABLE certifications (
    id           BIGINT PRIMARY KEY,
    workflow_id  BIGINT NOT NULL REFERENCES workflows(id),
    slug         TEXT NOT NULL CHECK (length(slug) BETWEEN 1 AND 200),
    name         TEXT NOT NULL CHECK (length(name) <= 200),
    description  TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (workflow_id, slug)
);
SELECT orc_rowid_trigger('certifications');

CREATE TABLE certification_requirements (
    certification_id  BIGINT NOT NULL REFERENCES certifications(id),
    required_id       BIGINT NOT NULL REFERENCES certifications(id),
    PRIMARY KEY (certification_id, required_id)
);

CREATE TABLE steps (
    id                   BIGINT PRIMARY KEY,
    workflow_version_id  BIGINT NOT NULL REFERENCES workflow_versions(id),
    slug                 TEXT NOT NULL CHECK (length(slug) BETWEEN 1 AND 200),
    name                 TEXT NOT NULL CHECK (length(name) <= 200),
    description          TEXT NOT NULL,
    is_human             BIGINT NOT NULL CHECK (is_human IN (0, 1)),
    execution_function   TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(execution_function)),
    assignment_policy    TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(assignment_policy)),
    review_policy        TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(review_policy)),
    user_interface       TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(user_interface)),
    retry_policy         TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(retry_policy)),
    position             BIGINT NOT NULL,
    created_at           BIGINT NOT NULL,
    UNIQUE (workflow_version_id, slug)
);
SELECT orc_rowid_trigger('steps');

CREATE TABLE step_creation_deps (
    step_id        BIGINT NOT NULL REFERENCES steps(id),
    depends_on_id  BIGINT NOT NULL REFERENCES steps(id),
    PRIMARY KEY (step_id, depends_on_id)
);

CREATE TABLE step_submission_deps (
    step_id        BIGINT NOT NULL REFERENCES steps(id),
    depends_on_id  BIGINT NOT NULL REFERENCES steps(id),
    PRIMARY KEY (step_id, depends_on_id)
);

CREATE TABLE step_certifications (
    step_id           BIGINT NOT NULL REFERENCES steps(id),
    certification_id  BIGINT NOT NULL REFERENCES certifications(id),
    PRIMARY KEY (step_id, certification_id)
);

CREATE TABLE worker_certifications (
    id                BIGINT PRIMARY KEY,
    certification_id  BIGINT NOT NULL REFERENCES certifications(id),
    worker_id         BIGINT NOT NULL REFERENCES workers(id),
    task_class        BIGINT NOT NULL CHECK (task_class IN (0, 1)),
    role              BIGINT NOT NULL CHECK (role IN (0, 1)),
    created_at        BIGINT NOT NULL,
    UNIQUE (certification_id, worker_id, task_class, role)
);
SELECT orc_rowid_trigger('worker_certifications');

CREATE TABLE projects (
    id                   BIGINT PRIMARY KEY,
    start_datetime       BIGINT NOT NULL,
    status               BIGINT NOT NULL DEFAULT 0 CHECK (status IN (0, 2, 3, 4)),
    workflow_version_id  BIGINT NOT NULL REFERENCES workflow_versions(id),
    short_description    TEXT NOT NULL,
    priority             BIGINT NOT NULL,
    project_data         TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(project_data)),
    task_class           BIGINT NOT NULL CHECK (task_class IN (0, 1)),
    team_messages_url    TEXT,
    slack_group_id       TEXT
);
SELECT orc_rowid_trigger('projects');

CREATE TABLE tasks (
    id              BIGINT PRIMARY KEY,
    start_datetime  BIGINT NOT NULL,
    step_id         BIGINT NOT NULL REFERENCES steps(id),
    project_id      BIGINT NOT NULL REFERENCES projects(id),
    status          BIGINT NOT NULL CHECK (status BETWEEN 0 AND 6),
    UNIQUE (project_id, step_id)
);
SELECT orc_rowid_trigger('tasks');
CREATE INDEX tasks_status ON tasks(status);

CREATE TABLE task_assignments (
    id                     BIGINT PRIMARY KEY,
    created_at             BIGINT NOT NULL,
    is_deleted             BIGINT NOT NULL DEFAULT 0 CHECK (is_deleted IN (0, 1)),
    start_datetime         BIGINT NOT NULL,
    worker_id              BIGINT REFERENCES workers(id),
    task_id                BIGINT NOT NULL REFERENCES tasks(id),
    status                 BIGINT NOT NULL CHECK (status BETWEEN 0 AND 2),
    assignment_counter     BIGINT NOT NULL DEFAULT 0 CHECK (assignment_counter >= 0),
    in_progress_task_data  TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(in_progress_task_data))
);
SELECT orc_rowid_trigger('task_assignments');
CREATE UNIQUE INDEX task_assignments_task_counter
    ON task_assignments(task_id, assignment_counter) WHERE is_deleted = 0;
CREATE INDEX task_assignments_worker ON task_assignments(worker_id);

CREATE TABLE iterations (
    id              BIGINT PRIMARY KEY,
    created_at      BIGINT NOT NULL,
    is_deleted      BIGINT NOT NULL DEFAULT 0 CHECK (is_deleted IN (0, 1)),
    start_datetime  BIGINT NOT NULL,
    end_datetime    BIGINT,
    assignment_id   BIGINT NOT NULL REFERENCES task_assignments(id),
    status          BIGINT NOT NULL DEFAULT 0 CHECK (status BETWEEN 0 AND 2),
    submitted_data  TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(submitted_data))
);
SELECT orc_rowid_trigger('iterations');
CREATE INDEX iterations_assignment ON iterations(assignment_id);

CREATE TABLE time_entries (
    id               BIGINT PRIMARY KEY,
    created_at       BIGINT NOT NULL,
    is_deleted       BIGINT NOT NULL DEFAULT 0 CHECK (is_deleted IN (0, 1)),
    date             TEXT NOT NULL,
    time_worked_us   BIGINT NOT NULL CHECK (time_worked_us >= 0),
    worker_id        BIGINT REFERENCES workers(id),
    assignment_id    BIGINT REFERENCES task_assignments(id),
    description      TEXT CHECK (description IS NULL OR length(description) <= 200),
    timer_start_time BIGINT,
    timer_stop_time  BIGINT
);
SELECT orc_rowid_trigger('time_entries');
CREATE INDEX time_entries_worker_date ON time_entries(worker_id, date);

CREATE TABLE task_timers (
    id             BIGINT PRIMARY KEY,
    worker_id      BIGINT NOT NULL UNIQUE REFERENCES workers(id),
    assignment_id  BIGINT REFERENCES task_assignments(id),
    start_time     BIGINT,
    stop_time      BIGINT,
    description    TEXT CHECK (description IS NULL OR length(description) <= 200)
);
SELECT orc_rowid_trigger('task_timers');
