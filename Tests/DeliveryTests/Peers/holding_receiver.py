#!/usr/bin/python3
"""A loopback webhook receiver that holds every request open until the test releases it (standard library only).

Usage: holding_receiver.py

Listens on 127.0.0.1 with an OS-chosen port and prints the port as its first stdout line. Every POST (except to
/_release) is printed, as it arrives, as one JSON line {"n", "key" (its Idempotency-Key), "events" (the body's event
ids), "held" (how many requests are held open now, this one included)} and then held, unanswered, until the test
releases it with a POST to /_release whose body is {"event": ID, "status": 200, "retry_after": "5"} (status and
retry_after optional): the oldest held request whose first event is ID is answered with that status (200
{"errcode":0,"errmsg":"ok"} by default). /_release answers 200 {"released": true}, or 404 when no held request has that
event. So "held" counts exactly the requests the client has in flight at the receiver, without any timing.
It exits when stdin closes, so a test process that dies cannot leave it behind.
"""

import http.server
import json
import socketserver
import sys
import threading

lock = threading.Lock()
held = []  # [(first event id, threading.Event, answer holder)], oldest first
count = 0


def emit(line):
    with lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def answer(self, status, payload, retry_after=None):
        try:
            self.send_response(status)
            if retry_after is not None:
                self.send_header("Retry-After", retry_after)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            pass

    def do_POST(self):
        global count
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode("utf-8", "replace")
        if self.path == "/_release":
            order = json.loads(body)
            with lock:
                entry = next((e for e in held if e[0] == order["event"]), None)
                if entry is not None:
                    held.remove(entry)
            if entry is None:
                self.answer(404, b'{"released": false}')
                return
            entry[2].append(order)
            entry[1].set()
            self.answer(200, b'{"released": true}')
            return
        try:
            events = [event.get("id", "") for event in json.loads(body).get("events", [])]
        except (ValueError, AttributeError):
            events = []
        release = threading.Event()
        holder = []
        with lock:
            count += 1
            number = count
            held.append((events[0] if events else "", release, holder))
            holding = len(held)
            # Printed under the lock: the lines' "held" counts are in arrival order.
            sys.stdout.write(json.dumps({
                "n": number, "key": self.headers.get("Idempotency-Key", ""), "events": events, "held": holding,
            }) + "\n")
            sys.stdout.flush()
        release.wait()
        order = holder[0] if holder else {}
        status = order.get("status", 200)
        payload = json.dumps({"errcode": 0, "errmsg": "ok"} if status == 200 else {"error": status}).encode()
        self.answer(status, payload, order.get("retry_after"))


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


def main():
    server = Server(("127.0.0.1", 0), Handler)
    emit(str(server.server_address[1]))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
