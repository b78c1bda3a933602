#!/bin/sh
# bench-log-memory.sh: heap used by the log state of idle services (defined, then
# running with their two pipes watched), and after each wrote one line.
# Prints figures, asserts nothing.
#
#   t/bench/bench-log-memory.sh [N]     (default 1000 services)
#
# Runs from the source tree with the build in ./build (or $VIGIL_BUILDDIR).
set -eu
cd "$(dirname "$0")/../.."
build=${VIGIL_BUILDDIR:-$PWD/build}
[ -x "$build/t/bench/bench-log-memory" ] || make -C "$build" t/bench/bench-log-memory >/dev/null
# Two pipes per service, two fds each.
ulimit -n 65536 2>/dev/null || true
exec "$build/t/bench/bench-log-memory" "${1:-1000}"
