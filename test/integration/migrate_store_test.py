"""`orchestrad migrate-store` (issue 19): a SQLite database into PostgreSQL, end to end.

A coordinator on a SQLite file gets every kind of row the tests can make: the example
workflows, the upstream fixture imported (users, workers, certifications, projects in every
status, tasks, assignments, iterations, time entries), a worker's password and session, an API
key, notification preferences and a webhook, events. Every project is read through
orchestra-http's legacy API (HEAD's batch form); the coordinator stops; `migrate-store` moves
the file into a new PostgreSQL database; a coordinator on PostgreSQL then answers the same
documents, the worker's password still works, and new work goes on. Moving into a database that
holds data, or from a file a coordinator serves, is refused and changes nothing.

Runs under the CTest label postgres only (ORC_TEST_STORE=postgres: orc_store gives the
PostgreSQL databases). Debian's /usr/bin/python3 (python3-requests, python3-httpsig).
"""
import json
import os
import subprocess
import sys
import unittest
from email.utils import formatdate

import requests
from httpsig.requests_auth import HTTPSignatureAuth

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import orc_store  # noqa: E402
import upstream_env  # noqa: E402
from upstream_env import Env, FIXTURE, KEY, SECRET, ORCHESTRAD  # noqa: E402


def legacy(env, ids):
    h = {"Date": formatdate(usegmt=True), "X-Api-Key": KEY}
    r = requests.post(env.base + "/orchestra/api/project/project_information/",
                      json={"project_ids": ids}, headers=h,
                      auth=HTTPSignatureAuth(KEY, SECRET, algorithm="hmac-sha256"))
    if r.status_code != 200:
        raise AssertionError("legacy API %d: %s" % (r.status_code, r.text))
    return r.json()


def start_on(env, tag, db):
    """env.start with the --db value db instead of a fresh one."""
    real = orc_store.database
    orc_store.database = lambda folder: db(folder) if callable(db) else db
    try:
        env.start(tag)
    finally:
        orc_store.database = real


def migrate(*args):
    return subprocess.run([ORCHESTRAD, "migrate-store"] + list(args), capture_output=True,
                          text=True, timeout=300)


def check(db):
    """orchestrad check --json on db (exit 0 or 1: violations are data here)."""
    p = subprocess.run([ORCHESTRAD, "check", "--db", db, "--json"], capture_output=True,
                       text=True, timeout=120)
    if p.returncode not in (0, 1):
        raise AssertionError("check %s exited %d: %s" % (db, p.returncode, p.stderr))
    return json.loads(p.stdout)


@unittest.skipUnless(orc_store.is_postgres(), "needs ORC_TEST_STORE=postgres")
class MigrateStoreTest(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.envs = []

    def tearDown(self):
        for env in self.envs:
            env.stop()

    def env(self):
        e = Env()
        self.envs.append(e)
        return e

    def fill(self, env):
        env.load_examples()
        env.cli_json("import", FIXTURE)
        env.cli("worker", "password", "ann", "--password-stdin", stdin="ann-password-1\n")
        env.cli("login", "ann", "--password-stdin", stdin="ann-password-1\n",
                extra_env={"ORCHESTRA_SESSION": os.path.join(env.dir, "ann.session")})
        keys = subprocess.run([ORCHESTRAD, "keys", "create", "migrated-key", "--scopes", "project",
                               "--db", os.path.join(env.dir, "orchestra.db")],
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(keys.returncode, 0, keys.stderr)
        env.cli("webhook", "create", "http://127.0.0.1:9/hook", "--topic", "project.",
                "--secret-stdin", stdin="a-webhook-secret\n")
        env.cli_json("project", "create", "--workflow", "simple_workflow", "--version", "v1",
                     "--description", "made before the move", "--priority", "3",
                     "--task-class", "real")

    def test_a_sqlite_database_moves_whole_and_reads_back_the_same(self):
        src = self.env()
        start_on(src, "migrate-src", lambda folder: os.path.join(folder, "orchestra.db"))
        self.fill(src)
        ids = sorted(p["id"] for p in src.cli_json("project", "list", "--limit", "1000")["projects"])
        self.assertGreater(len(ids), 9)
        before = legacy(src, ids)
        sqlite_file = os.path.join(src.dir, "orchestra.db")
        # A file a coordinator serves is refused.
        target = orc_store.database(src.dir)
        busy = migrate("--from", sqlite_file, "--to", target)
        self.assertEqual(busy.returncode, 1, busy.stderr)
        self.assertIn("serves", busy.stderr)
        for p in src.procs:
            p.terminate()
            p.wait(timeout=15)

        source_check = check(sqlite_file)
        done = migrate("--from", sqlite_file, "--to", target, "--json")
        self.assertEqual(done.returncode, 0, done.stderr)
        report = json.loads(done.stdout)
        for table in ("projects", "tasks", "task_assignments", "users", "workers", "events",
                      "api_keys", "sessions", "time_entries", "webhooks", "handout_queue"):
            self.assertGreater(report["tables"][table], 0, table)
        self.assertEqual(report["rows"], sum(report["tables"].values()))

        # Again into the same database: it holds data now, refused, nothing changed.
        again = migrate("--from", sqlite_file, "--to", target)
        self.assertEqual(again.returncode, 1)
        self.assertIn("already holds data", again.stderr)

        dst = self.env()
        start_on(dst, "migrate-dst", target)
        self.assertEqual(legacy(dst, ids), before)
        listed = dst.cli_json("project", "list", "--limit", "1000")["projects"]
        self.assertEqual(sorted(p["id"] for p in listed), ids)
        # The worker's password moved with it; new work goes on with fresh ids.
        dst.cli("login", "ann", "--password-stdin", stdin="ann-password-1\n",
                extra_env={"ORCHESTRA_SESSION": os.path.join(dst.dir, "ann.session")})
        new = dst.cli_json("project", "create", "--workflow", "simple_workflow", "--version",
                           "v1", "--description", "after the move", "--priority", "3",
                           "--task-class", "real")
        self.assertGreater(new["project_id"], max(ids))
        # `orchestrad check` finds the same on both: the fixture's one Active project whose
        # tasks are all Complete, as upstream left it.
        self.assertEqual(len(source_check["violations"]), 1)
        self.assertEqual(check(target)["violations"], source_check["violations"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
