#!/usr/bin/python3
"""A loopback SMTP relay for the Delivery mail tests, built on aiosmtpd (Debian: python3-aiosmtpd).

Usage: mail_smtp_peer.py [--starttls DIR | --implicit DIR]

Prints its port as the first stdout line, then one JSON line per accepted message: the envelope, the raw bytes
(base64) and what Python's `email` package makes of them (headers decoded and unfolded, text parts decoded, every
defect it found). Recipients whose local part starts with "reject" get 550, "tempfail" 451. Exits when stdin closes.

Without an option it offers no STARTTLS at all. With --starttls (STARTTLS required) or --implicit (TLS from the
first byte) it uses a fresh certificate for localhost in DIR and requires AUTH as obwatch / s3cret-pw.
"""

import asyncio
import base64
import email
import email.policy
import json
import os
import ssl
import sys
import threading

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

import mail_peer_tls

USERNAME = b"obwatch"
PASSWORD = b"s3cret-pw"


def describe(data):
    message = email.message_from_bytes(data, policy=email.policy.default)
    headers = {}
    for name, value in message.items():
        headers.setdefault(name.lower(), []).append(str(value))
    parts = {}
    defects = [repr(defect) for defect in message.defects]
    for part in message.walk():
        defects += [repr(defect) for defect in part.defects]
        if part.get_content_maintype() == "text":
            parts[part.get_content_type()] = part.get_content()
    return {
        "headers": headers,
        "parts": parts,
        "defects": defects,
        "content_type": message.get_content_type(),
        "boundary": message.get_boundary() or "",
    }


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.lower()
        if local.startswith("reject"):
            return "550 5.1.1 mailbox unavailable"
        if local.startswith("tempfail"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content or envelope.content
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "data_b64": base64.b64encode(data).decode("ascii"),
            "parsed": describe(data),
        }
        sys.stdout.write(json.dumps(record) + "\n")
        sys.stdout.flush()
        return "250 Message accepted"


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == USERNAME and auth_data.password == PASSWORD
    # handled=False lets aiosmtpd send the 535 reply itself.
    return AuthResult(success=ok, handled=False, auth_data=auth_data)


def exit_when_stdin_closes():
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)


async def serve(mode, directory):
    loop = asyncio.get_running_loop()
    context = None
    if mode is not None:
        cert, key = mail_peer_tls.make_certificate(directory)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)

    def factory():
        # An explicit hostname avoids a reverse-DNS lookup on machines without DNS.
        options = dict(hostname="localhost", ident="delivery-tests")
        if mode == "starttls":
            options.update(tls_context=context, require_starttls=True, authenticator=authenticate, auth_required=True)
        elif mode == "implicit":
            options.update(authenticator=authenticate, auth_required=True, auth_require_tls=False)
        return SMTP(Handler(), **options)

    server = await loop.create_server(factory, host="127.0.0.1", port=0, ssl=context if mode == "implicit" else None)
    sys.stdout.write("%d\n" % server.sockets[0].getsockname()[1])
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
