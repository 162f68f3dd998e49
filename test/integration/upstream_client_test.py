#!/usr/bin/python3
"""Upstream's current client against orchestra-http (issue 16, part 2).

UpstreamClient below mirrors, function by function, upstream's orchestra/orchestra_api.py as
read at commit 1035c3165662b135c5d13d2d1bad68f795dc06a1 of b12io/orchestra (main): the same
paths (trailing slash, query appended after it), methods, JSON bodies sent as data=json.dumps
(no Content-Type), the same headers (a `date` from format_date_time, X-Api-Version ~6.5,
X-Api-Key) signed by httpsig's HTTPSignatureAuth(key, secret, algorithm='hmac-sha256'), the
same acceptance of 200 and 201 only, and the same decoding (project_information's keys made
integers again). It is our own code, written from what that file sends, not a copy.

Every function that does not need Slack is exercised: workflow types, details URL, project
creation, project_information with project_ids (HEAD's shape, keyed by id), and
assign_worker_to_task (HEAD's always-200 {success, errors}). message_project_team needs a
project's Slack group: here it is refused with 400 saying no team channel is configured, as
upstream refuses a project without one. The todo functions (todo-api) are not served: todo
lists are not part of this Orchestra (README "Coming from upstream"), and the test says so.
A DOC (v0.1.43) request on the same server still gets DOC's answer.

Run it with Debian's /usr/bin/python3 (python3-requests, python3-httpsig).
"""
import json
import os
import sys
import tempfile
import unittest
from datetime import datetime
from time import mktime
from wsgiref.handlers import format_date_time

import requests
from httpsig.requests_auth import HTTPSignatureAuth

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from upstream_env import Env, KEY, SECRET  # noqa: E402


class OrchestraError(Exception):
    """What upstream's client raises for an answer other than 200 or 201: its body."""


def int_keys(d):
    """Upstream's convert_key_to_int: keys that are (negative) integers become ints."""
    return {int(k) if k.lstrip("-").isdigit() else k: v for k, v in d.items()}


class UpstreamClient:
    """The requests of upstream's orchestra_api.py, one method per function."""

    def __init__(self, base_url, key, secret):
        self.root = base_url + "/orchestra/api/project/"
        self.key = key
        self.auth = HTTPSignatureAuth(key_id=key, secret=secret, algorithm="hmac-sha256")

    def _send(self, verb, endpoint, query="", **kwargs):
        headers = {"date": format_date_time(mktime(datetime.now().timetuple())),
                   "X-Api-Version": "~6.5",
                   "X-Api-Key": self.key}
        headers.update(kwargs.pop("headers", {}))
        response = getattr(requests, verb)("%s%s/%s" % (self.root, endpoint, query),
                                           auth=self.auth, headers=headers, **kwargs)
        if response.status_code not in (200, 201):
            raise OrchestraError(response.text)
        return response

    def get_workflow_types(self):
        return json.loads(self._send("get", "workflow_types").text)["workflows"]

    def get_project_details_url(self, project_id):
        body = json.dumps({"project_id": project_id})
        return json.loads(self._send("post", "project_details_url", data=body).text)[
            "project_details_url"]

    def create_orchestra_project(self, client, workflow_slug, workflow_version_slug,
                                 description, priority, project_data, task_class):
        body = json.dumps({"workflow_slug": workflow_slug,
                           "workflow_version_slug": workflow_version_slug,
                           "description": description, "priority": priority,
                           "project_data": project_data, "task_class": task_class})
        return json.loads(self._send("post", "create_project", data=body).text)["project_id"]

    def get_project_information(self, project_ids):
        body = json.dumps({"project_ids": project_ids})
        return json.loads(self._send("post", "project_information", data=body).text,
                          object_hook=int_keys)

    def create_todos(self, todos):
        return json.loads(self._send("post", "todo-api", data=json.dumps(todos)).text)

    def get_todos(self, project_id, step_slug=None):
        if project_id is None:
            raise OrchestraError("project_id is required")
        query = "?project=%s%s" % (project_id,
                                   "" if step_slug is None else "&step__slug=%s" % step_slug)
        return json.loads(self._send("get", "todo-api", query).text)

    def update_todos(self, updated_todos):
        return json.loads(self._send("patch", "todo-api", data=json.dumps(updated_todos)).text)

    def delete_todos(self, todo_ids):
        return json.loads(self._send("delete", "todo-api", data=json.dumps(todo_ids)).text)

    def assign_worker_to_task(self, worker_id, task_id):
        body = json.dumps({"worker_id": worker_id, "task_id": task_id})
        return json.loads(self._send("post", "assign_worker_to_task", data=body).text)

    def message_project_team(self, project_id, message):
        body = json.dumps({"project_id": project_id, "message": message})
        return json.loads(self._send("post", "message_project_team", data=body).text)


WORKFLOW = {"slug": "handoff", "name": "Handoff", "description": "Edit, then publish.",
            "certifications": [{"slug": "editor", "name": "Editor", "description": "Edits"}]}
VERSION = {
    "slug": "v1", "name": "Handoff v1", "description": "HEAD's keys",
    "abort_completion_function": {"path": "handoff.hooks.on_end", "kwargs": {}},
    "steps": [
        {"slug": "edit", "name": "Edit", "description": "Edit the text",
         "required_certifications": ["editor"], "review_policy": {"policy": "no_review"},
         "creation_policy": {"policy_function": {
             "path": "orchestra.creation_policies.always_create"}}},
        {"slug": "publish", "name": "Publish", "description": "Publish it",
         "creation_depends_on": ["edit"], "review_policy": {"policy": "no_review"},
         "completion_ends_project": True},
    ]}

ENV = Env()


def setUpModule():
    try:
        ENV.start("upstream-client")
        ENV.load_examples()
        folder = os.path.join(ENV.dir, "handoff")
        os.makedirs(os.path.join(folder, "v1"))
        with open(os.path.join(folder, "workflow.json"), "w") as f:
            json.dump(WORKFLOW, f)
        with open(os.path.join(folder, "v1", "version.json"), "w") as f:
            json.dump(VERSION, f)
        ENV.cli("workflow", "load", folder, "v1")
        ENV.ann = ENV.cli_json("worker", "add", "ann", "--password-stdin", stdin="pw-ann\n")["id"]
        ENV.bob = ENV.cli_json("worker", "add", "bob", "--password-stdin", stdin="pw-bob\n")["id"]
        ENV.cli("worker", "certify", "ann", "handoff/editor", "--role", "entry_level")
    except Exception:
        ENV.stop()
        raise


def tearDownModule():
    ENV.stop()


class UpstreamClientTest(unittest.TestCase):
    def setUp(self):
        self.api = UpstreamClient(ENV.base, KEY, SECRET)

    def handoff_project(self, description="a handoff"):
        return self.api.create_orchestra_project(None, "handoff", "v1", description, 5,
                                                 {"words": 300}, "real")

    def edit_task(self, pid):
        return self.api.get_project_information([pid])[pid]["tasks"]["edit"]["id"]

    def test_get_workflow_types(self):
        workflows = self.api.get_workflow_types()
        self.assertEqual(sorted(workflows), ["handoff", "journalism", "simple_workflow"])
        self.assertEqual(workflows["handoff"]["versions"]["v1"],
                         {"name": "Handoff v1", "description": "HEAD's keys"})

    def test_get_project_details_url(self):
        self.assertEqual(self.api.get_project_details_url(7),
                         ENV.base + "/orchestra/app/project/7")

    def test_get_project_information_is_keyed_by_project_id(self):
        p1 = self.handoff_project("first")
        p2 = self.api.create_orchestra_project(None, "journalism", "v1", "second", 3,
                                               {"article_draft_template": "x"}, "train")
        info = self.api.get_project_information([p1, p2, 987654])
        self.assertEqual(sorted(info), sorted([p1, p2]))  # unknown ids are left out
        doc = info[p1]
        self.assertEqual(sorted(doc), ["project", "steps", "tasks"])
        project = doc["project"]
        self.assertEqual(project["id"], p1)
        self.assertEqual(project["status"], 0)  # HEAD: the status number
        self.assertEqual(project["project_data"], {"words": 300})
        self.assertIn("scratchpad_url", project)
        self.assertNotIn("team_messages_url", project)
        self.assertIsNone(project["slack_group_id"])
        self.assertEqual(info[p2]["project"]["task_class"], 0)
        self.assertEqual([(s["slug"], s["name"]) for s in doc["steps"]],
                         [("edit", "Edit"), ("publish", "Publish")])
        self.assertTrue(all(isinstance(s["id"], int) for s in doc["steps"]))
        self.assertEqual(doc["tasks"]["edit"]["status"], "Awaiting Processing")
        # Ids as strings work too (Django's id__in takes them); an empty list is empty.
        self.assertEqual(sorted(self.api.get_project_information([str(p1)])), [p1])
        self.assertEqual(self.api.get_project_information([]), {})

    def test_assign_worker_to_task(self):
        pid = self.handoff_project()
        task = self.edit_task(pid)
        self.assertEqual(self.api.assign_worker_to_task(ENV.bob, task),
                         {"success": False,
                          "errors": {"worker_certification_error":
                                     "Worker not certified for this task."}})
        self.assertEqual(self.api.assign_worker_to_task(ENV.ann, task),
                         {"success": True, "errors": {}})
        self.assertEqual(self.api.assign_worker_to_task(ENV.ann, task),
                         {"success": False,
                          "errors": {"task_assignment_error":
                                     "Status incompatible with new assignment"}})
        answer = self.api.assign_worker_to_task(123456, task)
        self.assertFalse(answer["success"])
        self.assertEqual(list(answer["errors"]), ["error"])
        edit = self.api.get_project_information([pid])[pid]["tasks"]["edit"]
        self.assertEqual(edit["status"], "Processing")
        worker = edit["assignments"][0]["worker"]
        self.assertEqual((worker["id"], worker["username"]), (ENV.ann, "ann"))
        self.assertIn("slack_user_id", worker)

    def as_ann(self, *args):
        """Runs a worker command as ann, with her own session file."""
        session = {"ORCHESTRA_SESSION": os.path.join(ENV.dir, "ann.session")}
        ENV.cli("login", "ann", "--password-stdin", stdin="pw-ann\n", extra_env=session)
        return ENV.cli(*args, extra_env=session)

    def test_completion_ends_project_through_the_client(self):
        """HEAD's keys loaded from a folder: the client staffs each task, ann submits it, and
        the step with completion_ends_project completes the project."""
        pid = self.handoff_project("to the end")
        self.assertEqual(self.api.assign_worker_to_task(ENV.ann, self.edit_task(pid)),
                         {"success": True, "errors": {}})
        self.as_ann("task", "submit", str(self.edit_task(pid)), "--data", '{"text": "done"}')
        doc = self.api.get_project_information([pid])[pid]
        self.assertEqual(doc["tasks"]["edit"]["status"], "Complete")
        self.assertEqual(doc["project"]["status"], 0)
        publish = doc["tasks"]["publish"]["id"]
        self.assertEqual(self.api.assign_worker_to_task(ENV.ann, publish),
                         {"success": True, "errors": {}})
        self.as_ann("task", "submit", str(publish), "--data", "{}")
        doc = self.api.get_project_information([pid])[pid]
        self.assertEqual(doc["project"]["status"], 4)  # Completed
        self.assertEqual(doc["tasks"]["publish"]["latest_data"], {})

    def test_end_project_records_the_abort_hook(self):
        pid = self.handoff_project("to be ended")
        ENV.cli("project", "end", str(pid))
        self.assertEqual(self.api.get_project_information([pid])[pid]["project"]["status"], 2)
        _, out, _ = ENV.cli("--json", "events", "--topic", "project.%d." % pid)
        hooks = [e for e in map(json.loads, out.splitlines())
                 if e["type"] == "project.abort_completion"]
        self.assertEqual(len(hooks), 1)
        self.assertEqual(hooks[0]["function"], {"path": "handoff.hooks.on_end", "kwargs": {}})
        # The hook is a job of its own (no executor runs in this test: it stays queued).
        job_id = hooks[0]["job_id"]
        _, out, _ = ENV.cli("--json", "job", "list", "-p", str(pid))
        jobs = {j["job_id"]: j for j in json.loads(out)["jobs"]}
        self.assertEqual(jobs[job_id]["function"], "abort_completion:handoff.hooks.on_end")
        self.assertEqual(jobs[job_id]["status"], "queued")

    def test_message_project_team_has_no_team_channel(self):
        pid = self.handoff_project()
        with self.assertRaises(OrchestraError) as caught:
            self.api.message_project_team(pid, "hello team")
        body = json.loads(str(caught.exception))
        self.assertEqual(body["error"], 400)
        self.assertIn("has no team channel configured", body["message"])
        with self.assertRaises(OrchestraError) as caught:
            self.api.message_project_team(987654, "hello")
        self.assertEqual(json.loads(str(caught.exception)),
                         {"error": 400, "message": "No project for given id"})

    def test_todo_api_is_not_served(self):
        pid = self.handoff_project()
        for call in (lambda: self.api.create_todos([{"title": "t", "project": pid}]),
                     lambda: self.api.get_todos(pid, "edit"),
                     lambda: self.api.update_todos([{"id": 1, "title": "u"}]),
                     lambda: self.api.delete_todos([1])):
            with self.assertRaises(OrchestraError) as caught:
                call()
            self.assertEqual(json.loads(str(caught.exception)), {"detail": "Not found."})

    def test_doc_client_gets_doc_answers_on_the_same_server(self):
        pid = self.handoff_project()
        h = {"Date": format_date_time(mktime(datetime.now().timetuple())), "X-Api-Key": KEY}
        r = requests.post(ENV.base + "/orchestra/api/project/project_information/",
                          json={"project_id": pid}, headers=h, auth=HTTPSignatureAuth(KEY, SECRET))
        self.assertEqual(r.status_code, 200, r.text)
        doc = r.json()
        self.assertEqual(list(doc["project"]),
                         ["id", "workflow_slug", "workflow_version_slug", "short_description",
                          "start_datetime", "priority", "project_data", "team_messages_url",
                          "task_class"])
        self.assertEqual(list(doc["steps"][0]), ["slug", "description", "is_human"])
        r = requests.post(ENV.base + "/orchestra/api/project/project_information/", json={},
                          headers=h, auth=HTTPSignatureAuth(KEY, SECRET))
        self.assertEqual((r.status_code, r.json()),
                         (400, {"error": 400, "message": "project_id is required"}))

    def test_bad_requests_are_refused_after_authentication(self):
        bad = UpstreamClient(ENV.base, KEY, "WRONG")
        for call in (lambda: bad.get_project_information([1]),
                     lambda: bad.assign_worker_to_task(1, 1),
                     lambda: bad.message_project_team(1, "m")):
            with self.assertRaises(OrchestraError) as caught:
                call()
            self.assertEqual(json.loads(str(caught.exception)), {"detail": "Bad signature"})
        with self.assertRaises(OrchestraError) as caught:
            self.api._send("post", "project_information", data=json.dumps({"project_ids": 5}))
        self.assertEqual(json.loads(str(caught.exception)),
                         {"error": 500,
                          "message": "An error occurred: project_ids must be a list of "
                                     "project ids"})
        with self.assertRaises(OrchestraError) as caught:
            self.api._send("post", "message_project_team", data=json.dumps({"message": "m"}))
        self.assertEqual(json.loads(str(caught.exception)),
                         {"error": 400, "message": "An object with `message` and `project_id` "
                                                   "attributes should be supplied"})


if __name__ == "__main__":
    result = unittest.main(verbosity=2, exit=False).result
    sys.exit(0 if result.wasSuccessful() else 1)
