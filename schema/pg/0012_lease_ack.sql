-- 0012 (PostgreSQL): mirrors schema/0012_lease_ack.sql: whether the executor holding a lease
-- has shown that it received it, and how many unacknowledged expiries gave their attempt back.
ALTER TABLE jobs ADD COLUMN lease_acked BIGINT NOT NULL DEFAULT 1 CHECK (lease_acked IN (0, 1));
ALTER TABLE jobs ADD COLUMN free_expiries BIGINT NOT NULL DEFAULT 0 CHECK (free_expiries >= 0);
