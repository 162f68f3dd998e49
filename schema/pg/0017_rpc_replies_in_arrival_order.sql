-- 0017 (PostgreSQL): mirrors schema/0017_rpc_replies_in_arrival_order.sql: an id in arrival
-- order (orc_rowid_trigger), a unique index on the key, no index on the time.
ALTER TABLE rpc_replies DROP CONSTRAINT rpc_replies_pkey;
DROP INDEX rpc_replies_created;
ALTER TABLE rpc_replies ADD COLUMN id BIGINT;
UPDATE rpc_replies SET id = r.n
    FROM (SELECT principal, request_id, row_number() OVER (ORDER BY created_at) AS n
          FROM rpc_replies) r
    WHERE rpc_replies.principal = r.principal AND rpc_replies.request_id = r.request_id;
ALTER TABLE rpc_replies ALTER COLUMN id SET NOT NULL;
ALTER TABLE rpc_replies ADD PRIMARY KEY (id);
SELECT orc_rowid_trigger('rpc_replies');
CREATE UNIQUE INDEX rpc_replies_request ON rpc_replies(principal, request_id);
