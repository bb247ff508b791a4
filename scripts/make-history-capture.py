#!/usr/bin/env python3
"""Writes Tests/Fixtures/captures/history-slow-node.jsonl: the capture of issue 19's acceptance.

Twelve runs of `Create tenant t<N>` on one target with usual node durations, then a thirteenth whose third node
("Set tenant variables") takes six times its usual minute. Polls every 20 s; a DAG that leaves the list is
confirmed with GET /api/v1/task/dag/{id}. Deterministic: the same file every time.
"""
import datetime
import json
import sys

TARGET = "db1"
POLL = 20
NODES = ["Create tenant", "Modify tenant whitelist", "Set tenant variables", "Set root password"]
START = datetime.datetime(2026, 11, 2, 9, 0, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))


def text(seconds):
    moment = START + datetime.timedelta(seconds=seconds)
    return moment.isoformat(timespec="microseconds")


def durations(run):
    usual = [40 + run % 3, 8 + run % 2, 60 + (run % 4) * 2, 5]
    if run == 13:
        usual[2] *= 6
    return usual


def dag(run, begin, now, lengths):
    """The DAG of `run` (started at `begin`) as obshell shows it at `now`."""
    nodes = []
    clock = begin
    stage = 1
    finished = True
    for index, (name, length) in enumerate(zip(NODES, lengths)):
        node_id = f"1{run:02d}{index + 1}"
        if now >= clock + length:
            state, start, end = "SUCCEED", text(clock), text(clock + length)
            stage = index + 1
        elif now >= clock:
            state, start, end = "RUNNING", text(clock), text(clock)
            stage = index + 1
            finished = False
        else:
            state, start, end = "PENDING", text(begin), text(begin)
            finished = False
        logs = [f"{name} of t{run}"] if state != "PENDING" else None
        nodes.append({
            "id": node_id, "node_id": run * 10 + index + 1, "name": name, "state": state, "operator": "RUN",
            "start_time": start, "end_time": end, "additional_data": None,
            "sub_tasks": [{
                "id": node_id, "task_id": run * 10 + index + 1, "name": name, "state": state, "operator": "RUN",
                "start_time": start, "end_time": end, "additional_data": None,
                "execute_times": 0 if state == "PENDING" else 1,
                "execute_agent": {"ip": "10.0.0.5", "port": 2886}, "task_logs": logs,
            }],
        })
        clock += length
        if state != "SUCCEED":
            # later nodes stay PENDING
            for later_index in range(index + 1, len(NODES)):
                later_id = f"1{run:02d}{later_index + 1}"
                nodes.append({
                    "id": later_id, "node_id": run * 10 + later_index + 1, "name": NODES[later_index],
                    "state": "PENDING", "operator": "RUN", "start_time": text(begin), "end_time": text(begin),
                    "additional_data": None,
                    "sub_tasks": [{
                        "id": later_id, "task_id": run * 10 + later_index + 1, "name": NODES[later_index],
                        "state": "PENDING", "operator": "RUN", "start_time": text(begin), "end_time": text(begin),
                        "additional_data": None, "execute_times": 0,
                        "execute_agent": {"ip": "10.0.0.5", "port": 2886}, "task_logs": None,
                    }],
                })
            break
    return {
        "id": f"1{run:02d}", "dag_id": run, "name": f"Create tenant t{run}", "stage": stage, "max_stage": len(NODES),
        "maintenance_type": 3, "maintenance_key": f"t{run}",
        "state": "SUCCEED" if finished else "RUNNING", "operator": "RUN",
        "start_time": text(begin), "end_time": text(begin + sum(lengths)) if finished else text(begin),
        "additional_data": {}, "nodes": nodes,
    }


def envelope(now, data):
    return {"successful": True, "timestamp": text(now), "duration": 3, "status": 200,
            "traceId": f"{int(now):016x}", "data": data}


def main():
    out = sys.stdout if len(sys.argv) < 2 else open(sys.argv[1], "w")
    now = 0
    for run in range(1, 14):
        lengths = durations(run)
        begin = now + 5
        end = begin + sum(lengths)
        while now <= end + POLL:
            listed = [dag(run, begin, now, lengths)] if begin <= now < end else []
            out.write(json.dumps({
                "at": text(now), "target": TARGET,
                "request": "GET /api/v1/task/dag/unfinish?show_details=true", "status": 200,
                "body": envelope(now, {"contents": listed}),
            }, separators=(",", ":")) + "\n")
            if now >= end and now - POLL < end:
                out.write(json.dumps({
                    "at": text(now + 1), "target": TARGET,
                    "request": f"GET /api/v1/task/dag/1{run:02d}?show_details=true", "status": 200,
                    "body": envelope(now + 1, dag(run, begin, now + 1, lengths)),
                }, separators=(",", ":")) + "\n")
            now += POLL
        now += 3600  # an hour between runs


main()
