#!/usr/bin/python3
"""Loopback peers for the chaos tests (standard library only).

Usage:
  chaos_peer.py proxy UPSTREAM_PORT   a pass-through in front of `obwatch simulate`
  chaos_peer.py hook                  a generic-webhook receiver

Each listens on 127.0.0.1 with an OS-chosen port and prints {"kind": "port", "port": N} first. Every later line is one
JSON object; lines are written under one lock, so their order is the order in which things happened.

proxy: prints {"kind": "poll"} when a `/api/v1/task/dag/unfinish` request arrives, before it is forwarded, and
{"kind": "answered", "path", "status"} after the answer went back; {"kind": "request", "path"} for other paths. A
poll line printed after an "advanced" line was therefore answered from the advanced scenario. Commands on stdin:
"advance TIME" (POST /_simulator/advance?to=TIME upstream, then {"kind": "advanced", "status"}), "mark" (prints
{"kind": "mark"}).

hook: answers every POST 200, then prints {"kind": "delivered", "headers", "body"}. After the stdin command "hold",
the next POST is not answered (it prints {"kind": "holding"} at once): it prints {"kind": "held", ...} and waits for
"release" (then answers 503).

Both exit when stdin closes, so a test process that dies cannot leave them behind.
"""

import http.client
import http.server
import json
import os
import socketserver
import sys
import threading

lock = threading.Lock()
hold_next = threading.Event()
release = threading.Event()


def emit(obj):
    with lock:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def make_proxy(upstream_port):
    class Proxy(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def forward(self):
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else None
            poll = self.path.startswith("/api/v1/task/dag/unfinish")
            emit({"kind": "poll"} if poll else {"kind": "request", "path": self.path})
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            try:
                connection = http.client.HTTPConnection("127.0.0.1", upstream_port)
                connection.request(self.command, self.path, body=body, headers=headers)
                answer = connection.getresponse()
                payload = answer.read()
                status = answer.status
                answer_headers = [
                    (k, v)
                    for k, v in answer.getheaders()
                    if k.lower() not in ("transfer-encoding", "connection", "content-length")
                ]
                connection.close()
            except Exception as error:  # the simulator went away: the client sees a 502
                status, payload, answer_headers = 502, str(error).encode(), []
            try:
                self.send_response(status)
                for name, value in answer_headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                self.wfile.flush()
            except OSError:
                return
            emit({"kind": "answered", "path": self.path, "status": status})

        do_GET = forward
        do_POST = forward

    return Proxy


class Hook(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace")
        headers = {k.lower(): v for k, v in self.headers.items()}
        if hold_next.is_set():
            hold_next.clear()
            release.clear()
            emit({"kind": "held", "headers": headers, "body": body})
            release.wait(600)
            status = 503
        else:
            status = 200
        answer = b'{"ok":true}'
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
            self.wfile.flush()
        except OSError:
            return
        if status == 200:
            emit({"kind": "delivered", "headers": headers, "body": body})


def commands(upstream_port):
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "advance" and upstream_port is not None:
            connection = http.client.HTTPConnection("127.0.0.1", upstream_port)
            connection.request("POST", "/_simulator/advance?to=" + words[1])
            answer = connection.getresponse()
            answer.read()
            connection.close()
            emit({"kind": "advanced", "to": words[1], "status": answer.status})
        elif words[0] == "mark":
            emit({"kind": "mark"})
        elif words[0] == "hold":
            hold_next.set()
            emit({"kind": "holding"})
        elif words[0] == "release":
            release.set()
    os._exit(0)


def main():
    role = sys.argv[1]
    upstream = int(sys.argv[2]) if role == "proxy" else None
    handler = make_proxy(upstream) if role == "proxy" else Hook
    server = Server(("127.0.0.1", 0), handler)
    emit({"kind": "port", "port": server.server_address[1]})
    threading.Thread(target=commands, args=(upstream,), daemon=True).start()
    server.serve_forever()


main()
