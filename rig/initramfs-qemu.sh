#!/bin/bash
# Build the extra initramfs that puts the host's QEMU into the guest:
# build/initramfs-qemu.cpio.gz, appended to the normal one by
# rig/vm.sh --initrd-extra (the kernel unpacks concatenated archives):
#   /usr/bin/qemu-system-x86_64   the host's binary (QEMU 10, backports)
#   /lib/..., /lib64/...          every library ldd lists, the loader
#   /usr/share/...                the firmware q35 -nodefaults opens:
#                                 bios-256k.bin, kvmvapic.bin (found with
#                                 strace -e trace=openat,access on the host)
#   /rig/qemu-tests/<t>           the tests of rig/guest/qemu-tests and
#                                 <t>.cases, their case names (--list); run
#                                 with RIG_TESTS=/rig/qemu-tests run-tests
# Remade only when an input is newer than the archive. Prints its path.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

out=$BUILD/initramfs-qemu.cpio.gz
stage=$BUILD/initramfs-qemu
qemu=${QEMU:-/usr/bin/qemu-system-x86_64}
firmware="bios-256k.bin kvmvapic.bin"

[ -x "$qemu" ] || die "$qemu missing (make deps)"
mkdir -p "$BUILD"
exec 9>"$BUILD/.initramfs-qemu.lock"
flock 9

# Libraries and loader, as the host's loader resolves them.
ldd=$(ldd "$qemu") || die "ldd $qemu failed"
mapfile -t libs < <(awk '
	$2 == "=>" && $3 ~ /^\// { print $3; next }
	$1 ~ /^\// { print $1 }' <<<"$ldd")
[ ${#libs[@]} -gt 0 ] || die "ldd $qemu: no libraries"
printf '%s\n' "${libs[@]}" | grep -q '/ld-linux' || die "ldd $qemu: no dynamic loader"

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

inputs=("$qemu" "${libs[@]}" "${fw[@]}" "$RIG"/guest/qemu-tests/* "$0")
if [ -f "$out" ] && [ -z "$(find -L "${inputs[@]}" -newer "$out" -print -quit)" ] &&
   [ "$(cat "$out.inputs" 2>/dev/null)" = "${inputs[*]}" ]; then
	echo "$out"
	exit 0
fi

rm -rf "$stage"
mkdir -p "$stage/rig/qemu-tests"
for f in "$qemu" "${libs[@]}" "${fw[@]}"; do
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
