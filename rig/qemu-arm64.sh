#!/bin/bash
# QEMU for the arm64 guest (QEMU as the iommufd client on SMMUv3): Debian's
# qemu-system-arm:arm64 of the version of the host's QEMU (bookworm-backports,
# the same QEMU 10), and the arm64 libraries it needs, fetched with apt-get
# download (dpkg knows arm64 as a foreign architecture, rig/deps.sh) and
# extracted under build/dl/qemu-arm64/<version>/root, the system untouched.
# The libraries are the closure of the package's Depends over packages
# named lib* or zlib*, each at the version apt offers (one apt-get download
# a level); rig/initramfs-qemu.sh takes from them the shared objects the
# binary needs. Prints the root's path.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
v=$(dpkg-query -W -f '${Version}' qemu-system-x86 2>/dev/null) ||
	die "qemu-system-x86 is not installed (make deps)"
d=$DL/qemu-arm64/$v
root=$d/root
if [ ! -e "$d/done" ]; then
	mkdir -p "$DL"
	exec 8>"$DL/.lock"
	flock 8
fi
if [ ! -e "$d/done" ]; then
	rm -rf "$d"
	mkdir -p "$d/debs" "$root"
	note "downloading qemu-system-arm:arm64=$v and its libraries"
	(cd "$d/debs" && apt-get download "qemu-system-arm:arm64=$v" >&2) ||
		die "qemu-system-arm:arm64 $v is not available (rig/deps.sh adds arm64 to dpkg's architectures)"
	# The lib* closure of Depends and Pre-Depends (first of alternatives).
	todo=$(dpkg-deb -f "$d"/debs/qemu-system-arm_*.deb Depends Pre-Depends)
	seen=" "
	while :; do
		new=$(echo "$todo" | tr ',' '\n' | sed -e 's/|.*//' -e 's/(.*)//' \
			-e 's/:any//' -e 's/^[A-Za-z-]*: //' -e 's/[[:space:]]//g' |
			grep -E '^(lib|zlib)' | sort -u) || true
		next=
		for p in $new; do
			case $seen in *" $p "*) continue ;; esac
			seen="$seen$p "
			next="$next $p"
		done
		[ -n "$next" ] || break
		# shellcheck disable=SC2086 # one package a word
		(cd "$d/debs" && apt-get download $(printf '%s:arm64 ' $next) >&2) ||
			die "not all of$next are available for arm64"
		todo=
		for p in $next; do
			todo="$todo,$(dpkg-deb -f "$d"/debs/"${p}"_*.deb Depends Pre-Depends)"
		done
	done
	for deb in "$d"/debs/*.deb; do
		dpkg-deb -x "$deb" "$root"
	done
	rm -rf "$d/debs"
	touch "$d/done"
fi
file -L "$root/usr/bin/qemu-system-aarch64" | grep -q 'ARM aarch64' ||
	die "$root/usr/bin/qemu-system-aarch64 is not an arm64 binary"
echo "$root"
