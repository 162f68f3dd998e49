-- 0018: tasks are found by project through the unique index on (project_id, step_id), whose
-- first column is the project: tasks_project, an index on project_id alone, found the same
-- rows and cost every new task one more B-tree insert and one more page in its commit (a
-- machine step's commit writes about twenty). A query that wants a project's tasks in id
-- order sorts them (a project has tens of tasks), or walks the id range when it names one.
DROP INDEX tasks_project;
