#!/bin/bash
# Boot the guest kernel under QEMU (TCG) on q35 with an emulated Intel IOMMU
# (arm64: on virt with the emulated SMMUv3) and QEMU's edu DMA device, run
# one command in it, return its exit status.
#
#   rig/vm.sh [--mode legacy|scalable|flts|nested|smmuv3] [--timeout SEC] [--kernel PATH]
#             [--mem MIB] [--quiet] [--quiet-kernel] [--log FILE]
#             [--initrd-extra ARCHIVE]... -- CMD [ARGS...]
#
#   --mode          VT-d mode: legacy; scalable (x-scalable-mode=on, sm_on);
#                   flts (scalable, first-stage tables only: x-flts=on)
#                   nested (scalable with first-stage, second-stage and
#                   nested tables and second-stage A/D: x-nested=on,
#                   x-ssads=on) on the rig's own QEMU build
#                   (rig/qemu-nested.sh: Debian's 10.0.2 source and
#                   rig/qemu/*.patch, built once and cached); the other
#                   modes use the packaged qemu-system-x86_64
#                   smmuv3: the arm64 guest (rig/build.sh arm64) on the
#                   packaged qemu-system-aarch64, virt with iommu=smmuv3
#                   (stage-1 tables), GICv3 with ITS, the same topology,
#                   arm-smmu-v3.disable_bypass=0
#                   (VM_QEMU=path: that binary in any mode, e.g. the
#                   nested build in mode flts, to compare)
#                   default: $MODE or scalable
#   --timeout       seconds before the VM is killed (default 180), status 124
#   --kernel        bzImage (default build/obj/guest/arch/x86/boot/bzImage;
#                   smmuv3: build/obj/arm64/arch/arm64/boot/Image)
#   --mem           guest RAM in MiB (default $VM_MEM or 1024)
#   --quiet         do not stream the console to stdout
#   --quiet-kernel  kernel console loglevel 1 (only emergencies reach the
#                   console), QEMU's messages to the log only: for the demo
#   --log FILE      also keep the console log in FILE
#   --initrd-extra  a cpio archive (gzip or not) appended to the initramfs,
#                   e.g. the host's QEMU (rig/initramfs-qemu.sh); repeatable
#
# CMD and its arguments go on the kernel command line after "--"; the kernel
# passes them to /init (rig/guest/init) as arguments (arguments with blanks
# are quoted). A command the command line cannot carry (double quotes,
# newlines, very long) is run from a script, /rig/vm-cmd, instead.
# The console log of a failing run is kept in build/logs/vm-<mode>-<time>.log.
#
# Exit status: the command's; 124 on timeout; 125 when the kernel panicked
# or the guest did not report an exit status (RIG-EXIT line missing); 126
# when the host's QEMU itself died (an assertion or a signal: an emulator
# fault, not something the guest did).
#
# A guest that reaches the timeout is asked to speak before it is killed:
# magic SysRq through the serial console (a break, sent with the console
# multiplexer's C-a b, then the key) dumps the blocked tasks (w), every CPU's
# backtrace (l), the locks held (d, lockdep kernels) and every task (t) into
# the log.
#
# The vCPUs run in one host thread (-accel tcg,thread=single): QEMU 10.0's
# multi-threaded TCG can abort in iotlb_to_section() when one vCPU changes
# the memory map (a BAR disabled by a PCI reset) while another one is in the
# middle of an MMIO access. The guest keeps its two CPUs (preemption and
# concurrency inside the guest are unchanged).
#
# Topology (tests depend on it; rig/guest/tests/topology checks it):
#   00:02.0 rp1 pcie-root-port (ACS)          -> 01:00.0 edu, own group
#   00:03.0 rp2 pcie-root-port, disable-acs   -> 02:00.0 edu, one group with rp2
#   00:04.0 rp3 pcie-root-port (ACS)          -> 03:00.0 + 03:00.1 + 03:00.2 edu
#                                                (one multi-function device, one
#                                                group of three)
set -uo pipefail
. "$(dirname "$0")/lib.sh"

mode=${MODE:-scalable}
tmo=180
kernel=
mem=${VM_MEM:-1024}
quiet=0
quiet_kernel=0
# VM_TCG_THREAD=multi: QEMU's multi-threaded TCG (see above)
tcg_thread=${VM_TCG_THREAD:-single}
keep_log=
extra=()
while [ $# -gt 0 ]; do
	case $1 in
	--mode) mode=$2; shift 2 ;;
	--mode=*) mode=${1#*=}; shift ;;
	--timeout) tmo=$2; shift 2 ;;
	--timeout=*) tmo=${1#*=}; shift ;;
	--kernel) kernel=$2; shift 2 ;;
	--kernel=*) kernel=${1#*=}; shift ;;
	--mem) mem=$2; shift 2 ;;
	--mem=*) mem=${1#*=}; shift ;;
	--quiet) quiet=1; shift ;;
	--quiet-kernel) quiet_kernel=1; shift ;;
	--log) keep_log=$2; shift 2 ;;
	--log=*) keep_log=${1#*=}; shift ;;
	--initrd-extra) extra+=("$2"); shift 2 ;;
	--initrd-extra=*) extra+=("${1#*=}"); shift ;;
	--) shift; break ;;
	*) die "vm.sh: unknown option $1 (the command goes after --)" ;;
	esac
done
if ! [[ $mem =~ ^[0-9]+$ ]] || [ "$mem" -lt 256 ]; then
	die "vm.sh: --mem wants MiB (>= 256), not '$mem'"
fi
[ $# -gt 0 ] || die "vm.sh: no command (rig/vm.sh [options] -- CMD [ARGS...])"

qemu_bin=qemu-system-x86_64
guest_arch=x86_64
case $mode in
legacy) iommu=intel-iommu,intremap=on,caching-mode=on; sm= ;;
scalable) iommu=intel-iommu,intremap=on,caching-mode=on,x-scalable-mode=on; sm=,sm_on ;;
flts) iommu=intel-iommu,intremap=on,caching-mode=on,x-scalable-mode=on,x-flts=on; sm=,sm_on ;;
nested)
	iommu=intel-iommu,intremap=on,caching-mode=on,x-scalable-mode=on,x-nested=on,x-ssads=on
	sm=,sm_on
	qemu_bin=$("$RIG/qemu-nested.sh") || die "vm.sh: no QEMU with nested VT-d (rig/qemu-nested.sh failed)"
	;;
smmuv3) qemu_bin=qemu-system-aarch64; guest_arch=arm64; iommu=; sm= ;;
*) die "vm.sh: unknown mode $mode (legacy, scalable, flts, nested, smmuv3)" ;;
esac
if [ -z "$kernel" ]; then
	if [ $guest_arch = arm64 ]; then
		kernel=$(kernel_image arm64)
	else
		kernel=$(kernel_image guest)
	fi
fi
[ -f "$kernel" ] || die "no kernel at $kernel (make build)"
qemu_bin=${VM_QEMU:-$qemu_bin}
command -v "$qemu_bin" >/dev/null || die "$qemu_bin missing (make deps)"

# no_timer_check: the kernel's boot check that the IO-APIC timer ticks
# through interrupt remapping can time out under TCG and panic ("timer
# doesn't work through Interrupt-remapped IO-APIC"), seen once in 20 boots.
append="console=ttyS0 intel_iommu=on$sm no_timer_check"
# smmuv3: streams without a domain bypass (disable_bypass=0), so that a
# replace passing through bypass would show (vfio_cdev_edu's
# replace_never_bypasses)
[ $guest_arch = arm64 ] && append="console=ttyAMA0 arm-smmu-v3.disable_bypass=0"
append+=" panic=-1 panic_on_warn=1 oops=panic rig.mode=$mode"
[ $quiet_kernel = 1 ] && append+=" loglevel=1"
initrd=$(GUEST_ARCH=$guest_arch "$RIG/initramfs.sh") || die "initramfs build failed"
for x in ${extra[@]+"${extra[@]}"}; do
	[ -f "$x" ] || die "vm.sh: no initramfs archive $x"
done

# Arguments the kernel command line cannot carry (double quotes, newlines,
# too many or too long) go into a script appended to the initramfs as a
# second archive (the kernel unpacks concatenated archives).
args=
for a in "$@"; do
	case $a in
	*'"'* | *$'\n'*) args=; break ;;
	'' | *[[:space:]]*) args+=" \"$a\"" ;;
	*) args+=" $a" ;;
	esac
done
cmdfile=
if [ -z "$args" ] || [ $# -gt 30 ] || [ $((${#append} + ${#args})) -gt 1900 ]; then
	cmdfile=$(mktemp -d "$BUILD/.vm-cmd-XXXXXX")
	mkdir -p "$cmdfile/root/rig"
	{
		echo '#!/bin/sh'
		q=
		for a in "$@"; do
			q+=" '${a//\'/\'\\\'\'}'"
		done
		echo "${q# }"
	} >"$cmdfile/root/rig/vm-cmd"
	chmod 755 "$cmdfile/root/rig/vm-cmd"
	(cd "$cmdfile/root" && find rig | cpio --quiet -o -H newc -R 0:0 | gzip -1) \
		>"$cmdfile/cmd.cpio.gz"
	extra+=("$cmdfile/cmd.cpio.gz")
	args=" /rig/vm-cmd"
fi
# Extra archives follow the initramfs in one file (QEMU takes one -initrd).
if [ ${#extra[@]} -gt 0 ]; then
	[ -n "$cmdfile" ] || cmdfile=$(mktemp -d "$BUILD/.vm-cmd-XXXXXX")
	cat "$initrd" "${extra[@]}" >"$cmdfile/initrd"
	initrd=$cmdfile/initrd
fi
append+=" --$args"

edu=edu,dma_mask=0xffffffffffffffff
if [ $guest_arch = arm64 ]; then
	machine=(-machine virt,gic-version=3,iommu=smmuv3 -cpu cortex-a57)
else
	machine=(-machine q35,kernel-irqchip=split -device "$iommu")
fi
qemu=("$qemu_bin"
	"${machine[@]}" -accel "tcg,thread=$tcg_thread" -m "$mem" -smp 2
	-nodefaults -display none -no-reboot
	-chardev stdio,id=con,signal=off,mux=on -serial chardev:con
	-device pcie-root-port,id=rp1,bus=pcie.0,addr=0x2,chassis=1
	-device "$edu,bus=rp1"
	-device pcie-root-port,id=rp2,bus=pcie.0,addr=0x3,chassis=2,disable-acs=on
	-device "$edu,bus=rp2"
	-device pcie-root-port,id=rp3,bus=pcie.0,addr=0x4,chassis=3
	-device "$edu,bus=rp3,addr=0.0,multifunction=on"
	-device "$edu,bus=rp3,addr=0.1"
	-device "$edu,bus=rp3,addr=0.2"
	-kernel "$kernel" -initrd "$initrd" -append "$append")

mkdir -p "$LOGS"
log=$(mktemp "$LOGS/.vm-$mode-XXXXXX")
# The console's input: a FIFO held open by us, so QEMU never sees EOF and the
# watchdog can type into it.
fifo=$(mktemp -u "$BUILD/.vm-con-XXXXXX")
mkfifo "$fifo"
exec {con}<>"$fifo"

# Magic SysRq on the guest's serial console: C-a b is a break, the next
# character the SysRq key.
sysrq() {
	printf '\001b' >&"$con"
	sleep 0.5
	printf '%s' "$1" >&"$con"
	sleep "${2:-2}"
}

# QEMU in the background (PID $qpid), its console into the log; unless
# quiet, the log is streamed to stdout as it grows.
if [ $quiet_kernel = 1 ]; then
	# QEMU's own messages (e.g. the emulated IOMMU reporting translation
	# faults) go to the log only, after the console.
	"${qemu[@]}" <&"$con" >"$log" 2>"$log.qemu" &
else
	"${qemu[@]}" <&"$con" >"$log" 2>&1 &
fi
qpid=$!
# An interrupted rig takes its VM with it.
trap 'kill -KILL "$qpid" 2>/dev/null; rm -f "$fifo"; exit 130' INT TERM HUP
tpid=
if [ $quiet = 0 ]; then
	tail -n +1 -s 0.2 --pid="$qpid" -f "$log" &
	tpid=$!
fi
deadline=$(($(date +%s) + tmo))
timed_out=0
while kill -0 "$qpid" 2>/dev/null; do
	if [ "$(date +%s)" -ge "$deadline" ]; then
		timed_out=1
		note "vm ($mode): no exit after $tmo s; dumping the guest's tasks (SysRq w l d t)"
		for k in w l d t; do
			kill -0 "$qpid" 2>/dev/null && sysrq "$k" 3
		done
		kill -TERM "$qpid" 2>/dev/null
		sleep 3
		kill -KILL "$qpid" 2>/dev/null
		break
	fi
	sleep 0.5
done
wait "$qpid"
qrc=$?
[ -n "$tpid" ] && wait "$tpid"
exec {con}>&-
rm -f "$fifo"
if [ $timed_out = 1 ]; then
	echo "rig: killed after $tmo s; above: SysRq w (blocked tasks), l (CPUs), d (locks), t (tasks)" >>"$log"
fi
if [ -f "$log.qemu" ]; then
	cat "$log.qemu" >>"$log"
	rm -f "$log.qemu"
fi

marker=$(tr -d '\r' <"$log" | grep -aoE 'RIG-EXIT [0-9]+' | tail -n 1)
if [ $timed_out = 1 ]; then
	why="timed out after $tmo s"
	rc=124
elif [ -z "$marker" ] && { [ "$qrc" -gt 128 ] || grep -aqE '^qemu-system-[a-z0-9_]+: .*Assertion .* failed' "$log"; }; then
	why="the host's QEMU died (exit status $qrc): $(grep -aoE 'qemu-system-[a-z0-9_]+: .*' "$log" | tail -n 1)"
	rc=126
elif grep -aqE 'Kernel panic|end Kernel panic' "$log"; then
	why="the kernel panicked"
	rc=125
elif [ -z "$marker" ]; then
	why="no RIG-EXIT line (QEMU exit status $qrc)"
	rc=125
else
	rc=${marker#RIG-EXIT }
	why="the command exited with $rc"
fi

[ -n "$cmdfile" ] && rm -rf "$cmdfile"
[ -n "$keep_log" ] && cp "$log" "$keep_log"
if [ "$rc" = 0 ]; then
	rm -f "$log"
else
	kept=$LOGS/vm-$mode-$(date +%Y%m%d-%H%M%S)-$$.log
	mv "$log" "$kept"
	note "vm ($mode): $why; console log: ${kept#"$REPO"/}"
fi
exit "$rc"
