#!/usr/bin/env bash
# `make fuzz`: coverage-guided fuzzing (libFuzzer, with AddressSanitizer) of what obwatch reads from outside: the JSON
# reader and decoder with the answer interpreter, the capture reader, and config decoding.
#
#   Fuzz/run.sh [TARGET...]        TARGET: JSONReader CaptureReader ConfigDecoding (default: all three)
#   FUZZ_SECONDS=1800              how long each target runs (default 1800, the figure BENCHMARKS.md quotes)
#   FUZZ_JOBS=1                    parallel libFuzzer workers per target
#
# The package's modules are built once with `-sanitize=fuzzer,address` into .build/fuzz (sharing the resolved
# dependencies of .build); each target is then linked with swiftc against their objects. Each run starts from the
# seed corpus in Fuzz/Corpus/TARGET (made from Tests/Fixtures, captures and rules; see Fuzz/README.md) and keeps
# what it finds new in .build/fuzz/corpus/TARGET. A crash, hang (-timeout) or sanitizer report leaves its input in
# .build/fuzz/findings/TARGET and fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

SWIFT=${SWIFT:-swift}
SECONDS_PER_TARGET=${FUZZ_SECONDS:-1800}
JOBS=${FUZZ_JOBS:-1}
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(JSONReader CaptureReader ConfigDecoding)
BUILD=.build/fuzz
SANITIZE="-sanitize=fuzzer,address"

# The fuzz build reuses the checked-out dependencies instead of fetching them again.
mkdir -p "$BUILD"
for shared in checkouts repositories artifacts; do
    [ -e ".build/$shared" ] && ln -sfn "../$shared" "$BUILD/$shared"
done
[ -e "$BUILD/workspace-state.json" ] || cp .build/workspace-state.json "$BUILD/"

echo "fuzz: building the modules with $SANITIZE"
# Release (optimised) code runs many times more inputs per second than debug code under the sanitizer.
"$SWIFT" build -j 2 -c release --build-path "$BUILD" --target ConfigLoading -Xswiftc "$SANITIZE" -Xswiftc -g 2>&1 \
    | grep -E "error|Build" || true
BIN=$("$SWIFT" build -c release --build-path "$BUILD" --show-bin-path)
# The package name SwiftPM gave the package's modules (from the checkout's folder name), so that the targets see
# their `package` declarations.
PACKAGE_NAME=$(grep -- '"-module-name","ObshellModel"' "$BUILD/release.yaml" | grep -o -- '-package-name","[^"]*"' \
    | head -n 1 | sed 's/.*","//; s/"$//')

# Each target links the objects of the modules it needs (and what they need), in dependency order.
modules_for() {
    case "$1" in
        JSONReader) echo "Support ObshellModel" ;;
        CaptureReader) echo "Support ObshellModel History Tracker" ;;
        ConfigDecoding) echo "Support ObshellModel History Tracker ConfigModel Mustache Messages YAML ConfigLoading" ;;
        *) echo "unknown fuzz target $1" >&2; exit 2 ;;
    esac
}

status=0
summary=()
for target in "${TARGETS[@]}"; do
    objects=()
    for module in $(modules_for "$target"); do
        objects+=("$BIN/$module.build"/*.o)
    done
    executable="$BUILD/fuzz-$target"
    echo "fuzz: linking $executable"
    swiftc $SANITIZE -parse-as-library -O -g -package-name "$PACKAGE_NAME" \
        -I "$BIN/Modules" -I Sources/CYAML -I Sources/CCurl -I Sources/COpenSSL \
        "Fuzz/Targets/$target.swift" "${objects[@]}" -lyaml -o "$executable" 2>"$BUILD/link-$target.log" \
        || { cat "$BUILD/link-$target.log"; exit 1; }

    corpus="$BUILD/corpus/$target"
    findings="$BUILD/findings/$target"
    mkdir -p "$corpus" "$findings"
    log="$BUILD/fuzz-$target.log"
    echo "fuzz: $target for ${SECONDS_PER_TARGET}s (log $log)"
    # Only with FUZZ_JOBS > 1: libFuzzer's workers then also write fuzz-N.log files into the current directory.
    parallel=()
    [ "$JOBS" -le 1 ] || parallel=(-jobs="$JOBS" -workers="$JOBS")
    set +e
    LSAN_OPTIONS="suppressions=$(pwd)/Fuzz/lsan.supp:print_suppressions=0" "$executable" "$corpus" "Fuzz/Corpus/$target" \
        -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -max_len=1048576 \
        "${parallel[@]}" -print_final_stats=1 \
        -artifact_prefix="$findings/" >"$log" 2>&1
    result=$?
    set -e
    runs=$(grep -E "^stat::number_of_executed_units" "$log" | awk '{ s += $2 } END { print s + 0 }')
    coverage=$(grep -oE "cov: [0-9]+" "$log" | tail -n 1 | awk '{ print $2 }')
    found=$(find "$findings" -type f | wc -l)
    line="$target: exit $result, ${runs} inputs in ${SECONDS_PER_TARGET}s, coverage ${coverage:-?} edges, corpus $(find "$corpus" -type f | wc -l) files, findings $found"
    echo "fuzz: $line"
    summary+=("$line")
    if [ "$result" -ne 0 ] || [ "$found" -ne 0 ]; then
        status=1
        grep -E "ERROR: (libFuzzer|AddressSanitizer)|SUMMARY|Fatal error|Test unit written" "$log" | head -n 20
    fi
done
echo
printf '%s\n' "${summary[@]}"
exit $status
