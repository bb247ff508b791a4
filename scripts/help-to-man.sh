#!/usr/bin/env bash
# Prints obwatch(1), a roff man page, made by help2man from the binary's own --help and --version, with each
# subcommand's `obwatch help NAME` as a section of its own and the files the Debian package installs.
# Usage: scripts/help-to-man.sh PATH/TO/obwatch VERSION > obwatch.1
set -euo pipefail

binary=$1
version=$2
include=$(mktemp)
trap 'rm -f "$include"' EXIT

# roff for literal text: backslashes doubled, and a line starting with . or ' protected from being a request.
as_roff() { sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }

# The subcommand names, from the SUBCOMMANDS section of the top-level help (two-space indented first words).
subcommands=$("$binary" --help | awk '/^SUBCOMMANDS:/ { on = 1; next } on && /^  [a-z]/ { print $1 }')

{
    printf '[SYNOPSIS]\n.B obwatch\n\\fISUBCOMMAND\\fR [\\fIOPTIONS\\fR]\n.br\n'
    printf '.B obwatch help\n\\fISUBCOMMAND\\fR\n\n'
    printf '[COMMANDS]\n'
    for name in $subcommands; do
        printf '.SS "obwatch %s"\n.nf\n' "$name"
        "$binary" help "$name" | as_roff
        printf '.fi\n'
    done
    cat <<'EOF'

[FILES]
.TP
.I /etc/obwatch/obwatch.yaml
The configuration the systemd unit runs on; a conffile, kept across upgrades.
.TP
.I /etc/obwatch/obwatch.env
Optional variables for the configuration's ${NAME} references (mode 0600), read by the unit.
.TP
.I /var/lib/obwatch
Tracker, routing and outbox state (StateDirectory= of the unit).
.TP
.I /lib/systemd/system/obwatch.service
The hardened systemd unit; change it with drop-ins (systemctl edit obwatch).
.TP
.I /usr/share/obwatch/rules, /usr/share/obwatch/scenarios
Example rules, and the scenarios that obwatch demo and obwatch simulate play.

[SEE ALSO]
.BR systemctl (1),
.BR journalctl (1),
.BR systemd.exec (5)
EOF
} > "$include"

# help2man dates the page from SOURCE_DATE_EPOCH when it is set: the last commit's date keeps builds reproducible.
if [ -z "${SOURCE_DATE_EPOCH:-}" ] && git rev-parse --git-dir > /dev/null 2>&1; then
    SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)
    export SOURCE_DATE_EPOCH
fi
help2man --no-info --no-discard-stderr --section=1 --manual="User Commands" --source="obwatch $version" \
    --version-string="$version" --name="watch OceanBase long operations through their obshell agents" \
    --include="$include" "$binary"
