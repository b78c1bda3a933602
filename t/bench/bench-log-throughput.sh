#!/bin/bash
# bench-log-throughput.sh: how fast vigild writes a service's output into a
# timestamped log file, against the same writer piped into `cat > file`, in the same
# run; and vigild's CPU per MiB logged. Prints figures, asserts nothing.
#
#   t/bench/bench-log-throughput.sh [MIB] [ROUNDS] [DIR]
#
# Defaults: 512 MiB, 3 rounds, files in a new directory under /tmp (DIR=/dev/shm
# leaves the disk out). Runs from the source tree with the build in ./build (or
# $VIGIL_BUILDDIR). The writer is vigil-helper's `lines N 100`: 100-byte lines in
# 64 KiB writes, run by vigild as a service (log-max-size = 2G: one file, as cat
# writes). When vigild logs that it exited, the script sends SIGTERM; vigild then
# writes out what its pipes still hold and exits, so its wall time is the whole
# job. Its own CPU time comes from `perf stat --no-inherit` in one more run, when perf
# is installed.
set -eu
cd "$(dirname "$0")/../.."
build=${VIGIL_BUILDDIR:-$PWD/build}
mib=${1:-512}
rounds=${2:-3}
parent=${3:-/tmp}
helper=$build/t/helper/vigil-helper
vigild=$build/vigild
[ -x "$helper" ] && [ -x "$vigild" ] || { echo "build first: make -C build check" >&2; exit 1; }

lines=$((mib * 1024 * 1024 / 100))
tmp=$(mktemp -d "$parent/vigil-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
cat >"$tmp/vigil.conf" <<END
log-dir = "$tmp/logs"
log-forward = no
service w {
  command = "$helper lines $lines 100"
  restart = never
  log-max-size = 2G
  log-buffer = ${LOG_BUFFER:-256K}
}
END
mkfifo "$tmp/stderr"
perf=
command -v perf >/dev/null 2>&1 && perf stat -e task-clock true >/dev/null 2>&1 && perf=yes

now() { date +%s.%N; }
mibs() { awk -v m="$mib" -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", m / (b - a) }'; }

# One run of vigild until its writer is done and it has written everything; under
# perf stat (its own CPU) when $1 is "perf".
run_vigild() {
	mkdir -p "$tmp/logs"
	if [ "$1" = perf ]; then
		perf stat -x, -e task-clock --no-inherit -o "$tmp/perf" \
			"$vigild" -c "$tmp/vigil.conf" -s "$tmp/sock" 2>"$tmp/stderr" >/dev/null &
	else
		"$vigild" -c "$tmp/vigil.conf" -s "$tmp/sock" 2>"$tmp/stderr" >/dev/null &
	fi
	pid=$!
	# vigild's log, read with shell builtins only (no process competes for a CPU).
	while IFS= read -r line; do
		case $line in
		*"w: running -> exited"*)
			vpid=$pid
			[ "$1" = perf ] && vpid=$(ps -o pid= --ppid "$pid")
			kill -TERM $vpid
			;;
		esac
	done <"$tmp/stderr"
	wait "$pid" || true
}

printf 'writing %s MiB as %s lines of 100 bytes into %s, %s rounds\n' "$mib" "$lines" "$parent" "$rounds"
best_cat=0 best_vigild=0 r=1 ratios=
while [ "$r" -le "$rounds" ]; do
	t0=$(now)
	"$helper" lines "$lines" 100 | cat >"$tmp/cat.out"
	t1=$(now)
	cat_rate=$(mibs "$t0" "$t1")
	rm -f "$tmp/cat.out"

	t0=$(now)
	run_vigild timed
	t1=$(now)
	vigild_rate=$(mibs "$t0" "$t1")
	last=$(tail -n 1 "$tmp/logs/w.log" | cut -c 30-39)
	rm -rf "$tmp/logs"
	ratio=$(awk -v a="$vigild_rate" -v b="$cat_rate" 'BEGIN { printf "%.2f", a / b }')
	ratios="$ratios $ratio"
	printf 'round %s: cat > file %s MiB/s; vigild timestamped file %s MiB/s (%s x cat, last line %s)\n' \
		"$r" "$cat_rate" "$vigild_rate" "$ratio" "$last"
	[ "$cat_rate" -gt "$best_cat" ] && best_cat=$cat_rate
	[ "$vigild_rate" -gt "$best_vigild" ] && best_vigild=$vigild_rate
	r=$((r + 1))
done
median=$(printf '%s\n' $ratios | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
printf 'best of %s: cat > file %s MiB/s, vigild %s MiB/s, ratio %s; median ratio of the rounds %s\n' \
	"$rounds" "$best_cat" "$best_vigild" \
	"$(awk -v a="$best_vigild" -v b="$best_cat" 'BEGIN { printf "%.2f", a / b }')" "$median"
# CPU in a run of its own: perf's start-up must not count in the timed rounds.
if [ -n "$perf" ]; then
	run_vigild perf
	rm -rf "$tmp/logs"
	awk -F, -v m="$mib" '/task-clock/ { printf "vigild CPU %.0f ms = %.2f ms per MiB logged\n", $1, $1 / m }' "$tmp/perf"
fi
