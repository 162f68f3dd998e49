#!/usr/bin/python3
"""Importing an upstream database (issue 16, part 3), end to end.

`orchestra import` reads the hand-written fixture test/integration/data/upstream_dump.json
(upstream's `manage.py dumpdata orchestra auth.User` format: every model and every status,
DOC's and HEAD's field names) into a coordinator where simple_workflow was loaded from its
folder first, as a team switching over would do. Every imported project is then read back
through orchestra-http's legacy API, in HEAD's batch form and DOC's single form, and compared
with the fixture record by record: statuses, timestamps, data, workers, iterations, the time
recorded on assignments. A second import changes nothing; a broken fixture imports nothing and
its error names the record; the imported workers get in once an admin sets their password.

Run it with Debian's /usr/bin/python3 (python3-requests, python3-httpsig).
"""
import json
import os
import sys
import unittest
from datetime import datetime, timezone
from email.utils import formatdate

import requests
from httpsig.requests_auth import HTTPSignatureAuth

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from upstream_env import Env, FIXTURE, KEY, SECRET  # noqa: E402

TASK_LABELS = ["Awaiting Processing", "Processing", "Pending Review", "Reviewing",
               "Post-review Processing", "Complete", "Aborted"]
ASSIGNMENT_LABELS = ["Processing", "Submitted", "Failed"]
ITERATION_LABELS = ["Processing", "Requested Review", "Provided Review"]

ENV = Env()


def setUpModule():
    try:
        ENV.start("upstream-import")
        ENV.load_examples()
    except Exception:
        ENV.stop()
        raise


def tearDownModule():
    ENV.stop()


def instant(text):
    """A datetime as either side writes it ("...Z", "+00:00", naive = UTC), as a datetime."""
    t = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T"))
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def data(value):
    """A JSON field as the fixture holds it: an object, or a string holding one."""
    return json.loads(value) if isinstance(value, str) else value


class Fixture:
    """The fixture's records by model and pk."""

    def __init__(self, path):
        with open(path) as f:
            self.records = json.load(f)
        self.by = {}
        for r in self.records:
            self.by.setdefault(r["model"], {})[r["pk"]] = r["fields"]

    def of(self, model, **match):
        return sorted(((pk, f) for pk, f in self.by.get(model, {}).items()
                       if all(f.get(k) == v for k, v in match.items())), key=lambda x: x[0])


def legacy(body):
    h = {"Date": formatdate(usegmt=True), "X-Api-Key": KEY}
    r = requests.post(ENV.base + "/orchestra/api/project/project_information/", json=body,
                      headers=h, auth=HTTPSignatureAuth(KEY, SECRET, algorithm="hmac-sha256"))
    return r


class ImportTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.fx = Fixture(FIXTURE)
        cls.pks = sorted(cls.fx.by["orchestra.project"])

    def heads(self, ids):
        r = legacy({"project_ids": ids})
        self.assertEqual(r.status_code, 200, r.text)
        return {int(k): v for k, v in r.json().items()}

    def check_iterations(self, got, assignment_pk):
        want = [f for _, f in self.fx.of("orchestra.iteration", assignment=assignment_pk)
                if not f["is_deleted"]]
        want.sort(key=lambda f: instant(f["start_datetime"]))
        self.assertEqual(len(got), len(want))
        for g, w in zip(got, want):
            self.assertEqual(g["status"], ITERATION_LABELS[w["status"]])
            self.assertEqual(instant(g["start_datetime"]), instant(w["start_datetime"]))
            if w["end_datetime"] is None:
                self.assertIsNone(g["end_datetime"])
            else:
                self.assertEqual(instant(g["end_datetime"]), instant(w["end_datetime"]))
            self.assertEqual(g["submitted_data"], data(w["submitted_data"]))

    def check_assignments(self, got, task_pk, head):
        want = [(pk, f) for pk, f in self.fx.of("orchestra.taskassignment", task=task_pk)
                if not f["is_deleted"]]
        want.sort(key=lambda x: x[1]["assignment_counter"])
        self.assertEqual(len(got), len(want))
        users = self.fx.by["auth.user"]
        workers = self.fx.by["orchestra.worker"]
        for g, (pk, w) in zip(got, want):
            self.assertEqual(g["status"], ASSIGNMENT_LABELS[w["status"]])
            self.assertEqual(instant(g["start_datetime"]), instant(w["start_datetime"]))
            self.assertEqual(g["in_progress_task_data"], data(w["in_progress_task_data"]))
            if w["worker"] is None:
                self.assertIsNone(g["worker"]["username"])
            else:
                user = users[workers[w["worker"]]["user"]]
                self.assertEqual(g["worker"]["username"], user["username"])
                self.assertEqual(g["worker"]["first_name"], user["first_name"])
            entries = [f for _, f in self.fx.of("orchestra.timeentry", assignment=pk)
                       if not f["is_deleted"]]
            if head:
                self.assertEqual(g["recorded_work_time"],
                                 {2: 5400.0, 5: 900.5}.get(pk) if entries else None)
            self.check_iterations(g["iterations"], pk)

    def check_project(self, pk, doc, head):
        want = self.fx.by["orchestra.project"][pk]
        p = doc["project"]
        self.assertEqual(p["id"], pk)
        self.assertEqual(p["short_description"], want["short_description"])
        self.assertEqual(p["priority"], want["priority"])
        self.assertEqual(p["project_data"], data(want["project_data"]))
        self.assertEqual(p["task_class"], want["task_class"])
        self.assertEqual(instant(p["start_datetime"]), instant(want["start_datetime"]))
        url = want.get("scratchpad_url", want.get("team_messages_url"))
        if head:
            self.assertEqual(p["status"], want["status"])
            self.assertEqual(p["scratchpad_url"], url)
            self.assertEqual(p["slack_group_id"], want["slack_group_id"])
        else:
            self.assertNotIn("status", p)
            self.assertEqual(p["team_messages_url"], url)
        version = self.fx.by["orchestra.workflowversion"][want["workflow_version"]]
        self.assertEqual(p["workflow_version_slug"], version["slug"])
        self.assertEqual(p["workflow_slug"],
                         self.fx.by["orchestra.workflow"][version["workflow"]]["slug"])
        steps = self.fx.by["orchestra.step"]
        self.assertEqual(sorted(s["slug"] for s in doc["steps"]),
                         sorted(f["slug"] for _, f in self.fx.of(
                             "orchestra.step", workflow_version=want["workflow_version"])))
        tasks = self.fx.of("orchestra.task", project=pk)
        self.assertEqual(sorted(doc["tasks"]), sorted(steps[f["step"]]["slug"] for _, f in tasks))
        for task_pk, f in tasks:
            got = doc["tasks"][steps[f["step"]]["slug"]]
            self.assertEqual(got["id"], task_pk)
            self.assertEqual(got["status"], TASK_LABELS[f["status"]])
            self.assertEqual(instant(got["start_datetime"]), instant(f["start_datetime"]))
            self.check_assignments(got["assignments"], task_pk, head)

    def test_1_import_and_read_back_every_project(self):
        report = ENV.cli_json("import", FIXTURE)
        counts = report["counts"]
        # simple_workflow was loaded from its folder: adopted, not created.
        self.assertEqual(counts["orchestra.workflow"], {"created": 1, "existing": 1})
        self.assertEqual(counts["orchestra.workflowversion"], {"created": 2, "existing": 1})
        self.assertEqual(counts["orchestra.step"], {"created": 6, "existing": 2})
        for model, n in (("auth.user", 5), ("orchestra.worker", 5),
                         ("orchestra.workercertification", 7), ("orchestra.project", 9),
                         ("orchestra.task", 17), ("orchestra.taskassignment", 20),
                         ("orchestra.iteration", 21), ("orchestra.timeentry", 4)):
            self.assertEqual(counts[model], {"created": n, "existing": 0}, model)
        self.assertEqual(report["skipped"], {"auth.group": 2, "orchestra.tasktimer": 1,
                                             "orchestra.payrate": 1,
                                             "orchestra.communicationpreference": 1})
        self.assertEqual(report["users_without_password"],
                         ["admin", "ann", "rob", "rev2", "gone.user"])
        # Only the project upstream left Active with every task Complete: the Python creation
        # policy and the HEAD-style machine step of the fixture run on executors.
        self.assertEqual(len(report["warnings"]), 1)

        docs = self.heads(self.pks)
        self.assertEqual(sorted(docs), self.pks)
        for pk in self.pks:
            with self.subTest(project=pk, form="HEAD"):
                self.check_project(pk, docs[pk], head=True)
            with self.subTest(project=pk, form="DOC"):
                r = legacy({"project_id": pk})
                self.assertEqual(r.status_code, 200, r.text)
                self.check_project(pk, r.json(), head=False)

    def test_2_a_second_import_changes_nothing(self):
        before = self.heads(list(range(1, 40)))
        report = ENV.cli_json("import", FIXTURE)
        for model, c in report["counts"].items():
            self.assertEqual(c["created"], 0, model)
        self.assertEqual(report["counts"]["orchestra.project"]["existing"], 9)
        self.assertEqual(report["warnings"], [])
        self.assertEqual(self.heads(list(range(1, 40))), before)

    def test_3_a_broken_fixture_imports_nothing(self):
        before = self.heads(list(range(1, 60)))
        records = json.loads(json.dumps(self.fx.records))
        for r in records:  # new records, then one that points at no project
            if r["model"] == "orchestra.project":
                r["pk"] += 100
            if r["model"] == "orchestra.task":
                r["pk"] += 100
                r["fields"]["project"] = r["fields"]["project"] + 100 if r["pk"] != 112 else 999
        path = os.path.join(ENV.dir, "broken.json")
        with open(path, "w") as f:
            json.dump(records, f)
        code, out, err = ENV.cli("import", path, check=False)
        self.assertEqual(code, 1, out + err)
        self.assertIn("nothing was imported", err)
        self.assertIn("orchestra.task pk 112: field \"project\": orchestra.project pk 999 is "
                      "neither in the fixture nor imported before", err)
        self.assertEqual(self.heads(list(range(1, 60))), before)
        self.assertEqual(self.heads([101, 102]), {})

    def test_4_imported_workers_log_in_once_given_a_password(self):
        session = {"ORCHESTRA_SESSION": os.path.join(ENV.dir, "ann.session")}
        code, _, err = ENV.cli("login", "ann", "--password-stdin", stdin="anything\n",
                               check=False, extra_env=session)
        self.assertEqual(code, 1, err)
        ENV.cli("worker", "password", "ann", "--password-stdin", stdin="new-pass\n")
        ENV.cli("login", "ann", "--password-stdin", stdin="new-pass\n", extra_env=session)
        # Her dashboard is her imported work: the task returned to her is there.
        dash = json.loads(ENV.cli("--json", "dashboard", extra_env=session)[1])
        self.assertIn(4, [t["id"] for t in dash["tasks"]["returned"]])


if __name__ == "__main__":
    result = unittest.main(verbosity=2, exit=False).result
    sys.exit(0 if result.wasSuccessful() else 1)
