"""Reads DAGs from a simulated agent with obshell's official Python SDK and prints what it got as one JSON line.

Usage: sdk_read.py HOST PORT PASSWORD [DAG_ID ...]
"""
import json
import sys

from obshell import ClientSet, OBShellHandleError
from obshell.auth import PasswordAuth


def summary(dag):
    return {
        "id": dag.generic_id,
        "name": dag.name,
        "stage": dag.stage,
        "max_stage": dag.max_stage,
        "state": dag.state,
        "operator": dag.operator,
        "nodes": [node.name for node in dag.nodes],
    }


def main():
    host, port, password = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    client = ClientSet(host, port, PasswordAuth(password))
    try:
        result = {
            "unfinished": [summary(dag) for dag in client.v1.get_unfinished_dags()],
            "dags": [summary(client.v1.get_dag(dag_id)) for dag_id in sys.argv[4:]],
        }
    except OBShellHandleError as error:
        result = {"error": {"code": error.code, "errCode": error.err_code, "message": error.message}}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
