"""orc_store.py: the store a Python test's orchestrad runs on.

A SQLite file in the test's folder, or, when ORC_TEST_STORE=postgres (CTest sets it for the
tests labelled postgres), a database of its own in the shared PostgreSQL test cluster
(test/support/pg_cluster.sh; ORC_TEST_PG_DIR names its folder), dropped when the test ends. Run
by hand with ORC_TEST_STORE=postgres and no ORC_TEST_PG_DIR, it starts a private cluster.
"""
import atexit
import itertools
import os
import subprocess
import tempfile

_counter = itertools.count(1)
_cluster = None


def _psql(cluster, port, sql):
    subprocess.run(["psql", "-X", "-q", "-h", cluster, "-p", port, "-U", "postgres",
                    "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-c", sql],
                   check=True, capture_output=True, timeout=120)


def _shared_cluster():
    global _cluster
    if _cluster is None:
        cluster = os.environ.get("ORC_TEST_PG_DIR")
        if not cluster:
            script = os.path.join(os.environ["ORC_SOURCE_DIR"], "test/support/pg_cluster.sh")
            cluster = tempfile.mkdtemp(prefix="orc-pg.")
            subprocess.run(["/bin/sh", script, "start", cluster], check=True, timeout=300)
            atexit.register(lambda: subprocess.run(["/bin/sh", script, "remove", cluster]))
        with open(os.path.join(cluster, "port")) as f:
            _cluster = (cluster, f.read().strip())
    return _cluster


def is_postgres():
    return os.environ.get("ORC_TEST_STORE") == "postgres"


def database(folder):
    """The --db value for a daemon whose files live in folder."""
    if not is_postgres():
        return os.path.join(folder, "orchestra.db")
    cluster, port = _shared_cluster()
    name = "py_%d_%d" % (os.getpid(), next(_counter))
    _psql(cluster, port, "CREATE DATABASE %s TEMPLATE template0 ENCODING 'UTF8' "
          "LC_COLLATE 'C' LC_CTYPE 'C'" % name)
    atexit.register(lambda: _psql(cluster, port, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % name))
    return "postgresql://postgres@/%s?host=%s&port=%s" % (name, cluster, port)
