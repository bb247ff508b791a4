#!/usr/bin/env bash
# shellcheck disable=SC2317 # the checks are functions that check() calls by name
# `make package-test`: the Debian package on a clean Debian 12 host.
#
# 1. Builds obwatch_VERSION_ARCH.deb (scripts/build-deb.sh), and the same binary packaged as OLD_VERSION for the
#    upgrade; checks the packaged binary links nothing from the Swift toolchain, lintian finds no error, and
#    systemd-analyze rates the packaged unit 2.0 or better.
# 2. Installs it into a fresh `debootstrap --variant=minbase bookworm` root (no Swift, no systemd) with only its
#    declared dependencies, and runs `obwatch --version`, `obwatch check` on the installed config and `obwatch demo`.
# 3. Boots a second fresh root (minbase and systemd-sysv) with `systemd-nspawn --boot` on a private network and
#    checks, under a real systemd: a first install starts the service; READY=1 (Type=notify) and the watchdog hold;
#    the hardening (MemoryDenyWriteExecute, SystemCallFilter, ...) holds with the Swift runtime; the journal of a
#    healthy start has no line that says "failed"; an upgrade over a running service keeps the edited config,
#    restarts the service and carries the state over (no second `started`); remove keeps config and state; purge
#    removes both.
#
# Prints one line per check and `N passed, M failed` last; exits 1 when a check failed. The roots are cached as
# tarballs under .build-pkg/cache (delete that folder to start over); the first run downloads them through apt's
# configured Debian mirror (or $DEBIAN_MIRROR). Runs as root (debootstrap and systemd-nspawn need it).
set -uo pipefail

cd "$(dirname "$0")/.." || exit 2
repo=$(pwd)
work=$repo/.build-pkg
cache=$work/cache
logs=$work/logs
old_version=${OLD_VERSION:-0.1.9}
suite=bookworm
machine_prefix=obwatch-pkgtest-$$

if [ "$(id -u)" -ne 0 ]; then
    echo "package-test: run as root (debootstrap and systemd-nspawn need it): sudo make package-test" >&2
    exit 2
fi

scripts/install-deps.sh debootstrap systemd-container lintian dpkg-dev binutils help2man xz-utils util-linux \
    procps || exit 2

rm -rf "$logs" "$work/roots"
mkdir -p "$cache/apt-archives" "$logs" "$work/roots"

passed=0
failed=0
check_number=0

# check NAME COMMAND...: runs COMMAND with its output kept in logs/NN.log; on failure the log's end is shown.
check() {
    local name=$1
    shift
    check_number=$((check_number + 1))
    local log
    log=$(printf '%s/%02d.log' "$logs" "$check_number")
    if "$@" > "$log" 2>&1; then
        passed=$((passed + 1))
        printf 'ok    %s\n' "$name"
    else
        failed=$((failed + 1))
        printf 'FAIL  %s\n' "$name"
        tail -n 25 "$log" | sed 's/^/      | /'
    fi
}

# note TEXT: a figure shown beside the checks, not counted.
note() { printf '      %s\n' "$*"; }

finish() {
    printf '%d passed, %d failed\n' "$passed" "$failed"
    [ "$failed" -eq 0 ]
    exit $?
}

# --- 1. The package ------------------------------------------------------------------------------------------------

echo "== building the packages (logs in $logs)"
if ! scripts/build-deb.sh > "$logs/build-deb.log" 2>&1; then
    tail -n 40 "$logs/build-deb.log"
    failed=$((failed + 1))
    echo "FAIL  make deb"
    finish
fi
deb=$(grep '\.deb$' "$logs/build-deb.log" | tail -n 1)
version=$(dpkg-deb -f "$deb" Version)
if ! OBWATCH_DEB_VERSION=$old_version DEB_OUT=$work/old scripts/build-deb.sh > "$logs/build-old-deb.log" 2>&1; then
    tail -n 40 "$logs/build-old-deb.log"
    failed=$((failed + 1))
    echo "FAIL  the older package for the upgrade test"
    finish
fi
old_deb=$(grep '\.deb$' "$logs/build-old-deb.log" | tail -n 1)
note "$(basename "$deb"): $(stat -c %s "$deb") bytes; Depends: $(dpkg-deb -f "$deb" Depends)"

extracted=$work/extracted
rm -rf "$extracted" && dpkg-deb -x "$deb" "$extracted"
toolchain=$(dirname "$(dirname "$(readlink -f "$(command -v "${SWIFT:-swift}")")")")

links_no_toolchain_library() {
    ldd "$extracted/usr/bin/obwatch"
    ! ldd "$extracted/usr/bin/obwatch" | grep -e "$toolchain" -e libswift -e libFoundation -e libdispatch -e libicu
}
check "ldd: the packaged binary links nothing from the Swift toolchain ($toolchain)" links_no_toolchain_library

lintian_errors() {
    lintian --info --display-info "$deb" | tee "$logs/lintian.txt"
    ! grep -q '^E: ' "$logs/lintian.txt"
}
check "lintian: no errors" lintian_errors
note "lintian: $(grep -c '^E: ' "$logs/lintian.txt") errors, $(grep -c '^W: ' "$logs/lintian.txt") warnings," \
    "$(grep -c '^I: ' "$logs/lintian.txt") notes"

# The overall exposure, from systemd-analyze's last line: "→ Overall exposure level for obwatch.service: 1.1 OK".
exposure_of() { sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' | tail -n 1; }
exposure_at_most_two() {
    local exposure
    exposure=$("$@" | tee /dev/stderr | exposure_of)
    echo "exposure: ${exposure:-none}"
    [ -n "$exposure" ] && awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }'
}
check "systemd-analyze security (offline) of the packaged unit: 2.0 or less" exposure_at_most_two \
    env SYSTEMD_COLORS=0 systemd-analyze security --offline=true --no-pager "$extracted/lib/systemd/system/obwatch.service"

# --- 2. The roots --------------------------------------------------------------------------------------------------

# The Debian mirror apt uses here, so that debootstrap goes the same way.
mirror=${DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
    mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs:[[:space:]]*\(.*\/debian\)\/\{0,1\}$/\1/p' |
        head -n 1)
fi
if [ -z "$mirror" ]; then
    mirror=$(sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\{0,1\}\([^[:space:]]*\/debian\)\/\{0,1\}[[:space:]].*/\2/p' \
        /etc/apt/sources.list 2>/dev/null | head -n 1)
fi
mirror=${mirror:-http://deb.debian.org/debian}
security_mirror=${mirror%/debian}/debian-security

# nspawn ROOT NAME [ARGS...] -- COMMAND...: a command in ROOT as its own machine, not booted.
nspawn() {
    local root=$1 name=$2
    shift 2
    local options=()
    while [ "$1" != "--" ]; do
        options+=("$1")
        shift
    done
    shift
    systemd-nspawn -q --register=no --keep-unit --machine="$machine_prefix-$name" -D "$root" \
        --setenv=DEBIAN_FRONTEND=noninteractive --setenv=LC_ALL=C.UTF-8 "${options[@]}" "$@"
}

# The cached base root: debootstrap's minbase, with bookworm's updates and security suites.
base_tar=$cache/$suite-minbase.tar
make_base() {
    local root=$work/roots/debootstrap
    rm -rf "$root"
    debootstrap --variant=minbase "$suite" "$root" "$mirror" || return 1
    printf 'deb %s %s main\ndeb %s %s-updates main\ndeb %s %s-security main\n' "$mirror" "$suite" "$mirror" \
        "$suite" "$security_mirror" "$suite" > "$root/etc/apt/sources.list"
    rm -rf "$root/var/cache/apt/archives"/*.deb "$root/var/lib/apt/lists"/*
    tar -C "$root" -cf "$base_tar.new" . && mv "$base_tar.new" "$base_tar" && rm -rf "$root"
}
# The cached boot root: the base and systemd-sysv, which is what `--boot` needs.
boot_tar=$cache/$suite-minbase-systemd.tar
make_boot_base() {
    local root=$work/roots/boot-base
    rm -rf "$root" && mkdir -p "$root" && tar -C "$root" -xf "$base_tar" || return 1
    nspawn "$root" boot-base --bind="$cache/apt-archives:/var/cache/apt/archives" -- /bin/sh -ec \
        'apt-get update -qq; apt-get install -y -qq --no-install-recommends systemd-sysv dbus > /dev/null' || return 1
    rm -rf "$root/var/lib/apt/lists"/*
    tar -C "$root" -cf "$boot_tar.new" . && mv "$boot_tar.new" "$boot_tar" && rm -rf "$root"
}

echo "== Debian $suite roots (mirror $mirror; cached in $cache)"
if [ ! -f "$base_tar" ] && ! make_base > "$logs/debootstrap.log" 2>&1; then
    tail -n 30 "$logs/debootstrap.log"
    failed=$((failed + 1))
    echo "FAIL  debootstrap --variant=minbase $suite"
    finish
fi
if [ ! -f "$boot_tar" ] && ! make_boot_base > "$logs/boot-base.log" 2>&1; then
    tail -n 30 "$logs/boot-base.log"
    failed=$((failed + 1))
    echo "FAIL  systemd-sysv in the $suite root"
    finish
fi

# --- 3. Install and run on a host with no Swift --------------------------------------------------------------------

echo "== install into a fresh $suite root (minbase, no systemd, no Swift)"
install_root=$work/roots/install
mkdir -p "$install_root" && tar -C "$install_root" -xf "$base_tar"
mkdir -p "$work/pkg" && rm -f "$work/pkg"/*.deb && cp "$deb" "$old_deb" "$work/pkg/"
new_name=$(basename "$deb")
old_name=$(basename "$old_deb")
depends=$(dpkg-deb -f "$deb" Depends)

# The packages are bind-mounted read-only at /pkg (nspawn gives the container a /tmp of its own).
in_install_root() { nspawn "$install_root" install --private-network --bind-ro="$work/pkg:/pkg" -- "$@"; }

no_swift_in_root() {
    ! in_install_root /bin/sh -c 'command -v swift swiftc; ls -d /opt/swift /usr/lib/swift 2>/dev/null'
}
check "the fresh root has no Swift" no_swift_in_root

# Only what Depends: names, from the mirror (apt-get satisfy), then the package itself with dpkg -i.
install_dependencies() {
    nspawn "$install_root" install --bind="$cache/apt-archives:/var/cache/apt/archives" -- /bin/sh -ec \
        "apt-get update -qq; apt-get satisfy -y --no-install-recommends '$depends'"
}
check "apt-get satisfy the declared Depends: $depends" install_dependencies
check "dpkg -i $new_name" in_install_root dpkg -i "/pkg/$new_name"

all_libraries_found() {
    in_install_root ldd /usr/bin/obwatch && ! in_install_root ldd /usr/bin/obwatch | grep -q 'not found'
}
check "every library the binary needs is in the root" all_libraries_found

prints_version() { [ "$(in_install_root obwatch --version | tr -d '\r')" = "$version" ]; }
check "obwatch --version prints $version" prints_version
check "obwatch check --config /etc/obwatch/obwatch.yaml" in_install_root obwatch check --config /etc/obwatch/obwatch.yaml

# No terminal here: the demo prints plain lines, and ends by itself.
demo_runs_to_its_end() {
    in_install_root /bin/sh -c 'cd /tmp && timeout 180 obwatch demo < /dev/null' | tee "$logs/demo.txt"
    grep -q '^Sent [0-9]* notifications' "$logs/demo.txt"
}
check "obwatch demo runs to its end (no terminal)" demo_runs_to_its_end

installs_docs_and_completions() {
    local file
    for file in /usr/share/man/man1/obwatch.1.gz /usr/share/bash-completion/completions/obwatch \
        /usr/share/zsh/vendor-completions/_obwatch /usr/share/fish/vendor_completions.d/obwatch.fish \
        /usr/share/doc/obwatch/copyright /usr/share/doc/obwatch/examples/examples/page-on-stalls.yaml \
        /lib/systemd/system/obwatch.service; do
        [ -s "$install_root$file" ] || { echo "missing: $file"; return 1; }
    done
    grep -q '^ExecStart=/usr/bin/obwatch run --config /etc/obwatch/obwatch.yaml$' \
        "$install_root/lib/systemd/system/obwatch.service"
}
check "man page, completions, examples and the unit (ExecStart=/usr/bin/obwatch) are installed" \
    installs_docs_and_completions
enabled_without_systemd() { [ -L "$install_root/etc/systemd/system/multi-user.target.wants/obwatch.service" ]; }
check "installed without a running systemd: the service is enabled, not started" enabled_without_systemd

# --- 4. Under a real systemd ---------------------------------------------------------------------------------------

echo "== boot a fresh $suite root with systemd-nspawn --boot (private network)"
boot_root=$work/roots/boot
mkdir -p "$boot_root" && tar -C "$boot_root" -xf "$boot_tar"

# Before booting: the declared dependencies (from the mirror) and, for the target obwatch watches, the simulator:
# the packaged binary's own `obwatch simulate`, kept apart from the package so that it outlives remove and purge.
# Its clock is manual, so the scale-out DAG stays where it is and every event seen is one the test expects.
prepare_boot_root() {
    nspawn "$boot_root" boot-prep --bind="$cache/apt-archives:/var/cache/apt/archives" -- /bin/sh -ec \
        "apt-get update -qq; apt-get satisfy -y -qq --no-install-recommends '$depends' > /dev/null"
    install -d "$boot_root/opt/package-test"
    install -m 0755 "$extracted/usr/bin/obwatch" "$boot_root/opt/package-test/obwatch"
    install -m 0644 "$extracted/usr/share/obwatch/scenarios/scale-out.yaml" "$boot_root/opt/package-test/"
    cat > "$boot_root/etc/systemd/system/obshell-simulator.service" <<'EOF'
[Unit]
Description=obshell simulator for the package test
Before=obwatch.service

[Service]
ExecStart=/opt/package-test/obwatch simulate --scenario /opt/package-test/scale-out.yaml --listen 127.0.0.1:2886 --password package-test-password --manual-clock

[Install]
WantedBy=multi-user.target
EOF
    ln -sf /etc/systemd/system/obshell-simulator.service \
        "$boot_root/etc/systemd/system/multi-user.target.wants/obshell-simulator.service"
    # The container's console is not a terminal: no getty on it.
    ln -sf /dev/null "$boot_root/etc/systemd/system/console-getty.service"
}
check "dependencies and the simulator in the boot root" prepare_boot_root

nspawn_pid=""
stop_container() {
    [ -n "$nspawn_pid" ] || return 0
    if kill -0 "$nspawn_pid" 2> /dev/null; then
        [ -n "${leader:-}" ] && in_boot systemctl poweroff > /dev/null 2>&1
        for _ in $(seq 1 60); do
            kill -0 "$nspawn_pid" 2> /dev/null || break
            sleep 1
        done
        kill "$nspawn_pid" 2> /dev/null
    fi
    wait "$nspawn_pid" 2> /dev/null
    nspawn_pid=""
}
trap stop_container EXIT

systemd-nspawn -q --register=no --keep-unit --boot --private-network --machine="$machine_prefix-boot" \
    -D "$boot_root" --bind-ro="$work/pkg:/pkg" --console=passive > "$logs/boot.log" 2>&1 &
nspawn_pid=$!

# The container's PID 1, as the host sees it: the child of systemd-nspawn whose pid in its namespace is 1.
leader=""
for _ in $(seq 1 100); do
    for pid in $(pgrep -P "$nspawn_pid"); do
        if awk '/^NSpid:/ { exit !($NF == 1) }' "/proc/$pid/status" 2> /dev/null; then
            leader=$pid
        fi
    done
    [ -n "$leader" ] && break
    sleep 0.1
done

# in_boot COMMAND...: a command inside the booted container, in all of its namespaces.
in_boot() {
    nsenter --target "$leader" --all -- /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 \
        DEBIAN_FRONTEND=noninteractive SYSTEMD_COLORS=0 SYSTEMD_PAGER= "$@"
}

# wait_for SECONDS COMMAND...: until COMMAND succeeds, at most SECONDS.
wait_for() {
    local seconds=$1
    shift
    for _ in $(seq 1 "$((seconds * 2))"); do
        "$@" > /dev/null 2>&1 && return 0
        sleep 0.5
    done
    "$@"
}
booted() {
    [ -n "$leader" ] || { echo "systemd-nspawn started no container:"; cat "$logs/boot.log"; return 1; }
    # systemctl talks to PID 1 through /run/systemd/private, there once systemd has set itself up.
    local state
    wait_for 60 in_boot test -S /run/systemd/private || return 1
    state=$(in_boot timeout 120 systemctl is-system-running --wait)
    echo "system: $state"
    in_boot systemctl --failed --no-legend
    [ "$state" = running ] || [ "$state" = degraded ]
}
check "the root boots under systemd-nspawn --boot" booted
if [ -z "$leader" ]; then
    note "no booted container: the systemd checks did not run (see $logs/boot.log)"
    finish
fi

unit_property() { in_boot systemctl show -p "$2" --value "$1"; }
active() { [ "$(in_boot systemctl is-active "$1")" = active ]; }

first_install_starts() {
    in_boot dpkg -i "/pkg/$old_name" || return 1
    in_boot systemctl is-enabled obwatch && wait_for 30 active obwatch
}
check "first install under systemd ($old_name): enabled and started" first_install_starts

# The operator's edit: the simulator as the target, its password in obwatch.env, every event to a JSON Lines file
# in the state folder (to count them) and to syslog (the journal).
edit_config_and_restart() {
    cat > "$boot_root/etc/obwatch/obwatch.yaml" <<'EOF'
# Edited by package-test: the upgrade must keep this file.
state_dir: /var/lib/obwatch

http:
  listen: 127.0.0.1:9464

defaults:
  poll_interval: 2s
  time_zone: UTC

targets:
  - name: simulated
    url: http://127.0.0.1:2886
    password: ${OBSHELL_PASSWORD}
    labels: { env: test }

receivers:
  - name: events-file
    file: { path: /var/lib/obwatch/events.jsonl }
  - name: audit
    syslog: { address: "unix:///dev/log", format: rfc5424, facility: local0 }

rules:
  - name: everything
    match: { event: "*" }
    notify: [events-file, audit]
EOF
    printf 'OBSHELL_PASSWORD=package-test-password\n' > "$boot_root/etc/obwatch/obwatch.env"
    chmod 0600 "$boot_root/etc/obwatch/obwatch.env"
    in_boot /bin/sh -c 'set -a; . /etc/obwatch/obwatch.env; obwatch check --config /etc/obwatch/obwatch.yaml'
    in_boot systemctl restart obwatch && active obwatch
}
check "the edited config (a simulated target) runs" edit_config_and_restart

events_file=/var/lib/private/obwatch/events.jsonl
# Events are inside each notification line, as {"schema":"obwatch.event/v1",...,"type":"started",...}.
started_count() { grep -o '"type":"started"' "$boot_root$events_file" | wc -l; }
one_started() { [ "$(started_count)" = 1 ]; }
check "the old version sends 'started' for the simulated DAG, once" wait_for 60 one_started
events_before_upgrade=$(wc -l < "$boot_root$events_file")

old_pid=$(unit_property obwatch MainPID)
old_invocation=$(unit_property obwatch InvocationID)
upgrade() { in_boot dpkg -i "/pkg/$new_name"; }
check "upgrade to $new_name over the running service" upgrade
# shellcheck disable=SC2016 # ${Version} is dpkg-query's, not the shell's
new_version_installed() { [ "$(in_boot dpkg-query -W -f='${Version}' obwatch)" = "$version" ]; }
check "dpkg lists obwatch $version" new_version_installed
config_kept() {
    grep -q '^# Edited by package-test' "$boot_root/etc/obwatch/obwatch.yaml" &&
        [ ! -e "$boot_root/etc/obwatch/obwatch.yaml.dpkg-new" ] && [ -e "$boot_root/etc/obwatch/obwatch.env" ]
}
check "the upgrade keeps the edited /etc/obwatch/obwatch.yaml and obwatch.env" config_kept

new_pid=$(unit_property obwatch MainPID)
invocation=$(unit_property obwatch InvocationID)
restarted_on_new_binary() {
    echo "MainPID $old_pid -> $new_pid, invocation $old_invocation -> $invocation"
    [ "$new_pid" != "$old_pid" ] && [ "$new_pid" != 0 ] && [ "$invocation" != "$old_invocation" ] &&
        [ "$(in_boot readlink "/proc/$new_pid/exe")" = /usr/bin/obwatch ]
}
check "the service was restarted on the new binary" restarted_on_new_binary
ready() {
    # Type=notify: active only once obwatch sent READY=1.
    [ "$(unit_property obwatch Type)" = notify ] && active obwatch && unit_property obwatch StatusText
}
check "READY=1 arrived (Type=notify, active)" ready

hardening_holds() {
    local status
    status=$(in_boot cat "/proc/$new_pid/status") || return 1
    grep -E '^(Uid|Seccomp|NoNewPrivs|CapEff|CapBnd):' <<< "$status"
    in_boot systemctl show obwatch -p MemoryDenyWriteExecute -p SystemCallArchitectures -p DynamicUser \
        -p ProtectSystem -p PrivateUsers -p RestrictNamespaces
    grep -q '^Seccomp:[[:space:]]*2$' <<< "$status" && grep -q '^NoNewPrivs:[[:space:]]*1$' <<< "$status" &&
        grep -q '^CapEff:[[:space:]]*0*$' <<< "$status" &&
        [ "$(unit_property obwatch MemoryDenyWriteExecute)" = yes ] &&
        [ "$(awk '/^Uid:/ { print $2 }' <<< "$status")" -ge 61184 ]
}
check "hardening holds: seccomp filter on, no new privileges, no capabilities, dynamic user, MDWE" hardening_holds

# WatchdogSec=30s: 40 seconds later the same process still runs, and systemd has had pings since it started.
watchdog_holds() {
    sleep 40
    in_boot systemctl show obwatch -p WatchdogUSec -p WatchdogTimestampMonotonic -p ActiveEnterTimestampMonotonic \
        -p NRestarts -p MainPID
    [ "$(unit_property obwatch WatchdogUSec)" = 30s ] && active obwatch &&
        [ "$(unit_property obwatch MainPID)" = "$new_pid" ] && [ "$(unit_property obwatch NRestarts)" = 0 ] &&
        [ "$(unit_property obwatch WatchdogTimestampMonotonic)" -gt \
            "$(unit_property obwatch ActiveEnterTimestampMonotonic)" ]
}
check "the watchdog holds (40 s, same process, pings after start)" watchdog_holds

# SIGHUP through the unit's ExecReload=: RELOADING=1, the config read again, READY=1; the same process goes on.
reload_keeps_running() {
    in_boot systemctl reload obwatch || return 1
    # `systemctl reload` returns once the signal is sent; the unit is "reloading" until READY=1.
    wait_for 30 active obwatch
    echo "ActiveState=$(unit_property obwatch ActiveState) MainPID=$(unit_property obwatch MainPID)"
    active obwatch && [ "$(unit_property obwatch MainPID)" = "$new_pid" ]
}
check "systemctl reload: the same process, active again (RELOADING=1 then READY=1)" reload_keeps_running

state_carried_over() {
    echo "events before the upgrade: $events_before_upgrade, after: $(wc -l < "$boot_root$events_file")"
    [ "$(started_count)" = 1 ] && in_boot test -L /var/lib/obwatch && in_boot test -d /var/lib/private/obwatch
}
check "the state carried over: still one 'started' for the DAG after the restart" state_carried_over

journal_of_healthy_start() {
    in_boot journalctl --no-pager -o short-monotonic _SYSTEMD_INVOCATION_ID="$invocation" | tee "$logs/journal.txt"
    in_boot journalctl --no-pager -o short-monotonic -u obwatch --since=-5min | grep -i -e 'thread priority' \
        -e watchdog -e 'failed' | tee "$logs/journal-failed.txt"
    [ -s "$logs/journal.txt" ] && ! grep -qi 'failed' "$logs/journal.txt"
}
check "the journal of the healthy start has no line that says 'failed'" journal_of_healthy_start

# The control: the same unit without its `SystemCallFilter=~setpriority:0` (a drop-in that resets the filter to the
# lines before it) brings libdispatch's lines back, so the check above can fail.
without_setpriority_line_the_journal_says_failed() {
    local dropin=$boot_root/etc/systemd/system/obwatch.service.d
    mkdir -p "$dropin"
    printf '[Service]\nSystemCallFilter=\nSystemCallFilter=@system-service\nSystemCallFilter=~@privileged @resources\n' \
        > "$dropin/package-test-control.conf"
    in_boot systemctl daemon-reload && in_boot systemctl restart obwatch && active obwatch || return 1
    local control
    control=$(unit_property obwatch InvocationID)
    sleep 3
    in_boot journalctl --no-pager -o short-monotonic _SYSTEMD_INVOCATION_ID="$control" | tee "$logs/journal-control.txt"
    rm -rf "$dropin"
    in_boot systemctl daemon-reload && in_boot systemctl restart obwatch && active obwatch || return 1
    grep -q 'Failed to set thread priority' "$logs/journal-control.txt"
}
check "control: without that line, libdispatch's 'Failed to set thread priority' lines are back" \
    without_setpriority_line_the_journal_says_failed
note "$(grep -c 'Failed to set thread priority' "$logs/journal-control.txt") such lines at that start," \
    "$(grep -ci 'failed' "$logs/journal.txt") lines with 'failed' at the start with the shipped unit"

online_exposure() {
    exposure_at_most_two in_boot systemd-analyze security --no-pager obwatch.service
}
check "systemd-analyze security obwatch (the loaded unit): 2.0 or less" online_exposure
note "exposure: $(in_boot systemd-analyze security --no-pager obwatch.service 2> /dev/null | exposure_of)"

remove_keeps_config_and_state() {
    in_boot apt-get remove -y -qq obwatch || return 1
    ! active obwatch && [ ! -e "$boot_root/usr/bin/obwatch" ] &&
        grep -q '^# Edited by package-test' "$boot_root/etc/obwatch/obwatch.yaml" &&
        [ -s "$boot_root$events_file" ] && in_boot test -e /var/lib/obwatch
}
check "apt-get remove: service stopped, /etc/obwatch and /var/lib/obwatch kept" remove_keeps_config_and_state

reinstall_resumes() {
    in_boot dpkg -i "/pkg/$new_name" && wait_for 30 active obwatch && sleep 5 && [ "$(started_count)" = 1 ]
}
check "reinstall after remove: started again, on the kept state (still one 'started')" reinstall_resumes

purge_removes_everything() {
    in_boot apt-get purge -y -qq obwatch || return 1
    ! active obwatch && [ ! -e "$boot_root/etc/obwatch" ] && ! in_boot test -e /var/lib/obwatch &&
        ! in_boot test -e /var/lib/private/obwatch &&
        [ ! -e "$boot_root/etc/systemd/system/multi-user.target.wants/obwatch.service" ]
}
check "apt-get purge: service gone, /etc/obwatch and /var/lib/obwatch removed" purge_removes_everything

stop_container
finish
