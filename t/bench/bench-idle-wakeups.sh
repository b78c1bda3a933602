#!/bin/sh
# bench-idle-wakeups.sh [SERVICES] [SECONDS]: how often an idle vigild wakes up with
# SERVICES services (default 20) and no probe, over SECONDS (default 10): the context
# switches of its one thread. Prints; asserts nothing.
set -eu
n=${1:-20}
secs=${2:-10}
build=${VIGIL_BUILDDIR:-$(cd "$(dirname "$0")/../../build" && pwd)}
helper=$build/t/helper/vigil-helper
dir=$(mktemp -d /tmp/vigil-bench.XXXXXX)
vigild=
cleanup() {
	[ -n "$vigild" ] && kill "$vigild" 2>/dev/null && wait "$vigild" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

i=0
while [ "$i" -lt "$n" ]; do
	printf 'service s%d {\n  command = "%s pause"\n}\n' "$i" "$helper"
	i=$((i + 1))
done > "$dir/vigil.conf"
: > "$dir/log"
"$build/vigild" -c "$dir/vigil.conf" -s "$dir/control.sock" > "$dir/log" 2>&1 &
vigild=$!

deadline=$(( $(date +%s) + 30 ))
while [ "$(grep -c -- '-> running' "$dir/log" || true)" -lt "$n" ]; do
	[ "$(date +%s)" -lt "$deadline" ] || { echo "services did not start"; exit 1; }
	sleep 0.2
done
sleep 1

switches() { awk '/^(non)?voluntary_ctxt_switches/ {s += $2} END {print s}' "/proc/$vigild/status"; }
c0=$(switches)
sleep "$secs"
c1=$(switches)
awk -v n="$n" -v s="$secs" -v c0="$c0" -v c1="$c1" 'BEGIN {
	printf "services: %d, no probes; vigild woke up %d times in %d s: %.2f wakeups/s\n",
		n, c1 - c0, s, (c1 - c0) / s }'
