#!/bin/bash
# make check: every test of the series, one line each, then a summary whose
# last line is "N passed, N failed". Exit status 1 on any failure.
#   bases (the series applies with zero fuzz to the pinned and the newest
#   base, rig/bases.sh) -> config audit -> build (built-in, the modules
#   variant, arm64) -> static (checkpatch, W=1, sparse) -> KUnit -> VM tests in
#   the four intel-iommu modes (nested: on the rig's QEMU build, built in the
#   background from the start on what the steps leave idle, and its qtest)
#   and on arm64 with SMMUv3 (ARM_MODES, default smmuv3) -> QEMU
#   10 as the iommufd client in the VM, in the same five modes -> the
#   modules variant loading, using, unloading and reloading our modules ->
#   the series on the newest base too, built and booted for the VM tests of
#   one mode (rig/check-newest.sh; CHECK_NEWEST=0 leaves it out)
set -uo pipefail
. "$(dirname "$0")/lib.sh"
MODES=${MODES:-legacy scalable flts nested}
ARM_MODES=${ARM_MODES-smmuv3}
mkdir -p "$LOGS"
rm -f "$RESULTS"
start=$(date +%s)
step() { echo; echo "=== $* ($(($(date +%s) - start)) s)"; }

step "tree"
if [ ! -d "$TREE/.git" ] || [ "$(cat "$TREE/.git/rig-patches-stamp" 2>/dev/null)" != "$(patches_stamp)" ]; then
	if "$RIG/prepare.sh" >"$LOGS/prepare.log" 2>&1; then
		result PASS tree/prepare
	else
		result FAIL tree/prepare "see build/logs/prepare.log"
		tail -n 20 "$LOGS/prepare.log"
	fi
else
	result PASS tree/prepare "up to date"
fi

# The nested mode's QEMU (rig/qemu-nested.sh: built once, cached) and its
# qtest, in the background from here on: at nice 19 on one CPU, it takes
# what the steps leave idle (a VM keeps only one core busy); its result is
# taken before the nested mode's VM tests.
qemu_nested_job=
case " $MODES " in
*" nested "*)
	"$RIG/qemu-nested.sh" --qtest >"$LOGS/qemu-nested-qtest.out" 2>&1 &
	qemu_nested_job=$!
	;;
esac

step "bases: the series applies with zero fuzz (rig/bases.sh)"
: >"$LOGS/bases.log"
for v in "$BASE_PINNED" "$BASE_NEWEST"; do
	line=$("$RIG/bases.sh" "$v" 2>>"$LOGS/bases.log" | tee -a "$LOGS/bases.log" |
		awk -v v="$v" '$1 == v')
	case $line in
	*" yes") result PASS "bases/$v" ;;
	*) result FAIL "bases/$v" "${line:-not checked}; see build/logs/bases.log" ;;
	esac
done

step "rig self-tests"
for t in "$RIG"/tests/*.sh; do
	"$t"
done

step "config audit"
for v in guest debug modules arm64; do
	if "$RIG/config.sh" "$v" >"$LOGS/config-$v.log" 2>&1; then
		result PASS "config/audit-$v"
	else
		result FAIL "config/audit-$v" "see build/logs/config-$v.log"
		cat "$LOGS/config-$v.log"
	fi
done

# build_variant VARIANT: rig/build.sh VARIANT, recorded as build/VARIANT;
# fails when the build does
build_variant() {
	if "$RIG/build.sh" "$1" >"$LOGS/build-$1.log" 2>&1; then
		result PASS "build/$1"
	else
		result FAIL "build/$1" "see build/logs/build-$1.log"
		tail -n 30 "$LOGS/build-$1.log"
		return 1
	fi
}

step "build"
built=0
build_variant guest && built=1

step "build (modules)"
built_modules=0
build_variant modules && built_modules=1

step "build (arm64)"
built_arm64=0
[ -n "$ARM_MODES" ] && build_variant arm64 && built_arm64=1

step "KUnit"
if [ -x "$RIG/kunit.sh" ]; then
	"$RIG/kunit.sh"
else
	result FAIL kunit/missing "rig/kunit.sh not found"
fi

step "static checks"
"$RIG/static.sh"

step "VM tests"
for m in $MODES; do
	if [ "$m" = nested ] && [ -n "$qemu_nested_job" ]; then
		if wait "$qemu_nested_job"; then
			result PASS rig/qemu-nested-qtest
		else
			result FAIL rig/qemu-nested-qtest "see build/logs/qemu-nested-qtest.out"
			tail -n 20 "$LOGS/qemu-nested-qtest.out"
		fi
		qemu_nested_job=
	fi
	if [ $built = 1 ]; then
		"$RIG/vm-tests.sh" "$m"
	else
		result FAIL "vm/$m/boot" "no kernel"
	fi
done

for m in $ARM_MODES; do
	if [ $built_arm64 = 1 ]; then
		"$RIG/vm-tests.sh" "$m"
	else
		result FAIL "vm/$m/boot" "no arm64 kernel"
	fi
done

step "QEMU as iommufd client"
for m in $MODES; do
	if [ $built = 1 ]; then
		SUITE=qemu "$RIG/vm-tests.sh" "$m"
	else
		result FAIL "qemu/$m/boot" "no kernel"
	fi
done
for m in $ARM_MODES; do
	if [ $built_arm64 = 1 ]; then
		SUITE=qemu "$RIG/vm-tests.sh" "$m"
	else
		result FAIL "qemu/$m/boot" "no arm64 kernel"
	fi
done

step "modules: load, use, unload, reload"
if [ $built_modules = 1 ]; then
	SUITE=modules "$RIG/vm-tests.sh" scalable
else
	result FAIL "modules/scalable/boot" "no modular kernel"
fi

if [ "${CHECK_NEWEST:-1}" = 1 ]; then
	step "newest base ($BASE_NEWEST)"
	"$RIG/check-newest.sh"
fi

step "summary"
pass=$(grep -c '^PASS ' "$RESULTS")
fail=$(grep -c '^FAIL ' "$RESULTS")
skip=$(grep -c '^SKIP ' "$RESULTS")
if [ "$fail" -gt 0 ]; then
	echo "failed:"
	grep '^FAIL ' "$RESULTS" | sed 's/^FAIL /  /'
fi
if [ "$skip" -gt 0 ]; then
	echo "skipped ($skip, not counted as passed):"
	grep '^SKIP ' "$RESULTS" | sed 's/^SKIP /  /'
fi
if grep -q '^NOTE ' "$RESULTS"; then
	echo "noted (not tests):"
	grep '^NOTE ' "$RESULTS" | sed 's/^NOTE /  /'
fi
echo "time: $(($(date +%s) - start)) s; results: build/results.txt"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
