#!/usr/bin/python3
"""smtp_sink.py: a small SMTP server on loopback that keeps what it receives, for the tests and
the demo of orchestra-notify (Python's standard library only: smtpd is gone in 3.12).

Each accepted message is appended to --out as one JSON line {"from", "to", "subject", "body",
"message_id", "seq", "date"} (the body decoded from its transfer encoding), and with --print
shown on stdout. Failures on demand: --fail-first N answers the first N messages' DATA with
--fail-code (default 451: a temporary failure), --reject ADDR refuses that recipient with 550
(for good). --port-file gets the port once the server listens (with --port 0: a free one).
"""
import argparse
import email
import email.policy
import json
import socketserver
import sys
import threading

LOCK = threading.Lock()
STATE = {"messages": 0}


def record(args, sender, rcpts, data):
    msg = email.message_from_bytes(data, policy=email.policy.default)
    body = msg.get_body(preferencelist=("plain",))
    doc = {
        "from": sender,
        "to": rcpts,
        "subject": str(msg.get("Subject", "")),
        "body": body.get_content().replace("\r\n", "\n") if body is not None else "",
        "message_id": str(msg.get("Message-ID", "")),
        "seq": int(msg.get("X-Orchestra-Event-Seq", "0") or 0),
        "date": str(msg.get("Date", "")),
    }
    with LOCK:
        with open(args.out, "a", encoding="utf-8") as f:
            f.write(json.dumps(doc) + "\n")
            f.flush()
        if args.print:
            print("---- e-mail to %s\nSubject: %s\n\n%s" % (", ".join(rcpts), doc["subject"],
                                                           doc["body"].rstrip()), flush=True)


class Handler(socketserver.StreamRequestHandler):
    def reply(self, text):
        self.wfile.write((text + "\r\n").encode())
        self.wfile.flush()

    def read_data(self):
        lines = []
        while True:
            line = self.rfile.readline(1 << 20)
            if not line:
                return None
            if line in (b".\r\n", b".\n"):
                return b"".join(lines)
            if line.startswith(b"."):
                line = line[1:]  # dot-stuffing
            lines.append(line)

    def handle(self):
        args = self.server.args
        self.reply("220 sink ESMTP ready")
        sender, rcpts = "", []
        while True:
            line = self.rfile.readline(65536)
            if not line:
                return
            cmd = line.decode("utf-8", "replace").strip()
            verb = cmd.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.reply("250-sink\r\n250-8BITMIME\r\n250 SIZE 10485760")
            elif verb == "HELO":
                self.reply("250 sink")
            elif verb == "MAIL":
                sender, rcpts = cmd.split(":", 1)[1].strip().strip("<>").split(">")[0], []
                self.reply("250 OK")
            elif verb == "RCPT":
                addr = cmd.split(":", 1)[1].strip().strip("<>").split(">")[0]
                if addr in args.reject:
                    self.reply("550 5.1.1 no such mailbox: " + addr)
                else:
                    rcpts.append(addr)
                    self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 end with .")
                data = self.read_data()
                if data is None:
                    return
                with LOCK:
                    STATE["messages"] += 1
                    n = STATE["messages"]
                if n <= args.fail_first:
                    self.reply("%d try again later" % args.fail_code)
                else:
                    record(args, sender, rcpts, data)
                    self.reply("250 OK queued")
            elif verb in ("RSET", "NOOP"):
                sender, rcpts = "", []
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 command not implemented")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    p.add_argument("--out", required=True)
    p.add_argument("--fail-first", type=int, default=0)
    p.add_argument("--fail-code", type=int, default=451)
    p.add_argument("--reject", action="append", default=[])
    p.add_argument("--print", action="store_true")
    args = p.parse_args()
    srv = Server(("127.0.0.1", args.port), Handler)
    srv.args = args
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(str(srv.server_address[1]))
        import os
        os.rename(args.port_file + ".tmp", args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
