#!/usr/bin/env python3
"""Scans test logs for the secrets the tests hand to obwatch; any hit is a leak.

Usage: scan-secrets.py --secrets Tests/test-secrets.txt DIR [DIR ...]

Every file under each DIR is read as bytes and searched for every secret, also in the forms a log could carry it:
JSON-escaped, percent-encoded and base64. A hit prints FILE:LINE and the secret masked, and the exit status is 1.
No files at all is an error too: a scan of nothing proves nothing.
"""
import argparse
import base64
import json
import os
import sys
import urllib.parse


def read_secrets(path):
    secrets = []
    with open(path, encoding="utf-8") as handle:
        for raw in handle:
            line = raw.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            secrets.append(line)
    return secrets


def forms(secret):
    """The byte strings that would reveal `secret`."""
    variants = {
        secret.encode(),
        json.dumps(secret)[1:-1].encode(),
        urllib.parse.quote(secret, safe="").encode(),
        base64.b64encode(secret.encode()).rstrip(b"="),
    }
    return {variant for variant in variants if len(variant) >= 4}


def mask(secret):
    return secret[:2] + "*" * max(0, len(secret) - 2)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--secrets", required=True, help="one secret per line; # comments")
    parser.add_argument("dirs", nargs="+")
    arguments = parser.parse_args()

    secrets = read_secrets(arguments.secrets)
    if not secrets:
        print(f"{arguments.secrets}: no secrets listed", file=sys.stderr)
        return 2
    patterns = [(secret, variant) for secret in secrets for variant in forms(secret)]

    files = 0
    scanned = 0
    hits = 0
    for directory in arguments.dirs:
        for root, _, names in os.walk(directory):
            for name in sorted(names):
                path = os.path.join(root, name)
                try:
                    with open(path, "rb") as handle:
                        data = handle.read()
                except OSError as error:
                    print(f"{path}: cannot read: {error}", file=sys.stderr)
                    return 2
                files += 1
                scanned += len(data)
                for secret, variant in patterns:
                    start = data.find(variant)
                    while start != -1:
                        line = data.count(b"\n", 0, start) + 1
                        print(f"{path}:{line}: a test secret ({mask(secret)}) appears in a log")
                        hits += 1
                        start = data.find(variant, start + 1)
    if files == 0:
        print("no log files to scan: " + ", ".join(arguments.dirs), file=sys.stderr)
        return 2
    print(f"secret scan: {files} files, {scanned} bytes, {len(secrets)} secrets in {len(patterns)} forms: "
          + (f"{hits} hits" if hits else "none found"))
    return 1 if hits else 0


if __name__ == "__main__":
    sys.exit(main())
