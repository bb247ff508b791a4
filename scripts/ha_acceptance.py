#!/usr/bin/env python3
"""High availability on PostgreSQL, measured from outside: `make ha-acceptance`.

Starts a PostgreSQL server of its own (Debian's binaries, initdb into a temporary folder, a loopback port, a SCRAM
password), one simulated obshell agent per target behind a counting proxy (the agent's request log), a webhook
receiver, and REPLICAS copies of `obwatch run` sharing one schema. Each target's scenario runs DAGs one after
another, a stage every few seconds, for the whole run. Then, in order:

1. steady state: every list request the agents see, per target and second (one replica per target, not three);
2. KILLS times: `kill -9` of the replica holding the most leases, the next event of each of its targets timed
   against when it would have come (the steady state's latency), then the replica started again;
3. SIGSTOP of a replica that holds leases for 3 lease lengths, then SIGCONT: its fenced-write count must rise and
   nothing it sends may duplicate;
4. PostgreSQL stopped for a few seconds under load: every replica's /readyz must say not ready, then ready again
   without a restart;
5. the scenarios run out; every delivered event is checked: every DAG's started, each stage and succeeded
   delivered (0 lost), and no event delivered twice with different ids.

Prints a report and a JSON summary line; exits 1 when an acceptance point does not hold.
"""
import argparse
import http.client
import http.server
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "bench"))
from receiver import Receiver  # noqa: E402

PG_USER = "obwatch_ha"
PG_PASSWORD = "ha-Secret-9023"
SIM_PASSWORD = "sim-Secret-5531"


# Every child this script starts, stopped on every path out (a failed wait, an exception, Ctrl-C): a run that ends
# early must not leave servers, simulators or replicas behind.
_CHILDREN = []
_SERVERS = []


def _cleanup():
    for process in _CHILDREN:
        if process.poll() is None:
            try:
                process.send_signal(signal.SIGCONT)
                process.kill()
                process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
    for server in _SERVERS:
        try:
            server.stop()
        except (OSError, subprocess.CalledProcessError):
            pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# ----------------------------------------------------------------------------------------------------------------
# PostgreSQL


class Postgres:
    def __init__(self, folder):
        versions = sorted(
            (int(v), v) for v in os.listdir("/usr/lib/postgresql") if v.isdigit()
        )
        if not versions:
            sys.exit("no PostgreSQL server installed (make deps installs it)")
        self.bin = f"/usr/lib/postgresql/{versions[-1][1]}/bin"
        self.folder = folder
        self.data = os.path.join(folder, "data")
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        os.makedirs(folder, exist_ok=True)
        pwfile = os.path.join(folder, "pw")
        with open(pwfile, "w") as f:
            f.write(PG_PASSWORD + "\n")
        if self.as_postgres:
            uid = pwd.getpwnam("postgres").pw_uid
            for path in (folder, pwfile):
                os.chown(path, uid, -1)
        self._run(
            [f"{self.bin}/initdb", "-D", self.data, "-U", PG_USER, "--pwfile", pwfile, "--auth=scram-sha-256",
             "--no-sync", "-E", "UTF8"]
        )

    def _run(self, argv):
        if self.as_postgres:
            argv = ["runuser", "-u", "postgres", "--"] + argv
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    @property
    def url(self):
        return f"postgres://{PG_USER}:{PG_PASSWORD}@127.0.0.1:{self.port}/postgres"

    def start(self):
        if self not in _SERVERS:
            _SERVERS.append(self)
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.folder} -c fsync=off"
        self._run([f"{self.bin}/pg_ctl", "-D", self.data, "-l", os.path.join(self.folder, "server.log"), "-o",
                   options, "-w", "start"])

    def stop(self):
        self._run([f"{self.bin}/pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop"])

    def query(self, sql):
        """Rows of `sql` as lists of strings (psql, unaligned)."""
        env = dict(os.environ, PGPASSWORD=PG_PASSWORD)
        out = subprocess.run(
            [f"{self.bin}/psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", PG_USER, "-d", "postgres", "-At",
             "-F", "\t", "-c", sql],
            check=True, capture_output=True, text=True, env=env,
        ).stdout
        return [line.split("\t") for line in out.splitlines() if line]


# ----------------------------------------------------------------------------------------------------------------
# Agents: a simulator per target behind a proxy that logs every request


class CountingProxy:
    """Forwards HTTP to one simulator and records (monotonic time, method, path) of every request."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.requests = []
        self.connections = 0
        self.lock = threading.Lock()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                with owner.lock:
                    owner.connections += 1
                self.upstream = None

            def _forward(self):
                with owner.lock:
                    owner.requests.append((time.monotonic(), self.command, self.path))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
                for attempt in range(2):
                    try:
                        if self.upstream is None:
                            self.upstream = http.client.HTTPConnection("127.0.0.1", owner.upstream_port, timeout=60)
                        self.upstream.request(self.command, self.path, body=body, headers=headers)
                        answer = self.upstream.getresponse()
                        data = answer.read()
                        break
                    except (OSError, http.client.HTTPException):
                        self.upstream = None
                        if attempt:
                            self.send_error(502)
                            return
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("connection", "keep-alive", "content-length", "transfer-encoding"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = _forward
            do_POST = _forward

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def list_requests(self, since, until):
        with self.lock:
            return [t for (t, m, p) in self.requests if since <= t < until and p.startswith("/api/v1/task/dag/unfinish")]


def scenario_text(index, dags, period, stage_every, nodes):
    """DAGs that run one after another: DAG n appears and starts at `first + n × period`, advances every
    `stage_every` seconds, and succeeds after its last node."""
    first = 3 + index * 0.7
    lines = [
        "agent:",
        "  identity: CLUSTER AGENT",
        f"  ip: 10.20.0.{index + 1}",
        "  port: 2886",
        "  zone: zone1",
        "  version: 4.3.5.0",
        f"  password: {SIM_PASSWORD}",
        "dags:",
    ]
    steps = []
    for n in range(1, dags + 1):
        start = first + (n - 1) * period
        lines += [
            f"  - dag_id: {n}",
            f"    name: HA run {n}",
            f"    appears_at: {int(start * 1000)}ms",
            "    nodes:",
        ]
        lines += [f"      - HA node {k}" for k in range(1, nodes + 1)]
        steps.append((start, n, "start"))
        for k in range(1, nodes + 1):
            steps.append((start + k * stage_every, n, "advance"))
    lines.append("steps:")
    for at, n, action in sorted(steps, key=lambda s: s[0]):
        lines.append(f"  - {{at: {int(at * 1000)}ms, do: {action}, dag: \"1{n}\"}}")
    return "\n".join(lines) + "\n", first


# ----------------------------------------------------------------------------------------------------------------
# Replicas


class Replica:
    def __init__(self, number, obwatch, folder, config_body, environment):
        self.number = number
        self.obwatch = obwatch
        self.folder = os.path.join(folder, f"replica-{number}")
        os.makedirs(self.folder, exist_ok=True)
        self.port = free_port()
        self.config = os.path.join(self.folder, "obwatch.yaml")
        with open(self.config, "w") as f:
            f.write(f"state_dir: {self.folder}/state\n")
            f.write(f"http: {{ listen: \"127.0.0.1:{self.port}\" }}\n")
            f.write(config_body)
        self.environment = environment
        self.process = None
        self.starts = 0

    def start(self):
        self.starts += 1
        self.stdout = open(os.path.join(self.folder, f"events-{self.starts}.jsonl"), "w")
        self.stderr = open(os.path.join(self.folder, f"stderr-{self.starts}.log"), "w")
        self.process = subprocess.Popen(
            [self.obwatch, "run", "--config", self.config], stdout=self.stdout, stderr=self.stderr,
            env=dict(os.environ, **self.environment),
        )
        _CHILDREN.append(self.process)

    def get(self, path, timeout=2):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=timeout) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()
        except OSError:
            return None, ""

    def metric(self, name):
        status, text = self.get("/metrics")
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name) and (len(line) == len(name) or line[len(name)] in " {"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def kill(self, sig=signal.SIGKILL):
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            if sig in (signal.SIGKILL, signal.SIGTERM):
                self.process.wait(timeout=30)

    @property
    def pid(self):
        return self.process.pid if self.process else None


def wait_for(what, predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise SystemExit(f"timed out after {timeout}s waiting for {what}")


# ----------------------------------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--obwatch", required=True)
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--targets", type=int, default=6)
    parser.add_argument("--interval", type=float, default=1.0, help="poll interval, seconds")
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--keep", action="store_true", help="keep the working folder")
    parser.add_argument("--work", default=os.path.abspath(".build/ha-acceptance"), help="where working folders go")
    args = parser.parse_args()

    os.makedirs(args.work, exist_ok=True)
    work = tempfile.mkdtemp(prefix="run-", dir=args.work)
    os.chmod(work, 0o755)
    log(f"working folder {work}")
    lease_length = args.interval * 1.5
    period, stage_every, nodes = 14.0, 3.0, 4
    run_seconds = 60 + args.kills * 16 + 60
    dags = int(run_seconds / period) + 1

    postgres = Postgres(os.path.join(work, "pg"))
    postgres.start()
    log(f"PostgreSQL on 127.0.0.1:{postgres.port}")

    receiver = Receiver()
    receiver.start()
    simulators, proxies, starts = [], [], []
    password_file = os.path.join(work, "agent.pw")
    with open(password_file, "w") as f:
        f.write(SIM_PASSWORD + "\n")
    first_steps = []
    for index in range(args.targets):
        text, first = scenario_text(index, dags, period, stage_every, nodes)
        path = os.path.join(work, f"scenario-{index}.yaml")
        with open(path, "w") as f:
            f.write(text)
        process = subprocess.Popen(
            [args.obwatch, "simulate", "--scenario", path, "--listen", "127.0.0.1:0", "--key-bits", "512"],
            stdout=subprocess.PIPE, stderr=open(os.path.join(work, f"simulator-{index}.log"), "w"), text=True,
        )
        _CHILDREN.append(process)
        launched = time.time()
        line = process.stdout.readline()
        if not line.startswith("listening on http://"):
            sys.exit(f"simulator {index} did not start: {line!r}")
        port = int(line.strip().rsplit(":", 1)[1])
        # Scenario time 0 is when the file was loaded: between the launch and the "listening" line.
        starts.append(launched)
        simulators.append(process)
        proxies.append(CountingProxy(port))
        first_steps.append(first)

    targets = "\n".join(
        f"  - {{ name: t{index}, url: \"http://127.0.0.1:{proxies[index].port}\", password_file: {password_file}, "
        f"poll_interval: {int(args.interval * 1000)}ms, timeout: 5s }}"
        for index in range(args.targets)
    )
    url_file = os.path.join(work, "pg.url")
    with open(url_file, "w") as f:
        f.write(postgres.url + "\n")
    config = f"""targets:
{targets}
store: {{ postgres: {{ url_file: {url_file}, schema: ha }} }}
receivers:
  - name: hook
    webhook: {{ url: "{receiver.url}/hook", format: generic }}
rules:
  - name: everything
    match: {{ event: "*" }}
    notify: [hook]
"""
    migrate_config = os.path.join(work, "migrate.yaml")
    with open(migrate_config, "w") as f:
        f.write(f"state_dir: {work}/migrate\n" + config)
    migrated = subprocess.run([args.obwatch, "migrate", "--config", migrate_config], text=True, capture_output=True)
    if migrated.returncode != 0:
        sys.exit(f"obwatch migrate failed: {migrated.stderr}")
    log(migrated.stdout.strip().splitlines()[-1] if migrated.stdout.strip() else "migrated")
    replicas = [Replica(n, args.obwatch, work, config, {}) for n in range(args.replicas)]
    for replica in replicas:
        replica.start()
    wait_for("every replica ready", lambda: all(r.get("/readyz")[0] == 200 for r in replicas), 60)

    def leases():
        """target -> holder."""
        return {row[0]: row[1] for row in postgres.query(
            "SELECT target, holder FROM ha.target_lease WHERE expires_at > now() AND holder IS NOT NULL")}

    def holder_replica(holder):
        """The replica whose /api/v1/cluster names itself `holder`."""
        for replica in replicas:
            status, body = replica.get("/api/v1/cluster")
            if status == 200 and json.loads(body).get("replica") == holder:
                return replica
        return None

    failures = []
    wait_for("every target leased", lambda: len(leases()) == args.targets, 30)
    log(f"leases: {sorted(leases().items())}")

    # 1. steady state: list requests per target per second.
    window = 20.0
    time.sleep(2)
    since = time.monotonic()
    time.sleep(window)
    until = time.monotonic()
    per_second = [len(p.list_requests(since, until)) / window for p in proxies]
    log(f"list requests per target per second over {window:.0f}s: {[round(x, 2) for x in per_second]}")
    if max(per_second) > 1.5 / args.interval:
        failures.append(f"a target was polled {max(per_second):.2f} times a second (more than one replica)")
    held = {}
    for target, holder in leases().items():
        held.setdefault(holder, []).append(target)
    log(f"leases per replica: {[len(v) for v in held.values()]}")
    share = -(-args.targets // args.replicas)
    if max(len(v) for v in held.values()) > share:
        failures.append(f"a replica holds more than its fair share of {share}")
    steady_from, steady_until = time.time() - window, time.time()

    # 2. kills.
    kill_report = []
    for number in range(args.kills):
        current = leases()
        counts = {}
        for target, holder in current.items():
            counts.setdefault(holder, []).append(target)
        holder, victims = max(counts.items(), key=lambda item: len(item[1]))
        replica = holder_replica(holder)
        if replica is None:
            failures.append(f"cannot tell which replica is {holder}")
            break
        killed_at = time.time()
        replica.kill(signal.SIGKILL)
        log(f"kill {number + 1}: replica {replica.number} (pid {replica.pid}) holding {sorted(victims)}")
        taken = wait_for(
            "the killed replica's targets taken over",
            lambda: all(leases().get(t) not in (None, holder) for t in victims) and leases(),
            30,
        )
        took = time.time() - killed_at
        kill_report.append({"kill": number + 1, "at": killed_at, "targets": sorted(victims),
                            "takeover_seconds": round(took, 2)})
        log(f"  taken over after {took:.2f}s by {sorted(set(taken[t] for t in victims))}")
        replica.start()
        wait_for("the restarted replica ready", lambda: replica.get("/readyz")[0] == 200, 60)
        time.sleep(16 - min(took, 10))

    # 3. SIGSTOP.
    current = leases()
    holder = max(set(current.values()), key=lambda h: list(current.values()).count(h))
    stopped = holder_replica(holder)
    fenced_before = stopped.metric("obwatch_fenced_writes_total")
    stopped.kill(signal.SIGSTOP)
    log(f"SIGSTOP replica {stopped.number} holding {sorted(t for t, h in current.items() if h == holder)} "
        f"for {3 * lease_length:.1f}s")
    time.sleep(3 * lease_length)
    stopped.kill(signal.SIGCONT)
    time.sleep(3 * args.interval)
    fenced_after = stopped.metric("obwatch_fenced_writes_total")
    log(f"  fenced writes of the stopped replica: {fenced_before:.0f} -> {fenced_after:.0f}")
    if fenced_after <= fenced_before:
        failures.append("the SIGSTOPped replica's fenced-write count did not rise")

    # 4. PostgreSQL restart.
    time.sleep(5)
    postgres.stop()
    log("PostgreSQL stopped")
    try:
        wait_for("every replica not ready", lambda: all(r.get("/readyz")[0] == 503 for r in replicas), 20)
        log("  every replica says not ready")
    except SystemExit as error:
        failures.append(str(error))
    time.sleep(5)
    postgres.start()
    log("PostgreSQL started again")
    try:
        wait_for("every replica ready again", lambda: all(r.get("/readyz")[0] == 200 for r in replicas), 60)
        log("  every replica ready again, without a restart")
    except SystemExit as error:
        failures.append(str(error))

    # 5. the end of the scenarios.
    end_scenario = max(starts) + 3 + (args.targets - 1) * 0.7 + dags * period + 10
    log(f"waiting {max(0, end_scenario - time.time()):.0f}s for the scenarios to end")
    time.sleep(max(0, end_scenario - time.time()))
    time.sleep(5)
    for replica in replicas:
        replica.kill(signal.SIGTERM)

    # The analysis.
    def step_time(event):
        """When the scenario step that made `event` happened (wall clock), or None."""
        name = event["target"]["name"]
        if not name[1:].isdigit():
            return None
        index = int(name[1:])
        dag = event.get("dag") or {}
        n = int(dag.get("id", "10")[1:])
        start = starts[index] + first_steps[index] + (n - 1) * period
        if event["type"] == "started":
            return start
        if event["type"] == "stage_advanced":
            return start + (dag["stage"] - 1) * stage_every
        if event["type"] == "succeeded":
            return start + nodes * stage_every
        return None

    delivered = []
    for record in receiver.records():
        body = json.loads(record.body)
        for event in body.get("events", []):
            delivered.append((record.wall, event))
    keys = {}
    same_id = 0
    seen_ids = set()
    for wall, event in delivered:
        if event["id"] in seen_ids:
            same_id += 1
        seen_ids.add(event["id"])
        dag = event.get("dag") or {}
        key = (event["target"]["name"], dag.get("id"), event["type"],
               dag.get("stage") if event["type"] == "stage_advanced" else None)
        keys.setdefault(key, set()).add(event["id"])
    # The watcher's own events (target `obwatch`) are each replica's: two replicas that both lose the database
    # both say so.
    duplicates = {k: v for k, v in keys.items() if len(v) > 1 and k[0] != "obwatch"}
    watcher = [(k, len(v)) for k, v in keys.items() if k[0] == "obwatch"]
    log(f"the watcher's own events (per replica): {watcher}")
    expected = 0
    lost = []
    for index in range(args.targets):
        for n in range(1, dags + 1):
            dag = f"1{n}"
            wanted = [("started", None)] + [("stage_advanced", s) for s in range(2, nodes + 1)] + [("succeeded", None)]
            for kind, stage in wanted:
                expected += 1
                if (f"t{index}", dag, kind, stage) not in keys:
                    lost.append((f"t{index}", dag, kind, stage))
    log(f"delivered {len(delivered)} events ({len(seen_ids)} distinct ids); expected {expected} scenario events")
    log(f"lost: {len(lost)} {lost[:10]}")
    log(f"the same event with different ids: {len(duplicates)} {list(duplicates.items())[:5]}")
    log(f"re-sends with the same id (at-least-once): {same_id}")
    if lost:
        failures.append(f"{len(lost)} scenario events never reached the receiver")
    if duplicates:
        failures.append(f"{len(duplicates)} events reached the receiver twice with different ids")
    # Latency of each event: its arrival at the receiver after the step that made it. The steady state's median per
    # type is "when it would have come"; after each kill, the first event of each victim target is compared to it.
    latencies = {}
    first_arrival = {}
    for wall, event in delivered:
        step = step_time(event)
        if step is None:
            continue
        key = (event["target"]["name"], (event.get("dag") or {}).get("id"), event["type"],
               (event.get("dag") or {}).get("stage") if event["type"] == "stage_advanced" else None)
        first_arrival[key] = min(first_arrival.get(key, wall), wall)
        if steady_from <= step < steady_until:
            latencies.setdefault(event["type"], []).append(wall - step)
    baseline = {kind: sorted(values)[len(values) // 2] for kind, values in latencies.items()}
    log("steady latency, step to receiver (median): "
        + ", ".join(f"{kind} {value:.2f}s" for kind, value in sorted(baseline.items())))
    for kill in kill_report:
        worst = 0.0
        for target in kill["targets"]:
            after = [(wall, key) for key, wall in first_arrival.items()
                     if key[0] == target and key[2] in baseline]
            pending = []
            for wall, key in after:
                fake = {"target": {"name": key[0]}, "dag": {"id": key[1], "stage": key[3]}, "type": key[2]}
                step = step_time(fake)
                if step is not None and step >= kill["at"]:
                    pending.append((step, wall, key[2]))
            if pending:
                step, wall, kind = min(pending)
                worst = max(worst, (wall - step) - baseline[kind])
        kill["next_event_delay_seconds"] = round(worst, 2)
        if worst > 2 * args.interval:
            failures.append(f"kill {kill['kill']}: the next event came {worst:.2f}s later than usual "
                            f"(more than 2 poll intervals)")
    delays = [k["next_event_delay_seconds"] for k in kill_report]
    if delays:
        log(f"next event after kill -9, later than usual by: {delays} (limit {2 * args.interval:.1f}s)")
    takeovers = [k["takeover_seconds"] for k in kill_report]
    if takeovers:
        log(f"takeover after kill -9: min {min(takeovers):.2f}s, median {sorted(takeovers)[len(takeovers) // 2]:.2f}s, "
            f"max {max(takeovers):.2f}s (poll interval {args.interval}s, lease {lease_length}s)")
    summary = {
        "replicas": args.replicas, "targets": args.targets, "interval": args.interval,
        "list_requests_per_target_per_second": per_second, "kills": kill_report,
        "delivered": len(delivered), "expected": expected, "lost": len(lost), "duplicates": len(duplicates),
        "same_id_resends": same_id, "failures": failures,
    }
    print(json.dumps(summary))

    for process in simulators:
        process.terminate()
    postgres.stop()
    receiver.stop()
    if not args.keep and not failures:
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        log("FAILED: " + "; ".join(failures))
        return 1
    log("every acceptance point held")
    return 0


if __name__ == "__main__":
    # SIGTERM (a timeout, CI) ends the run through the cleanup too.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
    try:
        sys.exit(main())
    finally:
        _cleanup()
