#!/usr/bin/python3
"""End-to-end test of orchestra-http with the upstream Python client stack.

Starts orchestrad --dev and orchestra-http on free loopback ports with a temporary
database, loads both example workflows with the orchestra CLI, then talks to the legacy
API exactly as upstream's client does (python3-requests + python3-httpsig,
HTTPSignatureAuth('orchestra-user', 'CHANGEME') with a Date header): creates and reads
projects, lists workflow types, builds a details URL, and checks that every kind of bad
request is refused with the upstream status and body and changes nothing.

Environment (set by CTest): ORC_ORCHESTRAD, ORC_CLI, ORC_HTTP, ORC_SOURCE_DIR.
Run it with Debian's /usr/bin/python3 (a pyenv python cannot import Debian modules).
"""
import base64
import email.utils
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import requests
from httpsig.requests_auth import HTTPSignatureAuth

import orc_store
from ports import free_port

ORCHESTRAD = os.environ["ORC_ORCHESTRAD"]
CLI = os.environ["ORC_CLI"]
HTTP = os.environ["ORC_HTTP"]
SOURCE = os.environ["ORC_SOURCE_DIR"]
KEY, SECRET = "orchestra-user", "CHANGEME"

PROJECT_KEYS = ["id", "workflow_slug", "workflow_version_slug", "short_description",
                "start_datetime", "priority", "project_data", "team_messages_url", "task_class"]
TASK_KEYS = ["id", "step_slug", "project", "status", "start_datetime", "latest_data",
             "assignments"]
ASSIGNMENT_KEYS = ["id", "start_datetime", "worker", "task", "status",
                   "in_progress_task_data", "iterations"]


def wait_port(port, proc, what):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("%s exited with %s" % (what, proc.returncode))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("%s did not listen on %d" % (what, port))


def now_date(offset=0):
    return email.utils.formatdate(time.time() + offset, usegmt=True)


class Env:
    """The daemons under test (started once for the whole module)."""

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="orc-http-")
        self.db = orc_store.database(self.dir)
        rpc_port, ev_port, http_port = free_port(), free_port(), free_port()
        self.rpc = "tcp://127.0.0.1:%d" % rpc_port
        self.base = "http://127.0.0.1:%d" % http_port
        self.procs = []
        # A key that holds the executor scope only (no project scope).
        out = subprocess.run([ORCHESTRAD, "keys", "create", "exec-only", "--scopes", "executor",
                              "--db", self.db, "--json"], check=True, capture_output=True,
                             text=True).stdout
        doc = json.loads(out)
        self.exec_key, self.exec_secret = doc["key_id"], doc["secret"]
        self.od_log = open(os.path.join(self.dir, "orchestrad.log"), "w")
        od = subprocess.Popen([ORCHESTRAD, "--dev", "--db", self.db, "--rpc", self.rpc,
                               "--events", "tcp://127.0.0.1:%d" % ev_port],
                              stdout=self.od_log, stderr=subprocess.STDOUT)
        self.procs.append(od)
        wait_port(rpc_port, od, "orchestrad")
        self.http_log = open(os.path.join(self.dir, "orchestra-http.log"), "w")
        hp = subprocess.Popen([HTTP, "--listen", "127.0.0.1:%d" % http_port, "--rpc", self.rpc,
                               "--max-body", "65536"],
                              stdout=self.http_log, stderr=subprocess.STDOUT)
        self.procs.append(hp)
        wait_port(http_port, hp, "orchestra-http")
        plugins = os.path.join(SOURCE, "plugins")
        self.cli("workflow", "load-all", os.path.join(plugins, "simple_workflow"),
                 os.path.join(plugins, "journalism_workflow"))

    def cli(self, *args):
        env = dict(os.environ, ORCHESTRA_RPC=self.rpc, ORCHESTRA_API_KEY=KEY,
                   ORCHESTRA_API_SECRET=SECRET)
        return subprocess.run([CLI, "--rpc", self.rpc] + list(args), env=env, check=True,
                              capture_output=True, text=True).stdout

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for f in ("od_log", "http_log"):
            if hasattr(self, f):
                getattr(self, f).close()
        shutil.rmtree(self.dir, ignore_errors=True)


ENV = Env()


def setUpModule():
    try:
        ENV.start()
    except Exception:
        ENV.stop()
        raise


def tearDownModule():
    ENV.stop()


class HttpApiTest(unittest.TestCase):
    def setUp(self):
        self.s = requests.Session()

    def tearDown(self):
        self.s.close()

    def url(self, endpoint):
        return ENV.base + "/orchestra/api/project/" + endpoint + "/"

    def call(self, method, endpoint, body=None, key=KEY, secret=SECRET, headers=None,
             extra=None, auth=True):
        h = {"Date": now_date(), "X-Api-Key": key, "X-Api-Version": "~6.5"}
        if extra:
            h.update(extra)
        a = HTTPSignatureAuth(key, secret, headers=headers) if auth else None
        return self.s.request(method, self.url(endpoint), json=body, headers=h, auth=a)

    def create(self, workflow, version="v1"):
        r = self.call("POST", "create_project",
                      {"workflow_slug": workflow, "workflow_version_slug": version,
                       "description": "a %s project" % workflow, "priority": 5,
                       "task_class": "real", "project_data": {"n": 1}})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(list(r.json().keys()), ["project_id"])
        return r.json()["project_id"]

    def project_count(self):
        """The number of projects: ids are dense, so probe the next one."""
        n = 0
        while True:
            r = self.call("POST", "project_information", {"project_id": n + 1})
            if r.status_code == 400:
                self.assertEqual(r.json(), {"error": 400, "message": "No project for given id"})
                return n
            self.assertEqual(r.status_code, 200, r.text)
            n += 1

    def assert_doc_shape(self, doc, pid, workflow):
        self.assertEqual(list(doc.keys()), ["project", "steps", "tasks"])
        self.assertEqual(list(doc["project"].keys()), PROJECT_KEYS)
        self.assertEqual(doc["project"]["id"], pid)
        self.assertEqual(doc["project"]["workflow_slug"], workflow)
        self.assertEqual(doc["project"]["task_class"], 1)
        self.assertEqual(doc["project"]["project_data"], {"n": 1})
        self.assertTrue(doc["project"]["start_datetime"].endswith("Z"))
        for step in doc["steps"]:
            self.assertEqual(list(step.keys()), ["slug", "description", "is_human"])
        self.assertTrue(doc["tasks"])
        for slug, task in doc["tasks"].items():
            self.assertEqual(list(task.keys()), TASK_KEYS)
            self.assertEqual(task["step_slug"], slug)
            self.assertEqual(task["project"], pid)
            for a in task["assignments"]:
                self.assertEqual(list(a.keys()), ASSIGNMENT_KEYS)

    def test_create_and_read_both_example_workflows(self):
        for wf in ("simple_workflow", "journalism"):
            pid = self.create(wf)
            r = self.call("POST", "project_information", {"project_id": pid})
            self.assertEqual(r.status_code, 200, r.text)
            self.assertEqual(r.headers["Content-Type"], "application/json")
            self.assert_doc_shape(r.json(), pid, wf)

    def test_training_task_class_and_path_without_slash(self):
        h = {"Date": now_date(), "X-Api-Key": KEY}
        r = self.s.post(ENV.base + "/orchestra/api/project/create_project", headers=h,
                        auth=HTTPSignatureAuth(KEY, SECRET),
                        json={"workflow_slug": "simple_workflow", "workflow_version_slug": "v1",
                              "description": "t", "priority": 1, "task_class": "whatever",
                              "project_data": {}})
        self.assertEqual(r.status_code, 200, r.text)
        pid = r.json()["project_id"]
        r = self.call("POST", "project_information", {"project_id": pid})
        self.assertEqual(r.json()["project"]["task_class"], 0)

    def test_workflow_types(self):
        r = self.call("GET", "workflow_types")
        self.assertEqual(r.status_code, 200, r.text)
        wfs = r.json()["workflows"]
        self.assertEqual(sorted(wfs), ["journalism", "simple_workflow"])
        for w in wfs.values():
            self.assertEqual(sorted(w), ["name", "versions"])
            for v in w["versions"].values():
                self.assertEqual(sorted(v), ["description", "name"])

    def test_project_details_url(self):
        r = self.call("POST", "project_details_url", {"project_id": 42})
        self.assertEqual(r.status_code, 200, r.text)
        host = ENV.base[len("http://"):]
        self.assertEqual(r.json(), {"project_details_url":
                                    "http://%s/orchestra/app/project/42" % host})
        r = self.call("POST", "project_details_url", {})
        self.assertEqual((r.status_code, r.json()),
                         (400, {"error": 400, "message": "project_id parameter is missing"}))

    def test_https_with_a_ca_made_here(self):
        """orchestra-http over TLS: a CA and a server certificate for localhost made with
        openssl; the upstream client verifies against that CA, and refuses without it."""
        d = os.path.join(ENV.dir, "tls")
        os.makedirs(d, exist_ok=True)

        def ssl(*args):
            subprocess.run(["openssl"] + list(args), check=True, capture_output=True)
        ca_key, ca_crt = os.path.join(d, "ca.key"), os.path.join(d, "ca.crt")
        key, csr, crt = (os.path.join(d, n) for n in ("srv.key", "srv.csr", "srv.crt"))
        ext = os.path.join(d, "ext.cnf")
        with open(ext, "w") as f:
            f.write("subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n")
        ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca_crt,
            "-days", "2", "-subj", "/CN=orchestra test CA")
        ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
            "-subj", "/CN=localhost")
        ssl("x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
            "-out", crt, "-days", "2", "-extfile", ext)
        port = free_port()
        log = open(os.path.join(d, "orchestra-https.log"), "w")
        hp = subprocess.Popen([HTTP, "--listen", "127.0.0.1:%d" % port, "--rpc", ENV.rpc,
                               "--tls-cert", crt, "--tls-key", key],
                              stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_port(port, hp, "orchestra-http (https)")
            base = "https://localhost:%d/orchestra/api/project/" % port
            h = {"Date": now_date(), "X-Api-Key": KEY}
            r = self.s.get(base + "workflow_types/", headers=h, verify=ca_crt,
                           auth=HTTPSignatureAuth(KEY, SECRET))
            self.assertEqual(r.status_code, 200, r.text)
            self.assertIn("journalism", r.json()["workflows"])
            r = self.s.post(base + "project_details_url/", json={"project_id": 7},
                            headers={"Date": now_date(), "X-Api-Key": KEY}, verify=ca_crt,
                            auth=HTTPSignatureAuth(KEY, SECRET))
            self.assertEqual(r.json(), {"project_details_url":
                                        "https://localhost:%d/orchestra/app/project/7" % port})
            with self.assertRaises(requests.exceptions.SSLError):
                requests.get(base + "workflow_types/", headers=h, timeout=10,
                             verify=True)  # the system CAs do not know ours
        finally:
            hp.terminate()
            hp.wait(timeout=10)
            log.close()

    def test_status_needs_no_auth(self):
        for path in ("/orchestra/api/status/", "/orchestra/status/", "/orchestra/status"):
            r = self.s.get(ENV.base + path)
            self.assertEqual((r.status_code, r.text), (200, "OK"))

    def test_signed_request_target_host_and_digest_accepted(self):
        pid = self.create("simple_workflow")
        body = json.dumps({"project_id": pid}).encode()
        h = {"Date": now_date(), "X-Api-Key": KEY, "Content-Type": "application/json",
             "Digest": "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()}
        auth = HTTPSignatureAuth(KEY, SECRET, headers=["(request-target)", "host", "date",
                                                       "digest"])
        r = self.s.post(self.url("project_information"), data=body, headers=h, auth=auth)
        self.assertEqual(r.status_code, 200, r.text)

    def assert_refused(self, r, status, body):
        self.assertEqual(r.status_code, status, r.text)
        self.assertEqual(r.json(), body)

    def test_auth_matrix_refuses_and_changes_nothing(self):
        before = self.project_count()
        good = {"workflow_slug": "simple_workflow", "workflow_version_slug": "v1",
                "description": "x", "priority": 1, "task_class": "real", "project_data": {}}
        url = self.url("create_project")

        # No X-Api-Key.
        r = self.s.post(url, json=good, headers={"Date": now_date()},
                        auth=HTTPSignatureAuth(KEY, SECRET))
        self.assert_refused(r, 403, {"detail": "Authentication credentials were not provided."})
        # No Authorization.
        r = self.call("POST", "create_project", good, auth=False)
        self.assert_refused(r, 403, {"detail": "No signature provided"})
        # Unknown key.
        r = self.call("POST", "create_project", good, key="nobody", secret=SECRET)
        self.assert_refused(r, 403, {"detail": "Unable to find API key"})
        # Wrong secret.
        r = self.call("POST", "create_project", good, secret="WRONG")
        self.assert_refused(r, 403, {"detail": "Bad signature"})

        # Date changed after signing.
        req = requests.Request("POST", url, json=good,
                               headers={"Date": now_date(), "X-Api-Key": KEY},
                               auth=HTTPSignatureAuth(KEY, SECRET)).prepare()
        req.headers["Date"] = now_date(5)
        r = self.s.send(req)
        self.assert_refused(r, 403, {"detail": "Bad signature"})

        # Stale date, correctly signed.
        r = self.call("POST", "create_project", good, extra={"Date": now_date(-3600)})
        self.assertEqual(r.status_code, 403, r.text)
        self.assertIn("Date", r.json()["detail"])

        # Body tampered with under a signed digest.
        body = json.dumps(good).encode()
        h = {"Date": now_date(), "X-Api-Key": KEY, "Content-Type": "application/json",
             "Digest": "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()}
        req = requests.Request("POST", url, data=body, headers=h,
                               auth=HTTPSignatureAuth(KEY, SECRET, headers=["date", "digest"])
                               ).prepare()
        req.body = body.replace(b'"priority": 1', b'"priority": 9')
        self.assertNotEqual(req.body, body)
        r = self.s.send(req)
        self.assertEqual(r.status_code, 403, r.text)
        self.assertIn("Digest", r.json()["detail"])

        # A key without the project scope.
        r = self.call("POST", "create_project", good, key=ENV.exec_key, secret=ENV.exec_secret)
        self.assert_refused(r, 403,
                            {"detail": "You do not have permission to perform this action."})
        # Wrong method, checked after auth (so a bad signature still gets 403).
        r = self.call("GET", "create_project")
        self.assert_refused(r, 405, {"detail": "Method \"GET\" not allowed."})
        r = self.call("GET", "create_project", secret="WRONG")
        self.assert_refused(r, 403, {"detail": "Bad signature"})
        # Missing parameter, also after auth.
        partial = dict(good)
        del partial["project_data"]
        r = self.call("POST", "create_project", partial)
        self.assert_refused(r, 400, {"error": 400, "message": "One of the parameters is missing"})
        r = self.call("POST", "create_project", partial, secret="WRONG")
        self.assert_refused(r, 403, {"detail": "Bad signature"})
        # Unknown workflow, non-int priority, bad JSON.
        # Upstream's status, with what was wrong after upstream's text.
        r = self.call("POST", "create_project", dict(good, workflow_slug="nope"))
        self.assert_refused(r, 500, {"error": 500,
                                     "message": "An error occurred: Workflow nope not found"})
        r = self.call("POST", "create_project", dict(good, priority="high"))
        self.assert_refused(r, 500, {"error": 500,
                                     "message": "An error occurred: priority must be an integer"})
        r = self.call("POST", "create_project", dict(good, project_data=[1]))
        self.assert_refused(r, 500, {
            "error": 500, "message": "An error occurred: project_data must be a JSON object"})
        r = self.s.post(url, data=b"{not json", headers={"Date": now_date(), "X-Api-Key": KEY},
                        auth=HTTPSignatureAuth(KEY, SECRET))
        self.assertEqual(r.status_code, 500, r.text)
        self.assertTrue(r.json()["message"].startswith("An error occurred: request body"),
                        r.text)
        r = self.call("POST", "project_information", {"project_id": "x"})
        self.assert_refused(r, 500, {"error": 500,
                                     "message": "An error occurred: project_id must be an integer"})
        # project_information errors.
        r = self.call("POST", "project_information", {})
        self.assert_refused(r, 400, {"error": 400, "message": "project_id is required"})

        self.assertEqual(self.project_count(), before)

    def test_transport_limits(self):
        h = {"Date": now_date(), "X-Api-Key": KEY}
        # An oversized body is refused from its Content-Length, before it is read. Announce
        # it without sending it: a client still writing when the server answers and closes
        # may see a broken pipe instead of the answer, which would test the client's luck.
        host, port = ENV.base[len("http://"):].split(":")
        with socket.create_connection((host, int(port)), timeout=10) as c:
            c.sendall(("POST /orchestra/api/project/create_project/ HTTP/1.1\r\n"
                       "Host: %s:%s\r\nContent-Type: application/json\r\n"
                       "Content-Length: 70000\r\n\r\n" % (host, port)).encode())
            answer = c.recv(4096).decode(errors="replace")
        self.assertTrue(answer.startswith("HTTP/1.1 413"), answer)
        # A chunked body is refused (411) from the headers. The whole request goes in one
        # write, for the same reason: requests sends the chunks after the headers and may find
        # the connection already closed.
        with socket.create_connection((host, int(port)), timeout=10) as c:
            c.sendall(("POST /orchestra/api/project/create_project/ HTTP/1.1\r\n"
                       "Host: %s:%s\r\nContent-Type: application/json\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
                       % (host, port)).encode())
            answer = c.recv(4096).decode(errors="replace")
        self.assertTrue(answer.startswith("HTTP/1.1 411"), answer)
        # Two Content-Length headers that disagree (request smuggling through a proxy that
        # reads the other one) are refused, and nothing is created; equal ones are one length.
        before = self.project_count()
        for lengths, want in (((2, 40), "HTTP/1.1 400"), ((2, 2), "HTTP/1.1 403")):
            with socket.create_connection((host, int(port)), timeout=10) as c:
                c.sendall(("POST /orchestra/api/project/create_project/ HTTP/1.1\r\n"
                           "Host: %s:%s\r\nContent-Type: application/json\r\n"
                           "Content-Length: %d\r\nContent-Length: %d\r\n"
                           "Connection: close\r\n\r\n{}"
                           % (host, port, lengths[0], lengths[1])).encode())
                answer = c.recv(4096).decode(errors="replace")
            self.assertTrue(answer.startswith(want), answer)
        self.assertEqual(self.project_count(), before)
        many = dict(h, **{"X-Extra-%d" % i: "v" for i in range(70)})
        r = self.s.get(self.url("workflow_types"), headers=many,
                       auth=HTTPSignatureAuth(KEY, SECRET))
        self.assertEqual(r.status_code, 431)
        r = self.call("HEAD", "workflow_types")
        self.assertEqual(r.status_code, 200)


if __name__ == "__main__":
    result = unittest.main(verbosity=2, exit=False).result
    sys.exit(0 if result.wasSuccessful() else 1)
