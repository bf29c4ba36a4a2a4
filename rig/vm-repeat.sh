#!/bin/bash
# Run guest tests again and again, one boot each, to show a flaky run is
# gone (or to catch it): every boot runs the named tests of rig/guest/tests,
# and a boot counts as good only when all their cases passed, the console is
# clean and the VM exited on its own.
#   rig/vm-repeat.sh MODE N TEST...
#   e.g. rig/vm-repeat.sh scalable 20 vfio_cdev_group
# Prints one line per boot and a summary; exit status 1 if any boot was bad.
# Logs of bad boots stay in build/logs/repeat-<mode>-<i>.log.
# VM_TCG_THREAD=multi runs QEMU's multi-threaded TCG (rig/vm.sh).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
mode=${1:?usage: rig/vm-repeat.sh MODE N TEST...}
n=${2:?usage: rig/vm-repeat.sh MODE N TEST...}
shift 2
[ $# -gt 0 ] || die "vm-repeat.sh: name the tests to repeat"
kernel=$(kernel_image "${VARIANT:-guest}")
mkdir -p "$LOGS"
good=0 bad=0 died=0 hung=0
for i in $(seq 1 "$n"); do
	log=$LOGS/repeat-$mode-$i.log
	"$RIG/vm.sh" --kernel "$kernel" --mode "$mode" --quiet --log "$log" \
		--timeout "${VM_TESTS_TIMEOUT:-600}" -- /rig/run-tests "$@" 2>/dev/null
	rc=$?
	clean=$(tr -d '\r' <"$log")
	npass=$(echo "$clean" | grep -c '^RIG-RESULT PASS ')
	nfail=$(echo "$clean" | grep -c '^RIG-RESULT \(FAIL\|SKIP\) ')
	kbad=$(echo "$clean" | grep -aE '^\[ *[0-9]+\.[0-9]+\]' | grep -avi 'command line:' |
		grep -aE 'WARNING:|\bBUG\b|Oops|KASAN|[Pp]anic|Call Trace:|blocked for more than|soft lockup' | head -n 1)
	case $rc in
	0) what="ok" ;;
	124) what="HUNG (timeout; SysRq dump in the log)"; hung=$((hung + 1)) ;;
	126) what="EMULATOR DIED: $(echo "$clean" | grep -aoE 'qemu-system-[a-z0-9_]+: .*' | tail -n 1)"
	     died=$((died + 1)) ;;
	*) what="exit $rc" ;;
	esac
	if [ "$rc" = 0 ] && [ "$nfail" = 0 ] && [ "$npass" -gt 0 ] && [ -z "$kbad" ]; then
		good=$((good + 1))
		rm -f "$log"
	else
		bad=$((bad + 1))
		[ -n "$kbad" ] && what="$what; kernel: $kbad"
	fi
	printf 'boot %2d/%d: %3d passed, %d failed or skipped: %s\n' "$i" "$n" "$npass" "$nfail" "$what"
done
echo "$mode, $n boots of: $*; tcg thread=${VM_TCG_THREAD:-single}"
echo "$good good, $bad bad ($died emulator deaths, $hung hangs)"
[ "$bad" -eq 0 ]
