-- The experts' web app (orchestra-http, server/README.md).

-- Workers who may use the project management methods with their own session: upstream's
-- project_admins group. Set with `orchestra worker admin USERNAME` (SetWorkerAdmin).
ALTER TABLE users ADD COLUMN project_admin INTEGER NOT NULL DEFAULT 0
    CHECK (project_admin IN (0, 1));

-- Failed sign-ins are limited per client address (as the front end saw it) as well as per
-- username; '' when the caller gave none (the CLI).
ALTER TABLE login_failures ADD COLUMN client_address TEXT NOT NULL DEFAULT '';
CREATE INDEX login_failures_address ON login_failures(client_address, failed_at)
    WHERE client_address <> '';
