-- 0008 (PostgreSQL): mirrors schema/0008_webapp.sql (project admins, failed sign-ins per
-- client address).

ALTER TABLE users ADD COLUMN project_admin BIGINT NOT NULL DEFAULT 0
    CHECK (project_admin IN (0, 1));

ALTER TABLE login_failures ADD COLUMN client_address TEXT NOT NULL DEFAULT '';
CREATE INDEX login_failures_address ON login_failures(client_address, failed_at)
    WHERE client_address <> '';
