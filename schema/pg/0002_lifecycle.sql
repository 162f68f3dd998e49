-- 0002 (PostgreSQL): mirrors schema/0002_lifecycle.sql (failed logins, pick-up indexes).

CREATE TABLE login_failures (
    id         BIGINT PRIMARY KEY,
    username   TEXT NOT NULL,
    failed_at  BIGINT NOT NULL
);
SELECT orc_rowid_trigger('login_failures');
CREATE INDEX login_failures_user ON login_failures(username, failed_at);

CREATE INDEX tasks_project ON tasks(project_id);
CREATE INDEX projects_pickup ON projects(status, priority, start_datetime);
CREATE INDEX sessions_user ON sessions(user_id);
