"""Certificates for the TLS peers, made with the openssl command (Python's ssl module cannot make them)."""

import os
import shutil
import subprocess


def _self_signed(certificate, private_key, name):
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-days", "2", "-keyout", private_key, "-out", certificate, "-subj", "/CN=" + name,
            "-addext", "subjectAltName=DNS:" + name,
            "-addext", "basicConstraints=critical,CA:TRUE",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def make_certificates(directory):
    """Makes, in DIR: cert.pem + key.pem for the server (self-signed, so its own CA, for the name localhost only),
    other.pem (an unrelated CA) and hashed/ (an OpenSSL hashed CA directory holding only the server's certificate).
    Returns (cert, key)."""
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    _self_signed(cert, key, "localhost")
    _self_signed(os.path.join(directory, "other.pem"), os.path.join(directory, "other-key.pem"), "other")
    hashed = os.path.join(directory, "hashed")
    os.mkdir(hashed)
    shutil.copy(cert, os.path.join(hashed, "server.pem"))
    subprocess.run(["openssl", "rehash", hashed], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key
