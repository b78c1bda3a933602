#!/bin/sh
# t/bench/init-phases.sh [RUNS]: where `vigild -- true` spends its time, beside
# `tini -s -- true`, from perf's sched_process_{fork,exec,exit} tracepoints (cheap,
# unlike syscall tracing, which slows each call down by more than it costs). For
# each init, the median over RUNS (default 300) of:
#   fork->exec     the timer's fork to the init's exec
#   exec->spawn    the init's exec to its fork of the command: loading, set-up
#   spawn->exec    that fork to the command's exec
#   run            the command's exec to its exit
#   exit->exit     the command's exit to the init's: noticing it, tearing down
# Run from anywhere as root on a quiet machine, after a build; needs perf.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
runs=${1:-300}
build=$top/build
command -v perf >/dev/null || { echo "init-phases: perf is not installed" >&2; exit 1; }
make -s -C "$build" vigild t/bench/vigil-time
data=$(mktemp)
trap 'rm -f "$data"' EXIT

phases() {
	label=$1
	shift
	perf record -q -o "$data" -e sched:sched_process_fork,sched:sched_process_exec \
		-e sched:sched_process_exit -- "$build/t/bench/vigil-time" "$runs" "$@" \
		>/dev/null 2>&1
	perf script -i "$data" -F pid,time,event,trace 2>/dev/null | awk -v label="$label" '
	function med(a, n,    i, j, t) {
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		return n ? a[int((n + 1) / 2)] : 0
	}
	function child(s) { sub(/.*child_pid=/, "", s); sub(/ .*/, "", s); return s + 0 }
	{
		pid = $1 + 0; t = $2 + 0; sub(/:$/, "", t); ev = $3
		if (ev ~ /fork/ && timer == 0) timer = pid
		if (ev ~ /fork/ && pid == timer) { n++; init = child($0); cmd = 0; t0[n] = t; next }
		if (!n) next
		if (ev ~ /exec/ && pid == init && !t1[n]) t1[n] = t
		else if (ev ~ /fork/ && pid == init) { cmd = child($0); t2[n] = t }
		else if (ev ~ /exec/ && pid == cmd) t3[n] = t
		else if (ev ~ /exit/ && pid == cmd) t4[n] = t
		else if (ev ~ /exit/ && pid == init) t5[n] = t
	}
	END {
		for (i = 1; i <= n; i++) {
			if (!(t1[i] && t2[i] && t3[i] && t4[i] && t5[i])) continue
			k++
			a[k] = t1[i] - t0[i]; b[k] = t2[i] - t1[i]; c[k] = t3[i] - t2[i]
			d[k] = t4[i] - t3[i]; e[k] = t5[i] - t4[i]
		}
		printf "%-8s runs %d  fork->exec %4.0f  exec->spawn %4.0f  spawn->exec %4.0f  " \
		       "run %4.0f  exit->exit %4.0f us\n", label, k,
		       med(a, k) * 1e6, med(b, k) * 1e6, med(c, k) * 1e6, med(d, k) * 1e6,
		       med(e, k) * 1e6
	}'
}

for round in 1 2 3; do
	phases vigild "$build/vigild" -- true
	if command -v tini >/dev/null; then phases tini tini -s -- true; fi
done
