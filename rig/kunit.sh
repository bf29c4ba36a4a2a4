#!/bin/bash
# KUnit suites of the series, run by tools/testing/kunit/kunit.py, one
# kernel a configuration (KUNIT_ARCH):
#   um       drivers/iommu/.kunitconfig (IOMMU core, interval tree): a UML
#            kernel built out of tree in build/kunit
#   x86_64   VT-d's suites, which do not build for UML: the guest kernel
#            (rig/build.sh guest; rig/config/guest.config builds them in),
#            booted by kunit.py exec under QEMU; results in build/kunit-x86_64
#            (drivers/iommu/intel/.kunitconfig is the same for a kernel of
#            its own: kunit.py run --arch=x86_64 --kunitconfig=drivers/iommu/intel)
# One result per test case:
#   kunit/<suite>/<case>   PASS, FAIL or SKIP as KUnit reports it; FAIL also
#                          for a case the kernel listed but never reported
#                          (crash, hang, timeout)
# and, only when something is wrong (<arch>: um or x86_64):
#   kunit/build/<arch>     the kernel did not configure or build
#   kunit/run/<arch>       the kernel produced no usable result at all, or
#                          kunit.py failed without a failing case
#   kunit/kernel-log/<arch>  the kernel log holds a WARN, BUG, Oops, lockdep
#                          or sanitizer report (the tests expect none)
# Logs: build/logs/kunit[-x86_64]-{build,list,run,kernel}.log.
#   KUNIT_ARCHS="um x86_64"          the configurations to run (default both)
#   KUNIT_TIMEOUT=<seconds>          limit for one kernel run (default 300)
set -uo pipefail
. "$(dirname "$0")/lib.sh"
KUNIT_TIMEOUT=${KUNIT_TIMEOUT:-300}
mkdir -p "$LOGS"

# The tree, once for all configurations.
if [ -z "${KUNIT_ARCH:-}" ]; then
	if [ ! -d "$TREE/.git" ] && ! "$RIG/prepare.sh" >"$LOGS/kunit-prepare.log" 2>&1; then
		result FAIL kunit/build "no tree: see build/logs/kunit-prepare.log"
		exit 0
	fi
	if ! "$RIG/link.sh" >"$LOGS/kunit-link.log" 2>&1; then
		result FAIL kunit/build "linking new files failed: see build/logs/kunit-link.log"
		exit 0
	fi
	for a in ${KUNIT_ARCHS:-um x86_64}; do
		KUNIT_ARCH=$a "$0"
	done
	exit 0
fi
# kdir: kunit.py's build dir (the kernel, its test.log); rdir: our files
case $KUNIT_ARCH in
um)	KUNITCONFIG=drivers/iommu/.kunitconfig kdir=$BUILD/kunit rdir=$kdir
	lg=kunit ;;
x86_64)	KUNITCONFIG=drivers/iommu/intel/.kunitconfig kdir=$OBJ/guest
	rdir=$BUILD/kunit-x86_64 lg=kunit-x86_64 ;;
*)	die "KUNIT_ARCH=$KUNIT_ARCH: um or x86_64" ;;
esac
mkdir -p "$kdir" "$rdir"

export KBUILD_BUILD_TIMESTAMP=${KBUILD_BUILD_TIMESTAMP:-"2026-01-01"}
export KBUILD_BUILD_USER=rig KBUILD_BUILD_HOST=rig
cc="gcc"
command -v ccache >/dev/null && cc="ccache gcc"

# kunit.py chdirs to the tree it lives in; every output goes to $kdir.
kunit() {	# kunit <subcommand> [args...]
	local sub=$1; shift
	python3 "$TREE/tools/testing/kunit/kunit.py" "$sub" \
		--arch="$KUNIT_ARCH" --kunitconfig="$KUNITCONFIG" --build_dir="$kdir" \
		--make_options "CC=$cc" "$@"
}

# 1. Configure and build (x86_64: the guest kernel, up to date).
if [ "$KUNIT_ARCH" = x86_64 ]; then
	build() { "$RIG/build.sh" guest; }
else
	build() { kunit build --jobs="$NPROC"; }
fi
if ! build >"$LOGS/$lg-build.log" 2>&1; then
	result FAIL "kunit/build/$KUNIT_ARCH" "see build/logs/$lg-build.log"
	tail -n 30 "$LOGS/$lg-build.log"
	exit 0
fi

# 2. The cases the kernel has, so that a case that never reports is a FAIL.
kunit exec --list_tests --timeout="$KUNIT_TIMEOUT" >"$LOGS/$lg-list.log" 2>&1
grep -E '^[^[:space:].]+\.[^[:space:].]+$' "$LOGS/$lg-list.log" > "$rdir/expected.txt"

# 3. Run them.
json=$rdir/results.json
rm -f "$json"
kunit exec --timeout="$KUNIT_TIMEOUT" --json="$json" >"$LOGS/$lg-run.log" 2>&1
rc=$?
cp "$kdir/test.log" "$LOGS/$lg-kernel.log" 2>/dev/null || : >"$LOGS/$lg-kernel.log"

# 4. One result per case: "STATUS suite.case [detail]" from the JSON, then
#    a FAIL for every listed case without a result. kunit.py's placeholders
#    for cases that never reported have no name; they only matter when the
#    list of cases is missing too.
python3 - "$json" "$rdir/expected.txt" >"$rdir/results.txt" <<'PY'
import json, sys

def walk(group, prefix):
    for case in group.get("test_cases", []):
        yield prefix, case.get("name") or "", case.get("status", "FAIL")
    for sub in group.get("sub_groups", []):
        name = sub.get("name") or "<unnamed>"
        yield from walk(sub, name if not prefix else prefix + "." + name)

try:
    with open(sys.argv[1]) as f:
        top = json.load(f)
except (OSError, ValueError):
    top = {}
with open(sys.argv[2]) as f:
    expected = [l.strip() for l in f if l.strip()]

seen = set()
unnamed = 0
for suite, case, status in walk(top, ""):
    if not case:
        # the parser's placeholder for a case that never reported
        unnamed += 1
        continue
    key = suite + "." + case
    seen.add(key)
    st, detail = {"PASS": ("PASS", ""), "SKIP": ("SKIP", ""),
                  "ERROR": ("FAIL", "crashed")}.get(status, ("FAIL", ""))
    print(" ".join(x for x in (st, key, detail) if x))
for key in expected:
    if key not in seen:
        print("FAIL %s no result (kernel crashed, hung or timed out?)" % key)
if unnamed and not expected:
    print("FAIL <run> %d cases without a result and no list of cases" % unnamed)
PY

n=0
while read -r status name detail; do
	[ -n "$status" ] || continue
	if [ "$name" = "<run>" ]; then
		result "$status" "kunit/run/$KUNIT_ARCH" "$detail"
	else
		result "$status" "kunit/${name%%.*}/${name#*.}" "$detail"
	fi
	n=$((n + 1))
done < "$rdir/results.txt"

if [ "$n" -eq 0 ]; then
	result FAIL "kunit/run/$KUNIT_ARCH" "no test results: see build/logs/$lg-run.log"
	tail -n 30 "$LOGS/$lg-run.log"
elif [ $rc -ne 0 ] && ! grep -q '^FAIL ' "$rdir/results.txt"; then
	result FAIL "kunit/run/$KUNIT_ARCH" "kunit.py exited $rc: see build/logs/$lg-run.log"
fi

# 5. A WARN or BUG while the tests run is a bug even when every assertion
#    held. The scan starts at the KTAP header: 6.1's UML boot WARNs on its
#    own (arch/um/drivers/virt-pci.c: no virtio device ID configured for the
#    PCI the KUnit UML config enables), before any test runs.
bad=$(awk '/^[[:space:]]*K?TAP version/ { p = 1 } p { print NR ": " $0 }' \
	"$LOGS/$lg-kernel.log" |
	grep -E -e '-+\[ cut here \]-+' -e 'WARNING:' -e 'BUG:' -e 'Oops' \
		-e 'Kernel panic' -e 'UBSAN:' -e 'KASAN:' -e 'kernel BUG' |
	head -n 5)
if [ -n "$bad" ]; then
	result FAIL "kunit/kernel-log/$KUNIT_ARCH" "see build/logs/$lg-kernel.log"
	while IFS= read -r l; do echo "    $l"; done <<<"$bad"
fi
exit 0
