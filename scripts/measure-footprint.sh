#!/usr/bin/env bash
# Size and memory of obwatch binaries side by side: the figures of BENCHMARKS.md's "The self-contained binary".
# Usage: scripts/measure-footprint.sh ROUNDS BINARY...   (from the repository root; e.g. the dynamic release build
# and the packaged one, 5 rounds)
#
# For each binary: its size on disk, and over ROUNDS rounds that alternate between the binaries, the medians of
# - `obwatch demo`: peak RSS (GNU time's maximum resident set size, the kernel's VmHWM at exit);
# - `obwatch run` polling a simulated agent (`obwatch simulate`, scenarios/scale-out.yaml, real time) every second
#   with every event to a JSON Lines file: VmHWM and VmRSS from /proc/PID/status after 20 seconds.
set -euo pipefail

rounds=$1
shift
binaries=("$@")
scratch=$(mktemp -d)
children=()
cleanup() {
    for pid in "${children[@]}"; do kill "$pid" 2> /dev/null || true; done
    rm -rf "$scratch"
}
trap cleanup EXIT

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# One simulated agent for every round, on a free port.
"${binaries[0]}" simulate --scenario scenarios/scale-out.yaml --listen 127.0.0.1:0 --password footprint \
    > "$scratch/simulator.out" 2>&1 &
children+=($!)
for _ in $(seq 1 100); do
    url=$(sed -n 's/^listening on \(http:.*\)$/\1/p' "$scratch/simulator.out")
    [ -n "$url" ] && break
    sleep 0.1
done

for round in $(seq 1 "$rounds"); do
    for index in "${!binaries[@]}"; do
        binary=${binaries[$index]}
        /usr/bin/time -f '%M' -o "$scratch/demo-$index-$round" "$binary" demo > /dev/null 2>&1

        state=$scratch/state-$index-$round
        cat > "$scratch/run.yaml" <<EOF
state_dir: $state
defaults: { poll_interval: 1s }
targets:
  - { name: simulated, url: "$url", password: footprint }
receivers:
  - { name: events, file: { path: "$state.events.jsonl" } }
rules:
  - { name: everything, match: { event: "*" }, notify: [events] }
EOF
        "$binary" run --config "$scratch/run.yaml" > /dev/null 2>&1 &
        pid=$!
        sleep 20
        awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" > "$scratch/hwm-$index-$round"
        awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" > "$scratch/rss-$index-$round"
        kill -TERM "$pid"
        wait "$pid" || true
    done
done

printf '| binary | size | demo: peak RSS | run, 20 s: VmHWM | run, 20 s: VmRSS |\n|---|---|---|---|---|\n'
for index in "${!binaries[@]}"; do
    binary=${binaries[$index]}
    demo=$(cat "$scratch"/demo-"$index"-* | median)
    hwm=$(cat "$scratch"/hwm-"$index"-* | median)
    rss=$(cat "$scratch"/rss-"$index"-* | median)
    printf '| %s | %.1f MB | %.1f MiB | %.1f MiB | %.1f MiB |\n' "$binary" "$(stat -c %s "$binary" | awk '{ print $1 / 1e6 }')" \
        "$(awk -v k="$demo" 'BEGIN { print k / 1024 }')" "$(awk -v k="$hwm" 'BEGIN { print k / 1024 }')" \
        "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')"
    printf '  raw KiB: demo %s; VmHWM %s; VmRSS %s\n' "$(cat "$scratch"/demo-"$index"-* | tr '\n' ' ')" \
        "$(cat "$scratch"/hwm-"$index"-* | tr '\n' ' ')" "$(cat "$scratch"/rss-"$index"-* | tr '\n' ' ')" >&2
done
