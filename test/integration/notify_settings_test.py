#!/usr/bin/python3
"""The web app's settings page for e-mail notifications (issue 18), over HTTP against real
orchestrad and orchestra-http: the page and its script are served to a signed-in worker, the
endpoint /orchestra/api/interface/notification_preferences/ reads the worker's six choices
and changes them (CSRF required, unknown kinds refused), the change is what the coordinator
keeps (read back with the CLI and an admin key), and an anonymous request goes to sign in.

Environment (set by CTest): ORC_ORCHESTRAD, ORC_CLI, ORC_HTTP, ORC_SOURCE_DIR. Debian's
/usr/bin/python3 with python3-requests.
"""
import json
import os
import sys
import unittest

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from upstream_env import Env  # noqa: E402

KINDS = ["assigned", "under_review", "returned", "ready_for_rereview", "complete", "ended"]
ENV = None


def setUpModule():
    global ENV
    ENV = Env()
    ENV.start("notify-settings")
    ENV.cli("worker", "add", "alice", "--password-stdin", "--email", "alice@example.com",
            stdin="alice-password\n")


def tearDownModule():
    if ENV:
        ENV.stop()


class SettingsTest(unittest.TestCase):
    def sign_in(self):
        s = requests.Session()
        r = s.get(ENV.base + "/orchestra/accounts/login/")
        self.assertEqual(r.status_code, 200)
        r = s.post(ENV.base + "/orchestra/accounts/login/", allow_redirects=False,
                   data={"username": "alice", "password": "alice-password",
                         "csrfmiddlewaretoken": s.cookies["csrftoken"], "next": "/orchestra/app/"})
        self.assertEqual(r.status_code, 302, r.text)
        return s

    def api(self):
        return ENV.base + "/orchestra/api/interface/notification_preferences/"

    def test_the_page_and_its_script_are_served(self):
        s = self.sign_in()
        r = s.get(ENV.base + "/orchestra/app/settings")
        self.assertEqual(r.status_code, 200)
        self.assertIn('href="/orchestra/app/settings"', r.text)
        r = s.get(ENV.base + "/orchestra/static/js/settings.js")
        self.assertEqual(r.status_code, 200)
        self.assertIn("notification_preferences/", r.text)

    def test_a_worker_reads_and_changes_their_choices(self):
        s = self.sign_in()
        r = s.get(self.api())
        self.assertEqual(r.status_code, 200, r.text)
        doc = r.json()
        self.assertEqual(doc["username"], "alice")
        self.assertEqual(doc["email"], "alice@example.com")
        self.assertEqual([n["kind"] for n in doc["notifications"]], KINDS)
        self.assertEqual(doc["notifications"][4]["subject"], "Task complete!")
        # Without the CSRF header the change is refused and nothing changes.
        r = s.post(self.api(), json={"notifications": {"complete": False}})
        self.assertEqual(r.status_code, 403, r.text)
        r = s.post(self.api(), json={"notifications": {"complete": False, "ended": False}},
                   headers={"X-CSRFToken": s.cookies["csrftoken"]})
        self.assertEqual(r.status_code, 200, r.text)
        got = {n["kind"]: n["email"] for n in r.json()["notifications"]}
        self.assertEqual(got, {"assigned": True, "under_review": True, "returned": True,
                               "ready_for_rereview": True, "complete": False, "ended": False})
        # The coordinator keeps it: the admin's CLI sees the same.
        _, out, _ = ENV.cli("--json", "worker", "notifications", "alice")
        self.assertEqual(json.loads(out)["notifications"]["ended"], False)
        self.assertEqual(json.loads(out)["notifications"]["assigned"], True)
        r = s.post(self.api(), json={"notifications": {"ended": True}},
                   headers={"X-CSRFToken": s.cookies["csrftoken"]})
        self.assertEqual(r.status_code, 200, r.text)
        _, out, _ = ENV.cli("--json", "worker", "notifications", "alice")
        self.assertEqual(json.loads(out)["notifications"]["ended"], True)

    def test_bad_bodies_are_refused(self):
        s = self.sign_in()
        h = {"X-CSRFToken": s.cookies["csrftoken"]}
        r = s.post(self.api(), json={"notifications": {"slack": True}}, headers=h)
        self.assertEqual(r.status_code, 400)
        self.assertEqual(r.json()["message"], "unknown notification kind")
        r = s.post(self.api(), json={"notifications": {"ended": "no"}}, headers=h)
        self.assertEqual(r.status_code, 400)
        r = s.post(self.api(), json={"complete": False}, headers=h)
        self.assertEqual(r.status_code, 400)
        r = s.delete(self.api(), headers=h)
        self.assertEqual(r.status_code, 405)

    def test_anonymous_requests_go_to_sign_in(self):
        r = requests.get(self.api(), allow_redirects=False)
        self.assertEqual(r.status_code, 302)
        self.assertTrue(r.headers["Location"].startswith("/orchestra/accounts/login/"))
        r = requests.get(ENV.base + "/orchestra/app/settings", allow_redirects=False)
        self.assertEqual(r.status_code, 302)


if __name__ == "__main__":
    unittest.main(verbosity=2)
