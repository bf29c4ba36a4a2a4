#!/bin/bash
# Make the base tarball of a Debian linux-source-6.1 version available and
# verified; print its path. Nothing is unpacked or prepared.
#   rig/fetch.sh [VERSION]     (default BASE_VERSION: the pinned base or BASE=)
# The installed linux-source package serves its own version; another version
# is downloaded with apt-get download into build/dl/<version> (one cache for
# every BUILD dir) and its .deb extracted there, the system untouched.
# The pinned and the newest base of rig/base.lock are verified by sha256.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
v=${1:-$BASE_VERSION}

tarball=/usr/src/linux-source-$BASE_SERIES.tar.xz
installed=$(dpkg-query -W -f='${Version}' "linux-source-$BASE_SERIES" 2>/dev/null || true)

if [ "$installed" != "$v" ]; then
	dl=$DL/$v
	tarball=$dl/usr/src/linux-source-$BASE_SERIES.tar.xz
	if [ ! -f "$tarball" ]; then
		mkdir -p "$DL"
		exec 8>"$DL/.lock"	# one download at a time (make bases, check-newest)
		flock 8
	fi
	if [ ! -f "$tarball" ]; then
		mkdir -p "$dl"
		note "downloading linux-source-$BASE_SERIES=$v"
		(cd "$dl" && apt-get download "linux-source-$BASE_SERIES=$v" >&2) ||
			{ rmdir "$dl" 2>/dev/null; die "linux-source-$BASE_SERIES $v is not available (apt-cache policy linux-source-$BASE_SERIES; apt-get update)"; }
		dpkg-deb -x "$dl"/linux-source-*.deb "$dl"
		rm -f "$dl"/linux-source-*.deb	# the tarball is all the rig uses
	fi
fi
[ -f "$tarball" ] || die "no tarball at $tarball (run rig/deps.sh)"

case $v in
"$BASE_PINNED") want=$BASE_SHA256 ;;
"$BASE_NEWEST") want=$BASE_NEWEST_SHA256 ;;
*) want= ;;
esac
if [ -n "$want" ]; then
	sum=$(sha256sum "$tarball" | cut -d' ' -f1)
	[ "$sum" = "$want" ] ||
		die "$tarball: sha256 $sum, expected $want (rig/base.lock)"
elif [ "${FETCH_QUIET:-0}" != 1 ]; then
	note "$v is neither the pinned $BASE_PINNED nor the newest $BASE_NEWEST: sha256 not verified"
fi
echo "$tarball"
