#!/usr/bin/env python3
"""`make bench`: obwatch's figures next to a baseline measured by this script, on this machine, at this moment.

  python3 bench/run.py --obwatch PATH/obwatch --bench PATH/ObwatchBench [--quick] [--only NAME[,NAME...]]

Benchmarks (NAME): decode, poll, connections, scale, scale-10k, cold-start, latency, outbox, replay, ha-polls,
ha-failover.
- decode: the seed answer and a 50 DAG x 30 node answer, ObwatchBench decode vs the SDK's own response parsing.
- poll: one poll end to end against `obwatch simulate`, ObwatchBench poll vs the SDK's get_unfinished_dags().
- scale: `obwatch run` with 100, 500 and 2,000 targets at 5 s polls: CPU share of one core (/proc/PID/stat over a
  window after warm-up) and peak RSS (VmHWM); the SDK's baseline is its measured CPU per poll times the poll rate.
- scale-10k: the same with 10,000 targets spread over 5 simulators (2,000 each; quick: 5,000), and the descriptors
  the daemon holds (one kept connection per target: the curl engine keeps up to half the descriptor limit).
- cold-start: `obwatch run` with 100 targets at 5 s, each at its own port of a relay that notes when requests
  arrive: exec to the first request on the wire, to the first DAG list, and to every target's first list; from a
  fresh state folder and again on the state the first start left.
- latency: a change in a manual-clock simulator to the webhook's arrival at a loopback receiver, 500 targets at
  1 s polls, p50 and p99.
- outbox, replay: ObwatchBench's own figures.
- ha-polls: polls per second one `obwatch run` sustains with `store: postgres` (a PostgreSQL server of the
  script's own) against the same run with the local state folder, every poll seeing a change (so saving state).
- ha-failover: 2 replicas sharing 6 targets through PostgreSQL; kill -9 of a lease holder, time to the other
  replica's acquisition (`target_lease.acquired_at`) at 1 s and 2 s poll intervals.
The ha-* figures are skipped when PostgreSQL's server binaries are missing (make deps installs them).
A and B runs alternate (A B A B ...) over several rounds; figures are medians. Every child is killed on every path.
Only the standard library; the SDK parts run under the SDK's virtualenv (--sdk-python).
"""
import argparse
import atexit
import ctypes
import json
import math
import os
import selectors
import socket
import platform
import pwd
import random
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the source tree from the imports below
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import make_large_answer  # noqa: E402
from receiver import Receiver  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "scripts"))
import ha_acceptance  # noqa: E402  (its PostgreSQL server, replicas and rolling scenarios)

SEED = os.path.join(ROOT, "Tests", "ObshellTests", "Fixtures", "unfinish-scale-out.json")
PASSWORD = "bench-root-password"
PASSWORD_ENV = "OBWATCH_BENCH_PASSWORD"
CLK_TCK = os.sysconf("SC_CLK_TCK")
ALL = ["decode", "poll", "connections", "scale", "scale-10k", "cold-start", "latency", "outbox", "replay", "ha-polls",
       "ha-failover"]


# ---------------------------------------------------------------------------------------------------------------
# Children: every process this script starts is registered, dies with it (PR_SET_PDEATHSIG) and is killed at exit.

_children = []
_children_lock = threading.Lock()
_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    _libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def spawn(args, **kwargs):
    env = dict(os.environ)
    env[PASSWORD_ENV] = PASSWORD
    env.update(kwargs.pop("env", {}))
    proc = subprocess.Popen(args, env=env, preexec_fn=_die_with_parent, **kwargs)
    with _children_lock:
        _children.append(proc)
    return proc


def stop(proc, grace=5.0):
    if proc is None:
        return
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        except ProcessLookupError:
            pass
    with _children_lock:
        if proc in _children:
            _children.remove(proc)


def stop_all():
    with _children_lock:
        procs = list(_children)
    for proc in procs:
        stop(proc, grace=2.0)


atexit.register(stop_all)


def _on_signal(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def run_json(args, timeout):
    """Runs a benchmark child that prints one JSON line; returns the parsed line."""
    proc = spawn(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(proc)
        raise RuntimeError(f"{os.path.basename(args[0])} {args[1] if len(args) > 1 else ''}: timed out")
    finally:
        stop(proc)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])}: exit {proc.returncode}: {err.strip()[-400:]}")
    lines = [line for line in out.splitlines() if line.strip().startswith("{")]
    if not lines:
        raise RuntimeError(f"{' '.join(args[:3])}: no JSON line in its output: {out.strip()[-400:]}")
    return json.loads(lines[-1])


# ---------------------------------------------------------------------------------------------------------------
# The simulator and the daemon.

class Simulator:
    def __init__(self, obwatch, scenario, workdir, manual_clock=False, key_bits=1024):
        args = [obwatch, "simulate", "--scenario", scenario, "--listen", "127.0.0.1:0", "--password", PASSWORD,
                "--key-bits", str(key_bits)]
        if manual_clock:
            args.append("--manual-clock")
        self.stderr = open(os.path.join(workdir, "simulator.err"), "w")
        self.proc = spawn(args, stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        self.url = None
        ready = threading.Event()

        def read():
            for line in self.proc.stdout:  # drained to the end so the simulator never blocks on a full pipe
                m = re.search(r"listening on (http://\S+)", line)
                if m and not self.url:
                    self.url = m.group(1)
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(30) or not self.url:
            self.close()
            raise RuntimeError("obwatch simulate did not print `listening on`")

    def advance(self, by):
        req = urllib.request.Request(f"{self.url}/_simulator/advance?by={by}", method="POST", data=b"")
        with urllib.request.urlopen(req, timeout=10) as resp:
            resp.read()
        return time.monotonic()  # the change instant: the advance POST has returned

    def close(self):
        stop(self.proc)
        self.stderr.close()


def parse_rfc3339(text):
    """An event's `at` (nanoseconds, `Z` or an offset) as POSIX seconds; None when it does not parse."""
    m = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", text or "")
    if not m:
        return None
    import calendar
    y, mo, d, h, mi, sec = (int(x) for x in m.groups()[:6])
    seconds = calendar.timegm((y, mo, d, h, mi, sec)) + (float("0." + m.group(7)) if m.group(7) else 0.0)
    zone = m.group(8)
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return seconds


def proc_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14 and 15)


def proc_status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def scrape_polls(metrics_url):
    """Sums obwatch_polls_total by result from the daemon's /metrics."""
    totals = {}
    try:
        with urllib.request.urlopen(metrics_url, timeout=10) as resp:
            text = resp.read().decode("utf-8", "replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("obwatch_poll_duration_seconds_sum") or line.startswith("obwatch_poll_duration_seconds_count"):
            key = "duration_sum" if "_sum" in line.split(" ")[0].split("{")[0] else "duration_count"
            totals[key] = totals.get(key, 0) + float(line.rsplit(" ", 1)[1])
        elif line.startswith("obwatch_polls_total"):
            m = re.search(r'result="([^"]+)"', line)
            key = m.group(1) if m else "all"
            totals[key] = totals.get(key, 0) + float(line.rsplit(" ", 1)[1])
    return totals


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(path, targets, sim_url, interval, hook_url, status_port, events, probe_url=None, probes=0,
                 concurrency=None, urls=None):
    """`targets` targets on `sim_url` (or round-robin over `urls`); the first `probes` of them on `probe_url`
    instead; the receiver's `concurrency:` when given (else its default, 8)."""
    lines = [
        "# written by bench/run.py",
        "state_dir: ./state",
        f"http: {{ listen: 127.0.0.1:{status_port} }}",
        "defaults:",
        f"  poll_interval: {interval}",
        "  timeout: 5s",
        "targets:",
    ]
    for i in range(targets):
        url = probe_url if i < probes else (urls[i % len(urls)] if urls else sim_url)
        lines += [f"  - name: t{i + 1:04d}", f"    url: {url}", f"    password: ${{{PASSWORD_ENV}}}"]
    lines += [
        "receivers:",
        "  - name: hook",
        "    rate_limit: none",
        *([f"    concurrency: {concurrency}"] if concurrency else []),
        f'    webhook: {{ format: generic, url: "{hook_url}" }}',
        "rules:",
        "  - name: bench",
        f"    match: {{ event: [{', '.join(events)}] }}",
        "    notify: [hook]",
        "    group_wait: 0s",
    ]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


class Daemon:
    def __init__(self, obwatch, config, workdir):
        self.out_path = os.path.join(workdir, "run.out")
        self.err_path = os.path.join(workdir, "run.err")
        self.out = open(self.out_path, "w")
        self.err = open(self.err_path, "w")
        self.proc = spawn([obwatch, "run", "--config", config, "--log-level", os.environ.get("BENCH_LOG_LEVEL", "warning")], stdout=self.out,
                          stderr=self.err, cwd=workdir)

    def events(self):
        with open(self.out_path, "rb") as f:
            return f.read().count(b"\n")

    def alive(self):
        return self.proc.poll() is None

    def stderr_tail(self, n=5):
        with open(self.err_path, errors="replace") as f:
            return "".join(f.readlines()[-n:]).strip()

    def close(self):
        stop(self.proc, grace=15)
        self.out.close()
        self.err.close()


def warm_up(ctx, daemon, events, timeout, label):
    """Waits for the daemon's first `events` events (noted when they do not all come); the error when it exited."""
    if not wait_until(lambda: daemon.events() >= events or not daemon.alive(), timeout):
        ctx.notes.append(f"{label}: only {daemon.events()} of {events} `started` events after warm-up")
    if not daemon.alive():
        return f"obwatch run exited {daemon.proc.returncode}: {daemon.stderr_tail()}"
    return None


def wait_until(predicate, timeout, step=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


# ---------------------------------------------------------------------------------------------------------------
# Scenarios written for the benchmarks.

def steady_scenario():
    """Two RUNNING DAGs that never change: the seed's scale-out (9 nodes) and a tenant creation (5 nodes)."""
    return """# written by bench/run.py: a couple of running DAGs, no steps
agent: { identity: CLUSTER AGENT, ip: 10.10.10.1, port: 2886, zone: zone1, version: 4.3.5.0, utc_offset: "+08:00" }
time_zero: "2024-01-10T11:34:28.708662+08:00"
dags:
  - id: "11"
    dag_id: 1
    name: Cluster scale out
    maintenance_type: 2
    stage: 4
    state: RUNNING
    nodes:
      - Integrate server config
      - name: Create local scale out dag
        logs: ["create local scale out dag success, genericID:22130706433028869"]
      - name: Wait scale out ready
        logs: ["local scale out dag task Be scaling agent is succeed"]
      - name: Wait remote deploy finish
        logs: ["retry stage: 2 successfully"]
      - Wait remote start finish
      - Prev check for scale_out
      - Add server for scale_out
      - Add agent  for scale_out
      - Check cluster scale_out whether finished
  - id: "12"
    dag_id: 2
    name: Create tenant t1
    maintenance_type: 3
    maintenance_key: t1
    stage: 2
    state: RUNNING
    nodes: [Create resource pool, Create tenant, Set tenant variables, Modify tenant whitelist, Check tenant]
"""


def stepping_scenario(changes, every_s=10):
    """One RUNNING DAG that advances one stage every `every_s` seconds of scenario time (manual clock)."""
    nodes = changes + 2
    text = [
        "# written by bench/run.py: one stage_advanced per advance of the manual clock",
        'agent: { identity: CLUSTER AGENT, ip: 10.10.10.1, port: 2886, zone: zone1, version: 4.3.5.0 }',
        'time_zero: "2024-01-10T11:34:28.708662+08:00"',
        "dags:",
        '  - id: "11"',
        "    dag_id: 1",
        "    name: Bench rolling change",
        "    maintenance_type: 2",
        "    stage: 1",
        "    state: RUNNING",
        "    nodes:",
    ]
    text += [f"      - Bench stage {i + 1}" for i in range(nodes)]
    text.append("steps:")
    text += [f"  - {{at: {(i + 1) * every_s}s, do: advance}}" for i in range(changes)]
    return "\n".join(text) + "\n"


# ---------------------------------------------------------------------------------------------------------------
# Results and the table.

class Row:
    def __init__(self, figure, obwatch="", baseline="", ratio="", goal="", met=""):
        self.cells = [figure, obwatch, baseline, ratio, goal, met]


def fmt_time(seconds):
    if seconds is None:
        return "—"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def fmt_ratio(x):
    return "—" if x is None else (f"{x:.1f}x" if x < 100 else f"{x:.0f}x")


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def percentile(values, q):
    if not values:
        return None
    values = sorted(values)
    k = max(0, min(len(values) - 1, math.ceil(q / 100 * len(values)) - 1))  # nearest rank
    return values[k]


class Context:
    def __init__(self, args):
        self.args = args
        self.quick = args.quick
        self.rounds = args.rounds or (3 if args.quick else 5)
        self.obwatch = os.path.abspath(args.obwatch)
        self.bench = os.path.abspath(args.bench) if args.bench else None
        self.have_bench = bool(self.bench and os.path.isfile(self.bench) and os.access(self.bench, os.X_OK))
        self.sdk_python = args.sdk_python
        self.tmp = tempfile.mkdtemp(prefix="obwatch-bench-")
        self.rows = []
        self.notes = []
        self.raw = {}
        self.sdk_poll_cpu = None  # SDK CPU per poll, shared by poll and scale
        self.sdk_rss_kib = None
        self.postgres = None  # one server for the ha-* figures, started by the first of them

    def start_postgres(self):
        """The script's own PostgreSQL server (initdb into the temporary folder, a loopback port)."""
        if self.postgres is None:
            os.chmod(self.tmp, 0o755)  # run as root, the server is the `postgres` user: it must reach its folder
            server = ha_acceptance.Postgres(os.path.join(self.tmp, "pg"))
            server.start()
            self.postgres = server
        return self.postgres

    def stop_postgres(self):
        if self.postgres is not None:
            self.postgres.stop()
            self.postgres = None

    def workdir(self, name):
        path = os.path.join(self.tmp, name)
        os.makedirs(path, exist_ok=True)
        return path

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def obwatch_bench(self, *args, timeout=600):
        return run_json([self.bench, *args], timeout)

    def sdk(self, *args, timeout=600):
        return run_json([self.sdk_python, os.path.join(HERE, "sdk_bench.py"), *args], timeout)

    def skipped(self, figure, why="skipped: ObwatchBench missing"):
        self.rows.append(Row(figure, why, "", "", "", ""))

    def log(self, text):
        print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def alternate(ctx, a, b, rounds):
    """Runs a() and b() alternately (A B A B ...); returns both result lists. a may be None (then only B)."""
    ra, rb = [], []
    for i in range(rounds):
        if a is not None:
            ra.append(a())
        rb.append(b())
    return ra, rb


# ---------------------------------------------------------------------------------------------------------------
# decode

def bench_decode(ctx):
    large = os.path.join(ctx.tmp, "unfinish-large-50x30.json")
    with open(SEED, "rb") as f:
        seed = json.load(f)
    with open(large, "w", encoding="utf-8") as f:
        f.write(json.dumps(make_large_answer.build(seed), ensure_ascii=False, separators=(",", ":")))
    cases = [("seed answer (1 DAG, 9 nodes, 13 KB)", SEED, 2000 if ctx.quick else 10000),
             ("large answer (50 DAGs x 30 nodes, 0.8 MB)", large, 15 if ctx.quick else 60)]
    for label, path, n in cases:
        ctx.log(f"decode {label}: {ctx.rounds} rounds x {n} iterations")
        a = (lambda: ctx.obwatch_bench("decode", "--file", path, "--iterations", str(n))) if ctx.have_bench else None
        b = lambda: ctx.sdk("decode", "--file", path, "--iterations", str(n))
        ra, rb = alternate(ctx, a, b, ctx.rounds)
        sdk = median([r["cpu_s"] / r["iterations"] for r in rb])
        ctx.raw[f"decode {label}"] = {"obwatch": ra, "sdk": rb}
        figure = f"decode, {label}: CPU per answer"
        if not ctx.have_bench:
            ctx.rows.append(Row(figure, "skipped: ObwatchBench missing", fmt_time(sdk) + " (SDK)", "", "—", ""))
            continue
        ob = median([r["cpu_s"] / r["iterations"] for r in ra])
        ratio = sdk / ob if ob else None
        ctx.rows.append(Row(figure, fmt_time(ob), fmt_time(sdk) + " (SDK)", fmt_ratio(ratio), "—", ""))
        # The same bytes through Foundation's JSONDecoder and the same models: what obwatch's own reader saves.
        c = lambda: ctx.obwatch_bench("decode", "--file", path, "--iterations", str(n), "--decoder", "foundation")
        ra2, rc = alternate(ctx, a, c, ctx.rounds)
        ctx.raw[f"decode {label} vs Foundation"] = {"obwatch": ra2, "foundation": rc}
        ob2 = median([r["cpu_s"] / r["iterations"] for r in ra2])
        foundation = median([r["cpu_s"] / r["iterations"] for r in rc])
        ctx.rows.append(Row(f"decode, {label}: obwatch's JSON reader vs Foundation's JSONDecoder", fmt_time(ob2),
                            fmt_time(foundation) + " (JSONDecoder)", fmt_ratio(foundation / ob2 if ob2 else None),
                            "—", ""))


# ---------------------------------------------------------------------------------------------------------------
# poll

def measure_sdk_poll(ctx, url, polls, rounds):
    results = [ctx.sdk("poll", "--url", url, "--password-env", PASSWORD_ENV, "--polls", str(polls))
               for _ in range(rounds)]
    ctx.sdk_poll_cpu = median([r["cpu_s"] / r["polls"] for r in results])
    ctx.sdk_rss_kib = median([r.get("max_rss_kib") for r in results])
    return results


class CountingProxy:
    """A TCP relay in front of the simulator that counts the connections it accepts: the agent's side of
    "connections opened per target per hour". One thread, one selector; bytes are passed on unchanged."""

    def __init__(self, upstream_url, ports=1):
        m = re.match(r"http://([^:/]+):(\d+)", upstream_url)
        self.upstream = (m.group(1), int(m.group(2)))
        # One listening port per target stands for one agent per target, as in a real deployment: connections to
        # different agents are never shared.
        self.listeners = []
        for _ in range(ports):
            listener = socket.socket()
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", 0))
            listener.listen(1024)
            listener.setblocking(False)
            self.listeners.append(listener)
        self.urls = [f"http://127.0.0.1:{listener.getsockname()[1]}" for listener in self.listeners]
        self.accepted = 0
        # When each port first received a request, and its first DAG list (time.monotonic(); cold-start).
        self.first_request_at = {}
        self.first_list_at = {}
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def count(self):
        with self.lock:
            return self.accepted

    def _run(self):
        sel = selectors.DefaultSelector()
        for listener in self.listeners:
            sel.register(listener, selectors.EVENT_READ, None)
        peers = {}
        port_of_client = {}
        port_of_listener = {listener: i for i, listener in enumerate(self.listeners)}
        while not self.stopping:
            for key, _ in sel.select(0.2):
                if key.data is None:
                    try:
                        client, _ = key.fileobj.accept()
                    except BlockingIOError:
                        continue
                    with self.lock:
                        self.accepted += 1
                    port_of_client[client] = port_of_listener[key.fileobj]
                    server = socket.create_connection(self.upstream)
                    for a, b in ((client, server), (server, client)):
                        a.setblocking(False)
                        peers[a] = b
                        sel.register(a, selectors.EVENT_READ, "relay")
                    continue
                sock = key.fileobj
                other = peers.get(sock)
                try:
                    data = sock.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                port = port_of_client.get(sock)
                if data and port is not None:
                    now = time.monotonic()
                    with self.lock:
                        self.first_request_at.setdefault(port, now)
                        if b"/api/v1/task/dag/unfinish" in data:  # the poll's list, not the backfill's dags/ob
                            self.first_list_at.setdefault(port, now)
                if data and other is not None:
                    try:
                        other.setblocking(True)
                        other.sendall(data)
                        other.setblocking(False)
                        continue
                    except OSError:
                        pass
                for s in (sock, other):
                    if s is not None and s in peers:
                        sel.unregister(s)
                        peers.pop(s, None)
                        port_of_client.pop(s, None)
                        s.close()
        for s in list(peers):
            s.close()
        for listener in self.listeners:
            listener.close()

    def close(self):
        self.stopping = True
        self.thread.join(5)


def bench_cold_start(ctx):
    """exec of `obwatch run` (100 targets at 5 s, each at its own port of a relay) to the requests on the wire."""
    targets, interval = 100, 5.0
    work = ctx.workdir("cold-start")
    hook = Receiver().start()
    sim = Simulator(ctx.obwatch, ctx.write("steady.yaml", steady_scenario()), work)
    runs = {"fresh": [], "restart": []}
    try:
        ctx.log(f"cold-start: {targets} targets at {interval:g}s, {ctx.rounds} rounds (a fresh state folder, then a "
                "restart on it)")
        for round_index in range(ctx.rounds):
            round_dir = ctx.workdir(f"cold-start/{round_index}")
            for kind in ("fresh", "restart"):
                proxy = CountingProxy(sim.url, ports=targets)
                config = os.path.join(round_dir, "obwatch.yaml")
                write_config(config, targets, proxy.urls[0], f"{int(interval)}s", hook.url + "/hook", free_port(),
                             ["stage_advanced"], urls=proxy.urls)
                exec_at = time.monotonic()
                daemon = Daemon(ctx.obwatch, config, round_dir)
                try:
                    wait_until(lambda: len(proxy.first_list_at) >= targets or not daemon.alive(), 2 * interval + 20,
                               step=0.05)
                finally:
                    daemon.close()
                    proxy.close()
                if len(proxy.first_list_at) < targets:
                    ctx.notes.append(f"cold-start {kind}: only {len(proxy.first_list_at)} of {targets} targets "
                                     f"polled ({daemon.stderr_tail(2)})")
                    continue
                runs[kind].append({
                    "first_request_s": min(proxy.first_request_at.values()) - exec_at,
                    "first_list_s": min(proxy.first_list_at.values()) - exec_at,
                    "all_listed_s": max(proxy.first_list_at.values()) - exec_at,
                })
    finally:
        sim.close()
        hook.stop()
    ctx.raw["cold-start"] = runs
    for kind, label in (("fresh", "a fresh state folder"), ("restart", "a restart on its state")):
        rs = runs[kind]
        if not rs:
            ctx.rows.append(Row(f"cold start, {targets} targets, {label}", "FAILED", "", "", "", "no"))
            continue
        first = median([r["first_list_s"] for r in rs])
        ctx.rows.append(Row(f"cold start, {targets} targets, {label}: exec → the first poll's DAG list on the wire",
                            fmt_time(first), "", "", "≤ 100 ms", "yes" if first <= 0.1 else "no"))
        ctx.rows.append(Row(f"… exec → first request of any kind (a key fetch, a backfill) / → every target's first "
                            f"list (spread over the {interval:g} s interval)",
                            f"{fmt_time(median([r['first_request_s'] for r in rs]))} / "
                            f"{fmt_time(median([r['all_listed_s'] for r in rs]))}", "", "", "", ""))


def bench_connections(ctx):
    if not ctx.have_bench:
        ctx.skipped("connections per target per hour")
        return
    targets, seconds = (50, 10) if ctx.quick else (100, 20)
    work = ctx.workdir("connections")
    sim = Simulator(ctx.obwatch, ctx.write("steady.yaml", steady_scenario()), work)
    proxy = CountingProxy(sim.url, ports=targets)
    series = {"default": [], "libcurl": []}
    try:
        ctx.log(f"connections: {targets} targets at 1 s for {seconds} s through a counting relay, "
                f"{ctx.rounds} rounds: the engine's bound vs libcurl's default cache (before)")
        for _ in range(ctx.rounds):
            for name, extra in (("libcurl", ("--max-idle-connections", "0")), ("default", ())):
                accepted0 = proxy.count()
                result = ctx.obwatch_bench("connections", "--urls", ",".join(proxy.urls), "--password-env", PASSWORD_ENV,
                                           "--targets", str(targets), "--seconds", str(seconds), *extra)
                # The relay also counts the warm-up second's connections: the figure is libcurl's count over the
                # window; the relay's whole count bounds it from above.
                result["accepted_by_agent"] = proxy.count() - accepted0
                series[name].append(result)
    finally:
        proxy.close()
        sim.close()
    ctx.raw["connections"] = series

    def per_target_hour(result, key):
        return result[key] / result["targets"] * 3600 / result["seconds"]

    def per_target_agent(result):
        return result["accepted_by_agent"] / result["targets"]

    after = median([per_target_hour(r, "connections_opened") for r in series["default"]])
    before = median([per_target_hour(r, "connections_opened") for r in series["libcurl"]])
    after_agent = median([per_target_agent(r) for r in series["default"]])
    before_agent = median([per_target_agent(r) for r in series["libcurl"]])
    failed = sum(r.get("failed", 0) for rs in series.values() for r in rs)
    if failed:
        ctx.notes.append(f"connections: {failed} failed polls")
    ctx.rows.append(Row(f"TCP connections opened per target per hour ({targets} targets at 1 s, one agent port "
                        "each; libcurl's count after warm-up)", f"{after:.1f}", f"{before:.0f} (libcurl's default cache, as before)",
                        fmt_ratio(before / after if after else None), "≤ 1", "yes" if after <= 1 else "no"))
    ctx.rows.append(Row(f"… connections the agent side accepted per target over the whole run ({seconds + 1} s, "
                        f"{seconds + 1} polls each, first poll included; a counting relay)",
                        f"{after_agent:.2f}", f"{before_agent:.2f}", "", "", ""))


def bench_poll(ctx):
    polls = 150 if ctx.quick else 500
    work = ctx.workdir("poll")
    sim = Simulator(ctx.obwatch, ctx.write("steady.yaml", steady_scenario()), work)
    try:
        ctx.log(f"poll: {ctx.rounds} rounds x {polls} polls against {sim.url}")
        args = ("--url", sim.url, "--password-env", PASSWORD_ENV, "--polls", str(polls))
        a = (lambda: ctx.obwatch_bench("poll", *args)) if ctx.have_bench else None
        b = lambda: ctx.sdk("poll", *args)
        ra, rb = alternate(ctx, a, b, ctx.rounds)
        fresh = []
        if ctx.have_bench:
            # The same poll with a new header encrypted for every request (as before header reuse).
            fresh = [ctx.obwatch_bench("poll", *args, "--header-reuse-seconds", "0") for _ in range(ctx.rounds)]
    finally:
        sim.close()
    ctx.raw["poll"] = {"obwatch": ra, "sdk": rb, "obwatch_fresh_header": fresh}
    sdk = median([r["cpu_s"] / r["polls"] for r in rb])
    sdk_wall = median([r["wall_s"] / r["polls"] for r in rb])
    ctx.sdk_poll_cpu = sdk
    ctx.sdk_rss_kib = median([r.get("max_rss_kib") for r in rb])
    failed = sum(r.get("failed", 0) for r in rb)
    if failed:
        ctx.notes.append(f"poll: the SDK had {failed} failed polls")
    figure = "poll end to end (auth, request, decode): CPU per poll"
    if not ctx.have_bench:
        ctx.rows.append(Row(figure, "skipped: ObwatchBench missing", fmt_time(sdk) + " (SDK)", "", "ratio ≥ 10", ""))
        return
    ob = median([r["cpu_s"] / r["polls"] for r in ra])
    ob_wall = median([r["wall_s"] / r["polls"] for r in ra])
    ob_failed = sum(r.get("failed", 0) for r in ra)
    if ob_failed:
        ctx.notes.append(f"poll: ObwatchBench had {ob_failed} failed polls")
    ratio = sdk / ob if ob else None
    ctx.rows.append(Row(figure, fmt_time(ob), fmt_time(sdk) + " (SDK)", fmt_ratio(ratio), "ratio ≥ 10",
                        "yes" if ratio and ratio >= 10 else "no"))
    ctx.rows.append(Row("poll end to end: wall time per poll", fmt_time(ob_wall), fmt_time(sdk_wall) + " (SDK)",
                        fmt_ratio(sdk_wall / ob_wall if ob_wall else None), "—", ""))
    if fresh:
        ob_fresh = median([r["cpu_s"] / r["polls"] for r in fresh])
        ctx.rows.append(Row("poll: CPU per poll with a new header per request (no reuse)", fmt_time(ob_fresh),
                            fmt_time(sdk) + " (SDK)", fmt_ratio(sdk / ob_fresh if ob_fresh else None), "—", ""))


# ---------------------------------------------------------------------------------------------------------------
# scale

def bench_scale(ctx):
    counts = ctx.args.targets or ([100, 500] if ctx.quick else [100, 500, 2000])
    window = 10.0 if ctx.quick else 30.0
    interval = 5.0
    work = ctx.workdir("scale")
    hook = Receiver().start()
    sim = Simulator(ctx.obwatch, ctx.write("steady.yaml", steady_scenario()), work)
    results = []
    try:
        if ctx.sdk_poll_cpu is None:
            ctx.log("scale: measuring the SDK's CPU per poll for the baseline")
            measure_sdk_poll(ctx, sim.url, 100 if ctx.quick else 300, 3)
        for n in counts:
            ctx.log(f"scale: {n} targets at {interval:g}s polls, {window:g}s window")
            results.append(scale_once(ctx, sim, hook, n, interval, window))
    finally:
        sim.close()
        hook.stop()
    ctx.raw["scale"] = results
    base = None
    for r in results:
        n = r["targets"]
        if r.get("error"):
            ctx.rows.append(Row(f"scale, {n} targets", f"FAILED: {r['error']}", "", "", "", "no"))
            continue
        share = r["cpu_share"]
        sdk_share = ctx.sdk_poll_cpu * n / interval if ctx.sdk_poll_cpu else None
        goal_cpu = "≤ 8 %" if n == 2000 else "—"
        met_cpu = ("yes" if share <= 0.08 else "no") if n == 2000 else ""
        ctx.rows.append(Row(f"scale, {n} targets at 5 s: CPU share of one core", f"{share * 100:.2f} %",
                            (f"{sdk_share * 100:.1f} % (SDK, projected)" if sdk_share is not None else "—"),
                            fmt_ratio(sdk_share / share if share and sdk_share else None), goal_cpu,
                            met_cpu))
        rss_mib = r["vmhwm_kib"] / 1024
        sdk_rss = ctx.sdk_rss_kib / 1024 if ctx.sdk_rss_kib else None
        ctx.rows.append(Row(f"scale, {n} targets: peak RSS (VmHWM)", f"{rss_mib:.1f} MiB",
                            (f"{sdk_rss:.1f} MiB (1 SDK client)" if sdk_rss else "—"),
                            (f"{sdk_rss / rss_mib:.2f}x" if sdk_rss else "—"),
                            "≤ 80 MiB" if n == 2000 else "—",
                            ("yes" if rss_mib <= 80 else "no") if n == 2000 else ""))
        ctx.rows.append(Row(f"… RSS at the end of the window (steady) / the sampled peak came at", f"{r['vmrss_kib'] / 1024:.1f} MiB / "
                            f"{r.get('rss_peak_at_s', 0):.1f} s after exec (warm-up {r.get('warm_up_s', 0):.0f} s)",
                            "", "", "", ""))
        if r.get("cpu_per_poll"):
            ctx.rows.append(Row(f"scale, {n} targets: daemon CPU per poll (polls seen: {r['polls_ok']:.0f} ok, "
                                f"{r['polls_failed']:.0f} failed, {r['expected_polls']:.0f} due; mean poll wall "
                                f"{fmt_time(r.get('mean_poll_wall_s'))})",
                                fmt_time(r["cpu_per_poll"]), fmt_time(ctx.sdk_poll_cpu) + " (SDK)",
                                fmt_ratio(ctx.sdk_poll_cpu / r["cpu_per_poll"]), "ratio ≥ 10",
                                "yes" if ctx.sdk_poll_cpu / r["cpu_per_poll"] >= 10 else "no"))
        if base is None:
            base = r
        elif share and base.get("cpu_share"):
            per_target = (share / n) / (base["cpu_share"] / base["targets"])
            ctx.rows.append(Row(f"scale: CPU per target, {n} vs {base['targets']} targets (linearity)",
                                f"{per_target:.2f}", "1.00 (linear)", "", "≤ 1.2", "yes" if per_target <= 1.2 else "no"))


class RssSampler:
    """Samples a process's VmRSS every 0.2 s from its start: when the peak came (start-up or steady state)."""

    def __init__(self, pid):
        self.pid = pid
        self.started = time.monotonic()
        self.samples = []  # (seconds since start, KiB)
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping:
            try:
                self.samples.append((time.monotonic() - self.started, proc_status_kib(self.pid, "VmRSS")))
            except OSError:
                return
            time.sleep(0.2)

    def close(self):
        self.stopping = True
        self.thread.join(2)
        if not self.samples:
            return {}
        peak_at, peak = max(self.samples, key=lambda sample: sample[1])
        return {"rss_peak_at_s": peak_at, "rss_samples_peak_kib": peak}


def scale_once(ctx, sim, hook, n, interval, window):
    """`sim`: one simulator, or a list of them (targets round-robin over them)."""
    sims = sim if isinstance(sim, list) else [sim]
    work = ctx.workdir(f"scale/{n}")
    status_port = free_port()
    config = os.path.join(work, "obwatch.yaml")
    # Only stage_advanced is routed: the steady scenario has none, so the window measures polling and tracking,
    # not the delivery of the 2N `started` of the first polls.
    write_config(config, n, sims[0].url, f"{int(interval)}s", hook.url + "/hook", status_port, ["stage_advanced"],
                 urls=[s.url for s in sims])
    daemon = Daemon(ctx.obwatch, config, work)
    sampler = RssSampler(daemon.proc.pid)
    result = {"targets": n, "interval_s": interval, "window_s": window, "simulators": len(sims)}
    try:
        # Warm-up: every target's first poll (two `started` each) and one more interval.
        error = warm_up(ctx, daemon, 2 * n, interval * 4 + 20, f"scale {n}")
        if error:
            result["error"] = error
            return result
        time.sleep(interval)
        metrics = f"http://127.0.0.1:{status_port}/metrics"
        polls0 = scrape_polls(metrics)
        warm_up_s = time.monotonic() - sampler.started
        sims_cpu = lambda: sum(proc_cpu_seconds(s.proc.pid) for s in sims)  # noqa: E731
        cpu0, t0, sim0 = proc_cpu_seconds(daemon.proc.pid), time.monotonic(), sims_cpu()
        time.sleep(window)
        cpu1, t1, sim1 = proc_cpu_seconds(daemon.proc.pid), time.monotonic(), sims_cpu()
        polls1 = scrape_polls(metrics)
        if not daemon.alive():
            result["error"] = f"obwatch run exited {daemon.proc.returncode}: {daemon.stderr_tail()}"
            return result
        elapsed = t1 - t0
        result.update({
            "cpu_s": cpu1 - cpu0, "elapsed_s": elapsed, "cpu_share": (cpu1 - cpu0) / elapsed,
            "simulator_cpu_share": (sim1 - sim0) / elapsed,
            "vmhwm_kib": proc_status_kib(daemon.proc.pid, "VmHWM"),
            "vmrss_kib": proc_status_kib(daemon.proc.pid, "VmRSS"),
            "threads": proc_status_kib(daemon.proc.pid, "Threads"),
            "fds": len(os.listdir(f"/proc/{daemon.proc.pid}/fd")),
            "expected_polls": n * elapsed / interval,
            "warm_up_s": warm_up_s,
        })
        if polls0 is not None and polls1 is not None:
            ok = polls1.get("ok", 0) - polls0.get("ok", 0)
            failed = polls1.get("failed", 0) - polls0.get("failed", 0)
            count = polls1.get("duration_count", 0) - polls0.get("duration_count", 0)
            if count:
                result["mean_poll_wall_s"] = (polls1.get("duration_sum", 0) - polls0.get("duration_sum", 0)) / count
            result.update({"polls_ok": ok, "polls_failed": failed,
                           "cpu_per_poll": (cpu1 - cpu0) / ok if ok else None})
            if ok < 0.9 * result["expected_polls"]:
                ctx.notes.append(f"scale {n}: only {ok:.0f} good polls of {result['expected_polls']:.0f} due in "
                                 f"the window ({failed:.0f} failed): the targets were not all polled on time")
        else:
            ctx.notes.append(f"scale {n}: /metrics could not be read; polls not counted")
        if result["simulator_cpu_share"] > 0.8:
            ctx.notes.append(f"scale {n}: the simulator(s) used {result['simulator_cpu_share'] * 100:.0f} % of a "
                             "core on the same 2-core machine")
        return result
    finally:
        result.update(sampler.close())
        daemon.close()


def bench_scale_10k(ctx):
    """10,000 targets at 5 s over several simulators (one simulator alone would be the bottleneck): CPU share, peak
    RSS and the descriptors held (a kept connection per target, bounded by the curl engine at half the limit)."""
    per_sim = 1000 if ctx.quick else 2000
    sims_count = 5
    n = per_sim * sims_count
    window = 10.0 if ctx.quick else 30.0
    interval = 5.0
    work = ctx.workdir("scale-10k")
    hook = Receiver().start()
    scenario = ctx.write("steady.yaml", steady_scenario())
    sims = []
    try:
        for i in range(sims_count):
            sims.append(Simulator(ctx.obwatch, scenario, ctx.workdir(f"scale-10k/sim{i}")))
        ctx.log(f"scale-10k: {n} targets over {sims_count} simulators at {interval:g}s polls, {window:g}s window")
        r = scale_once(ctx, sims, hook, n, interval, window)
    finally:
        for sim in sims:
            sim.close()
        hook.stop()
    ctx.raw["scale-10k"] = r
    if r.get("error"):
        ctx.rows.append(Row(f"scale, {n} targets", f"FAILED: {r['error']}", "", "", "", "no"))
        return
    share, rss_mib = r["cpu_share"], r["vmhwm_kib"] / 1024
    big = n >= 10000
    ctx.rows.append(Row(f"scale, {n} targets at 5 s ({sims_count} simulators): CPU share of one core / peak RSS",
                        f"{share * 100:.1f} % / {rss_mib:.0f} MiB", "", "", "≤ 40 %, ≤ 200 MiB" if big else "—",
                        ("yes" if share <= 0.40 and rss_mib <= 200 else "no") if big else ""))
    polls = f"{r['polls_ok']:.0f} ok, {r['polls_failed']:.0f} failed, {r['expected_polls']:.0f} due" \
        if "polls_ok" in r else "polls not counted"
    ctx.rows.append(Row(f"… steady RSS; descriptors held; polls in the window ({polls}); simulators' CPU",
                        f"{r['vmrss_kib'] / 1024:.0f} MiB; {r['fds']} fds; "
                        f"{fmt_time(r.get('cpu_per_poll'))} CPU per poll; {r['simulator_cpu_share'] * 100:.0f} %",
                        "", "", "", ""))


# ---------------------------------------------------------------------------------------------------------------
# latency

def bench_latency(ctx):
    """Two figures at n targets polled every second: one change at a time on a few targets (what an operator
    sees: the other targets' polls are the load), and a burst where every target changes at the same instant."""
    n = ctx.args.latency_targets
    probes = min(10, n)
    latency_run(ctx, n, probes, changes=5 if ctx.quick else 30, label=f"{probes} of {n} targets change")
    latency_run(ctx, n, n, changes=2 if ctx.quick else 5, label=f"all {n} targets change at once")


def latency_run(ctx, n, probes, changes, label):
    work = ctx.workdir(f"latency-{probes}")
    scenario = ctx.write(f"stepping-{probes}.yaml", stepping_scenario(changes))
    hook = Receiver().start()
    # The probe simulator's clock is moved; the others' never is, so their targets are load without changes.
    probe = Simulator(ctx.obwatch, scenario, work, manual_clock=True)
    background = Simulator(ctx.obwatch, scenario, work, manual_clock=True) if probes < n else None
    config = os.path.join(work, "obwatch.yaml")
    # The receiver (bench/receiver.py) answers requests on threads of their own: the outbox's concurrent deliveries
    # (its `concurrency:`, 8 by default; --latency-concurrency 1 is the one-after-another delivery of before) overlap.
    write_config(config, n, background.url if background else probe.url, "1s", hook.url + "/hook", free_port(),
                 ["stage_advanced"], probe_url=probe.url, probes=probes, concurrency=ctx.args.latency_concurrency)
    daemon = Daemon(ctx.obwatch, config, work)
    rng = random.Random(9)
    instants = {}  # stage reached -> monotonic instant the advance POST returned
    walls = {}  # the same instants on the wall clock, to split the latency at the event's `at`
    try:
        ctx.log(f"latency: {n} targets at 1s polls, {label}, {changes} changes, "
            f"receiver concurrency {ctx.args.latency_concurrency or 'default'}")
        if not wait_until(lambda: daemon.events() >= n or not daemon.alive(), 30):
            ctx.notes.append(f"latency: only {daemon.events()} of {n} `started` events after warm-up")
        if not daemon.alive():
            ctx.rows.append(Row("latency", f"FAILED: obwatch run exited: {daemon.stderr_tail()}", "", "", "", "no"))
            return
        time.sleep(2.0)
        slow_changes = 0
        for i in range(changes):
            stage = i + 2
            instants[stage] = probe.advance("10s")
            walls[stage] = time.time() - (time.monotonic() - instants[stage])
            want = lambda recs, s=stage: sum(1 for r in recs if r.mono >= instants[s]) >= probes
            if not hook.wait_for(want, 10.0):
                slow_changes += 1
            time.sleep(rng.uniform(0.2, 1.0))  # the next change lands at another point of the poll cycle
        time.sleep(1.0)
        if slow_changes:
            ctx.notes.append(f"latency ({label}): after {slow_changes} of {changes} changes not every webhook came "
                             "within 10 s; the next change was made anyway, on top of the backlog")
    finally:
        daemon.close()
        probe.close()
        if background:
            background.close()
        hook.stop()
    latencies, observe, deliver, seen = [], [], [], set()
    for rec in hook.records():
        try:
            body = json.loads(rec.body)
        except ValueError:
            continue
        for event in body.get("events", []):
            if event.get("type") != "stage_advanced":
                continue
            stage = (event.get("dag") or {}).get("stage")
            target = (event.get("target") or {}).get("name")
            if stage in instants and (target, stage) not in seen:
                seen.add((target, stage))
                latencies.append(rec.mono - instants[stage])
                at = parse_rfc3339(event.get("at"))
                if at is not None:
                    observe.append(at - walls[stage])
                    deliver.append(rec.wall - at)
    lost = probes * changes - len(latencies)
    ctx.raw[f"latency-{probes}"] = {"samples": len(latencies), "lost": lost, "latencies": latencies}
    if not latencies:
        ctx.rows.append(Row(f"latency ({label})", "FAILED: no webhook arrived", "", "", "", "no"))
        return
    p50, p99, worst = percentile(latencies, 50), percentile(latencies, 99), max(latencies)
    ideal50, ideal99 = 0.5, 0.99  # a 1 s poller that costs nothing: the change waits for the next poll
    ctx.rows.append(Row(f"latency p50, {n} targets at 1 s, {label} ({len(latencies)} webhooks)", fmt_time(p50),
                        f"{fmt_time(ideal50)} (ideal 1 s poller)", "", "—", ""))
    ctx.rows.append(Row(f"latency p99, {label} (max {fmt_time(worst)})", fmt_time(p99),
                        f"{fmt_time(ideal99)} (ideal 1 s poller)", "", "≤ 1.05 s",
                        "yes" if p99 <= 1.05 and lost == 0 else "no"))
    if observe:
        ctx.rows.append(Row(f"latency split p50 / p99, {label}: change to the event's `at` (poll and track)",
                            f"{fmt_time(percentile(observe, 50))} / {fmt_time(percentile(observe, 99))}", "", "", "—",
                            ""))
        ctx.rows.append(Row(f"latency split p50 / p99, {label}: event's `at` to webhook arrival (route, outbox, "
                            "deliver)",
                            f"{fmt_time(percentile(deliver, 50))} / {fmt_time(percentile(deliver, 99))}", "", "", "—",
                            ""))
    if lost:
        ctx.notes.append(f"latency ({label}): {lost} of {probes * changes} expected webhooks did not arrive")


# ---------------------------------------------------------------------------------------------------------------
# outbox and replay (ObwatchBench's own figures)

def bench_outbox(ctx):
    if not ctx.have_bench:
        ctx.skipped("outbox throughput")
        return
    count = 500 if ctx.quick else 1000
    hook = Receiver().start()
    try:
        results = []
        for i in range(ctx.rounds):
            state = ctx.workdir(f"outbox/{i}")
            hook.clear()
            r = ctx.obwatch_bench("outbox", "--url", hook.url + "/hook", "--count", str(count), "--state-dir", state)
            r["received"] = hook.count()
            results.append(r)
    finally:
        hook.stop()
    ctx.raw["outbox"] = results
    rate = median([r["count"] / r["wall_s"] for r in results if r.get("wall_s")])
    cpu = median([r["cpu_s"] / r["count"] for r in results if r.get("cpu_s") is not None])
    received = min(r["received"] for r in results)
    ctx.rows.append(Row(f"outbox: notifications delivered per second ({count}, loopback webhook; "
                        f"received {received})", f"{rate:.0f}/s" if rate else "—", "—", "", "—", ""))
    ctx.rows.append(Row("outbox: CPU per notification", fmt_time(cpu), "—", "", "—", ""))


def bench_replay(ctx):
    if not ctx.have_bench:
        ctx.skipped("replay throughput")
        return
    days = "1" if ctx.quick else "3"
    rounds = 1 if ctx.quick else 3
    ctx.log(f"replay: {rounds} rounds of {days} days of 5 s polls")
    results = [ctx.obwatch_bench("replay", "--days", days) for _ in range(rounds)]
    ctx.raw["replay"] = results
    last = results[-1]

    def med(key):
        return median([r.get(key) for r in results])

    polls = last.get("polls")
    # CPU time of the measured loops (one thread): on a shared machine wall time also counts other processes' turns.
    full = med("read_replay_polls_per_cpu_s") or med("read_replay_polls_per_s")
    if full is None and med("wall_s"):
        full = polls / med("wall_s")
    baseline = med("baseline_lines_per_cpu_s") or med("baseline_lines_per_s")
    ctx.rows.append(Row(f"replay: read + replay, polls per second ({polls} polls, {days} days)",
                        f"{full:,.0f}/s" if full else "—",
                        f"{baseline:,.0f} lines/s (ObwatchBench's baseline parse, CPU)" if baseline else "—",
                        fmt_ratio(full / baseline) if full and baseline else "", "≥ 150,000/s",
                        ("yes" if full >= 150_000 else "no") if full else ""))
    tracker_only = med("replay_polls_per_cpu_s") or med("replay_polls_per_s")
    if tracker_only:
        ctx.rows.append(Row("replay: tracker only, polls per second", f"{tracker_only:,.0f}/s", "—", "", "—", ""))


# ---------------------------------------------------------------------------------------------------------------
# ha-polls and ha-failover: the PostgreSQL store (issue 18), with a server of the script's own

HA_NODES = 4  # stages per DAG of the rolling scenario: started, 3 stage_advanced, succeeded, then the next DAG


def postgres_missing():
    """Why the ha-* figures cannot run on this machine, or None."""
    root = "/usr/lib/postgresql"
    try:
        versions = [v for v in os.listdir(root) if v.isdigit()]
    except OSError:
        versions = []
    if not any(os.access(os.path.join(root, v, "bin", "pg_ctl"), os.X_OK) for v in versions):
        return f"skipped: no PostgreSQL server binaries in {root} (make deps installs them)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "skipped: running as root and there is no `postgres` user to run the server as"
    return None


def postgres_store_line(ctx, schema):
    """A `store:` setting for `schema` on the script's server, its URL (with the password) in a file."""
    url_file = ctx.write("pg.url", ctx.start_postgres().url + "\n")
    return f"store: {{ postgres: {{ url_file: {url_file}, schema: {schema} }} }}\n"


def migrate(ctx, config, cwd):
    env = dict(os.environ, **{PASSWORD_ENV: PASSWORD})
    done = subprocess.run([ctx.obwatch, "migrate", "--config", config], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"obwatch migrate: exit {done.returncode}: {done.stderr.strip()[-300:]}")


def bench_ha_polls(ctx):
    """One replica, every target's poll seeing a change (each poll saves the target's state and routes its event):
    polls per second and CPU per poll with `store: postgres`, against the same run with the local state folder."""
    figure = "ha-polls: polls per second, one replica, PostgreSQL vs the local store"
    why = postgres_missing()
    if why:
        ctx.skipped(figure, why)
        return
    # 1 s, not shorter: a lease is 1.5 poll intervals, renewed every third of it, and at 200 ms (a 300 ms lease)
    # renewals on this loaded 2-core machine came late enough for the replica to lose its leases.
    n, interval = ctx.args.ha_targets or (100 if ctx.quick else 200), 1.0
    window = 10.0 if ctx.quick else 20.0
    rounds = min(ctx.rounds, 3)
    ctx.log(f"ha-polls: {n} targets at {interval * 1000:.0f} ms, a change every poll, {window:g}s window, "
            f"{rounds} rounds (postgres, local)")
    series = {"postgres": [], "local": []}
    for i in range(rounds):
        for store in ("postgres", "local"):
            series[store].append(ha_polls_once(ctx, store, n, interval, window, i))
    ctx.raw["ha-polls"] = series
    errors = [r["error"] for rs in series.values() for r in rs if r.get("error")]
    if errors:
        ctx.rows.append(Row(figure, f"FAILED: {errors[0]}", "", "", "", "no"))
        return

    def med(store, key):
        return median([r.get(key) for r in series[store]])

    due = n / interval
    pg_rate, local_rate = med("postgres", "polls_per_s"), med("local", "polls_per_s")
    pg_cpu, local_cpu = med("postgres", "cpu_per_poll"), med("local", "cpu_per_poll")
    ctx.rows.append(Row(f"ha-polls: polls per second, one replica, {n} targets at {interval * 1000:.0f} ms "
                        f"({due:.0f}/s due), a change at every poll (state saved, event routed); PostgreSQL vs local",
                        f"{pg_rate:.0f}/s (PostgreSQL)", f"{local_rate:.0f}/s (local store)",
                        f"{pg_rate / local_rate:.2f} (PostgreSQL ÷ local)" if local_rate else "—", "—", ""))
    ctx.rows.append(Row("ha-polls: events per second (each a state write in its own step)",
                        f"{med('postgres', 'events_per_s'):.0f}/s", f"{med('local', 'events_per_s'):.0f}/s", "", "—",
                        ""))
    ctx.rows.append(Row("ha-polls: obwatch CPU per poll (the PostgreSQL server's own CPU not counted)",
                        fmt_time(pg_cpu), fmt_time(local_cpu) + " (local store)",
                        f"{pg_cpu / local_cpu:.2f} (PostgreSQL ÷ local)" if pg_cpu and local_cpu else "—", "—", ""))
    ctx.rows.append(Row("ha-polls: the PostgreSQL server's CPU per poll (every backend, same window)",
                        fmt_time(med("postgres", "server_cpu_per_poll")), "—", "", "—", ""))


def postgres_server_cpu_seconds():
    """User + system CPU of every process run by the `postgres` user (the script's server: its backends)."""
    try:
        uid = pwd.getpwnam("postgres").pw_uid if os.geteuid() == 0 else os.getuid()
    except KeyError:
        return 0.0
    total = 0.0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.stat(f"/proc/{pid}").st_uid != uid:
                continue
            with open(f"/proc/{pid}/comm") as f:
                if not f.read().startswith("postgres"):
                    continue
            total += proc_cpu_seconds(int(pid))
        except OSError:
            continue
    return total


def ha_polls_once(ctx, store, n, interval, window, round_number):
    work = ctx.workdir(f"ha-polls/{store}-{round_number}")
    period = (HA_NODES + 1) * interval  # a DAG's start, its stages and its success, one per poll interval
    text, _ = ha_acceptance.scenario_text(0, int((window + 60) / period) + 1, period, interval, HA_NODES)
    sim = Simulator(ctx.obwatch, ctx.write(f"ha-polls-{store}-{round_number}.yaml", text), work)
    status_port = free_port()
    config = os.path.join(work, "obwatch.yaml")
    # Nothing is delivered (no rule matches a DAG that never fails): the figure is polling, tracking, the state
    # write and the routing step, not the webhooks.
    write_config(config, n, sim.url, f"{int(interval * 1000)}ms", "http://127.0.0.1:9/hook", status_port, ["failed"])
    if store == "postgres":
        with open(config, "a") as f:
            f.write(postgres_store_line(ctx, f"polls_{round_number}"))
        migrate(ctx, config, work)
    daemon = Daemon(ctx.obwatch, config, work)
    result = {"store": store, "targets": n, "interval_s": interval, "window_s": window}
    try:
        # Warm-up: every target's `started` of the first DAG (3 s into the scenario), then one more DAG.
        error = warm_up(ctx, daemon, n, 60, f"ha-polls ({store})")
        if error:
            result["error"] = error
            return result
        time.sleep(period)
        metrics = f"http://127.0.0.1:{status_port}/metrics"
        polls0, events0, server0 = scrape_polls(metrics), daemon.events(), postgres_server_cpu_seconds()
        cpu0, t0 = proc_cpu_seconds(daemon.proc.pid), time.monotonic()
        time.sleep(window)
        cpu1, t1 = proc_cpu_seconds(daemon.proc.pid), time.monotonic()
        polls1, events1, server1 = scrape_polls(metrics), daemon.events(), postgres_server_cpu_seconds()
        if not daemon.alive() or polls0 is None or polls1 is None:
            result["error"] = f"obwatch run ({store}) exited or /metrics unreadable: {daemon.stderr_tail()}"
            return result
        elapsed = t1 - t0
        ok = polls1.get("ok", 0) - polls0.get("ok", 0)
        result.update({
            "elapsed_s": elapsed, "polls_ok": ok, "polls_failed": polls1.get("failed", 0) - polls0.get("failed", 0),
            "polls_per_s": ok / elapsed, "events_per_s": (events1 - events0) / elapsed,
            "cpu_per_poll": (cpu1 - cpu0) / ok if ok else None,
            "server_cpu_per_poll": (server1 - server0) / ok if ok and store == "postgres" else None,
        })
        return result
    finally:
        daemon.close()
        sim.close()


def bench_ha_failover(ctx):
    """2 replicas share 6 targets through PostgreSQL; the replica holding the most leases is killed (-9) several
    times, restarted between kills; takeover = from the kill to the other replica's acquisition of the last of the
    killed replica's targets (`target_lease.acquired_at`, the database's clock on this same host)."""
    figure = "ha-failover: takeover after kill -9"
    why = postgres_missing()
    if why:
        ctx.skipped(figure, why)
        return
    intervals = [1.0] if ctx.quick else [1.0, 2.0]
    kills = 3 if ctx.quick else 5
    work = ctx.workdir("ha-failover")
    sim = Simulator(ctx.obwatch, ctx.write("steady.yaml", steady_scenario()), work)
    try:
        for interval in intervals:
            ctx.log(f"ha-failover: 2 replicas, 6 targets at {interval:g}s, {kills} kills")
            takeovers = failover_run(ctx, sim, interval, kills)
            ctx.raw[f"ha-failover {interval:g}s"] = takeovers
            worst, middle = max(takeovers), median(takeovers)
            ctx.rows.append(Row(
                f"ha-failover: takeover after kill -9 of a lease holder, 2 replicas, 6 targets at {interval:g} s "
                f"({kills} kills): median / max",
                f"{middle:.2f} s / {worst:.2f} s ({middle / interval:.2f} / {worst / interval:.2f} intervals)",
                f"{interval:g}–{1.5 * interval:g} s (the lease of {1.5 * interval:g} s, renewed every "
                f"{interval / 2:g} s, expires that long after the kill)", "", "≤ 2 intervals",
                "yes" if worst <= 2 * interval else "no"))
    finally:
        sim.close()


def failover_run(ctx, sim, interval, kills):
    """The takeover times (seconds) of `kills` kills at this poll interval."""
    schema = f"failover_{int(interval * 1000)}ms"
    work = ctx.workdir(f"ha-failover/{schema}")
    targets = "\n".join(
        f"  - {{ name: t{i}, url: \"{sim.url}\", password: \"${{{PASSWORD_ENV}}}\", "
        f"poll_interval: {int(interval * 1000)}ms, timeout: 5s }}" for i in range(6))
    body = f"targets:\n{targets}\n{postgres_store_line(ctx, schema)}"
    migrate_config = os.path.join(work, "migrate.yaml")
    with open(migrate_config, "w") as f:
        f.write(f"state_dir: {work}/migrate\n{body}")
    migrate(ctx, migrate_config, work)
    replicas = [ha_acceptance.Replica(number, ctx.obwatch, work, body, {PASSWORD_ENV: PASSWORD})
                for number in range(2)]
    postgres = ctx.start_postgres()

    def start(replica):
        replica.start()
        with _children_lock:
            _children.append(replica.process)  # killed at exit with the others

    def leases():
        """target -> (holder, acquired_at as POSIX seconds) of every unexpired lease."""
        rows = postgres.query(f"SELECT target, holder, extract(epoch from acquired_at) FROM {schema}.target_lease "
                              "WHERE expires_at > now() AND holder IS NOT NULL")
        return {row[0]: (row[1], float(row[2])) for row in rows}

    def split_evenly():
        holders = [holder for holder, _ in leases().values()]
        return len(holders) == 6 and len(set(holders)) == 2 and holders.count(holders[0]) == 3

    def replica_named(holder):
        for replica in replicas:
            status, text = replica.get("/api/v1/cluster")
            if status == 200 and json.loads(text).get("replica") == holder:
                return replica
        raise RuntimeError(f"no replica calls itself {holder}")

    takeovers = []
    try:
        for replica in replicas:
            start(replica)
        if not wait_until(split_evenly, 60, step=0.1):
            raise RuntimeError(f"the 6 leases were not split 3/3 within 60 s: {leases()}")
        for number in range(kills):
            held = {}
            for target, (holder, _) in leases().items():
                held.setdefault(holder, []).append(target)
            holder, victims = max(held.items(), key=lambda item: len(item[1]))
            victim = replica_named(holder)
            killed_at = time.time()
            victim.kill(signal.SIGKILL)

            def taken():
                now = leases()
                return all(t in now and now[t][0] != holder for t in victims) and now

            now = None
            deadline = time.monotonic() + 10 * interval + 10
            while now is None and time.monotonic() < deadline:
                now = taken() or None
                time.sleep(0.05)
            if now is None:
                raise RuntimeError(f"kill {number + 1}: {sorted(victims)} not taken over in {10 * interval + 10:g} s")
            took = max(now[t][1] for t in victims) - killed_at
            takeovers.append(took)
            ctx.log(f"  kill {number + 1}: {len(victims)} targets taken over after {took:.2f} s")
            start(victim)
            if not wait_until(split_evenly, 20 * interval + 20, step=0.1):
                ctx.notes.append(f"ha-failover {interval:g}s: after kill {number + 1} the leases were not split "
                                 "3/3 again; the next kill took the holder of the most")
    finally:
        for replica in replicas:
            replica.kill(signal.SIGTERM)
    return takeovers


# ---------------------------------------------------------------------------------------------------------------

def machine_line():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (f"Machine: {model}, {os.cpu_count()} cores (affinity {len(os.sched_getaffinity(0))}), "
            f"Linux {platform.release()}, Python {platform.python_version()}, "
            f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}, load average {load_average()}")


def load_average():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--obwatch", required=True, help="the obwatch binary (the release one for real figures)")
    parser.add_argument("--bench", help="the ObwatchBench binary (rows that need it are skipped when missing)")
    parser.add_argument("--quick", action="store_true", help="smaller counts and shorter windows (< 3 minutes)")
    parser.add_argument("--only", help="comma-separated: " + ",".join(ALL))
    parser.add_argument("--rounds", type=int, help="A/B rounds (default 5, quick 3)")
    parser.add_argument("--targets", type=lambda t: [int(x) for x in t.split(",")],
                        help="scale: these target counts instead of 100,500,2000 (quick: 100,500)")
    parser.add_argument("--latency-targets", type=int, default=500, help="latency: targets (default 500)")
    parser.add_argument("--latency-concurrency", type=int,
                        help="latency: the webhook receiver's concurrency: (default: obwatch's, 8; 1: one at a time)")
    parser.add_argument("--ha-targets", type=int, help="ha-polls: targets (default 200, quick 100)")
    parser.add_argument("--sdk-python", default=os.path.join(ROOT, ".build", "sdk-venv", "bin", "python"))
    parser.add_argument("--json", help="also write every raw measurement to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (configs, logs)")
    args = parser.parse_args()

    only = ALL if not args.only else [x.strip() for x in args.only.split(",") if x.strip()]
    unknown = [x for x in only if x not in ALL]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r} (known: {', '.join(ALL)})")
    if not os.access(args.obwatch, os.X_OK):
        parser.error(f"--obwatch {args.obwatch}: not an executable")
    if not os.access(args.sdk_python, os.X_OK):
        parser.error(f"--sdk-python {args.sdk_python}: missing; run scripts/sdk-venv.sh (make sdk-venv)")
    signal.signal(signal.SIGTERM, _on_signal)
    fd_limit = raise_fd_limit()

    ctx = Context(args)
    started = time.monotonic()
    load_at_start = load_average()
    if "/debug/" in ctx.obwatch:
        ctx.notes.append("obwatch is a debug build: these are not the published figures (use the release binary)")
    if float(load_at_start.split()[0]) > 0.5 * (os.cpu_count() or 1):
        ctx.notes.append(f"the machine was busy when the run started (load average {load_at_start}): "
                         "the figures are contended")
    status = 0
    try:
        if not ctx.have_bench:
            ctx.notes.append(f"ObwatchBench missing ({args.bench or 'no --bench'}): its rows are skipped")
        for name in only:
            try:
                globals()[f"bench_{name.replace('-', '_')}"](ctx)
            except KeyboardInterrupt:
                raise
            except Exception as error:  # one broken benchmark must not hide the others' figures
                status = 1
                ctx.rows.append(Row(name, f"FAILED: {error}", "", "", "", "no"))
    except KeyboardInterrupt:
        status = 130
        ctx.notes.append("interrupted")
    finally:
        stop_all()
        ctx.stop_postgres()

    version = subprocess.run([ctx.obwatch, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"## obwatch benchmarks ({'quick' if ctx.quick else 'full'})\n")
    print(machine_line() + f" (at start: {load_at_start})")
    print(f"obwatch {version} at {ctx.obwatch}; baseline: obshell {sdk_version(ctx)} (Python SDK) via "
          f"{ctx.sdk_python}; {ctx.rounds} alternating rounds, medians; open files limit {fd_limit}; "
          f"took {time.monotonic() - started:.0f} s\n")
    header = ["figure", "obwatch", "baseline", "ratio (baseline ÷ obwatch; above 1: obwatch better)", "goal", "met?"]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in ctx.rows:
        print("| " + " | ".join(str(c).replace("|", "\\|") for c in row.cells) + " |")
    if ctx.notes:
        print()
        for note in ctx.notes:
            print(f"- {note}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(ctx.raw, f, indent=2, default=str)
    if args.keep:
        print(f"\nkept {ctx.tmp}", file=sys.stderr)
    else:
        shutil.rmtree(ctx.tmp, ignore_errors=True)
    return status


def sdk_version(ctx):
    try:
        out = subprocess.run([ctx.sdk_python, "-c", "import importlib.metadata as m; print(m.version('obshell'))"],
                             capture_output=True, text=True, timeout=30).stdout.strip()
        return out or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


if __name__ == "__main__":
    sys.exit(main())
