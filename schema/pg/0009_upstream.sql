-- 0009 (PostgreSQL): mirrors schema/0009_upstream.sql (upstream HEAD's step and version
-- fields, Worker.slack_user_id, the record of what `orchestra import` created).

ALTER TABLE steps ADD COLUMN creation_policy TEXT NOT NULL DEFAULT '{}'
    CHECK (json_valid(creation_policy));
ALTER TABLE steps ADD COLUMN completion_ends_project BIGINT NOT NULL DEFAULT 0
    CHECK (completion_ends_project IN (0, 1));
ALTER TABLE workflow_versions ADD COLUMN abort_completion_function TEXT NOT NULL DEFAULT '{}'
    CHECK (json_valid(abort_completion_function));
ALTER TABLE workers ADD COLUMN slack_user_id TEXT;

CREATE TABLE imported_records (
    model        TEXT NOT NULL,
    source_pk    BIGINT NOT NULL,
    row_id       BIGINT NOT NULL,
    created      BIGINT NOT NULL CHECK (created IN (0, 1)),
    imported_at  BIGINT NOT NULL,
    PRIMARY KEY (model, source_pk)
);
