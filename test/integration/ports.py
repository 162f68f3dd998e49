"""Loopback ports for the daemons under test, reserved against every other test run in parallel.

bind(0) alone is not enough: ctest runs tests in parallel and the kernel can hand the same
ephemeral port to two of them between one's probe and its daemon's listen. As the C harness does
(orc_test_free_port in test/support/harness.c), a port is taken from below the ephemeral range and
reserved by a lock file under $TMPDIR/orc-test-ports, held with flock until this process exits.
"""

import fcntl
import os
import random
import socket
import tempfile

_HELD = []  # the lock files' descriptors, open (and locked) until the process exits


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _reserve(directory, port):
    fd = os.open(os.path.join(directory, str(port)), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    if _bindable(port):
        _HELD.append(fd)
        return True
    os.close(fd)
    return False


def free_port():
    """A loopback TCP port free now and kept from other tests until this process exits."""
    directory = os.path.join(tempfile.gettempdir(), "orc-test-ports")
    os.makedirs(directory, mode=0o1777, exist_ok=True)
    high = _ephemeral_low()
    low = high // 2
    span = high - low
    first = random.randrange(span)
    for i in range(span):
        port = low + (first + i) % span
        if _reserve(directory, port):
            return port
    raise RuntimeError("no free loopback port in %d-%d" % (low, high - 1))
