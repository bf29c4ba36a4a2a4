#!/bin/bash
# The series on the newest base (BASE_NEWEST in rig/base.lock), beside the
# pinned one and without touching it: its own build dir
# build/base-<version>/ (tree, objects, initramfs, logs), prepared, built
# (ccache: files the bases share hit the cache) and booted for the VM tests
# of NEWEST_MODES (default scalable; NEWEST_QEMU=1 adds the QEMU client
# tests). Results go to the caller's results file (make check:
# build/results.txt) as newest/tree/prepare, newest/build/guest,
# newest/vm/<mode>/..., newest/qemu/<mode>/...
#   rig/check-newest.sh     (rig/check.sh runs it unless CHECK_NEWEST=0)
#   rig/check-newest.sh --summary   (make check-newest) a fresh results file
#                           (build/results-newest.txt), failures, "N passed,
#                           N failed", exit status 1 on any failure
set -uo pipefail
. "$(dirname "$0")/lib.sh"
export RESULTS			# the caller's, resolved before BUILD moves
export BASE=$BASE_NEWEST
export BUILD=$REPO/build/base-$BASE_NEWEST
export RESULT_PREFIX=newest/
. "$RIG/lib.sh"			# TREE, OBJ, LOGS of the newest base's BUILD
modes=${NEWEST_MODES-scalable}	# NEWEST_MODES= : build only
rel=${BUILD#"$REPO"/}
mkdir -p "$LOGS"
summary=0
if [ "${1:-}" = --summary ]; then
	summary=1
	rm -f "$RESULTS"
fi
done_() {
	if [ $summary = 1 ]; then
		grep '^FAIL ' "$RESULTS" | sed 's/^FAIL /failed: /'
		echo "$(grep -c '^PASS ' "$RESULTS") passed, $(grep -c '^FAIL ' "$RESULTS") failed"
		! grep -q '^FAIL ' "$RESULTS"
		exit
	fi
	exit 0
}

if [ ! -d "$TREE/.git" ] || [ "$(cat "$TREE/.git/rig-patches-stamp" 2>/dev/null)" != "$(patches_stamp)" ]; then
	if "$RIG/prepare.sh" >"$LOGS/prepare.log" 2>&1; then
		result PASS tree/prepare "$BASE_NEWEST"
	else
		result FAIL tree/prepare "$BASE_NEWEST; see $rel/logs/prepare.log"
		tail -n 20 "$LOGS/prepare.log"
		done_
	fi
else
	result PASS tree/prepare "$BASE_NEWEST, up to date"
fi

if ! "$RIG/build.sh" guest >"$LOGS/build-guest.log" 2>&1; then
	result FAIL build/guest "see $rel/logs/build-guest.log"
	tail -n 30 "$LOGS/build-guest.log"
	done_
fi
result PASS build/guest
for m in $modes; do
	"$RIG/vm-tests.sh" "$m"
	[ "${NEWEST_QEMU:-0}" = 1 ] && SUITE=qemu "$RIG/vm-tests.sh" "$m"
done
done_
