#!/bin/sh
# api.sh [BUILDDIR]: the control API under load, with 100 services.
#  - requests per second for GET /v1/services from 1 and from 50 concurrent clients;
#  - restart latency, idle and while 1 (then 50) clients keep asking:
#      crash: a service that exits at once, restart-delay 100ms, no jitter: from its
#             exit to running again (the delay included); must not grow by > 20 %;
#      api:   `vigilctl restart` of a running service: from the request to running.
#    Both are timed by vigild itself (the "time" of its events, in milliseconds).
# Run after `make check` (which builds t/bench/vigil-load), e.g.:
#   cd build && sh ../t/bench/api.sh .
set -eu
B=$(cd "${1:-build}" && pwd)
SECONDS_LOAD=${SECONDS_LOAD:-5}
RESTARTS=${RESTARTS:-40}
PHASE_SECONDS=${PHASE_SECONDS:-4}
dir=$(mktemp -d /tmp/vigil-bench.XXXXXX)
pid= events= load=
cleanup() {
	for p in $events $load; do kill "$p" 2>/dev/null || true; done
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM
ctl() { "$B/vigilctl" -s "$dir/c.sock" "$@"; }

i=0
: >"$dir/vigil.conf"
while [ $i -lt 100 ]; do
	printf 'service s%d {\n  command = "/bin/sleep 1000000"\n}\n' $i >>"$dir/vigil.conf"
	i=$((i + 1))
done
cat >>"$dir/vigil.conf" <<CONF
service web {
  command = "/bin/sleep 1000000"
}
service crash {
  command = "/bin/false"
  restart-delay = 100ms
  restart-delay-max = 100ms
  restart-jitter = 0%
}
CONF
"$B/vigild" -c "$dir/vigil.conf" -s "$dir/c.sock" --log-level warn &
pid=$!
i=0
until ctl wait -t 60 s0 s99 web 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "vigild did not come up" >&2; exit 1; }
	sleep 0.1
done

for c in 1 50; do
	echo "GET /v1/services, 100 services, $c client(s): $("$B/t/bench/vigil-load" "$dir/c.sock" $c "$SECONDS_LOAD")"
done

# One phase: at least RESTARTS API restarts of web, and PHASE_SECONDS, while crash
# loops by itself (about ten restarts a second); then the
# statistics of both latencies from the events seen meanwhile.
phase() {
	ctl --json events >"$dir/$1.jsonl" &
	events=$!
	sleep 0.2 # the stream is open before the first restart
	i=0
	end=$(($(date +%s) + PHASE_SECONDS))
	while [ $i -lt "$RESTARTS" ] || [ "$(date +%s)" -lt $end ]; do
		ctl restart web >/dev/null
		ctl wait -t 10 web
		i=$((i + 1))
	done
	kill "$events"
	wait "$events" 2>/dev/null || true
	events=
	awk -v label="$1" -v out="$dir/$1" '
		function ms(line,   t, p) {
			match(line, /"time":"[^"]*"/)
			t = substr(line, RSTART + 8, RLENGTH - 9) # 2026-01-01T12:34:56.789Z
			split(substr(t, 12, 12), p, ":")
			return ((p[1] * 60 + p[2]) * 60 + p[3]) * 1000
		}
		function stats(name, d, n, sum,   i, j, x) {
			for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (d[j] < d[i]) { x = d[i]; d[i] = d[j]; d[j] = x }
			printf "restart latency, %-5s %-9s n=%d mean_ms=%.2f p50_ms=%.0f p95_ms=%.0f max_ms=%.0f\n",
				name, label ":", n, sum / n, d[int(n / 2)], d[int(n * 95 / 100)], d[n - 1]
			print sum / n > (out "." name)
		}
		/"service":"web"/ && /"to":"stopping"/ && /restart requested/ { a0 = ms($0); next }
		/"service":"web"/ && /"to":"running"/ && a0 { x = ms($0) - a0; api[na++] = x; asum += x; a0 = 0 }
		/"service":"crash"/ && /"to":"backoff"/ { c0 = ms($0); next }
		/"service":"crash"/ && /"to":"running"/ && c0 { x = ms($0) - c0; cr[nc++] = x; csum += x; c0 = 0 }
		END { stats("crash", cr, nc, csum); stats("api", api, na, asum) }' "$dir/$1.jsonl"
}

phase idle
for c in 1 50; do
	"$B/t/bench/vigil-load" "$dir/c.sock" $c 1000 >/dev/null 2>&1 &
	load=$!
	sleep 0.5
	phase "${c}client"
	kill "$load"
	wait "$load" 2>/dev/null || true
	load=
done
for c in 1 50; do
	for kind in crash api; do
		awk -v a="$(cat "$dir/idle.$kind")" -v b="$(cat "$dir/${c}client.$kind")" -v k="$kind" -v c="$c" \
			'BEGIN { printf "restart latency growth, %s, %d client(s): %+.0f %%\n", k, c, (b - a) / a * 100 }'
	done
done
