#!/usr/bin/env python3
"""A loopback webhook receiver for the benchmarks: answers every POST with 200 and records, per request, the
arrival time (time.monotonic(), the same CLOCK_MONOTONIC every process on the machine reads, and time.time()),
the path and the body.

As a library:  rec = Receiver(); rec.start(); ... rec.records(); rec.stop()
As a program:  receiver.py [--listen 127.0.0.1:0] [--out FILE.jsonl]
    prints `listening on http://HOST:PORT` once it accepts requests, then one JSON line per request to --out (or
    stdout): {"mono": ..., "wall": ..., "path": ..., "body": "..."}; GET /_records answers every record so far as a
    JSON array. Stops on SIGINT or SIGTERM.
"""
import argparse
import http.server
import json
import signal
import sys
import threading
import time


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 4096  # hundreds of targets' deliveries can connect at once


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real webhook endpoint would allow
    disable_nagle_algorithm = True  # else the body waits for the client's delayed ACK of the headers (40 ms)

    def do_POST(self):
        mono, wall = time.monotonic(), time.time()  # arrival: the request line and headers are in
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        self.server.owner._record(mono, wall, self.path, body)
        self._answer(200, b'{"ok":true}')

    def do_GET(self):
        if self.path == "/_records":
            data = json.dumps([r.as_json() for r in self.server.owner.records()]).encode()
            self._answer(200, data)
        else:
            self._answer(404, b'{"ok":false}')

    def _answer(self, status, data):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self._headers_buffer.append(b"\r\n" + data)  # headers and body in one write
        self.flush_headers()

    def log_message(self, format, *args):  # quiet: thousands of requests
        pass


class Record:
    __slots__ = ("mono", "wall", "path", "body")

    def __init__(self, mono, wall, path, body):
        self.mono, self.wall, self.path, self.body = mono, wall, path, body

    def as_json(self):
        return {"mono": self.mono, "wall": self.wall, "path": self.path,
                "body": self.body.decode("utf-8", "replace")}


class Receiver:
    def __init__(self, host="127.0.0.1", port=0, on_record=None):
        self._lock = threading.Lock()
        self._records = []
        self._changed = threading.Condition(self._lock)
        self._on_record = on_record
        self._server = _Server((host, port), _Handler)
        self._server.owner = self
        self._thread = None

    @property
    def url(self):
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self):
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="receiver", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def _record(self, mono, wall, path, body):
        record = Record(mono, wall, path, body)
        with self._changed:
            self._records.append(record)
            self._changed.notify_all()
        if self._on_record:
            self._on_record(record)

    def records(self):
        with self._lock:
            return list(self._records)

    def count(self):
        with self._lock:
            return len(self._records)

    def clear(self):
        with self._lock:
            self._records.clear()

    def wait_for(self, predicate, timeout):
        """Waits until predicate(records) is true or timeout seconds pass; returns whether it became true."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self._records):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 0.1))
            return True


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listen", default="127.0.0.1:0")
    parser.add_argument("--out")
    args = parser.parse_args()
    host, _, port = args.listen.rpartition(":")
    out = open(args.out, "a", buffering=1) if args.out else sys.stdout
    out_lock = threading.Lock()

    def write(record):
        with out_lock:
            out.write(json.dumps(record.as_json()) + "\n")
            out.flush()

    receiver = Receiver(host or "127.0.0.1", int(port or 0), on_record=write).start()
    print(f"listening on {receiver.url}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    receiver.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
