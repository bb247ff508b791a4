#!/usr/bin/python3
"""A loopback SMTP server for the Curl tests, built on aiosmtpd (Debian: python3-aiosmtpd).

Usage: smtp_peer.py [--starttls DIR | --implicit DIR]

Listens on 127.0.0.1 with an OS-chosen port and prints the port as its first stdout line. Every accepted message
is printed as one JSON line: {"mail_from": ..., "rcpt_tos": [...], "data_b64": base64 of the DATA bytes}.
Recipients whose local part starts with "reject" are refused with 550. Exits when stdin closes.

With --starttls or --implicit it makes a certificate for the name localhost in DIR (see peer_tls.py), offers
STARTTLS (required) or speaks TLS from the start, and requires AUTH as user "obwatch" with password "s3cret-pw".
"""

import asyncio
import base64
import json
import os
import ssl
import sys
import threading

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

import peer_tls

USERNAME = b"obwatch"
PASSWORD = b"s3cret-pw"


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().startswith("reject"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "data_b64": base64.b64encode(envelope.original_content or envelope.content).decode("ascii"),
        }
        sys.stdout.write(json.dumps(record) + "\n")
        sys.stdout.flush()
        return "250 Message accepted"


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == USERNAME and auth_data.password == PASSWORD
    # handled=False makes aiosmtpd send the 535 reply itself; by default it would send nothing.
    return AuthResult(success=ok, handled=False, auth_data=auth_data)


def exit_when_stdin_closes():
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)


async def serve(mode, directory):
    loop = asyncio.get_running_loop()
    handler = Handler()
    context = None
    if mode is not None:
        cert, key = peer_tls.make_certificates(directory)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)

    def factory():
        # An explicit hostname avoids a reverse-DNS lookup (socket.getfqdn) on machines without DNS.
        options = dict(hostname="localhost", ident="curl-tests")
        if mode == "starttls":
            options.update(
                tls_context=context, require_starttls=True, authenticator=authenticate, auth_required=True
            )
        elif mode == "implicit":
            # The transport is already TLS, so AUTH over it is fine.
            options.update(authenticator=authenticate, auth_required=True, auth_require_tls=False)
        return SMTP(handler, **options)

    server = await loop.create_server(
        factory, host="127.0.0.1", port=0, ssl=context if mode == "implicit" else None
    )
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write("%d\n" % port)
    sys.stdout.flush()
    await server.serve_forever()


if __name__ == "__main__":
    arguments = sys.argv[1:]
    mode = None
    directory = None
    if arguments and arguments[0] in ("--starttls", "--implicit"):
        mode = arguments[0][2:]
        directory = arguments[1]
    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    asyncio.run(serve(mode, directory))
