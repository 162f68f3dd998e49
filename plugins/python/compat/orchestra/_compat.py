"""What the runner sets up around a call: the recording session of a sample-data load function,
and the objects upstream passed to hooks (the Project of an abort_completion_function, the
WorkflowVersion of a load function).

A load function upstream ran inside transaction.atomic() against Django's database. Here its
models record what it creates or changes (users, workers, worker certifications, the
project_admins group) and the record goes back to orchestrad as the job's output, which writes
it in one transaction, all or nothing. Reads answer from what orchestrad sent with the job: the
workflow's certifications and the users that exist (and whether each is a worker).
"""

import base64
import contextlib
import datetime
import hashlib
import os

# As plugins/README.md's sample_data.json hashes: PBKDF2-HMAC-SHA256, 100000 rounds.
PASSWORD_ITERATIONS = 100000

_session = None


class Record:
    """A namespace built from a JSON object (project, workflow version, workflow)."""

    def __init__(self, **fields):
        self.__dict__.update(fields)

    def __repr__(self):
        return "<%s %s>" % (type(self).__name__, getattr(self, "slug", getattr(self, "id", "")))

    def __str__(self):
        return str(getattr(self, "name", getattr(self, "slug", getattr(self, "id", ""))))


def _time(text):
    if not text:
        return None
    return datetime.datetime.strptime(text.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z") \
        if "." in text else \
        datetime.datetime.strptime(text.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S%z")


def _version(doc):
    wf = doc.get("workflow") or {}
    return Record(slug=doc.get("slug", ""), name=doc.get("name", ""),
                  description=doc.get("description", ""),
                  workflow=Record(slug=wf.get("slug", ""), name=wf.get("name", ""),
                                  description=wf.get("description", "")))


def project_from(context):
    """The Project upstream passed to abort_completion_function(project, **kwargs)."""
    p = context.get("project") or {}
    return Record(id=p.get("id"), pk=p.get("id"), status=p.get("status"),
                  short_description=p.get("short_description", ""),
                  priority=p.get("priority"), project_data=p.get("project_data") or {},
                  task_class=p.get("task_class"), start_datetime=_time(p.get("start_datetime")),
                  team_messages_url=p.get("team_messages_url"),
                  workflow_version=_version(p.get("workflow_version") or {}))


def make_password(raw):
    """A password hash in the form orchestrad stores (pbkdf2-sha256$iterations$salt$hash)."""
    salt = os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", str(raw).encode("utf-8"), salt, PASSWORD_ITERATIONS, 32)
    return "pbkdf2-sha256$%d$%s$%s" % (PASSWORD_ITERATIONS, base64.b64encode(salt).decode(),
                                       base64.b64encode(digest).decode())


class Session:
    """One load function's run: what exists, and what it made."""

    def __init__(self, context):
        self.workflow_version = _version(context.get("workflow_version") or {})
        self.certifications = {c["slug"]: c for c in context.get("certifications") or []}
        self.existing = context.get("users") or {}
        self.users = {}  # username -> record, in the order first touched
        self.order = []

    def exists(self, username):
        return username in self.existing or username in self.users

    def is_worker(self, username):
        rec = self.users.get(username)
        return bool((rec and rec.get("worker")) or
                    (self.existing.get(username) or {}).get("worker"))

    def entry(self, username):
        if username not in self.users:
            self.users[username] = {"username": username, "fields": {}}
            self.order.append(username)
        return self.users[username]

    def record(self):
        return {"users": [self.users[name] for name in self.order]}


def session():
    if _session is None:
        raise RuntimeError("orchestra.models are only usable inside a sample-data load "
                           "function run by orchestra-executor")
    return _session


@contextlib.contextmanager
def sample_session(context):
    global _session
    _session = Session(context)
    try:
        yield _session
    finally:
        _session = None
