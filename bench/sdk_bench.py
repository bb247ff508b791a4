#!/usr/bin/env python3
"""Baselines for `make bench`: obshell's official Python SDK (obshell 0.0.9) doing what obwatch does.

Run it with the SDK's virtualenv: .build/sdk-venv/bin/python bench/sdk_bench.py ...

  decode --file F --iterations N
      What the SDK does with an answer of /api/v1/task/dag/unfinish once `requests` has returned it:
      ClientV1._handle_ret_from_content_request (it calls resp.json() twice, then builds a DagDetailDTO, with its
      NodeDetailDTOs and TaskDetailDTOs, per DAG). The bytes are put in a requests.Response as requests' HTTP
      adapter would (status 200, the encoding from a JSON content type), so the SDK's own code does the rest.
  poll --url http://HOST:PORT --password-env VAR --polls N
      ClientSet(host, port, PasswordAuth(pw)).v1.get_unfinished_dags() N times on one client, as a poller would:
      the RSA X-OCS-Header, the HTTP request (requests opens a new connection per call, as the SDK does), the
      decoding into its model classes.

Each prints one JSON line. CPU is time.process_time() (user + system of this process) over the measured loop only,
after a warm-up that is not counted.
"""
import argparse
import json
import os
import resource
import sys
import time
import urllib.parse

import obshell.model.task as task
import requests
from obshell import ClientSet
from obshell.auth import PasswordAuth
from obshell.service.client_v1 import ClientV1


def max_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def decode(path: str, iterations: int, warmup: int) -> dict:
    with open(path, "rb") as f:
        body = f.read()
    client = ClientV1("127.0.0.1", 1, PasswordAuth(""))  # never connects: _execute is replaced below
    holder = {}
    client._execute = lambda req: holder["resp"]

    def once():
        resp = requests.models.Response()
        resp.status_code = 200
        resp.headers["Content-Type"] = "application/json; charset=utf-8"
        resp.encoding = "utf-8"  # what requests.utils.get_encoding_from_headers gives for that header
        resp._content = body
        holder["resp"] = resp
        return client._handle_ret_from_content_request(None, task.DagDetailDTO)

    dags = once()
    for _ in range(warmup):
        once()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(iterations):
        once()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {"bench": "decode", "impl": "sdk", "iterations": iterations, "cpu_s": cpu, "wall_s": wall,
            "dags": len(dags), "nodes": sum(len(d.nodes) for d in dags), "bytes": len(body),
            "max_rss_kib": max_rss_kib()}


def poll(url: str, password_env: str, polls: int, warmup: int) -> dict:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise SystemExit(f"sdk_bench: --url must be http://HOST:PORT, got {url!r}")
    password = os.environ.get(password_env, "") if password_env else ""
    client = ClientSet(parts.hostname, parts.port or 2886, PasswordAuth(password))
    failed = 0
    dags = None
    for _ in range(warmup):
        dags = client.v1.get_unfinished_dags()  # a failure here is fatal: nothing to measure
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(polls):
        try:
            dags = client.v1.get_unfinished_dags()
        except Exception:  # the SDK raises bare Exceptions as well as OBShellHandleError
            failed += 1
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {"bench": "poll", "impl": "sdk", "polls": polls, "cpu_s": cpu, "wall_s": wall, "failed": failed,
            "dags": len(dags or []), "max_rss_kib": max_rss_kib()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("decode")
    d.add_argument("--file", required=True)
    d.add_argument("--iterations", type=int, required=True)
    d.add_argument("--warmup", type=int, default=None, help="uncounted iterations first (default: N/10, >= 1)")
    p = sub.add_parser("poll")
    p.add_argument("--url", required=True)
    p.add_argument("--password-env", default="")
    p.add_argument("--polls", type=int, required=True)
    p.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    if args.command == "decode":
        warmup = args.warmup if args.warmup is not None else max(1, args.iterations // 10)
        result = decode(args.file, args.iterations, warmup)
    else:
        result = poll(args.url, args.password_env, args.polls, args.warmup)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
