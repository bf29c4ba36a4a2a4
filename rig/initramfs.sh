#!/bin/bash
# Build the guest initramfs: build/initramfs.cpio.gz
# (GUEST_ARCH=arm64: build/initramfs-arm64.cpio.gz for the arm64 guest, its
# programs cross-built with aarch64-linux-gnu-gcc, its busybox-static the
# arm64 package of Debian's archive: rig/busybox-arm64.sh)
#   /init               rig/guest/init
#   /bin, /sbin, /usr   busybox-static and its applet links
#   /rig/run-tests      rig/guest/run-tests, /rig/demo rig/guest/demo,
#   /rig/modules-run    rig/guest/modules-run (the modules variant's suite)
#   /rig/edu-demo       rig/guest/edu-demo.c (static)
#   /rig/bench          rig/guest/bench.c (static): the benchmark of make bench
#   /rig/tests/<t>      the kselftests of tools/testing/selftests/iommu
#                       (static, against the tree's uapi headers) and the
#                       shell tests of rig/guest/tests; <t>.cases lists the
#                       expected case names of each, in order
# Incremental: uapi headers (build/hdr) and binaries (build/guest-bin) are
# remade only when their inputs changed. Nothing is written inside the tree
# except the links to new files (rig/link.sh).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

st=tools/testing/selftests/iommu
case ${GUEST_ARCH:=x86_64} in
x86_64)
	sfx=
	karch=x86
	cross=
	busybox=${BUSYBOX:-/bin/busybox}
	;;
arm64)
	sfx=-arm64
	karch=arm64
	cross=aarch64-linux-gnu-
	busybox=$("$RIG/busybox-arm64.sh") || die "no arm64 busybox"
	;;
*) die "GUEST_ARCH=$GUEST_ARCH: x86_64 or arm64" ;;
esac
out=$BUILD/initramfs$sfx.cpio.gz
stage=$BUILD/initramfs$sfx
hdr=$BUILD/hdr$sfx
bin=$BUILD/guest-bin$sfx

[ -d "$TREE/.git" ] || die "no kernel tree (make prepare)"
mkdir -p "$BUILD"
exec 9>"$BUILD/.initramfs$sfx.lock"
flock 9
[ -x "$busybox" ] || die "$busybox missing (busybox-static)"
# Link new files into the tree when the selftest directory has one the tree
# lacks (rig/link.sh walks the whole tree, too slow for every run).
for f in "$REPO/$st"/* "$REPO/$st"/.gitignore; do
	[ -e "$f" ] || continue
	if [ ! -L "$TREE/$st/${f##*/}" ]; then
		"$RIG/link.sh"
		break
	fi
done

# uapi headers of the tree, out of tree (build/obj/hdr holds the objects)
if [ ! -f "$hdr/.stamp" ] ||
   [ -n "$(find -L "$TREE/include/uapi" "$TREE/arch/$karch/include/uapi" \
	   -newer "$hdr/.stamp" -print -quit)" ]; then
	note "installing uapi headers into ${hdr#"$REPO"/}"
	rm -rf "$hdr" "$bin"
	make -s -C "$TREE" ARCH=$karch O="$OBJ/hdr$sfx" headers_install \
		INSTALL_HDR_PATH="$hdr" >/dev/null
	touch "$hdr/.stamp"
fi

# kselftests, with the selftest Makefile (lib.mk), static
mkdir -p "$bin"
make -s -C "$TREE/$st" OUTPUT="$bin" KHDR_INCLUDES="-isystem $hdr/include" \
	CROSS_COMPILE=$cross USERCFLAGS=-Werror USERLDFLAGS=-static all >/dev/null
progs=$(make -s -C "$TREE/$st" OUTPUT="$bin" emit_tests | sed 's/^.*://; s/.*\///')

# the demo's DMA program, on the selftests' edu driver
demo_src=("$RIG/guest/edu-demo.c" "$TREE/$st/edu.c" "$TREE/$st/vfio_util.c")
if [ ! -x "$bin/edu-demo" ] ||
   [ -n "$(find -L "${demo_src[@]}" "$TREE/$st/edu.h" "$TREE/$st/vfio_util.h" \
	   -newer "$bin/edu-demo" -print -quit)" ]; then
	"${cross}gcc" -static -O2 -Wall -Werror -isystem "$hdr/include" -I"$TREE/$st" \
		"${demo_src[@]}" -o "$bin/edu-demo"
fi

# the benchmark (rig/bench.sh), on the same helpers
bench_src=("$RIG/guest/bench.c" "$TREE/$st/edu.c" "$TREE/$st/vfio_util.c")
if [ ! -x "$bin/bench" ] ||
   [ -n "$(find -L "${bench_src[@]}" "$TREE/$st/edu.h" "$TREE/$st/vfio_util.h" \
	   "$REPO/drivers/iommu/iommufd/iommufd_test.h" -newer "$bin/bench" -print -quit)" ]; then
	"${cross}gcc" -static -O2 -Wall -Werror -pthread -isystem "$hdr/include" -I"$TREE/$st" \
		"${bench_src[@]}" -o "$bin/bench"
fi

# Cases of a kselftest harness program, in the order the harness runs them:
# TEST()s of the global fixture first, then per FIXTURE() (declaration
# order) each variant (or none) times its TEST_F()s.
harness_cases() {
	awk '
	function arg(s, i,   a) {
		sub(/^[A-Z_]+\(/, "", s); sub(/\).*/, "", s)
		split(s, a, /[ \t]*,[ \t]*/)
		gsub(/[ \t]/, "", a[i])
		return a[i]
	}
	/^FIXTURE\(/ { f = arg($0, 1); fixtures[++nf] = f; next }
	/^FIXTURE_VARIANT_ADD\(/ {
		f = arg($0, 1); variants[f, ++nv[f]] = arg($0, 2); next
	}
	/^TEST_F(_SIGNAL|_TIMEOUT)?\(/ {
		f = arg($0, 1); tests[f, ++nt[f]] = arg($0, 2); next
	}
	/^TEST(_SIGNAL)?\(/ { global[++ng] = arg($0, 1); next }
	END {
		for (i = 1; i <= ng; i++)
			print "global." global[i]
		for (i = 1; i <= nf; i++) {
			f = fixtures[i]
			for (v = 1; v <= (nv[f] ? nv[f] : 1); v++)
				for (t = 1; t <= nt[f]; t++)
					print f (nv[f] ? "." variants[f, v] : "") "." tests[f, t]
		}
	}' "$1"
}

# Stage: busybox part kept across runs, /rig remade every time.
# (--list-full of an arm64 busybox: the applets of the host's, the same
# Debian version)
if [ ! -f "$stage/.busybox" ] || [ "$busybox" -nt "$stage/.busybox" ]; then
	rm -rf "$stage"
	mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,root,etc}
	cp "$busybox" "$stage/bin/busybox"
	(cd "$stage" && /bin/busybox --list-full | grep -vx 'bin/busybox' |
		python3 -c '
import os, sys
for p in sys.stdin.read().split():
    os.makedirs(os.path.dirname(p) or ".", exist_ok=True)
    if not os.path.lexists(p):
        os.symlink("/bin/busybox", p)')
	touch "$stage/.busybox"
fi
rm -rf "$stage/rig"
mkdir -p "$stage/rig/tests"
install -m 755 "$RIG/guest/init" "$stage/init"
install -m 755 "$RIG/guest/run-tests" "$RIG/guest/demo" "$RIG/guest/modules-run" \
	"$bin/edu-demo" "$bin/bench" "$stage/rig/"
for p in $progs; do
	install -m 755 "$bin/$p" "$stage/rig/tests/$p"
	harness_cases "$TREE/$st/$p.c" > "$stage/rig/tests/$p.cases"
	[ -s "$stage/rig/tests/$p.cases" ] || die "$st/$p.c: no test cases found"
done
for t in "$RIG"/guest/tests/*; do
	[ -f "$t" ] || continue
	p=${t##*/}
	install -m 755 "$t" "$stage/rig/tests/$p"
	"$t" --list > "$stage/rig/tests/$p.cases"
	[ -s "$stage/rig/tests/$p.cases" ] || die "rig/guest/tests/$p --list: no cases"
done

(cd "$stage" && find . -path ./.busybox -prune -o -print | LC_ALL=C sort |
	cpio --quiet -o -H newc -R 0:0) | gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
echo "$out"
