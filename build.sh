#!/bin/sh
# build.sh demo|check: installs the Debian packages the build needs when they are
# missing, builds vigil out of tree in ./build, then runs the demo or every test.
set -eu
cd "$(dirname "$0")"
what=${1:-check}

need="build-essential autoconf automake pkg-config libconfuse-dev libsystemd-dev
      libmicrohttpd-dev libjansson-dev libcurl4-openssl-dev libcurl4 libcriterion-dev"
case $what in
demo) need="$need python3 curl" ;;
# For the tests: setpriv, prlimit, unshare (util-linux), mount, awk (mawk), script
# (bsdutils), pgrep (procps), systemd-notify (systemd), promtool (prometheus), valgrind;
# clang and libFuzzer for t/fuzz
check) need="$need util-linux mount mawk bsdutils procps systemd prometheus valgrind clang
	     libclang-rt-14-dev" ;;
*) echo "usage: $0 demo|check" >&2; exit 2 ;;
esac

missing=
for p in $need; do
	dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "build.sh: installing$missing"
	[ "$(id -u)" = 0 ] || { echo "build.sh: run as root to install:$missing" >&2; exit 1; }
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

[ -x configure ] || autoreconf -fi
mkdir -p build
cd build
if [ ! -f Makefile ]; then
	# vigild links a static libsystemd built from Debian's source when it can
	# (build-libsystemd.sh says why); the shared one otherwise.
	if sd=$(../build-libsystemd.sh libsystemd); then
		../configure --enable-werror SYSTEMD_LIBS="$sd"
	elif [ "${CI:-}" = true ]; then
		# CI installs everything: a failure there is a missing step, not a fallback.
		echo "build.sh: the static libsystemd failed to build (build/libsystemd/log)" >&2
		exit 1
	else
		echo "build.sh: the static libsystemd failed to build; vigild links libsystemd.so.0" >&2
		../configure --enable-werror
	fi
fi
make -j"$(nproc)"

case $what in
demo)
	echo "build.sh: starting the demo; in another terminal try:"
	echo "  curl -s http://127.0.0.1:8080/demo.conf | head -3"
	echo "  build/vigilctl -s build/demo/control.sock status"
	echo "Ctrl-C stops it."
	exec ./vigild -c ../etc/demo.conf
	;;
check)
	rc=0
	# Every temp dir a test makes is named vigil-*: none may outlive the run.
	since=$(mktemp)
	# The summary below adds up this run's logs only.
	find . -name 'test-*.log' -path '*/t/*' -delete
	# A step that fails while its tests all passed (a report found at exit, a build
	# error) must not end in "0 failed": it counts as one when no test failed.
	extra_p=0 extra_f=0 step_f=0
	make -j"$(nproc)" check || rc=1 step_f=$((step_f + 1))
	make check-sanitize || rc=1 step_f=$((step_f + 1))
	make check-valgrind || rc=1 step_f=$((step_f + 1))
	if make check-soak; then extra_p=$((extra_p + 1)); else rc=1 extra_f=$((extra_f + 1)); fi
	# The fuzz targets (t/fuzz), two at a time: 60 s each in CI (issue 6), 10 s each elsewhere.
	[ "${CI:-}" = true ] && secs=${FUZZ_SECONDS:-60} || secs=${FUZZ_SECONDS:-10}
	if make -j"$(nproc)" fuzz-run FUZZ_SECONDS="$secs"; then
		extra_p=$((extra_p + 1))
	else
		rc=1 extra_f=$((extra_f + 1))
	fi
	# ... and no program of this build may still run (vigild, vigil-helper, ...).
	sleep 1
	left=$(
		find /tmp /dev/shm -maxdepth 1 -name 'vigil-*' -newer "$since" 2>/dev/null
		pgrep -af "^$PWD/" || true
	)
	rm -f "$since"
	if [ -n "$left" ]; then
		printf 'build.sh: the tests left these behind:\n%s\n' "$left" >&2
		rc=1 extra_f=$((extra_f + 1))
	fi
	# What failed, and why: the assertions are in the per-program logs.
	find . -name 'test-*.log' -path '*/t/*' -exec grep -l '^not ok' {} + 2>/dev/null |
		while read -r f; do
			echo "=== $f"
			grep -A12 '^not ok' "$f"
		done
	# Criterion's per-program summaries land in the .log files: add them up, and
	# the tests skipped (each says why in its log). The summary goes to stderr, so
	# it can land in the middle of a TAP line flushed from stdout: read its numbers
	# wherever they stand.
	skipped=$(find . -name 'test-*.log' -path '*/t/*' -exec grep -h '^SKIP:' {} + | wc -l)
	find . -name 'test-*.log' -path '*/t/*' -exec cat {} + |
		awk -v p="$extra_p" -v xf="$extra_f" -v sf="$step_f" -v s="$skipped" '
			function num(name) {
				return match($0, name ": [0-9]+") ? substr($0, RSTART + length(name) + 2, RLENGTH - length(name) - 2) : 0
			}
			/\[====\] Synthesis:/ {p += num("Passing"); f += num("Failing")}
			END {if (f == 0) f = sf; printf "%d passed, %d failed, %d skipped\n", p, f + xf, s}'
	exit $rc
	;;
esac
