-- 0014: no query planner statistics (server/README.md, "The hot path: a machine step").
--
-- orchestrad ran PRAGMA optimize when it closed the database. With SQLite 3.40 that analyzes a
-- table once, the first time, and never again: statistics taken while the tables were small
-- stayed as they grew, and told the planner that an index on tasks.project_id or a max(id)
-- was not worth using (a full scan of tasks on every machine step, a covering-index scan of
-- every job for a max(id)). A machine step of a chain cost the writer 2.9 million
-- instructions instead of 1.3 million with 100 projects, growing with the database. The
-- schema's indexes are chosen for the planner's own estimates; the daemon no longer gathers
-- statistics, and the ones gathered before are dropped here.
-- ANALYZE sqlite_schema analyzes nothing: it makes this connection (the writer, open since
-- before the migration) load the statistics again, now none (it leaves sqlite_stat1 empty).
DROP TABLE IF EXISTS sqlite_stat1;
ANALYZE sqlite_schema;
