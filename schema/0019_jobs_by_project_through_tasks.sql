-- 0019: a project's jobs are found through their tasks (kind 0, by the unique index on
-- tasks(project_id, step_id), then on jobs(task_id)) and its creation policies' jobs (kind 1)
-- through jobs_policy. jobs_project, on (project_id, status), kept an entry for every job
-- ever run, and a machine step moved two of them (the job it completed, the job it created and
-- leased): one more B-tree and page in each step's commit, for lookups that only cancelling or
-- pausing a project makes (domain/jobs.c, orci_jobs_cancel_project).
DROP INDEX jobs_project;
