#!/bin/bash
# The VM tests of one VT-d mode: one boot running /rig/run-tests, each
# "RIG-RESULT <status> <test>.<case>" line recorded as vm/<mode>/<test>.<case>,
# expected cases that did not report (the VM died, hung) as FAIL, and
#   vm/<mode>/console-clean   FAIL when the kernel log on the console shows
#                             WARNING/BUG/Oops/KASAN/leak/lockdep/panic, a
#                             hung task or soft lockup, or the run timed out
#                             (rig/vm.sh then dumps the guest's tasks into
#                             the log) or ended without RIG-EXIT.
# When the host's QEMU dies under the guest (an emulator assertion, not a
# guest report) the suite is run once more, recorded as a NOTE line
# <suite>/<mode>/emulator-died (not a test), the first log kept beside.
#   rig/vm-tests.sh legacy|scalable|flts|nested|smmuv3
#   (nested: the rig's own QEMU build, rig/qemu-nested.sh; smmuv3: the
#   arm64 guest, rig/build.sh arm64, on virt with the emulated SMMUv3)
# SUITE=qemu: instead, the tests of rig/guest/qemu-tests, with QEMU in the
# guest (rig/initramfs-qemu.sh: the host's; on arm64 Debian's arm64 build of
# the same version), recorded as qemu/<mode>/...
# SUITE=modules: the modules variant (rig/config/modules.config) loading,
# using, unloading and reloading our modules (rig/guest/modules-run),
# recorded as modules/<mode>/...
# The console log is kept in build/logs/<suite>-tests-<mode>.log.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
mode=${1:?usage: rig/vm-tests.sh legacy|scalable|flts|nested|smmuv3}
tmo=${VM_TESTS_TIMEOUT:-600}
# VARIANT=debug: the debug kernel; results are named vm-debug/<mode>/...
variant=${VARIANT:-guest}
suite=${SUITE:-vm}
[ "$suite" = modules ] && variant=modules
sfx=
if [ "$mode" = smmuv3 ]; then
	# the arm64 guest has one variant; its results are named
	# vm/smmuv3/..., qemu/smmuv3/...
	[ "$suite" != modules ] && [ "$variant" = guest ] ||
		die "vm-tests.sh: mode smmuv3 runs the vm and qemu suites on the arm64 guest only"
	variant=arm64
	sfx=-arm64
fi
kernel=$(kernel_image "$variant")
prefix=$suite
[ "$variant" = guest ] || [ "$variant" = arm64 ] || [ "$suite" = modules ] ||
	prefix=$suite-$variant
case $suite in
vm)
	extra=()
	cmd=(/rig/run-tests)
	# STRESS_OPS=N: the operations of the iommufd stress (rig/check-debug.sh)
	[ -n "${STRESS_OPS:-}" ] && cmd=(env "IOMMUFD_STRESS_OPS=$STRESS_OPS" /rig/run-tests)
	cases=$BUILD/initramfs$sfx/rig/tests
	;;
qemu)
	if ! x=$(GUEST_ARCH=${sfx:+arm64} "$RIG/initramfs-qemu.sh"); then
		result FAIL "$prefix/$mode/initramfs" "rig/initramfs-qemu.sh failed"
		exit 0
	fi
	extra=(--initrd-extra "$x")
	cmd=(env RIG_TESTS=/rig/qemu-tests /rig/run-tests)
	cases=$BUILD/initramfs-qemu$sfx/rig/qemu-tests
	;;
modules)
	if ! x=$("$RIG/initramfs-modules.sh"); then
		result FAIL "$prefix/$mode/initramfs" "rig/initramfs-modules.sh failed"
		exit 0
	fi
	extra=(--initrd-extra "$x")
	cmd=(/rig/modules-run)
	# the expected cases: modules-run's own and those of the tests it runs
	"$RIG/initramfs.sh" >/dev/null || die "initramfs build failed"
	cases=$BUILD/modules-cases
	rm -rf "$cases"
	mkdir -p "$cases"
	"$RIG/guest/modules-run" --list >"$cases/modules.cases"
	for t in $("$RIG/guest/modules-run" --tests); do
		cp "$BUILD/initramfs/rig/tests/$t.cases" "$cases/" ||
			die "modules-run names $t, which has no cases"
	done
	;;
*) die "vm-tests.sh: unknown SUITE $suite (vm, qemu, modules)" ;;
esac
mkdir -p "$LOGS"
console=$LOGS/$prefix-tests-$mode.log
rm -f "$console"

run_vm() {
	"$RIG/vm.sh" --kernel "$kernel" --mode "$mode" --timeout "$tmo" --quiet \
		--log "$console" ${extra[@]+"${extra[@]}"} -- "${cmd[@]}"
}
run_vm
rc=$?
# The host's QEMU died under the guest (status 126: an emulator assertion or
# signal, not a guest report): the whole run is thrown away and done once
# more, and that is said in the results. A second death stands.
if [ "$rc" = 126 ]; then
	why=$(grep -aoE 'qemu-system-[a-z0-9_]+: .*' "$console" | tail -n 1)
	cp "$console" "$LOGS/$prefix-tests-$mode.emulator-died.log"
	note "$prefix/$mode: the host's QEMU died (${why:-no message}); running the suite once more"
	result NOTE "$prefix/$mode/emulator-died" "${why:-no message}; rerun once; first log in build/logs/$prefix-tests-$mode.emulator-died.log"
	run_vm
	rc=$?
fi
[ -f "$console" ] || : >"$console"
clean=$(mktemp)
tr -d '\r' <"$console" >"$clean"

# Results the guest reported
declare -A seen=()
while read -r _ status name; do
	case $status in PASS | FAIL | SKIP) ;; *) continue ;; esac
	result "$status" "$prefix/$mode/$name"
	seen[$name]=1
done < <(grep -aoE 'RIG-RESULT (PASS|FAIL|SKIP) [A-Za-z0-9_.:+-]+' "$clean")

# Expected cases that never reported
for f in "$cases"/*.cases; do
	[ -f "$f" ] || continue
	t=$(basename "$f" .cases)
	while read -r c; do
		[ -n "$c" ] || continue
		[ -n "${seen[$t.$c]:-}" ] || result FAIL "$prefix/$mode/$t.$c" "not reported; see ${console#"$REPO"/}"
	done <"$f"
done

# Kernel lines only (timestamped), the command line echoes excluded.
bad=$(grep -aE '^\[ *[0-9]+\.[0-9]+\]' "$clean" | grep -avi 'command line:' |
	grep -aE 'WARNING:|\bBUG\b|Oops|KASAN|suspected memory leak|[Pp]anic|Call Trace:|possible (circular|recursive)|inconsistent lock|blocked for more than|soft lockup' |
	head -n 5)
if [ "$rc" = 124 ]; then
	result FAIL "$prefix/$mode/console-clean" "timed out after $tmo s; see ${console#"$REPO"/}"
elif [ "$rc" = 126 ]; then
	result FAIL "$prefix/$mode/console-clean" "the host's QEMU died twice; see ${console#"$REPO"/}"
elif [ -n "$bad" ]; then
	result FAIL "$prefix/$mode/console-clean" "see ${console#"$REPO"/}"
	echo "$bad" | sed 's/^/    /'
elif ! grep -aqE 'RIG-EXIT [0-9]+' "$clean"; then
	result FAIL "$prefix/$mode/console-clean" "no RIG-EXIT line (status $rc); see ${console#"$REPO"/}"
else
	result PASS "$prefix/$mode/console-clean"
fi
rm -f "$clean"
exit 0
