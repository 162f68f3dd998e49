#!/usr/bin/python3
"""The experts' web app in a real browser (issue 15): headless Chromium driven by Selenium
against real daemons.

Starts orchestrad --dev, an orchestra-executor with the example plugins (the simple workflow's
crawl and the journalism workflow's documents run for real) and orchestra-http on free
loopback ports with a temporary database, plus two small local web sites: the pages the
crawler reads, and an "attacker" site on another port for the cross-site forgery. A second
orchestrad and orchestra-http with 6-second sessions serve the session-expiry test.

The flows of the issue: sign in, take a simple_workflow task, rate it (by keyboard), submit;
the journalism review cycle (return with a comment, seen under "Returned from reviewer",
fixed, resubmitted, accepted); the dashboard changing without a reload when another process
assigns a task; the timer creating a time entry that the timecard shows and edits; another
worker's task refused by URL; a forged cross-site POST refused; an expired session back to
sign-in; and the project page of a project admin (revert preview then commit, complete and
skip). Every page visited is checked for unlabelled controls, and the dashboard at phone width
for horizontal overflow.

Screenshots (dashboard, task page, timecard, project page, phone-width dashboard) are saved
under <build>/test-artifacts/webapp/.

Environment (set by CTest): ORC_ORCHESTRAD, ORC_CLI, ORC_HTTP, ORC_EXECUTOR, ORC_SOURCE_DIR,
ORC_BUILD_DIR. Run with Debian's /usr/bin/python3 (python3-selenium, python3-requests).
"""
import datetime
import email.utils
import http.server
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import zlib

import requests
from httpsig.requests_auth import HTTPSignatureAuth
from selenium import webdriver
from selenium.common.exceptions import (NoSuchElementException, StaleElementReferenceException,
                                        TimeoutException, WebDriverException)
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

import orc_store
from ports import free_port

ORCHESTRAD = os.environ["ORC_ORCHESTRAD"]
CLI = os.environ["ORC_CLI"]
HTTP = os.environ["ORC_HTTP"]
EXECUTOR = os.environ["ORC_EXECUTOR"]
SOURCE = os.environ["ORC_SOURCE_DIR"]
BUILD = os.environ["ORC_BUILD_DIR"]
KEY, SECRET = "orchestra-user", "CHANGEME"
ARTIFACTS = os.path.join(BUILD, "test-artifacts", "webapp")
WAIT_S = 25  # generous: the machine may be loaded; nothing waits this long when all is well
RATINGS = ["1: This image is very not awesome", "2: This image is slightly not awesome",
           "3: This image is neither awesome nor not awesome", "4: This image is slightly awesome",
           "5: This image is very awesome"]

# Every visible control must have an accessible name (a label, aria-label or its text).
UNLABELLED_JS = """
const bad = [];
for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea, button')) {
  if (el.closest('[hidden]') || el.getClientRects().length === 0) continue;
  const labels = el.labels ? [...el.labels].map((l) => l.textContent).join(' ') : '';
  const name = el.getAttribute('aria-label') || labels ||
    (el.tagName === 'BUTTON' ? el.textContent : '') || el.getAttribute('title') || '';
  if (!name.trim()) bad.push(el.outerHTML.slice(0, 160));
}
return bad;
"""


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


def png(width, height):
    """A small valid PNG (a colour gradient) for the crawler to find."""
    raw = b"".join(b"\x00" + b"".join(bytes((x * 255 // width, y * 255 // height, 170))
                                      for x in range(width)) for y in range(height))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) +
            chunk(b"IEND", b""))


class Site:
    """A static web site on a free loopback port, serving a temporary folder."""

    def __init__(self, files):
        self.dir = tempfile.mkdtemp(prefix="orc-site-")
        for name, data in files.items():
            with open(os.path.join(self.dir, name), "wb") as f:
                f.write(data if isinstance(data, bytes) else data.encode())
        folder = self.dir

        class Quiet(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a, **kw):
                super().__init__(*a, directory=folder, **kw)

            def log_message(self, *a):
                pass
        self.port = free_port()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Quiet)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = "http://127.0.0.1:%d" % self.port

    def add(self, name, text):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(text)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Stack:
    """orchestrad (+ executor) + orchestra-http on a fresh database in a temporary folder."""

    def __init__(self, name, session_ttl=None, executor=True):
        self.dir = tempfile.mkdtemp(prefix="orc-web-%s-" % name)
        self.procs, self.logs = [], []
        rpc_port, ev_port, http_port = free_port(), free_port(), free_port()
        self.rpc = "tcp://127.0.0.1:%d" % rpc_port
        self.events = "tcp://127.0.0.1:%d" % ev_port
        self.base = "http://127.0.0.1:%d" % http_port
        self.http_port = http_port
        self.db = orc_store.database(self.dir)
        args = [ORCHESTRAD, "--dev", "--db", self.db, "--rpc",
                self.rpc, "--events", self.events, "--pbkdf2-iterations", "1000"]
        if session_ttl:
            args += ["--session-ttl", str(session_ttl)]
        wait_port(rpc_port, self.spawn("orchestrad", args), "orchestrad")
        if executor:
            self.spawn("executor", [EXECUTOR, "--rpc", self.rpc, "--plugins",
                                    os.path.join(BUILD, "plugins", "lib"), "--storage",
                                    os.path.join(self.dir, "storage"), "--concurrency", "2"],
                       env={"ORCHESTRA_API_KEY": KEY, "ORCHESTRA_API_SECRET": SECRET})
        hp = self.spawn("orchestra-http", [HTTP, "--listen", "127.0.0.1:%d" % http_port, "--rpc",
                                           self.rpc, "--events", self.events])
        wait_port(http_port, hp, "orchestra-http")

    def spawn(self, name, args, env=None):
        log = open(os.path.join(self.dir, name + ".log"), "w")
        self.logs.append(log)
        e = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRA_")}
        e.update(env or {})
        p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=e)
        self.procs.append(p)
        return p

    def cli(self, *args, stdin=None):
        env = dict(os.environ, ORCHESTRA_RPC=self.rpc, ORCHESTRA_API_KEY=KEY,
                   ORCHESTRA_API_SECRET=SECRET)
        r = subprocess.run([CLI, "--rpc", self.rpc, "--json"] + list(args), env=env, input=stdin,
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("orchestra %s: %s" % (" ".join(args), r.stderr))
        return json.loads(r.stdout) if r.stdout.strip() else None

    def add_worker(self, username, admin=False):
        self.cli("worker", "add", username, "--password-stdin", "--first-name",
                 username.capitalize(), stdin="pw-%s-123\n" % username)
        if admin:
            self.cli("worker", "admin", username)
        return "pw-%s-123" % username

    def info(self, project):
        return self.cli("project", "info", str(project))

    def wait_task(self, project, step, status):
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            task = self.info(project)["tasks"].get(step)
            if task and task["status"] == status:
                return task
            time.sleep(0.1)
        raise AssertionError("%s of project %d never became %s: %s" %
                             (step, project, status, self.info(project)["tasks"].get(step)))

    def stop(self):
        """Stops every daemon; returns those that did not exit 0 on SIGTERM (a crash, a hang,
        or a sanitizer's report), with their logs printed."""
        bad = []
        for p, log in reversed(list(zip(self.procs, self.logs))):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            if p.returncode != 0:
                bad.append("%s exited with %s" % (os.path.basename(log.name), p.returncode))
        for log in self.logs:
            log.close()
        for name in sorted(os.listdir(self.dir)):
            if name.endswith(".log") and (bad or os.environ.get("ORC_TEST_LOGS")):
                with open(os.path.join(self.dir, name)) as f:
                    sys.stderr.write("---- %s ----\n%s" % (name, f.read()))
        shutil.rmtree(self.dir, ignore_errors=True)
        return bad


class Env:
    pass


ENV = Env()


def setUpModule():
    os.makedirs(ARTIFACTS, exist_ok=True)
    ENV.sites, ENV.stacks = [], []
    try:
        ENV.images = Site({"page.html": '<html><body><h1>News</h1><img src="photo.png" alt="x">'
                                        '</body></html>',
                           "empty.html": "<html><body><p>No pictures here.</p></body></html>",
                           "photo.png": png(240, 160)})
        ENV.sites.append(ENV.images)
        ENV.attacker = Site({"index.html": "<html><body>Nothing to see.</body></html>"})
        ENV.sites.append(ENV.attacker)
        ENV.main = Stack("main")
        ENV.stacks.append(ENV.main)
        # Long enough for a sign-in to reach its page on a loaded machine, short enough to wait.
        ENV.short = Stack("short", session_ttl=6, executor=False)
        ENV.stacks.append(ENV.short)
        plugins = os.path.join(SOURCE, "plugins")
        ENV.main.cli("workflow", "load-all", os.path.join(plugins, "simple_workflow"),
                     os.path.join(plugins, "journalism_workflow"))
        for wf in ("simple_workflow/v1", "journalism/v1"):
            ENV.main.cli("workflow", "sample-data", wf)
        ENV.driver = browser()
    except Exception:
        tearDownModule()
        raise


def tearDownModule():
    if getattr(ENV, "driver", None):
        ENV.driver.quit()
    bad = []
    for s in getattr(ENV, "stacks", []):
        bad += s.stop()
    for s in getattr(ENV, "sites", []):
        s.stop()
    if bad:
        raise AssertionError("daemons did not stop cleanly: " + "; ".join(bad))


def browser():
    o = webdriver.ChromeOptions()
    # As root in a container Chromium needs these; the rest keep it off the (closed) network.
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--no-first-run", "--disable-features=Translate,MediaRouter",
              "--window-size=1280,900", "--lang=en-US",
              "--user-data-dir=" + tempfile.mkdtemp(prefix="orc-chromium-")):
        o.add_argument(a)
    d = webdriver.Chrome(options=o)
    d.set_page_load_timeout(WAIT_S)
    return d


def simple_project(stack, page="page.html", description="Rate an image"):
    pid = stack.cli("project", "create", "--workflow", "simple_workflow", "--version", "v1",
                    "--description", description, "--priority", "5", "--task-class", "real",
                    "--data", json.dumps({"url": "%s/%s" % (ENV.images.base, page)}))["project_id"]
    task = stack.wait_task(pid, "rate", "Awaiting Processing")
    return pid, task["id"]


class Browser(unittest.TestCase):
    """Helpers shared by the tests: one Chromium for the whole module."""

    base = None

    def setUp(self):
        self.d = ENV.driver
        self.d.set_window_size(1280, 900)
        self.base = ENV.main.base
        self.d.get(self.base + "/orchestra/accounts/login/")
        self.d.delete_all_cookies()

    def wait(self, cond, what, timeout=WAIT_S):
        try:
            # Pages redraw parts of themselves: an element may go stale between two looks.
            return WebDriverWait(self.d, timeout, poll_frequency=0.05,
                                 ignored_exceptions=(NoSuchElementException,
                                                     StaleElementReferenceException)).until(
                                     lambda d: cond(d))
        except TimeoutException:
            what = what() if callable(what) else what
            self.fail("timed out waiting for %s (at %s)" % (what, self.d.current_url))

    def css(self, selector):
        return self.d.find_elements(By.CSS_SELECTOR, selector)

    def one(self, selector, what=None):
        return self.wait(lambda d: (d.find_elements(By.CSS_SELECTOR, selector) or [None])[0],
                         what or selector)

    def wait_error(self, text):
        """Waits for the page's form error to say text: after a submit the previous page,
        with its own error, may still be shown for a moment."""
        def shown(d):
            errors = self.form_errors()
            return errors and errors[0] == text
        self.wait(shown, lambda: "the error %r (shown: %r)" % (text, self.form_errors()))

    def form_errors(self):
        """The texts of the page's form errors; [] while a submit replaces the page (Chromium
        then refuses to read a node of the old document: not a stale-element error)."""
        try:
            return [e.text for e in self.css(".form-error")]
        except StaleElementReferenceException:
            return []
        except WebDriverException as e:
            if "does not belong to the document" in str(e):
                return []
            raise

    def button(self, text):
        xp = "//button[normalize-space(.)=%s]" % json.dumps(text)
        return self.wait(lambda d: next((b for b in d.find_elements(By.XPATH, xp)
                                         if b.is_displayed() and b.is_enabled()), None),
                         "button %r" % text)

    def sign_in(self, username, password, base=None, next_path=None):
        base = base or self.base
        url = base + "/orchestra/accounts/login/"
        if next_path:
            url += "?next=" + next_path
        self.d.get(url)
        self.one("#id_username").send_keys(username)
        self.one("#id_password").send_keys(password)
        self.one("form button[type=submit]").click()
        self.wait(lambda d: "/orchestra/app/" in d.current_url, "the app after signing in")
        self.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#who") and
                  d.find_element(By.CSS_SELECTOR, "#who").text, "the signed-in name")
        self.one("main h1")

    def session(self, base=None):
        """A requests session holding the browser's cookies, with the CSRF header."""
        s = requests.Session()
        token = ""
        for c in self.d.get_cookies():
            s.cookies.set(c["name"], c["value"])
            if c["name"] == "csrftoken":
                token = c["value"]
        s.headers["X-CSRFToken"] = token
        s.headers["Referer"] = (base or self.base) + "/orchestra/app/"
        return s

    def assert_labelled(self, where):
        self.assertEqual(self.d.execute_script(UNLABELLED_JS), [], "unlabelled controls on " + where)

    def screenshot(self, name):
        """A full-page screenshot into the artifacts folder."""
        size = self.d.get_window_size()
        height = self.d.execute_script("return Math.max(document.body.scrollHeight,"
                                       " document.documentElement.scrollHeight)")
        self.d.set_window_size(size["width"], min(max(height + 140, 600), 4000))
        time.sleep(0.3)
        self.d.save_screenshot(os.path.join(ARTIFACTS, name))
        self.d.set_window_size(size["width"], size["height"])

    def open_task(self, task_id):
        self.d.get("%s/orchestra/app/task/%d" % (self.base, task_id))
        self.one(".task-meta", "the task page")

    def confirm_dialog(self, label):
        dlg = self.one("dialog[open]", "a dialog")
        dlg.find_element(By.XPATH, ".//button[normalize-space(.)=%s]" % json.dumps(label)).click()
        self.wait(lambda d: not d.find_elements(By.CSS_SELECTOR, "dialog[open]"), "the dialog closing")

    def submit_task(self, button, confirm_label):
        url = self.d.current_url
        self.button(button).click()
        self.confirm_dialog(confirm_label)
        self.wait(lambda d: d.find_elements(By.CSS_SELECTOR, ".badge-muted") or
                  d.find_elements(By.CSS_SELECTOR, ".form-error"), "the task after %s" % button)
        errors = [e.text for e in self.css(".action-error .form-error")]
        self.assertEqual(errors, [], "refused at %s" % url)


class WebAppTest(Browser):
    def test_1_sign_in_rate_by_keyboard_and_submit(self):
        pid, task = simple_project(ENV.main)
        self.sign_in("demo", "demo")
        self.assertEqual(self.one("main h1").text, "Dashboard")
        self.assert_labelled("the dashboard")
        self.assertIn("No tasks available at the moment", self.one("main").text)
        self.button("New delivery task").click()
        self.wait(lambda d: d.current_url.endswith("/orchestra/app/task/%d" % task), "the task page")
        img = self.one(".step-interface img", "the crawled image")
        self.wait(lambda d: d.execute_script("return arguments[0].naturalWidth", img) == 240,
                  "the image to load")
        text = self.one(".step-interface").text
        self.assertIn("How awesome is this image?", text)
        self.assertIn("We successfully scraped an image for you! Please rate it below.", text)
        labels = [e.text for e in self.css(".step-interface label.choice")]
        self.assertEqual(labels, [r + "." for r in RATINGS])
        self.assertIn("Image Rating", self.one("main h1").text)
        self.assertIn("Rate the image that we found", self.one("main").text)
        self.assert_labelled("the task page")
        self.screenshot("task.png")
        # Keyboard only: focus the first choice, select it, arrow down to the fifth.
        first = self.css("input[name=imageRating]")[0]
        self.d.execute_script("arguments[0].focus()", first)
        first.send_keys(Keys.SPACE)
        for _ in range(4):
            self.d.switch_to.active_element.send_keys(Keys.ARROW_DOWN)
        self.assertTrue(self.css("input[name=imageRating]")[4].is_selected())
        submit = self.button("Submit")
        submit.send_keys(Keys.ENTER)
        self.one("dialog[open]")
        focused = self.d.switch_to.active_element
        self.assertEqual(focused.text, "Submit")
        focused.send_keys(Keys.ENTER)
        self.one(".badge-muted", "the read-only task")
        done = ENV.main.info(pid)["tasks"]["rate"]
        self.assertEqual(done["status"], "Complete")
        self.assertEqual(done["latest_data"], {"rating": "5: This image is very awesome"})
        self.assertIn("Complete", self.one(".task-meta").text)
        self.assertEqual(self.css(".task-actions"), [])  # nothing to do on a done task

    def test_2_unable_to_scrape_message(self):
        pid, task = simple_project(ENV.main, page="empty.html", description="No image here")
        pw = ENV.main.add_worker("scraper")
        ENV.main.cli("task", "assign", str(task), "scraper")
        self.sign_in("scraper", pw)
        self.open_task(task)
        box = self.one(".step-interface .notice", "the interface's message")
        self.assertEqual(box.text, "Oh no! It looks like we were unable to scrape an image from "
                                   "%s/empty.html" % ENV.images.base)
        self.submit_task("Submit", "Submit")
        self.assertEqual(ENV.main.info(pid)["tasks"]["rate"]["status"], "Complete")

    def journalism_editor_plans(self, pid):
        """The editor takes and submits the planning task through the JSON API (requests)."""
        s = requests.Session()
        r = s.get(self.base + "/orchestra/accounts/login/")
        self.assertEqual(r.status_code, 200)
        r = s.post(self.base + "/orchestra/accounts/login/", allow_redirects=False,
                   data={"username": "journalism-editor", "password": "editor",
                         "csrfmiddlewaretoken": s.cookies["csrftoken"], "next": "/orchestra/app/"})
        self.assertEqual(r.status_code, 302, r.text)
        s.headers["X-CSRFToken"] = s.cookies["csrftoken"]
        api = self.base + "/orchestra/api/interface/"
        t = s.get(api + "new_task_assignment/entry_level/").json()
        self.assertEqual(t["step"], "article_planning")
        r = s.post(api + "submit_task_assignment/", json={
            "task_id": t["id"], "command_type": "submit",
            "task_data": {"who": "The mayor", "what": "Opens the bridge", "when": "Monday",
                          "where": "The river"}})
        self.assertEqual((r.status_code, r.json()), (200, {}))

    def test_3_journalism_return_with_comment_fix_and_accept(self):
        pid = ENV.main.cli("project", "create", "--workflow", "journalism", "--version", "v1",
                           "--description", "Bridge opening", "--priority", "9", "--task-class",
                           "real", "--data", '{"article_draft_template":"template-doc"}')["project_id"]
        ENV.main.wait_task(pid, "article_planning", "Awaiting Processing")
        self.journalism_editor_plans(pid)
        task = ENV.main.wait_task(pid, "reporting", "Awaiting Processing")["id"]

        self.sign_in("journalism-reporter-1", "reporter")
        self.button("New delivery task").click()
        self.wait(lambda d: d.current_url.endswith("/task/%d" % task), "the reporting task")
        self.assertIn("The mayor", self.one(".step-interface .notice").text)  # the editor's plan
        self.assert_labelled("the reporter's form")
        self.one("textarea").send_keys("The mayor opened the new bridge on Monday.")
        self.submit_task("Submit", "Submit")

        self.sign_in("journalism-reporter-2", "reporter")
        self.button("New review task").click()
        self.wait(lambda d: d.current_url.endswith("/task/%d" % task), "the review task")
        self.assertIn("The mayor opened the new bridge", self.one("textarea").get_attribute("value"))
        self.button("Return with feedback").click()
        dlg = self.one("dialog[open]")
        dlg.find_element(By.TAG_NAME, "textarea").send_keys("Please quote the mayor.")
        self.confirm_dialog("Return task")
        self.one(".badge-muted", "the returned task, read-only for the reviewer")
        self.assertEqual(ENV.main.info(pid)["tasks"]["reporting"]["status"],
                         "Post-review Processing")

        self.sign_in("journalism-reporter-1", "reporter")
        card = self.one("[data-list=returned] [data-task='%d'] a" % task, "the returned card")
        self.assertEqual(self.css("[data-list=in_progress] [data-task='%d']" % task), [])
        self.screenshot("dashboard.png")
        card.click()
        self.assertIn("Please quote the mayor.", self.one(".feedback-banner").text)
        self.assertIn("Please quote the mayor.", self.one("table.history").text)
        area = self.one("textarea")
        area.send_keys(' "A great day," said the mayor.')
        self.submit_task("Submit", "Submit")

        self.sign_in("journalism-reporter-2", "reporter")
        self.one("[data-list=in_progress] [data-task='%d'] a" % task, "the re-review card").click()
        self.assertIn("said the mayor", self.one("textarea").get_attribute("value"))
        self.submit_task("Accept", "Accept")
        done = ENV.main.info(pid)["tasks"]["reporting"]
        self.assertEqual(done["status"], "Complete")
        self.assertIn("said the mayor", done["latest_data"]["article"])
        self.assertNotIn("_review_comment", done["latest_data"])

    def test_4_dashboard_follows_changes_without_reload(self):
        pid, task = simple_project(ENV.main, description="Live update")
        pw = ENV.main.add_worker("watcher")
        self.sign_in("watcher", pw)
        self.wait(lambda d: d.execute_script("return document.body.dataset.live") == "open",
                  "the event stream to open")
        self.d.execute_script("window.__sameDocument = 'yes'")
        self.assertEqual(self.css("[data-task='%d']" % task), [])
        ENV.main.cli("task", "assign", str(task), "watcher")  # another process
        # Well under the 30 s fallback: the change comes over the event stream.
        card = self.wait(lambda d: (d.find_elements(By.CSS_SELECTOR,
                                                    "[data-list=in_progress] [data-task='%d'] a"
                                                    % task) or [None])[0],
                         "the assigned task on the dashboard", timeout=15)
        self.assertEqual(card.text, "Image Rating")
        self.assertEqual(self.d.execute_script("return window.__sameDocument"), "yes")
        self.assertIn("Live update", self.one("[data-task='%d']" % task).text)

    def test_5_timer_and_timecard(self):
        pid, task = simple_project(ENV.main, description="Timed work")
        pw = ENV.main.add_worker("timekeeper")
        assignment = ENV.main.cli("task", "assign", str(task), "timekeeper")
        self.sign_in("timekeeper", pw)
        self.open_task(task)
        toggle = self.one(".timer-toggle")
        toggle.click()
        # The panel fills its task list when it opens, and may draw it again meanwhile: each
        # look finds the elements afresh.
        panel = ".timer-panel:not([hidden]) "
        self.wait(lambda d: "Image Rating" in d.find_element(
            By.CSS_SELECTOR, panel + "select option:checked").text, "the task pre-filled")
        self.one(panel + "input[type=text]").send_keys("Rating the image")
        self.assert_labelled("the timer")
        self.button("Start timer").click()
        self.wait(lambda d: "running" in toggle.get_attribute("class"), "the timer running")
        started = time.monotonic()
        self.d.refresh()  # it keeps running across reloads
        toggle = self.one(".timer-toggle.running", "the timer still running after a reload")
        time.sleep(max(0.0, 1.2 - (time.monotonic() - started)))
        toggle.click()
        self.button("Stop timer").click()
        self.wait(lambda d: "Timer stopped" in d.find_element(By.CSS_SELECTOR, ".timer-status").text,
                  "the timer to stop")
        self.d.get(self.base + "/orchestra/app/timecard")
        today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
        day = "section.day[data-date='%s']" % today
        entry = self.one(day + " li.entry", "the timer's entry")
        self.assertIn("Rating the image", entry.text)
        self.assertEqual(entry.find_element(By.CSS_SELECTOR, ".entry-time").text, "00:01")
        self.assertIn("Image Rating", entry.find_element(By.CSS_SELECTOR, ".entry-task").text)
        self.assertEqual(self.one(day + " .day-total").text, "00:01")
        self.assert_labelled("the timecard")
        # Edit it (pencil): a new time is stored in minutes.
        entry.find_element(By.CSS_SELECTOR, "button[aria-label^='Edit']").click()
        dlg = self.one("dialog[open]")
        worked = dlg.find_element(By.CSS_SELECTOR, "input[pattern]")
        self.assertEqual(worked.get_attribute("value"), "00:01")
        worked.clear()
        worked.send_keys("0:45")
        self.confirm_dialog("Save entry")
        self.wait(lambda d: d.find_element(By.CSS_SELECTOR, day + " .entry-time").text == "00:45",
                  "the edited time")
        self.assertEqual(self.one(day + " .day-total").text, "00:45")
        # Add one by hand (plus) with neither description nor task: highlighted, total hidden.
        self.one(day + " button.add").click()
        dlg = self.one("dialog[open]")
        dlg.find_element(By.CSS_SELECTOR, "input[pattern]").send_keys("1:00")
        self.confirm_dialog("Save entry")
        bad = self.one(day + " li.entry.incomplete", "the incomplete entry")
        self.assertIn("Missing description", bad.text)
        self.assertIn("Missing task", bad.text)
        self.assertEqual(self.css(day + " .day-total.hidden-total") != [], True)
        self.screenshot("timecard.png")
        # Delete it (x): the day's total comes back.
        bad.find_element(By.CSS_SELECTOR, "button[aria-label^='Delete']").click()
        self.confirm_dialog("Delete")
        self.wait(lambda d: not d.find_elements(By.CSS_SELECTOR, day + " li.entry.incomplete"),
                  "the entry to go")
        self.assertEqual(self.one(day + " .day-total").text, "00:45")
        entries = self.session().get(self.base + "/orchestra/api/interface/time_entries/").json()
        self.assertEqual([(e["time_worked"], e["description"], e["assignment"]) for e in entries],
                         [("00:45:00", "Rating the image", assignment["assignment_id"])])

    def test_6_another_workers_task_is_refused(self):
        pid, task = simple_project(ENV.main, description="Somebody else's")
        ENV.main.add_worker("owner")
        ENV.main.cli("task", "assign", str(task), "owner")
        pw = ENV.main.add_worker("stranger")
        self.sign_in("stranger", pw)
        self.d.get("%s/orchestra/app/task/%d" % (self.base, task))
        self.assertEqual(self.one("main .form-error", "the refusal").text,
                         "Worker is not associated with task")
        self.assertEqual(self.css(".step-interface"), [])
        s = self.session()
        r = s.post(self.base + "/orchestra/api/interface/task_assignment_information/",
                   json={"task_id": task})
        self.assertEqual((r.status_code, r.json()),
                         (400, {"error": 400, "message": "Worker is not associated with task"}))
        r = s.post(self.base + "/orchestra/api/interface/save_task_assignment/",
                   json={"task_id": task, "task_data": {"rating": "1"}})
        self.assertEqual(r.status_code, 400)
        r = s.get("%s/orchestra/app/task/%d/interface.js" % (self.base, task))
        self.assertEqual(r.status_code, 403)
        self.assertEqual(ENV.main.info(pid)["tasks"]["rate"]["assignments"][0]
                         ["in_progress_task_data"], {})

    def test_6_refusal_of_a_task_reassigned_meanwhile_is_shown_verbatim(self):
        pid, task = simple_project(ENV.main, description="Reassigned meanwhile")
        pw = ENV.main.add_worker("first")
        ENV.main.add_worker("second")
        assignment = ENV.main.cli("task", "assign", str(task), "first")["assignment_id"]
        self.sign_in("first", pw)
        self.open_task(task)
        # The step's interface is drawn by its script after the page: wait for its choices.
        choice = self.wait(lambda d: (self.css("input[name=imageRating]")[2:3] or [None])[0],
                           "the third rating choice")
        # Into the middle of the window: the sticky action bar covers the bottom edge.
        self.d.execute_script("arguments[0].scrollIntoView({block: 'center'})", choice)
        choice.click()
        ENV.main.cli("task", "reassign", str(assignment), "second")  # meanwhile, elsewhere
        self.button("Submit").click()
        self.confirm_dialog("Submit")
        shown = self.one(".action-error .form-error", "the refusal").text
        r = self.session().post(self.base + "/orchestra/api/interface/submit_task_assignment/",
                                json={"task_id": task, "task_data": {}, "command_type": "submit"})
        self.assertEqual(r.status_code, 400)
        self.assertEqual(shown, r.json()["message"])
        self.assertEqual(ENV.main.info(pid)["tasks"]["rate"]["status"], "Processing")

    def test_7_forged_cross_site_post_is_refused(self):
        pw = ENV.main.add_worker("victim")
        self.sign_in("victim", pw)
        cookies = {c["name"]: c for c in self.d.get_cookies()}
        self.assertTrue(cookies["sessionid"]["httpOnly"])
        self.assertEqual(cookies["sessionid"]["sameSite"], "Strict")
        self.assertFalse(cookies["csrftoken"]["httpOnly"])
        target = self.base + "/orchestra/api/interface/timer/start/"
        ENV.attacker.add("forge.html", """<html><body>
<form id="f" method="post" action="%s"><input name="description" value="forged"></form>
<script>document.getElementById("f").submit();</script></body></html>""" % target)
        self.d.get(ENV.attacker.base + "/forge.html")
        self.wait(lambda d: "CSRF Failed" in d.page_source, "the forged POST's answer")
        s = self.session()
        self.assertIsNone(s.get(self.base + "/orchestra/api/interface/timer/").json()["start_time"])
        # Without the header, even from a same-origin client: refused, nothing changes.
        r = requests.post(target, json={}, cookies={"sessionid": cookies["sessionid"]["value"],
                                                    "csrftoken": cookies["csrftoken"]["value"]})
        self.assertEqual((r.status_code, r.json()),
                         (403, {"detail": "CSRF Failed: CSRF token missing or incorrect."}))
        self.assertIsNone(s.get(self.base + "/orchestra/api/interface/timer/").json()["start_time"])
        # The same request with the token is accepted: the refusals above were the CSRF check.
        r = s.post(target, json={"description": "mine"})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(s.post(self.base + "/orchestra/api/interface/timer/stop/").status_code, 200)
        # A sign-in form posted without its token is refused too (login CSRF).
        r = requests.post(self.base + "/orchestra/accounts/login/",
                          data={"username": "victim", "password": pw}, allow_redirects=False)
        self.assertEqual(r.status_code, 403)

    def wait_expiry(self, base):
        """Waits until the browser's session of base has expired (cookie Max-Age, 6 s)."""
        cookie = next(c for c in self.d.get_cookies() if c["name"] == "sessionid")
        # The expiry shown is whole seconds, cut: the cookie may live up to 1 s longer.
        time.sleep(max(0.0, cookie["expiry"] - time.time()) + 1.5)

    def sign_in_again(self, password, path):
        self.one("#id_username").send_keys("fleeting")
        self.one("#id_password").send_keys(password)
        self.one("form button[type=submit]").click()
        self.wait(lambda d: d.current_url.endswith(path), "back at " + path)
        self.one("main h1")

    def test_8_expired_session_returns_to_sign_in(self):
        short = ENV.short
        pw = short.add_worker("fleeting")
        self.sign_in("fleeting", pw, base=short.base, next_path="/orchestra/app/timecard")
        stale = {c["name"]: c["value"] for c in self.d.get_cookies()}
        # Three pages of one session, in three tabs, all past its end at once.
        first = self.d.current_window_handle
        self.d.switch_to.new_window("tab")
        dashboard = self.d.current_window_handle
        self.d.get(short.base + "/orchestra/app/")
        self.wait(lambda d: d.execute_script("return document.body.dataset.live") == "open",
                  "the dashboard's event stream")
        self.d.switch_to.new_window("tab")
        timecard = self.d.current_window_handle
        self.d.get(short.base + "/orchestra/app/timecard")
        self.one("main h1")
        self.wait_expiry(short.base)
        try:
            # An open dashboard notices by itself (its event stream ends with the session).
            self.d.switch_to.window(dashboard)
            self.wait(lambda d: "/orchestra/accounts/login/" in d.current_url,
                      "the dashboard going to sign-in when the session ends")
            # A call an open page makes after the end: the page goes to sign-in by itself.
            self.d.switch_to.window(timecard)
            self.one(".timer-toggle").click()
            self.wait(lambda d: "/orchestra/accounts/login/" in d.current_url,
                      "the sign-in page after an expired API call")
        finally:
            for handle in (dashboard, timecard):
                self.d.switch_to.window(handle)
                self.d.close()
            self.d.switch_to.window(first)
        # Going to a page: the sign-in page, which comes back there afterwards.
        self.one("a[data-nav=dashboard]").click()
        self.wait(lambda d: "/orchestra/accounts/login/?next=/orchestra/app/" in d.current_url,
                  "the sign-in page")
        # The JSON API with the stale cookie: upstream's 302, and the cookie is cleared.
        r = requests.get(short.base + "/orchestra/api/interface/dashboard_tasks/", cookies=stale,
                         allow_redirects=False)
        self.assertEqual(r.status_code, 302)
        self.assertTrue(r.headers["Location"].startswith("/orchestra/accounts/login/?next="))
        self.assertIn("sessionid=;", r.headers["Set-Cookie"])
        self.assertIn("Max-Age=0", r.headers["Set-Cookie"])
        self.d.get(short.base + "/orchestra/app/timecard")
        self.wait(lambda d: "next=/orchestra/app/timecard" in d.current_url, "the sign-in page")
        self.sign_in_again(pw, "/orchestra/app/timecard")

    def test_9_project_admin_page(self):
        pid, task = simple_project(ENV.main, description="Managed project")
        ENV.main.add_worker("worker9")
        ENV.main.cli("task", "assign", str(task), "worker9")
        pw = ENV.main.add_worker("boss", admin=True)
        self.sign_in("boss", pw)
        self.one("#project-open:not([hidden])", "the project box of a project admin")
        self.d.get("%s/orchestra/app/project/%d" % (self.base, pid))
        self.assertIn("Managed project", self.one("main h1").text)
        self.one(".timeline .bar", "an iteration on the timeline")
        self.assert_labelled("the project page")
        self.screenshot("project.png")
        self.button("Revert to before %d" % ENV.main.info(pid)["tasks"]["rate"]["assignments"][0]
                    ["iterations"][0]["id"]).click()
        dlg = self.one("dialog[open]")
        self.assertIn("Awaiting Processing", dlg.text)
        self.assertIn("deleted", dlg.text)
        self.assertEqual(ENV.main.info(pid)["tasks"]["rate"]["status"], "Processing")  # a preview
        self.confirm_dialog("Commit revert")
        self.wait(lambda d: ENV.main.info(pid)["tasks"]["rate"]["status"] == "Awaiting Processing",
                  "the revert")
        self.button("Complete and skip").click()
        self.confirm_dialog("Complete and skip")
        self.wait(lambda d: ENV.main.info(pid)["tasks"]["rate"]["status"] == "Complete",
                  "the task completed and skipped")
        # A program with an admin key, signing as the legacy API does, reads the same view;
        # a key without the admin scope is refused.
        url = self.base + "/orchestra/api/interface/project_management/project_information/"
        r = requests.post(url, json={"project_id": pid},
                          headers={"Date": email.utils.formatdate(usegmt=True), "X-Api-Key": KEY},
                          auth=HTTPSignatureAuth(KEY, SECRET))
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["tasks"]["rate"]["status"], "Complete")
        self.assertEqual([s["name"] for s in r.json()["steps"]], ["Web Crawling", "Image Rating"])
        made = subprocess.run([ORCHESTRAD, "keys", "create", "reader", "--scopes", "project",
                               "--db", ENV.main.db, "--json"],
                              capture_output=True, text=True, check=True).stdout
        reader = json.loads(made)
        r = requests.post(url, json={"project_id": pid},
                          headers={"Date": email.utils.formatdate(usegmt=True),
                                   "X-Api-Key": reader["key_id"]},
                          auth=HTTPSignatureAuth(reader["key_id"], reader["secret"]))
        self.assertEqual((r.status_code, r.json()),
                         (403, {"detail": "You do not have permission to perform this action."}))
        # Others: a 403 page, and upstream's 302 from the API.
        pw = ENV.main.add_worker("nosy")
        self.sign_in("nosy", pw)
        self.assertEqual(self.css("#project-open:not([hidden])"), [])
        self.d.get("%s/orchestra/app/project/%d" % (self.base, pid))
        self.assertIn("Forbidden", self.one("h1").text)
        before = ENV.main.info(pid)["project"]["status"]
        r = self.session().post(self.base + "/orchestra/api/interface/project_management/"
                                "end_project/", json={"project_id": pid}, allow_redirects=False)
        self.assertEqual(r.status_code, 302)
        self.assertEqual(ENV.main.info(pid)["project"]["status"], before)
        self.assertNotEqual(before, "Aborted")

    def test_password_change_and_slowed_down_sign_in(self):
        pw = ENV.main.add_worker("changer")
        self.sign_in("changer", pw)
        self.d.find_element(By.LINK_TEXT, "Change password").click()
        self.one("#id_old_password").send_keys(pw)
        self.one("#id_new_password1").send_keys("a-new-secret-1")
        self.one("#id_new_password2").send_keys("a-different-2")
        self.one("form button[type=submit]").click()
        self.assertEqual(self.one(".form-error").text, "The two password fields didn\u2019t match.")
        self.assert_labelled("the password page")
        self.one("#id_old_password").send_keys("not-my-password")
        self.one("#id_new_password1").send_keys("a-new-secret-1")
        self.one("#id_new_password2").send_keys("a-new-secret-1")
        self.one("form button[type=submit]").click()
        self.wait_error("Your old password was entered incorrectly. Please enter it again.")
        self.one("#id_old_password").send_keys(pw)
        self.one("#id_new_password1").send_keys("a-new-secret-1")
        self.one("#id_new_password2").send_keys("a-new-secret-1")
        self.one("form button[type=submit]").click()
        self.wait(lambda d: d.current_url.endswith("/password_change/done/"), "the done page")
        self.sign_in("changer", "a-new-secret-1")
        # Wrong passwords are slowed down per user: after five (a sign-in that works clears the
        # count), even the right one waits for the window; another user is not affected.
        for _ in range(5):
            self.d.get(self.base + "/orchestra/accounts/login/")
            self.one("#id_username").send_keys("changer")
            self.one("#id_password").send_keys("guess")
            self.one("form button[type=submit]").click()
            self.assertIn("Please enter a correct username and password", self.one(".form-error").text)
        self.one("#id_password").send_keys("a-new-secret-1")
        self.one("form button[type=submit]").click()
        self.wait_error("Too many failed login attempts; try again later.")
        self.assertEqual(self.one("#id_username").get_attribute("value"), "changer")
        self.sign_in("demo", "demo")

    def test_generic_editor_for_a_step_without_module(self):
        folder = tempfile.mkdtemp(prefix="orc-notes-")
        try:
            os.makedirs(os.path.join(folder, "notes", "v1"))
            with open(os.path.join(folder, "notes", "workflow.json"), "w") as f:
                json.dump({"slug": "notes", "name": "Notes", "description": "Take notes.",
                           "certifications": []}, f)
            with open(os.path.join(folder, "notes", "v1", "version.json"), "w") as f:
                json.dump({"slug": "v1", "name": "Notes v1", "description": "One step.",
                           "steps": [{"slug": "write", "name": "Write notes",
                                      "description": "Write what you saw",
                                      "review_policy": {"policy": "no_review"}}]}, f)
            ENV.main.cli("workflow", "load", os.path.join(folder, "notes"), "v1")
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        pid = ENV.main.cli("project", "create", "--workflow", "notes", "--version", "v1",
                           "--description", "Field notes", "--priority", "1", "--task-class",
                           "real", "--data", '{"place":"the harbour"}')["project_id"]
        task = ENV.main.wait_task(pid, "write", "Awaiting Processing")["id"]
        pw = ENV.main.add_worker("notetaker")
        ENV.main.cli("task", "assign", str(task), "notetaker")
        self.sign_in("notetaker", pw)
        self.open_task(task)
        self.assertIn("This step has no form of its own", self.one(".step-interface").text)
        add = self.one(".add-field")
        fields = add.find_elements(By.CSS_SELECTOR, "input")
        fields[0].send_keys("summary")
        fields[1].send_keys("Two boats came in.")
        add.find_element(By.TAG_NAME, "button").click()
        value = self.one(".step-interface .field input[type=text]", "the new field")
        self.assertEqual(value.get_attribute("value"), "Two boats came in.")
        self.assert_labelled("the generic editor")
        self.button("Save").click()
        self.wait(lambda d: "Saved" in d.find_element(By.CSS_SELECTOR, ".save-status").text, "saved")
        data = ENV.main.info(pid)["tasks"]["write"]["assignments"][0]["in_progress_task_data"]
        self.assertEqual(data, {"summary": "Two boats came in."})

    def test_phone_width_dashboard(self):
        pw = ENV.main.add_worker("phone")
        self.sign_in("phone", pw)
        self.d.set_window_size(390, 844)
        self.one("main h1")
        time.sleep(0.3)
        overflow = self.d.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth")
        self.assertLessEqual(overflow, 0)
        self.assert_labelled("the dashboard at phone width")
        self.screenshot("dashboard-phone.png")


if __name__ == "__main__":
    result = unittest.main(verbosity=2, exit=False).result
    sys.exit(0 if result.wasSuccessful() else 1)
