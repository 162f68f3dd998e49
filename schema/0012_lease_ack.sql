-- 0012: whether the executor holding a lease has shown that it received it (issue 13).
--
-- A LeaseJob poll that waited (parked) is answered when a job comes due; its executor may
-- have stopped or died meanwhile, and then the lease expires without having run: it must not
-- cost the job an attempt. Such a lease starts with lease_acked = 0 and the executor
-- acknowledges it with a heartbeat before running it; a lease answered at once (or as a
-- report's next) is acknowledged from the start. An unacknowledged lease that expires gives
-- its attempt back, at most three times per job (free_expiries), so that a job that kills its
-- executor before the heartbeat still runs out of attempts. Leases granted before this
-- migration count as acknowledged, as they always did.
ALTER TABLE jobs ADD COLUMN lease_acked INTEGER NOT NULL DEFAULT 1 CHECK (lease_acked IN (0, 1));
ALTER TABLE jobs ADD COLUMN free_expiries INTEGER NOT NULL DEFAULT 0 CHECK (free_expiries >= 0);
