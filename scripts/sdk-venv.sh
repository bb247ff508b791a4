#!/bin/sh
# Creates the virtualenv the SimulatorTests use to run obshell's official Python SDK against the simulator:
# <package root>/.build/sdk-venv with obshell==0.0.9 from PyPI. Does nothing when it is already there.
# Debian needs the python3-venv package for `python3 -m venv`.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.build/sdk-venv"
if "$venv/bin/python" -c 'import obshell' >/dev/null 2>&1; then
    exit 0
fi
mkdir -p "$root/.build"
/usr/bin/python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check obshell==0.0.9
"$venv/bin/python" -c 'import obshell' >/dev/null
echo "sdk-venv: installed obshell 0.0.9 into $venv"
