#!/bin/sh
# status.sh [BUILDDIR]: end-to-end wall time of `vigilctl status` against a vigild
# supervising 100, then 1000 running services (target: <= 3 ms for 100).
# Prints one line per size; /bin/true is the floor (process start alone).
# Run after `make check` (which builds t/bench/vigil-time), e.g.:
#   cd build && sh ../t/bench/status.sh .
set -eu
B=$(cd "${1:-build}" && pwd)
RUNS=${RUNS:-300}
dir=$(mktemp -d /tmp/vigil-bench.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

echo "floor:        $("$B/t/bench/vigil-time" "$RUNS" /bin/true)"
for n in 100 1000; do
	i=0
	: >"$dir/vigil.conf"
	while [ $i -lt $n ]; do
		printf 'service s%d {\n  command = "/bin/sleep 1000000"\n}\n' $i >>"$dir/vigil.conf"
		i=$((i + 1))
	done
	"$B/vigild" -c "$dir/vigil.conf" -s "$dir/c.sock" --log-level warn &
	pid=$!
	# Wait for the first and the last service to be up (vigilctl wait polls nothing).
	i=0
	until "$B/vigilctl" -s "$dir/c.sock" wait -t 60 s0 "s$((n - 1))" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 100 ] || { echo "vigild did not come up" >&2; exit 1; }
		sleep 0.1
	done
	echo "$n services: $("$B/t/bench/vigil-time" "$RUNS" "$B/vigilctl" -s "$dir/c.sock" status)"
	echo "$n services, --json: $("$B/t/bench/vigil-time" "$RUNS" "$B/vigilctl" -s "$dir/c.sock" --json status)"
	kill "$pid"
	wait "$pid" || true
	pid=
done
