-- 0009: what a team switching from upstream Orchestra brings along (issue 16): the step and
-- version fields of upstream HEAD that change the lifecycle, the Slack user id its
-- project_information shows, and the record of what `orchestra import` created.

-- HEAD's creation policy, {"policy_function": {"path": ..., "kwargs": {...}}}: the step's
-- task is created only when the policy says so. '{}' is upstream's default,
-- orchestra.creation_policies.always_create (store/policy.h lists the built-ins).
ALTER TABLE steps ADD COLUMN creation_policy TEXT NOT NULL DEFAULT '{}'
    CHECK (json_valid(creation_policy));

-- HEAD: once this step's task is Complete, the project is Completed.
ALTER TABLE steps ADD COLUMN completion_ends_project INTEGER NOT NULL DEFAULT 0
    CHECK (completion_ends_project IN (0, 1));

-- HEAD: {"path": "pkg.mod.fn", "kwargs": {...}}, a Python function upstream calls when a
-- project of the version is ended; '{}' when there is none. Stored and announced on end
-- project (event project.abort_completion); it runs once Python functions run.
ALTER TABLE workflow_versions ADD COLUMN abort_completion_function TEXT NOT NULL DEFAULT '{}'
    CHECK (json_valid(abort_completion_function));

-- HEAD's Worker.slack_user_id (kept from an import; project_information shows it).
ALTER TABLE workers ADD COLUMN slack_user_id TEXT;

-- What `orchestra import` made of each record of an upstream fixture: the row (of the
-- model's table) that stands for upstream's (model, pk). A second import of the same
-- records finds them here and changes nothing; later records of the fixture resolve their
-- foreign keys through it.
CREATE TABLE imported_records (
    model        TEXT NOT NULL,      -- "orchestra.project", "auth.user", ...
    source_pk    INTEGER NOT NULL,   -- upstream's primary key
    row_id       INTEGER NOT NULL,   -- ours
    created      INTEGER NOT NULL CHECK (created IN (0, 1)),  -- 0: matched an existing row
    imported_at  INTEGER NOT NULL,
    PRIMARY KEY (model, source_pk)
) STRICT, WITHOUT ROWID;
