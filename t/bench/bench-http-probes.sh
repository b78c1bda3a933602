#!/bin/sh
# bench-http-probes.sh [N] [SECONDS]: vigild's CPU with N services (default 1000), each
# with an HTTP liveness probe every second against one local server, measured over
# SECONDS (default 20). Prints the figures; asserts nothing.
# Run from the source tree after building in ./build (or set VIGIL_BUILDDIR).
# BENCH_HOOK, when set, runs instead of the measuring sleep with vigild's pid as $1,
# e.g. BENCH_HOOK='perf record -g -p $1 -- sleep 10'.
set -eu
n=${1:-1000}
secs=${2:-20}
build=${VIGIL_BUILDDIR:-$(cd "$(dirname "$0")/../../build" && pwd)}
helper=$build/t/helper/vigil-helper
dir=$(mktemp -d /tmp/vigil-bench.XXXXXX)
server=
vigild=
cleanup() {
	[ -n "$vigild" ] && kill "$vigild" 2>/dev/null && wait "$vigild" 2>/dev/null || true
	[ -n "$server" ] && kill "$server" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

# A port that was free a moment ago.
port=$("$helper" free-port)
echo 200 > "$dir/status"
"$helper" http-serve "$port" "$dir/status" &
server=$!

i=0
while [ "$i" -lt "$n" ]; do
	printf 'service s%d {\n  command = "%s pause"\n  liveness { http = "http://127.0.0.1:%d/" period = 1s timeout = 1s }\n}\n' \
		"$i" "$helper" "$port"
	i=$((i + 1))
done > "$dir/vigil.conf"

: > "$dir/log"
"$build/vigild" -c "$dir/vigil.conf" -s "$dir/control.sock" --log-level info > "$dir/log" 2>&1 &
vigild=$!

# Wait (with a deadline) until every service runs, then let the probes settle.
deadline=$(( $(date +%s) + 120 ))
while [ "$(grep -c -- '-> running' "$dir/log" || true)" -lt "$n" ]; do
	[ "$(date +%s)" -lt "$deadline" ] || { echo "services did not start"; tail "$dir/log"; exit 1; }
	sleep 0.2
done
sleep 3

ticks() { awk '{print $14 + $15}' "/proc/$vigild/stat"; }
hz=$(getconf CLK_TCK)
t0=$(ticks); s0=$(date +%s.%N)
if [ -n "${BENCH_HOOK:-}" ]; then sh -c "$BENCH_HOOK" _ "$vigild"; else sleep "$secs"; fi
t1=$(ticks); s1=$(date +%s.%N)
failed=$(grep -c 'check failed' "$dir/log" || true)

awk -v n="$n" -v t0="$t0" -v t1="$t1" -v s0="$s0" -v s1="$s1" -v hz="$hz" -v failed="$failed" 'BEGIN {
	wall = s1 - s0; cpu = (t1 - t0) / hz; probes = n * wall;
	printf "services:            %d (one HTTP liveness probe each, period 1s)\n", n;
	printf "measured over:       %.1f s\n", wall;
	printf "vigild CPU:          %.1f %% of one core\n", 100 * cpu / wall;
	printf "per probe:           %.0f us of CPU (%.0f probes)\n", 1e6 * cpu / probes, probes;
	printf "failed checks:       %d\n", failed;
}'
