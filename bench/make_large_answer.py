#!/usr/bin/env python3
"""Builds the large /task/dag/unfinish answer for the decode benchmark: 50 DAGs of 30 nodes each, every one shaped
like the seed answer's DAG (same fields, same sub-task layout, same log lines), deterministic byte for byte.

Usage: make_large_answer.py [--seed FILE] [--dags 50] [--nodes 30] [--out FILE]   (stdout without --out)
"""
import argparse
import copy
import json
import sys

DEFAULT_SEED = "/work/shared/fixtures/unfinish-scale-out.json"


def build(seed: dict, dags: int = 50, nodes: int = 30) -> dict:
    template_dag = seed["data"]["contents"][0]
    template_nodes = template_dag["nodes"]
    answer = copy.deepcopy(seed)
    contents = []
    for d in range(dags):
        dag = copy.deepcopy(template_dag)
        dag_id = d + 1
        dag["dag_id"] = dag_id
        dag["id"] = f"1{dag_id}"
        dag["name"] = f"{template_dag['name']} {dag_id}"
        dag["max_stage"] = nodes
        stage = (d * 7) % nodes + 1          # spread the current stage over the whole range
        dag["stage"] = stage
        dag["state"] = "RUNNING"
        dag_nodes = []
        for i in range(nodes):
            node = copy.deepcopy(template_nodes[i % len(template_nodes)])
            node_id = d * nodes + i + 1
            state = "SUCCEED" if i + 1 < stage else ("RUNNING" if i + 1 == stage else "PENDING")
            node["node_id"] = node_id
            node["id"] = f"1{node_id}"
            node["name"] = f"{node['name']} {i + 1}"
            node["state"] = state
            for sub in node.get("sub_tasks") or []:
                sub["task_id"] = node_id
                sub["id"] = f"1{node_id}"
                sub["name"] = node["name"]
                sub["state"] = state
            dag_nodes.append(node)
        dag["nodes"] = dag_nodes
        contents.append(dag)
    answer["data"]["contents"] = contents
    return answer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", default=DEFAULT_SEED)
    parser.add_argument("--dags", type=int, default=50)
    parser.add_argument("--nodes", type=int, default=30)
    parser.add_argument("--out")
    args = parser.parse_args()
    with open(args.seed, "rb") as f:
        seed = json.load(f)
    # Compact, as obshell (Go, gin) sends it on the wire; the seed file is indented only for reading.
    text = json.dumps(build(seed, args.dags, args.nodes), ensure_ascii=False, separators=(",", ":"))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
