-- 0019 (PostgreSQL): mirrors schema/0019_jobs_by_project_through_tasks.sql. A project's jobs
-- are found through their tasks' unique index and jobs(task_id), or through jobs_policy.
DROP INDEX jobs_project;
