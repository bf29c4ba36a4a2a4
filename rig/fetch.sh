#!/bin/bash
# Make the base tarball of BASE_VERSION available and verified.
# Prints the tarball's path. The pinned version comes from the installed
# linux-source package; another version (make BASE=...) is downloaded with
# apt-get download into build/dl and unpacked there, the system untouched.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

tarball=/usr/src/linux-source-$BASE_SERIES.tar.xz
installed=$(dpkg-query -W -f='${Version}' "linux-source-$BASE_SERIES" 2>/dev/null || true)

if [ "$installed" != "$BASE_VERSION" ]; then
	dl=$BUILD/dl/$BASE_VERSION
	tarball=$dl/usr/src/linux-source-$BASE_SERIES.tar.xz
	if [ ! -f "$tarball" ]; then
		mkdir -p "$dl"
		note "downloading linux-source-$BASE_SERIES=$BASE_VERSION"
		(cd "$dl" && apt-get download "linux-source-$BASE_SERIES=$BASE_VERSION" >&2) ||
			die "linux-source-$BASE_SERIES $BASE_VERSION is not available (apt-cache policy linux-source-$BASE_SERIES)"
		dpkg-deb -x "$dl"/linux-source-*.deb "$dl"
	fi
fi
[ -f "$tarball" ] || die "no tarball at $tarball (run rig/deps.sh)"

if [ "$BASE_VERSION" = "$BASE_PINNED" ]; then
	sum=$(sha256sum "$tarball" | cut -d' ' -f1)
	[ "$sum" = "$BASE_SHA256" ] ||
		die "$tarball: sha256 $sum, expected $BASE_SHA256 (rig/base.lock)"
else
	note "BASE=$BASE_VERSION is not the pinned $BASE_PINNED: sha256 not verified"
fi
echo "$tarball"
