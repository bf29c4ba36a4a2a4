#!/bin/bash
# make check-debug: the VM tests of every mode on the debug kernel (lockdep,
# KASAN, kmemleak, fault injection), the iommufd stress at 10^6 operations a
# mode among them (STRESS_OPS), a kmemleak scan after them, the same for
# QEMU 10 as the iommufd client in the VM (SUITE=qemu, ~75 s a mode), and a
# last line "N passed, N failed". Not part of make check (the debug kernel
# takes ~15 minutes to build from cold).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
RESULTS=$BUILD/results-debug.txt
export RESULTS
MODES=${MODES:-legacy scalable flts nested}
rm -f "$RESULTS"
mkdir -p "$LOGS"
if "$RIG/build.sh" debug >"$LOGS/build-debug.log" 2>&1; then
	result PASS build/debug
	# The iommufd stress at 10^6 operations a mode; the VM gets the time
	# a debug kernel needs for it: ~55 minutes a mode on a core of its
	# own, over 90 when other work shares the cores (2.5 h allowed). A VM
	# runs its vCPUs in one host thread, so the modes run side by side,
	# VM_JOBS (default: one a core) at a time; each writes its own results
	# and output, taken in mode order when all are done.
	jobs=${VM_JOBS:-$NPROC}
	running=0
	for m in $MODES; do
		if [ "$running" -ge "$jobs" ]; then
			wait -n
			running=$((running - 1))
		fi
		rm -f "$BUILD/results-debug-$m.txt"
		RESULTS=$BUILD/results-debug-$m.txt VARIANT=debug STRESS_OPS=${STRESS_OPS:-1000000} \
			VM_TESTS_TIMEOUT=${VM_TESTS_TIMEOUT:-9000} \
			"$RIG/vm-tests.sh" "$m" >"$LOGS/check-debug-$m.out" 2>&1 &
		running=$((running + 1))
	done
	wait
	for m in $MODES; do
		cat "$LOGS/check-debug-$m.out"
		cat "$BUILD/results-debug-$m.txt" >>"$RESULTS"
		rm -f "$BUILD/results-debug-$m.txt"
	done
	for m in $MODES; do
		VARIANT=debug SUITE=qemu "$RIG/vm-tests.sh" "$m"
	done
else
	result FAIL build/debug "see build/logs/build-debug.log"
	tail -n 30 "$LOGS/build-debug.log"
fi
pass=$(grep -c '^PASS ' "$RESULTS")
fail=$(grep -c '^FAIL ' "$RESULTS")
skip=$(grep -c '^SKIP ' "$RESULTS")
[ "$fail" -eq 0 ] || { echo "failed:"; grep '^FAIL ' "$RESULTS" | sed 's/^FAIL /  /'; }
[ "$skip" -eq 0 ] || { echo "skipped ($skip):"; grep '^SKIP ' "$RESULTS" | sed 's/^SKIP /  /'; }
grep -q '^NOTE ' "$RESULTS" && { echo "noted (not tests):"; grep '^NOTE ' "$RESULTS" | sed 's/^NOTE /  /'; }
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
