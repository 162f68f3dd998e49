-- 0018 (PostgreSQL): mirrors schema/0018_tasks_by_project_on_the_unique_index.sql. The unique
-- constraint's index on (project_id, step_id) serves the lookups by project.
DROP INDEX tasks_project;
