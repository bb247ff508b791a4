#!/usr/bin/python3
"""A loopback webhook receiver for the delivery tests (standard library only).

Usage: webhook_receiver.py SCRIPT_JSON

Listens on 127.0.0.1 with an OS-chosen port and prints the port as its first stdout line. Every POST takes the next
answer from the script (a JSON list), then, when the script is used up, answers 200 {"errcode":0,"errmsg":"ok"}.
An answer is an object: {"status": 500}, {"status": 429, "retry_after": "30"}, {"hang": true} (never answers: holds the
connection until the client closes it), {"status": 200, "body": {"errcode": 310000, "errmsg": "..."}} or {"status": 200, "text": "ok"}.
Each request is printed as one JSON line: {"n", "method", "path", "headers" (lower-case names), "body", "answer"}; a GET
is answered and printed like a POST.
It exits when stdin closes, so a test process that dies cannot leave it behind.
"""

import http.server
import json
import socketserver
import sys
import threading

lock = threading.Lock()
script = json.loads(sys.argv[1]) if len(sys.argv) > 1 else []
count = 0


def emit(line):
    with lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def do_POST(self):
        global count
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode("utf-8", "replace")
        with lock:
            count += 1
            number = count
            answer = script.pop(0) if script else {"status": 200, "body": {"errcode": 0, "errmsg": "ok"}}
        headers = {name.lower(): value for name, value in self.headers.items()}
        emit(json.dumps({"n": number, "method": self.command, "path": self.path, "headers": headers, "body": body, "answer": answer}))
        if answer.get("hang"):
            # Never answer: hold the connection until the client gives up and closes it.
            self.rfile.read(1)
            self.close_connection = True
            return
        status = answer.get("status", 200)
        if "text" in answer:
            payload = answer["text"].encode()
            content_type = "text/plain"
        else:
            payload = json.dumps(answer.get("body", {})).encode()
            content_type = "application/json"
        try:
            self.send_response(status)
            if "retry_after" in answer:
                self.send_header("Retry-After", answer["retry_after"])
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            pass

    # A heartbeat ping may be a GET: answered and printed like a POST (with an empty body).
    do_GET = do_POST


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    server = Server(("127.0.0.1", 0), Handler)
    emit(str(server.server_address[1]))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
