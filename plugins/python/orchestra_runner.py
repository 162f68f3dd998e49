"""orchestra_runner: a long-lived Python process of orchestra-executor that runs upstream-style
Python functions (machine steps, creation policies, abort hooks, sample-data loads) one call at
a time, as upstream's worker process called them (plugins/README.md "Python steps").

    python3 orchestra_runner.py --memory-mb MB [--path DIR]...

The executor (plugins/executor/python_runner.c) starts it, sends calls and reads replies in
frames on its stdin and stdout, as it does with its C plugin hosts (plugins/executor/host.h):
a 4-byte big-endian payload length, a kind byte, the payload.
 - executor to runner, 'J': "<function>\\0<call>", call a JSON object {"kind", "function",
   "project_data", "prerequisites", "context"};
 - runner to executor, 'R': {"status": "ok", "output": {...}} or {"status": "fail",
   "retryable": b, "error": "..."}; 'L': the same, and the runner exits right after (it came
   within an eighth of its memory limit: the next call gets a fresh runner).
The runner moves the protocol off its stdin and stdout first (stdin reads /dev/null, stdout
writes to stderr, the executor's log), so a function that prints cannot break it. Modules stay
imported between calls. Processes a function starts are killed when its call ends.
"""

import ctypes
import importlib
import json
import logging
import os
import resource
import signal
import struct
import sys
import traceback

# The most bytes of a call (the executor caps a job's input at 8 MiB, plus the name).
REQUEST_MAX = (8 << 20) + 4096
# How many lines of a traceback make the error of a failed call.
TRACEBACK_LINES = 4
# An error message keeps this many characters (its end: the exception is last); the
# executor reports at most 511 bytes.
ERROR_MAX = 480
PR_SET_CHILD_SUBREAPER = 36

log = logging.getLogger("orchestra.runner")


class CallError(Exception):
    """A failure that is not the function's own exception (a bad return value, a bad call)."""

    def __init__(self, message, retryable):
        super().__init__(message)
        self.retryable = retryable


# ---- frames ---------------------------------------------------------------------------------


def read_exact(fd, n):
    chunks = []
    while n > 0:
        chunk = os.read(fd, n)
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_call(fd):
    """One 'J' frame's payload; None at the end of the input. Raises ValueError on a bad frame."""
    header = read_exact(fd, 5)
    if header is None:
        return None
    length, kind = struct.unpack(">IB", header)
    if kind != ord("J") or length > REQUEST_MAX:
        raise ValueError("not a call frame")
    payload = read_exact(fd, length)
    if payload is None:
        raise ValueError("the input ended inside a frame")
    return payload


def write_reply(fd, kind, reply):
    data = json.dumps(reply, ensure_ascii=False, allow_nan=False).encode("utf-8")
    frame = struct.pack(">IB", len(data), ord(kind)) + data
    while frame:
        n = os.write(fd, frame)
        frame = frame[n:]


# ---- memory, strays --------------------------------------------------------------------------


def status_kb(key):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return -1


def limit_memory(mb):
    """RLIMIT_DATA as the plugin hosts set it: an allocation past it fails (MemoryError)."""
    if mb <= 0:
        return 0
    if status_kb("VmData:") >= mb * 1024:
        log.warning("its memory is not limited to %d MB: it maps more already", mb)
        return 0
    limit = mb << 20
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    return mb * 1024


def near_limit(limit_kb):
    if limit_kb <= 0:
        return False
    near = limit_kb - limit_kb // 8
    return status_kb("VmHWM:") >= near or status_kb("VmData:") >= near


def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def children():
    pids = []
    try:
        for tid in os.listdir("/proc/self/task"):
            with open("/proc/self/task/%s/children" % tid) as f:
                pids.extend(int(p) for p in f.read().split())
    except (OSError, ValueError):
        pass
    return pids


def kill_strays():
    """Kills what a function left running; the runner is their subreaper, so the children of a
    killed child come back to it and go in the next round."""
    for _ in range(64):
        pids = children()
        if not pids:
            return
        for pid in pids:
            for target in (-pid, pid):
                try:
                    os.kill(target, signal.SIGKILL)
                except OSError:
                    pass
        for pid in pids:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
    log.warning("processes started by a function keep coming back")


# ---- calls -----------------------------------------------------------------------------------


def locate(path):
    """The object a dotted path names, as upstream's pydoc.locate found it: the longest
    importable module, then attributes. A path that names nothing is a CallError (retryable:
    the code may still be on its way to this machine); a module that fails to import for
    another reason raises that error, whose traceback is the function's own."""
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        name = ".".join(parts[:cut])
        try:
            obj = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name is not None and (name == e.name or name.startswith(e.name + ".")):
                continue
            raise
        for attr in parts[cut:]:
            if not hasattr(obj, attr):
                raise CallError("cannot import %s: %s has no attribute %r"
                                % (path, ".".join(parts[:cut]), attr), True)
            obj = getattr(obj, attr)
        return obj
    raise CallError("cannot import %s: no module named %r" % (path, parts[0]), True)


def resolve(spec):
    """The function of {"path", "kwargs"} (HEAD) or {"module", "name"} (DOC), and its kwargs."""
    if not isinstance(spec, dict):
        raise CallError("the function is not described", False)
    kwargs = spec.get("kwargs") or {}
    if not isinstance(kwargs, dict):
        raise CallError("kwargs must be an object", False)
    if isinstance(spec.get("path"), str) and spec["path"]:
        fn = locate(spec["path"])
    elif isinstance(spec.get("module"), str) and isinstance(spec.get("name"), str):
        fn = locate(spec["module"] + "." + spec["name"])
    else:
        raise CallError('the function needs {"path"} or {"module", "name"}', False)
    if not callable(fn):
        raise CallError("%s is not callable" % (spec.get("path") or spec.get("name")), False)
    return fn, kwargs


def as_object(result, what):
    """The reply's output for a function's return value: a dict that is JSON."""
    if not isinstance(result, dict):
        raise CallError(
            "%s returned %s, not a dict (a JSON object)" % (what, type(result).__name__), False)
    try:
        json.dumps(result, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError) as e:
        raise CallError("%s returned a dict that is not JSON: %s" % (what, e), False)
    return result


def run_call(call):
    """Runs one call (kinds as orchestra.proto's Job.kind); returns the output object."""
    kind = call.get("kind") or "step"
    fn, kwargs = resolve(call.get("function"))
    if kind == "step":
        # upstream's machine_tasks.execute: fn(project_data, prerequisites, **kwargs)
        result = fn(call.get("project_data") or {}, call.get("prerequisites") or {}, **kwargs)
        return as_object(result, "the function")
    if kind == "creation_policy":
        # upstream's _check_creation_policy: fn(prerequisites, project_data, **kwargs), truthy
        result = fn(call.get("prerequisites") or {}, call.get("project_data") or {}, **kwargs)
        return {"create": bool(result)}
    if kind == "abort_completion":
        from orchestra import _compat

        fn(_compat.project_from(call.get("context") or {}), **kwargs)
        return {}
    if kind == "sample_data":
        from orchestra import _compat

        with _compat.sample_session(call.get("context") or {}) as session:
            fn(session.workflow_version, **kwargs)
            return session.record()
    raise CallError("unknown kind of call %r" % kind, False)


def traceback_tail(exc):
    """The traceback's last lines: where the exception was raised and the exception. The
    lines Python 3.11 adds under a frame to point at the expression (^^^^) are left out."""
    lines = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).splitlines()
    lines = [line for line in lines if line.strip() and line.strip().strip("^~") != ""]
    return "\n".join(lines[-TRACEBACK_LINES:])[-ERROR_MAX:]


def handle(payload):
    """The reply to one call frame."""
    name, _, body = payload.partition(b"\0")
    try:
        call = json.loads(body.decode("utf-8"))
        if not isinstance(call, dict):
            raise ValueError("the call is not an object")
    except (UnicodeDecodeError, ValueError) as e:
        return {"status": "fail", "retryable": False, "error": "bad call: %s" % e}
    try:
        return {"status": "ok", "output": run_call(call)}
    except CallError as e:
        return {"status": "fail", "retryable": e.retryable, "error": str(e)[:ERROR_MAX]}
    except MemoryError:
        return {"status": "fail", "retryable": True, "error": "MemoryError"}
    except BaseException as e:  # a step's own exception (or exit): the attempt fails
        # A load function's error would only repeat: upstream printed it and stopped.
        retryable = call.get("kind") != "sample_data"
        log.info("%s failed: %s", name.decode("utf-8", "replace"), type(e).__name__)
        return {"status": "fail", "retryable": retryable, "error": traceback_tail(e)}


# ---- the process -----------------------------------------------------------------------------


def detach_stdio():
    """The protocol moves to new descriptors; stdin reads /dev/null, stdout goes to stderr."""
    req, rep = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    return req, rep


def parse_args(argv):
    memory_mb, paths = 0, []
    i = 1
    while i < len(argv):
        if argv[i] == "--memory-mb" and i + 1 < len(argv):
            memory_mb = int(argv[i + 1])
        elif argv[i] == "--path" and i + 1 < len(argv):
            paths.append(argv[i + 1])
        else:
            raise SystemExit("usage: orchestra_runner.py --memory-mb MB [--path DIR]...")
        i += 2
    return memory_mb, paths


def setup_path(paths):
    """sys.path: the compatibility package first (so that `orchestra` and `django` are ours),
    then the --python-path folders, then what Python had (PYTHONPATH, the system)."""
    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or ".") != here]
    sys.path[:] = [os.path.join(here, "compat")] + [os.path.abspath(p) for p in paths] + rest


def main(argv):
    memory_mb, paths = parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="python runner %(process)d: %(levelname)s %(name)s: %(message)s")
    req, rep = detach_stdio()
    sys.stdout = sys.stderr
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        log.warning("not a subreaper: processes started by functions may outlive their call")
    setup_path(paths)
    limit_kb = limit_memory(memory_mb)
    reset_peak()
    while True:
        try:
            payload = read_call(req)
        except ValueError as e:
            log.error("the protocol broke: %s", e)
            return 3
        if payload is None:
            kill_strays()
            return 0
        reply = handle(payload)
        kill_strays()
        over = near_limit(limit_kb)
        if over and reply.get("status") == "fail":
            reply = {"status": "fail", "retryable": True,
                     "error": "function exceeded the memory limit of %d MB (%s)"
                              % (memory_mb, reply.get("error", "failed"))}
        try:
            write_reply(rep, "L" if over else "R", reply)
        except (TypeError, ValueError) as e:  # cannot happen: outputs were checked
            write_reply(rep, "R", {"status": "fail", "retryable": False, "error": str(e)})
        if over:
            return 0
        reset_peak()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
