#!/bin/bash
# The arm64 busybox-static of the arm64 guest's initramfs: Debian's package,
# the version apt offers (apt-get download; dpkg knows arm64 as a foreign
# architecture, rig/deps.sh), extracted under build/dl/busybox-arm64/<version>,
# the system untouched. Prints the binary's path. (Its applets are listed with
# the host's busybox-static: the same Debian source, the same applets.)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
v=$(apt-cache policy busybox-static:arm64 2>/dev/null | awk '$1 == "Candidate:" { print $2 }')
[ -n "$v" ] && [ "$v" != "(none)" ] ||
	die "apt offers no busybox-static:arm64 (rig/deps.sh adds arm64 to dpkg's architectures)"
d=$DL/busybox-arm64/$v
bb=$d/bin/busybox
if [ ! -x "$bb" ]; then
	mkdir -p "$DL"
	exec 8>"$DL/.lock"
	flock 8
fi
if [ ! -x "$bb" ]; then
	rm -rf "$d"
	mkdir -p "$d"
	note "downloading busybox-static:arm64=$v"
	(cd "$d" && apt-get download "busybox-static:arm64=$v" >&2) ||
		die "busybox-static:arm64 $v is not available (rig/deps.sh adds arm64 to dpkg's architectures)"
	dpkg-deb -x "$d"/busybox-static_*_arm64.deb "$d"
	rm -f "$d"/busybox-static_*_arm64.deb
fi
file -L "$bb" | grep -q 'ARM aarch64' || die "$bb is not an arm64 binary"
echo "$bb"
