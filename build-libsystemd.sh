#!/bin/sh
# build-libsystemd.sh DIR: builds the static libsystemd that vigild links, from the
# Debian source of the libsystemd-dev installed here (same version, Debian's patches
# applied), and prints the path of the archive. build.sh passes it to configure as
# SYSTEMD_LIBS; without it vigild links the shared libsystemd.so.0.
#
# Why: libsystemd.so.0 brings six more shared objects (libgcrypt, liblzma, libzstd,
# liblz4, libcap, libgpg-error) that vigild never calls, and mapping them is most of
# the time `vigild -- true` takes and of the memory one vigild uses (README,
# Performance). The archive holds one object: the sd-event, sd-daemon and journal
# stream code vigild uses, everything else dropped, and every symbol but the public
# sd_* ones made local so that none clashes with vigil's own.
#
# Installs what it needs when missing (as root). Source: apt, with a deb-src list
# made from this machine's own sources, in DIR; nothing in /etc changes.
# Everything goes to DIR; a second run with the same version only prints the path.
set -eu
dir=${1:?usage: build-libsystemd.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
out=$dir/libsystemd-vigil.a
ver=$(dpkg-query -W -f '${source:Version}' "libsystemd-dev:$(dpkg --print-architecture)" 2>/dev/null) || {
	echo "build-libsystemd.sh: libsystemd-dev is not installed" >&2
	exit 1
}
if [ -f "$out" ] && [ "$(cat "$dir/version" 2>/dev/null)" = "$ver" ]; then
	echo "$out"
	exit 0
fi
rm -f "$out" "$dir/version"
: >"$dir/log"
trap 'echo "build-libsystemd.sh: failed; the end of $dir/log:" >&2; tail -5 "$dir/log" >&2' EXIT

need="meson ninja-build gperf python3-jinja2 libcap-dev libmount-dev dpkg-dev binutils"
missing=
for p in $need; do
	dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "build-libsystemd.sh: installing$missing" >&2
	[ "$(id -u)" = 0 ] || { echo "build-libsystemd.sh: run as root to install:$missing" >&2; exit 1; }
	apt-get update -qq >/dev/null 2>&1 || true
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# The source: apt fetches and checks it (signed Release, hashes) with a private
# deb-src list beside the machine's own lists.
apt=$dir/apt
rm -rf "$apt" "$dir/src"
mkdir -p "$apt/parts" "$apt/lists/partial" "$apt/cache/archives/partial" "$dir/src"
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
	[ -f "$f" ] && sed -n 's/^deb[[:space:]]/deb-src /p' "$f"
done >"$apt/parts/vigil-src.list"
for f in /etc/apt/sources.list.d/*.sources; do
	[ -f "$f" ] && sed 's/^Types:.*/Types: deb-src/' "$f" >"$apt/parts/$(basename "$f")"
done
set -- -q -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$apt/parts" \
	-o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache" -o APT::Sandbox::User=root
echo "build-libsystemd.sh: fetching the source of systemd $ver" >&2
# A third-party list without sources fails the update; the source step says whether
# systemd's was found.
apt-get "$@" update >>"$dir/log" 2>&1 || true
if ! (cd "$dir/src" && apt-get "$@" source --download-only "systemd=$ver") >>"$dir/log" 2>&1; then
	# The mirror has moved on to a newer point release (an image older than its
	# mirror): sd-event's interface is the same in it, and the archive carries its
	# own code, so the newest source the lists have serves as well.
	echo "build-libsystemd.sh: no source of $ver in the lists; taking the newest" >&2
	(cd "$dir/src" && apt-get "$@" source --download-only systemd) >>"$dir/log" 2>&1
fi
set -- "$dir/src"/systemd_*.dsc
echo "build-libsystemd.sh: unpacking $(basename "$1")" >&2
dpkg-source -x "$1" "$dir/src/systemd" >>"$dir/log" 2>&1

# Only what libsystemd.a needs is built; the features are off but those the
# configuration step cannot turn off.
echo "build-libsystemd.sh: building libsystemd.a" >&2
meson setup "$dir/meson" "$dir/src/systemd" --buildtype=release -Db_ndebug=true \
	-Dstatic-libsystemd=pic -Dauto_features=disabled -Dtests=false -Dman=false -Dhtml=false \
	-Dtranslations=false >>"$dir/log" 2>&1
ninja -C "$dir/meson" version.h libsystemd.a >>"$dir/log" 2>&1

# One relocatable object: the public functions vigil calls are its roots, the
# sections they do not reach are dropped (with them every call into libgcrypt,
# liblzma, ...), and all but sd_* becomes local.
objs=$dir/objs
rm -rf "$objs"
mkdir -p "$objs"
(cd "$objs" && ar x "$dir/meson/libsystemd.a")
roots=$(nm -g --defined-only "$dir/meson/libsystemd.a" | awk '
	$3 ~ /^sd_(event_|notify|pid_notify|watchdog_enabled$|journal_stream_fd$|booted$|listen_fds)/ {
		printf " -u %s", $3
	}')
# shellcheck disable=SC2086 # $roots is a list of options
ld -r --gc-sections $roots -o "$objs/all.o" "$objs"/*.o
objcopy --wildcard --keep-global-symbol='sd_*' "$objs/all.o" "$dir/libsystemd-vigil.o"
rm -f "$out.tmp"
ar rcs "$out.tmp" "$dir/libsystemd-vigil.o"
# It must link with libc alone.
printf 'int main(void) { return 0; }\n' >"$objs/main.c"
cc -o "$objs/main" "$objs/main.c" -Wl,--whole-archive "$out.tmp" -Wl,--no-whole-archive \
	>>"$dir/log" 2>&1 || {
	echo "build-libsystemd.sh: the archive needs more than libc; see $dir/log" >&2
	exit 1
}
mv "$out.tmp" "$out"
rm -rf "$objs" "$dir/meson" "$dir/src" "$apt"
echo "$ver" >"$dir/version"
trap - EXIT
echo "$out"
