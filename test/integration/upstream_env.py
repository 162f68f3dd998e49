"""Daemons for the upstream tests (upstream_client_test.py, upstream_import_test.py).

Starts orchestrad --dev and orchestra-http on free loopback ports with a temporary database,
and runs the orchestra CLI against them with the --dev key. Environment (set by CTest):
ORC_ORCHESTRAD, ORC_CLI, ORC_HTTP, ORC_SOURCE_DIR.
"""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

import orc_store
from ports import free_port

ORCHESTRAD = os.environ["ORC_ORCHESTRAD"]
CLI = os.environ["ORC_CLI"]
HTTP = os.environ["ORC_HTTP"]
SOURCE = os.environ["ORC_SOURCE_DIR"]
KEY, SECRET = "orchestra-user", "CHANGEME"
FIXTURE = os.path.join(SOURCE, "test", "integration", "data", "upstream_dump.json")


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


class Env:
    """One orchestrad and one orchestra-http on a fresh database."""

    def start(self, tag):
        self.dir = tempfile.mkdtemp(prefix="orc-%s-" % tag)
        self.db = orc_store.database(self.dir)
        rpc_port, ev_port, http_port = free_port(), free_port(), free_port()
        self.rpc = "tcp://127.0.0.1:%d" % rpc_port
        self.base = "http://127.0.0.1:%d" % http_port
        self.procs = []
        self.logs = []
        od = self.spawn("orchestrad", [ORCHESTRAD, "--dev", "--db", self.db, "--rpc", self.rpc,
                                       "--events", "tcp://127.0.0.1:%d" % ev_port])
        wait_port(rpc_port, od, "orchestrad")
        hp = self.spawn("orchestra-http", [HTTP, "--listen", "127.0.0.1:%d" % http_port,
                                           "--rpc", self.rpc])
        wait_port(http_port, hp, "orchestra-http")

    def spawn(self, name, argv):
        log = open(os.path.join(self.dir, name + ".log"), "w")
        self.logs.append(log)
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def cli(self, *args, stdin=None, check=True, extra_env=None):
        """Runs the orchestra CLI with the --dev key: (exit status, stdout, stderr)."""
        env = dict(os.environ, ORCHESTRA_RPC=self.rpc, ORCHESTRA_API_KEY=KEY,
                   ORCHESTRA_API_SECRET=SECRET)
        env.pop("ORCHESTRA_TOKEN", None)
        env.update(extra_env or {})
        p = subprocess.run([CLI, "--rpc", self.rpc] + list(args), env=env, input=stdin,
                           capture_output=True, text=True, timeout=120)
        if check and p.returncode != 0:
            raise AssertionError("orchestra %s exited %d: %s" % (" ".join(args), p.returncode,
                                                                p.stderr))
        return p.returncode, p.stdout, p.stderr

    def cli_json(self, *args, stdin=None):
        return json.loads(self.cli("--json", *args, stdin=stdin)[1])

    def load_examples(self):
        plugins = os.path.join(SOURCE, "plugins")
        self.cli("workflow", "load-all", os.path.join(plugins, "simple_workflow"),
                 os.path.join(plugins, "journalism_workflow"))

    def stop(self):
        for p in reversed(getattr(self, "procs", [])):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for log in getattr(self, "logs", []):
            log.close()
        if hasattr(self, "dir"):
            shutil.rmtree(self.dir, ignore_errors=True)
