#!/usr/bin/python3
"""A loopback HTTP server for the Curl tests (standard library only).

Usage: http_peer.py [--unix PATH] [--tls DIR]

Listens on 127.0.0.1 with an OS-chosen port and prints the port as its first stdout line, or listens on a unix
socket and prints "ready". With --tls it first makes a self-signed certificate for the name localhost with
openssl (DIR/cert.pem, DIR/key.pem; the certificate is its own CA; see peer_tls.py) and serves HTTPS.
It exits when stdin closes, so a test process that dies cannot leave it behind.

Routes:
  /echo            the request as JSON: method, path, query, headers (ordered [name, value] pairs), body, and
                   client (the client's address, to see connection reuse)
  /status/N        an answer with status N
  /hang            prints "hang <X-Marker header>" to stdout, then never answers (returns when the client leaves)
  /headers?a=b     one response header per query parameter, plus X-Repeated twice
  /bytes?n=N       N bytes of "x"
  /redirect?to=U   302 with Location: U
  /drop            an answer that keeps the connection open by HTTP/1.1's rules, after which the server closes it
                   unannounced (as an agent that restarts or times idle connections out does)
"""

import http.server
import json
import os
import socket
import socketserver
import ssl
import sys
import threading
import urllib.parse

import peer_tls

stdout_lock = threading.Lock()


def emit(line):
    with stdout_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def address_string(self):
        # Unix-socket peers have no (host, port) tuple.
        if isinstance(self.client_address, tuple) and self.client_address:
            return str(self.client_address[0])
        return "unix"

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status, body, content_type="application/octet-stream", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _route(self):
        parsed = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qsl(parsed.query, keep_blank_values=True)
        body = self._body()
        path = parsed.path
        if path == "/echo":
            payload = {
                "method": self.command,
                "path": path,
                "query": parsed.query,
                "headers": [[name, value] for name, value in self.headers.items()],
                "body": body.decode("utf-8", errors="replace"),
                "client": self.address_string() + ":" + str(self.client_address[1] if isinstance(self.client_address, tuple) else ""),
            }
            self._send(200, json.dumps(payload).encode(), "application/json")
        elif path.startswith("/status/"):
            status = int(path[len("/status/"):])
            self._send(status, ("status %d\n" % status).encode(), "text/plain")
        elif path == "/hang":
            emit("hang " + (self.headers.get("X-Marker") or ""))
            # Never answer; block until the client goes away so the thread ends with the test.
            try:
                while self.connection.recv(4096):
                    pass
            except OSError:
                pass
            self.close_connection = True
        elif path == "/headers":
            extra = list(query) + [("X-Repeated", "one"), ("X-Repeated", "two")]
            self._send(200, b"headers\n", "text/plain", extra)
        elif path == "/redirect":
            self._send(302, b"moved\n", "text/plain", [("Location", dict(query).get("to", "/"))])
        elif path == "/bytes":
            count = int(dict(query).get("n", "0"))
            self._send(200, b"x" * count, "application/octet-stream")
        elif path == "/drop":
            self._send(200, b"dropped\n", "text/plain")
            self.close_connection = True
        else:
            self._send(404, b"not found\n", "text/plain")

    do_GET = _route
    do_POST = _route
    do_PUT = _route
    do_PATCH = _route
    do_DELETE = _route
    do_HEAD = _route
    do_OPTIONS = _route


class TCPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    request_queue_size = 1024


def exit_when_stdin_closes():
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)


def main(argv):
    unix_path = None
    tls = None
    index = 0
    while index < len(argv):
        if argv[index] == "--unix":
            unix_path = argv[index + 1]
            index += 2
        elif argv[index] == "--tls":
            tls = peer_tls.make_certificates(argv[index + 1])
            index += 2
        else:
            raise SystemExit("unknown argument " + argv[index])

    if unix_path is not None:
        if os.path.exists(unix_path):
            os.unlink(unix_path)
        server = UnixServer(unix_path, Handler)
        first_line = "ready"
    else:
        server = TCPServer(("127.0.0.1", 0), Handler)
        first_line = str(server.server_address[1])
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls[0], tls[1])
        server.socket = context.wrap_socket(server.socket, server_side=True)

    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    emit(first_line)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
