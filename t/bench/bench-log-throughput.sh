#!/bin/sh
# bench-log-throughput.sh: how fast vigild writes a service's output into a
# timestamped log file, against the same writer piped into `cat > file`, in the same
# run; and vigild's CPU per MiB logged. Prints figures, asserts nothing.
#
#   t/bench/bench-log-throughput.sh [MIB] [ROUNDS]     (default 512 MiB, 2 rounds)
#
# Runs from the source tree with the build in ./build (or $VIGIL_BUILDDIR). The
# writer is vigil-helper's `lines N 100`: 100-byte lines in 64 KiB writes.
set -eu
cd "$(dirname "$0")/../.."
build=${VIGIL_BUILDDIR:-$PWD/build}
mib=${1:-512}
rounds=${2:-2}
helper=$build/t/helper/vigil-helper
vigild=$build/vigild
[ -x "$helper" ] && [ -x "$vigild" ] || { echo "build first: make -C build check" >&2; exit 1; }

lines=$((mib * 1024 * 1024 / 100))
# Each line in the file: "2024-05-01T12:00:00.123Z out " (29 bytes) + 100.
want=$((lines * 129))
tmp=$(mktemp -d /tmp/vigil-bench.XXXXXX)
vpid=
cleanup() {
	[ -n "$vpid" ] && kill "$vpid" 2>/dev/null && wait "$vpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

now() { date +%s.%N; }
rate() { awk -v m="$mib" -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", m / (b - a) }'; }
hz=$(getconf CLK_TCK)

printf 'writing %s MiB as %s lines of 100 bytes, %s rounds\n' "$mib" "$lines" "$rounds"
best_cat=0 best_vigild=0
r=1
while [ "$r" -le "$rounds" ]; do
	# 1. the writer piped into cat > file
	t0=$(now)
	"$helper" lines "$lines" 100 | cat > "$tmp/cat.out"
	t1=$(now)
	cat_rate=$(rate "$t0" "$t1")
	rm -f "$tmp/cat.out"

	# 2. the writer as a vigild service with a timestamped log file
	mkdir -p "$tmp/logs"
	cat > "$tmp/vigil.conf" <<EOF
log-dir = "$tmp/logs"
log-forward = no
service w {
  command = "$helper lines $lines 100"
  restart = never
  log-max-size = 2G
}
EOF
	t0=$(now)
	"$vigild" -c "$tmp/vigil.conf" -s "$tmp/sock" --log-level warn &
	vpid=$!
	while [ "$(stat -c %s "$tmp/logs/w.log" 2>/dev/null || echo 0)" -lt "$want" ]; do
		sleep 0.01
	done
	t1=$(now)
	# utime + stime of vigild alone (its children are not counted until reaped by it,
	# and then only in cutime).
	cpu=$(awk -v hz="$hz" '{ print ($14 + $15) / hz }' "/proc/$vpid/stat")
	kill "$vpid"
	wait "$vpid" || true
	vpid=
	size=$(stat -c %s "$tmp/logs/w.log")
	rm -rf "$tmp/logs"
	vigild_rate=$(rate "$t0" "$t1")
	ratio=$(awk -v a="$vigild_rate" -v b="$cat_rate" 'BEGIN { printf "%.2f", a / b }')
	cpu_per_mib=$(awk -v c="$cpu" -v m="$mib" 'BEGIN { printf "%.2f", c * 1000 / m }')
	printf 'round %s: cat > file %s MiB/s; vigild timestamped file %s MiB/s (%s x cat, %s bytes); vigild CPU %ss = %s ms per MiB\n' \
		"$r" "$cat_rate" "$vigild_rate" "$ratio" "$size" "$cpu" "$cpu_per_mib"
	[ "$cat_rate" -gt "$best_cat" ] && best_cat=$cat_rate
	[ "$vigild_rate" -gt "$best_vigild" ] && best_vigild=$vigild_rate
	r=$((r + 1))
done
printf 'best: cat > file %s MiB/s, vigild %s MiB/s, ratio %s\n' "$best_cat" "$best_vigild" \
	"$(awk -v a="$best_vigild" -v b="$best_cat" 'BEGIN { printf "%.2f", a / b }')"
