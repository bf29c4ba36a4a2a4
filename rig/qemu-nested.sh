#!/bin/bash
# Print the path of a qemu-system-x86_64 whose emulated VT-d does nested
# translation (PGTT=011) and second-stage A/D (SSADS): the VM mode `nested`
# of rig/vm.sh. Built once from Debian's QEMU source plus rig/qemu/*.patch
# and cached under build/qemu-nested/<key>/, key = sha256 of (the orig
# tarball's sha256, the patch files, this script): a warm run only prints.
#
#   rig/qemu-nested.sh            the binary's path (builds when missing)
#   rig/qemu-nested.sh --key      the key only (nothing built)
#   rig/qemu-nested.sh --qtest    build (when missing) and run the qtest of
#                                 rig/qemu/ (tests/qtest/intel-iommu-nested-
#                                 test) in the cached build dir; TAP output,
#                                 log in build/logs/qemu-nested-qtest.log
#
# Source: Debian's qemu source package of bookworm-backports, the version the
# rig's packaged QEMU comes from (QEMU_DEB_VERSION below). Only its orig
# tarball is used: downloaded with apt-get source into build/dl/qemu/ through
# a private sources file (the bookworm-backports deb-src line only) and a
# private lists dir, the system's apt configuration untouched; accepted when
# its sha256 is the pinned one (the .dsc and debian.tar.xz may be missing
# from the mirror: apt-get then fails, the orig is still verified by hash).
#
# Why Debian's packaging patches (debian/patches of the debian.tar.xz) are
# not applied: this machine's mirror does not serve the debian.tar.xz (nor
# the .dsc), and they are Debian's distribution changes, not needed for
# what this binary is for: test equipment for the emulated VT-d, which is
# upstream 10.0.2's code of the orig tarball plus rig/qemu/*.patch (the
# other VM modes keep Debian's packaged QEMU). Should a Debian patch touch
# hw/i386/intel_iommu.c, the packaged QEMU of the other modes would differ
# from this one there; that could not be checked here.
#
# The build is minimal (x86_64-softmmu, no default features, no docs, tools,
# user emulation), uses Debian's meson (>= 1.5, from bookworm-backports; the
# repacked tarball has no bundled meson wheels) and /usr/bin/python3, ccache
# when present, and runs at nice 19 on one CPU (QEMU_NESTED_CPU, default
# the last one) so it never takes the machine. Firmware comes from Debian's
# qemu-system-data / seabios (--firmwarepath). Log: build/logs/qemu-nested-<key>.log,
# its tail printed on failure. One build at a time (flock). After a build,
# the dirs of other keys (older patches) are removed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

QEMU_DEB_VERSION='1:10.0.2+ds-2+deb13u1~bpo12+1'
QEMU_ORIG=qemu_10.0.2+ds.orig.tar.xz
QEMU_ORIG_SHA256=0901da33844a331bf8b3602b9c1fbd178e60b737c8e3ade678255bd090c9b9f1

patches=()
for p in "$RIG"/qemu/*.patch; do
	[ -f "$p" ] && patches+=("$p")
done
key=$({
	echo "$QEMU_ORIG_SHA256"
	for p in ${patches[@]+"${patches[@]}"}; do
		echo "${p##*/}"
		sha256sum <"$p"
	done
	sha256sum <"$0"
} | sha256sum | cut -c1-16)
qtest=0
case ${1:-} in
--key) echo "$key"; exit 0 ;;
--qtest) qtest=1 ;;
'') ;;
*) die "qemu-nested.sh: unknown option $1 (--key, --qtest)" ;;
esac

top=$BUILD/qemu-nested
dir=$top/$key
bin=$dir/qemu-system-x86_64
cpu=${QEMU_NESTED_CPU:-$(($(nproc) - 1))}
run() { nice -n 19 taskset -c "$cpu" "$@"; }

run_qtest() {
	local t=tests/qtest/intel-iommu-nested-test log=$LOGS/qemu-nested-qtest.log
	[ -d "$dir/build" ] || die "no build dir $dir/build"
	(cd "$dir/build" && run ninja -j1 "$t") >"$log" 2>&1 ||
		{ tail -n 30 "$log" >&2; die "building $t failed (${log#"$REPO"/})"; }
	# the cached binary: the one in the build dir looks for firmware
	# inside the build tree, not in --firmwarepath
	(cd "$dir/build" && QTEST_QEMU_BINARY=$bin run "./$t" --tap) 2>&1 |
		tee -a "$log"
}

if [ -x "$bin" ]; then
	if [ $qtest = 1 ]; then
		exec 9>"$top/.lock"
		flock 9
		run_qtest
		exit
	fi
	echo "$bin"
	exit 0
fi

mkdir -p "$top" "$LOGS"
exec 9>"$top/.lock"
flock 9
if [ -x "$bin" ]; then		# built while we waited
	[ $qtest = 1 ] && { run_qtest; exit; }
	echo "$bin"
	exit 0
fi

# The orig tarball, verified.
dl=$DL/qemu
orig=$dl/$QEMU_ORIG
if [ ! -f "$orig" ] || [ "$(sha256sum <"$orig" | cut -d' ' -f1)" != "$QEMU_ORIG_SHA256" ]; then
	rm -f "$orig"
	apt=$dl/apt
	mkdir -p "$apt/lists/partial"
	cat >"$apt/src.sources" <<-'SRC'
	Types: deb-src
	URIs: http://deb.debian.org/debian
	Suites: bookworm-backports
	Components: main
	Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	SRC
	aptq=(apt-get -q -o Dir::Etc::SourceList="$apt/src.sources"
		-o Dir::Etc::SourceParts=/nonexistent -o Dir::State::Lists="$apt/lists"
		-o Debug::NoLocking=1)
	note "downloading qemu=$QEMU_DEB_VERSION's orig tarball into ${dl#"$REPO"/}"
	"${aptq[@]}" update >&2 || die "apt-get update (private deb-src list) failed"
	# apt-get source fails when the .dsc/.debian.tar.xz are missing on the
	# mirror; the orig is judged by its hash alone.
	(cd "$dl" && "${aptq[@]}" source --download-only "qemu=$QEMU_DEB_VERSION" >&2) ||
		note "apt-get source reported errors (missing .dsc/.debian.tar.xz?); checking the orig"
	[ -f "$orig" ] || die "no $QEMU_ORIG downloaded"
	sum=$(sha256sum <"$orig" | cut -d' ' -f1)
	[ "$sum" = "$QEMU_ORIG_SHA256" ] ||
		die "$orig: sha256 $sum, expected $QEMU_ORIG_SHA256"
	rm -f "$dl"/*.dsc "$dl"/*.debian.tar.*
fi

log=$LOGS/qemu-nested-$key.log
fail() {
	echo "rig: qemu-nested: $1; last lines of ${log#"$REPO"/}:" >&2
	tail -n 30 "$log" >&2
	exit 1
}
rm -rf "$dir"
mkdir -p "$dir"
note "building the nested-VT-d QEMU ($key), log in ${log#"$REPO"/}"
start=$(date +%s)
{
	echo "orig: $orig ($QEMU_ORIG_SHA256)"
	tar -xf "$orig" -C "$dir"
	mv "$dir"/qemu-* "$dir/src"
	for p in ${patches[@]+"${patches[@]}"}; do
		echo "patch: ${p#"$REPO"/}"
		patch -d "$dir/src" -p1 --no-backup-if-mismatch -F0 <"$p"
	done
	# Debian's repack dropped the prebuilt firmware (pc-bios/edk2-*.fd.bz2),
	# which meson unpacks for x86_64-softmmu whenever bzip2 is found; this
	# binary uses Debian's firmware (--firmwarepath) and installs nothing.
	sed -i 's/^\( *\)unpack_edk2_blobs = bzip2.found()$/\1unpack_edk2_blobs = false/' \
		"$dir/src/meson.build"
	grep -q '^ *unpack_edk2_blobs = false$' "$dir/src/meson.build"
} >"$log" 2>&1 || fail "unpacking or patching failed"

cc=gcc
command -v ccache >/dev/null && cc="ccache gcc"
# ccache: paths relative to the key's dir, so another key still hits.
export CCACHE_BASEDIR=$dir CCACHE_NOHASHDIR=1
mkdir -p "$dir/build"
(
	cd "$dir/build"
	run ../src/configure --python=/usr/bin/python3 --cc="$cc" \
		--target-list=x86_64-softmmu --without-default-features \
		--disable-docs --disable-tools --disable-user --disable-install-blobs \
		--enable-tcg --enable-fdt=disabled \
		--firmwarepath=/usr/share/qemu:/usr/share/seabios:/usr/lib/ipxe/qemu
	run ninja -j1 qemu-system-x86_64
) >>"$log" 2>&1 || fail "the build failed"
[ -x "$dir/build/qemu-system-x86_64" ] || fail "no qemu-system-x86_64 built"
cp "$dir/build/qemu-system-x86_64" "$bin.tmp"
mv "$bin.tmp" "$bin"
echo "built in $(($(date +%s) - start)) s" >>"$log"
for d in "$top"/????????????????; do
	[ "$d" = "$dir" ] || [ ! -d "$d" ] || rm -rf "$d"
done
note "qemu-nested: built in $(($(date +%s) - start)) s"
if [ $qtest = 1 ]; then
	run_qtest
	exit
fi
echo "$bin"
