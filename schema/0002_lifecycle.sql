-- 0002: what the human task lifecycle needs beyond the data model: failed-login tracking for
-- the rate limit, and indexes for the pick-up and dashboard queries.

CREATE TABLE login_failures (
    id         INTEGER PRIMARY KEY,
    username   TEXT NOT NULL,
    failed_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX login_failures_user ON login_failures(username, failed_at);

CREATE INDEX tasks_project ON tasks(project_id);
CREATE INDEX projects_pickup ON projects(status, priority, start_datetime);
CREATE INDEX sessions_user ON sessions(user_id);
