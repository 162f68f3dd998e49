-- 0017: rpc_replies keeps its rows in the order they were stored.
--
-- The table was keyed by (principal, request_id). Request ids are random, so every stored
-- reply went into a random leaf of the table, rows of some 300 bytes split leaves often,
-- and a second index on created_at served retention: about 3.8 pages of each machine step's
-- commit. Now the rows come in id order (the rightmost leaf), a unique index on the key finds
-- a reply (small entries: a random leaf, rarely split), and retention deletes from the
-- oldest id (rpc/replies.c) instead of walking an index on the time.
CREATE TABLE rpc_replies_0017 (
    id          INTEGER PRIMARY KEY,
    principal   TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    method      TEXT NOT NULL,
    status      INTEGER NOT NULL,
    message     TEXT NOT NULL,
    details     TEXT NOT NULL DEFAULT '',
    body        BLOB NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;
INSERT INTO rpc_replies_0017 (principal, request_id, method, status, message, details, body,
                              created_at)
    SELECT principal, request_id, method, status, message, details, body, created_at
    FROM rpc_replies ORDER BY created_at;
DROP TABLE rpc_replies;
ALTER TABLE rpc_replies_0017 RENAME TO rpc_replies;
CREATE UNIQUE INDEX rpc_replies_request ON rpc_replies(principal, request_id);
