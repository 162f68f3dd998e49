#!/usr/bin/python3
"""webhook_receiver.py: an HTTP receiver on loopback for orchestra-notify's webhooks, for the
tests and the demo. It checks each delivery's signature the way a real receiver should:

    t, v1 = the Orchestra-Signature header's fields
    expected = hex(HMAC-SHA256(secret, f"{t}.{raw body}"))
    accept when compare_digest(expected, v1) and |now - t| <= 300

and appends one JSON line per request to --out: {"seq" (Orchestra-Event-Seq), "status" (what
it answered), "valid" (signature), "fresh" (t within 300 s), "event" (the body)}. Answers:
--fail-first N answers the first N requests with --fail-status (default 500), then 200;
--status S answers S always; --stall S records the request (status 0) and answers nothing
for S seconds, then closes the connection. A bad signature gets 400. With --print each accepted
delivery is shown on stdout. --port-file gets the port once it listens (with --port 0: a free one).
"""
import argparse
import hashlib
import hmac
import http.server
import json
import os
import sys
import threading
import time

LOCK = threading.Lock()
STATE = {"requests": 0}


def verify(secret, header, body):
    """Returns (valid, fresh) for an Orchestra-Signature header over body (bytes)."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    t, v1 = fields.get("t", ""), fields.get("v1", "")
    if not t.isdigit() or not v1:
        return False, False
    expected = hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, v1), abs(time.time() - int(t)) <= 300


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as libcurl expects

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        args = self.server.args
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        valid, fresh = verify(args.secret, self.headers.get("Orchestra-Signature", ""), body)
        with LOCK:
            STATE["requests"] += 1
            n = STATE["requests"]
        if not valid:
            status = 400
        elif args.status:
            status = args.status
        elif n <= args.fail_first:
            status = args.fail_status
        else:
            status = 200
        try:
            event = json.loads(body)
        except ValueError:
            event = None
        if args.stall:
            status = 0
        doc = {"seq": int(self.headers.get("Orchestra-Event-Seq", "0") or 0), "status": status,
               "valid": valid, "fresh": fresh, "event": event}
        with LOCK:
            with open(args.out, "a", encoding="utf-8") as f:
                f.write(json.dumps(doc) + "\n")
                f.flush()
            if args.print and status == 200:
                print("---- webhook delivery (signature %s)\nOrchestra-Event-Seq: %s\n%s"
                      % ("valid" if valid else "INVALID", doc["seq"], body.decode()), flush=True)
        if args.stall:
            time.sleep(args.stall)
            self.close_connection = True
            return
        reply = b"ok\n" if status == 200 else b"not now\n"
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    p.add_argument("--secret", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--fail-first", type=int, default=0)
    p.add_argument("--fail-status", type=int, default=500)
    p.add_argument("--status", type=int, default=0)
    p.add_argument("--stall", type=float, default=0)
    p.add_argument("--print", action="store_true")
    args = p.parse_args()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.args = args
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(str(srv.server_address[1]))
        os.rename(args.port_file + ".tmp", args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
