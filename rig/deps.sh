#!/bin/bash
# Install everything the rig needs from Debian's archive. Idempotent: when all
# packages are present at acceptable versions it does nothing and exits 0.
#
#   rig/deps.sh          install what is missing
#   rig/deps.sh --check  exit 1 when something is missing, install nothing
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=base.lock
. "$here/base.lock"

pkgs=(build-essential bc bison flex libelf-dev libssl-dev cpio busybox-static
      ccache dwarves sparse coccinelle python3 perl git xz-utils rsync kmod
      pciutils file gzip python3-ply python3-git gnuplot-nox
      libglib2.0-dev libpixman-1-dev ninja-build pkg-config python3-venv
      gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
# meson, pycotap: to build the nested-VT-d QEMU of VM mode nested
# (rig/qemu-nested.sh): QEMU 10 needs meson >= 1.5 (bookworm has 1.0)
# qemu-system-arm: the arm64 guest of VM mode smmuv3 (virt + SMMUv3); its
# busybox is the arm64 package, downloaded (rig/busybox-arm64.sh), for which
# dpkg gets arm64 as a foreign architecture
backports_pkgs=(qemu-system-x86 qemu-system-arm meson python3-pycotap)
qemu_min=10.0
meson_min=1.5

missing() {
	local p
	for p in "${pkgs[@]}" "${backports_pkgs[@]}"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -q '^install ok installed' || echo "$p"
	done
	if ! dpkg-query -W -f='${Version}\n' "linux-source-${BASE_SERIES}" 2>/dev/null |
		grep -qx "$BASE_PINNED"; then
		echo "linux-source-${BASE_SERIES}=${BASE_PINNED}"
	fi
	local q v
	for q in x86:x86_64 arm:aarch64; do
		command -v "qemu-system-${q#*:}" >/dev/null || continue
		v=$("qemu-system-${q#*:}" --version | sed -n 's/^QEMU emulator version \([0-9.]*\).*/\1/p')
		if ! dpkg --compare-versions "$v" ge "$qemu_min"; then
			echo "qemu-system-${q%%:*}>=$qemu_min"
		fi
	done
	dpkg --print-foreign-architectures | grep -qx arm64 || echo "dpkg-architecture:arm64"
	local m
	m=$(dpkg-query -W -f='${Version}' meson 2>/dev/null || true)
	if [ -n "$m" ] && ! dpkg --compare-versions "$m" ge "$meson_min"; then
		echo "meson>=$meson_min"
	fi
}

todo=$(missing | sort -u)
if [ -z "$todo" ]; then
	exit 0
fi
if [ "${1:-}" = --check ]; then
	echo "missing: $(echo "$todo" | tr '\n' ' ')" >&2
	exit 1
fi
echo "deps: installing: $(echo "$todo" | tr '\n' ' ')"

sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive

# bookworm-backports only; never another release (that would upgrade libc).
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
	$sudo tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
dpkg --print-foreign-architectures | grep -qx arm64 || $sudo dpkg --add-architecture arm64
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends --allow-downgrades "${pkgs[@]}" \
	"linux-source-${BASE_SERIES}=${BASE_PINNED}"
$sudo apt-get install -y -qq --no-install-recommends -t bookworm-backports \
	"${backports_pkgs[@]}"

left=$(missing)
if [ -n "$left" ]; then
	echo "deps: still missing after install: $left" >&2
	exit 1
fi
