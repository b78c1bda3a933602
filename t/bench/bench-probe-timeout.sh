#!/bin/sh
# bench-probe-timeout.sh [CHECKS]: how close to 1s a probe with `timeout = 1s` gives
# up, for an http probe against a server that never answers (the timeout is
# libcurl's) and an exec probe that never exits (probe.c's timer, then SIGKILL to its
# group). Reads the durations vigild logs at debug level. Prints; asserts nothing.
set -eu
checks=${1:-10}
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

port=$("$helper" free-port)
echo hang > "$dir/status"
"$helper" http-serve "$port" "$dir/status" &
server=$!

cat > "$dir/vigil.conf" <<CONF
service http {
  command = "$helper pause"
  liveness { http = "http://127.0.0.1:$port/" period = 1500ms timeout = 1s failure-threshold = 1000000 }
}
service exec {
  command = "$helper pause"
  liveness { exec = "$helper pause" period = 1500ms timeout = 1s failure-threshold = 1000000 }
}
CONF
: > "$dir/log"
"$build/vigild" -c "$dir/vigil.conf" -s "$dir/control.sock" --log-level debug > "$dir/log" 2>&1 &
vigild=$!

deadline=$(( $(date +%s) + 60 ))
while [ "$(grep -c 'liveness: failed in' "$dir/log" || true)" -lt $((2 * checks)) ]; do
	[ "$(date +%s)" -lt "$deadline" ] || { echo "too few checks"; tail "$dir/log"; exit 1; }
	sleep 0.5
done

for kind in http exec; do
	grep "$kind: liveness: failed in" "$dir/log" | head -n "$checks" |
		sed 's/.*failed in \([0-9.]*\)ms.*/\1/' | sort -n |
		awk -v kind="$kind" '{ v[NR] = $1 } END {
			printf "%-4s probe, timeout = 1s, %d checks: min %.1f ms, median %.1f ms, max %.1f ms\n",
				kind, NR, v[1], v[int((NR + 1) / 2)], v[NR] }'
done
