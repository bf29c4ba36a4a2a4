#!/bin/bash
# Build the extra initramfs that puts QEMU into the guest, appended to the
# normal one by rig/vm.sh --initrd-extra (the kernel unpacks concatenated
# archives):
#   x86_64 guest (build/initramfs-qemu.cpio.gz):
#     /usr/bin/qemu-system-x86_64   the host's binary (QEMU 10, backports)
#     /lib/..., /lib64/...          every library ldd lists, the loader
#     /usr/share/...                the firmware q35 -nodefaults opens:
#                                   bios-256k.bin, kvmvapic.bin (found with
#                                   strace -e trace=openat,access on the host)
#   arm64 guest, GUEST_ARCH=arm64 (build/initramfs-qemu-arm64.cpio.gz):
#     /usr/bin/qemu-system-aarch64  Debian's arm64 build of the same QEMU
#                                   (rig/qemu-arm64.sh)
#     /lib/..., /usr/lib/...        the loader and the closure of the shared
#                                   objects it needs (readelf: NEEDED),
#                                   found in the arm64 library packages;
#                                   virt -nodefaults opens no firmware
#   both:
#     /rig/qemu-tests/<t>           the tests of rig/guest/qemu-tests and
#                                   <t>.cases, their case names (--list); run
#                                   with RIG_TESTS=/rig/qemu-tests run-tests
# Remade only when an input is newer than the archive. Prints its path.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

arch=${GUEST_ARCH:-x86_64}
mkdir -p "$BUILD"
case $arch in
x86_64)
	out=$BUILD/initramfs-qemu.cpio.gz
	stage=$BUILD/initramfs-qemu
	root=
	qemu=${QEMU:-/usr/bin/qemu-system-x86_64}
	firmware="bios-256k.bin kvmvapic.bin"
	[ -x "$qemu" ] || die "$qemu missing (make deps)"
	exec 9>"$BUILD/.initramfs-qemu.lock"
	flock 9
	# Libraries and loader, as the host's loader resolves them.
	ldd=$(ldd "$qemu") || die "ldd $qemu failed"
	mapfile -t libs < <(awk '
		$2 == "=>" && $3 ~ /^\// { print $3; next }
		$1 ~ /^\// { print $1 }' <<<"$ldd")
	[ ${#libs[@]} -gt 0 ] || die "ldd $qemu: no libraries"
	printf '%s\n' "${libs[@]}" | grep -q '/ld-linux' || die "ldd $qemu: no dynamic loader"
	;;
arm64)
	out=$BUILD/initramfs-qemu-arm64.cpio.gz
	stage=$BUILD/initramfs-qemu-arm64
	root=$("$RIG/qemu-arm64.sh")
	qemu=/usr/bin/qemu-system-aarch64
	firmware=
	exec 9>"$BUILD/.initramfs-qemu-arm64.lock"
	flock 9
	# The loader, then the NEEDED closure, in the loader's search path.
	interp=$(readelf -l "$root$qemu" | sed -n 's/.*interpreter: \(.*\)]/\1/p')
	[ -f "$root$interp" ] || die "$root$qemu: loader ${interp:-?} not found"
	libs=("$interp")
	todo=("$qemu")
	declare -A have=()
	while [ ${#todo[@]} -gt 0 ]; do
		f=${todo[0]}
		todo=("${todo[@]:1}")
		for so in $(readelf -d "$root$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			[ -z "${have[$so]:-}" ] || continue
			p=
			for dir in /lib/aarch64-linux-gnu /usr/lib/aarch64-linux-gnu; do
				[ -e "$root$dir/$so" ] && { p=$dir/$so; break; }
			done
			[ -n "$p" ] || die "$so (needed by $f) is in none of the arm64 packages of rig/qemu-arm64.sh"
			have[$so]=1
			libs+=("$p")
			todo+=("$p")
		done
	done
	;;
*)	die "GUEST_ARCH=$arch: x86_64 or arm64" ;;
esac

# Firmware, from QEMU's own search path (qemu -L help).
fw=()
for f in $firmware; do
	p=
	for d in $("$qemu" -L help); do
		[ -f "$d/$f" ] && { p=$d/$f; break; }
	done
	[ -n "$p" ] || die "$f not found in $("$qemu" -L help | tr '\n' ' ')"
	fw+=("$p")
done

inputs=("$root$qemu" "${libs[@]/#/$root}" "${fw[@]}" "$RIG"/guest/qemu-tests/* "$0")
if [ -f "$out" ] && [ -z "$(find -L "${inputs[@]}" -newer "$out" -print -quit)" ] &&
   [ "$(cat "$out.inputs" 2>/dev/null)" = "${inputs[*]}" ]; then
	echo "$out"
	exit 0
fi

rm -rf "$stage"
mkdir -p "$stage/rig/qemu-tests"
for f in "$qemu" "${libs[@]}"; do
	mkdir -p "$stage$(dirname "$f")"
	cp -L "$root$f" "$stage$f"
done
for f in "${fw[@]}"; do
	mkdir -p "$stage$(dirname "$f")"
	cp -L "$f" "$stage$f"
done
for t in "$RIG"/guest/qemu-tests/*; do
	[ -f "$t" ] || continue
	p=${t##*/}
	install -m 755 "$t" "$stage/rig/qemu-tests/$p"
	"$t" --list >"$stage/rig/qemu-tests/$p.cases"
	[ -s "$stage/rig/qemu-tests/$p.cases" ] || die "rig/guest/qemu-tests/$p --list: no cases"
done

(cd "$stage" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) |
	gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
echo "${inputs[*]}" >"$out.inputs"
echo "$out"
