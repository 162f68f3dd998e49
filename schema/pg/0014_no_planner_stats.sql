-- 0014 (PostgreSQL): mirrors schema/0014_no_planner_stats.sql, which drops SQLite's planner
-- statistics (sqlite_stat1) that orchestrad no longer gathers. PostgreSQL keeps its own
-- statistics current (autovacuum's ANALYZE): nothing to change here.
SELECT 1;
