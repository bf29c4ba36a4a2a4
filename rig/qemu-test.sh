#!/bin/bash
# make qemu-test: QEMU 10 as the iommufd client inside the test VM, in each
# VT-d mode given (default legacy, scalable, flts) or on arm64 (smmuv3, after
# rig/build.sh arm64): the host's qemu-system-x86_64 (arm64: Debian's
# qemu-system-aarch64 of the same version) goes into the guest
# (rig/initramfs-qemu.sh) and realizes vfio-pci on edu 01:00.0 through
# -object iommufd and through /dev/vfio/vfio
# (rig/guest/qemu-tests/qemu_client). Results in build/results.txt as
# qemu/<mode>/<test>.<case> and qemu/<mode>/console-clean (SUITE=qemu
# rig/vm-tests.sh), the time of each mode, a last line "N passed, N failed".
#   rig/qemu-test.sh [legacy|scalable|flts|nested|smmuv3]...
set -uo pipefail
. "$(dirname "$0")/lib.sh"
modes=${*:-legacy scalable flts}
mkdir -p "$(dirname "$RESULTS")"
touch "$RESULTS"
for m in $modes; do
	case $m in legacy | scalable | flts | nested | smmuv3) ;; *) die "unknown mode $m (legacy, scalable, flts, nested, smmuv3)" ;; esac
done

# Results of this run only: earlier qemu/<mode>/ lines of these modes go.
for m in $modes; do
	sed -i "\\# qemu/$m/#d" "$RESULTS"
done
mine=$(mktemp)
for m in $modes; do
	t0=$(date +%s)
	RESULTS=$mine SUITE=qemu "$RIG/vm-tests.sh" "$m"
	echo "qemu/$m: $(($(date +%s) - t0)) s"
done
cat "$mine" >>"$RESULTS"
pass=$(grep -c '^PASS ' "$mine")
fail=$(grep -c '^FAIL ' "$mine")
rm -f "$mine"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
