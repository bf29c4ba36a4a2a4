#!/bin/bash
# make bench: the benchmark (rig/guest/bench.c) in the VM, on edu, every
# path in the same boot: iommufd (device cdev + IOAS), its VFIO type1 compat
# ioctls, and VFIO's own type1 container. Not a test: nothing passes or
# fails on a time.
#
#   rig/bench.sh [--modes "legacy scalable"] [--mem MIB] [--reps N]
#                [--smoke] [--kernel BZIMAGE] [--report] [--guest "ARGS"]
#
#   --modes   VT-d modes to boot, one boot each (default: legacy scalable)
#   --mem     guest RAM in MiB (default 3072: 1 GiB of memory to map and
#             1 GiB of hugetlb pages; with less the guest sizes down and
#             says so)
#   --reps    repetitions per figure (medians are reported; default 5)
#   --smoke   the guest program's --smoke: every request once, tiny sizes
#   --kernel  boot this bzImage instead of building the bench variant
#   --report  no VM: table and plots from build/bench/results.txt again
#   --guest   more options of the guest program, e.g. "--map-only
#             --memtypes 4k,thp --max-mib 256" (bench.c lists them)
#
# The kernel is the "bench" config variant (rig/config/bench.config over
# guest.config: CONFIG_IOMMUFD_VFIO_CONTAINER=n, so /dev/vfio/vfio is VFIO's
# type1 container while iommufd keeps /dev/iommu and the device cdev),
# built into build/obj/bench. Output in build/bench/:
#   results.txt          <mode> <path> <memtype> <op> <x> <value> <n>, the
#                        guest's BENCH lines (bench.c says what each op is)
#   console-<mode>.log   the guest's console
#   <mode>.png           ns per page against size, map and unmap, one curve
#                        per path and memtype (gnuplot)
# The table printed gives every figure, and ours / type1 where type1 has
# the same one.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

modes="legacy scalable"
mem=3072
reps=
smoke=
kernel=
report_only=0
guest=
while [ $# -gt 0 ]; do
	case $1 in
	--modes) modes=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--reps) reps=$2; shift 2 ;;
	--smoke) smoke=--smoke; shift ;;
	--kernel) kernel=$2; shift 2 ;;
	--report) report_only=1; shift ;;
	--guest) guest=$2; shift 2 ;;
	*) die "bench.sh: unknown option $1" ;;
	esac
done
out=$BUILD/bench
res=$out/results.txt
mkdir -p "$out" "$LOGS"

if [ $report_only = 0 ]; then
	if [ -z "$kernel" ]; then
		note "building the bench kernel (log: build/logs/build-bench.log)"
		if "$RIG/build.sh" bench >"$LOGS/build-bench.log" 2>&1; then
			kernel=$(tail -n 1 "$LOGS/build-bench.log")
		else
			tail -n 30 "$LOGS/build-bench.log"
			die "bench kernel build failed (build/logs/build-bench.log)"
		fi
	fi
	# shellcheck disable=SC2206 # the guest's options, split on purpose
	args=(/rig/bench ${smoke:+"$smoke"} ${reps:+--reps "$reps"} $guest)
	: >"$res.new"
	status=0
	for m in $modes; do
		note "bench ($m): booting with $mem MiB"
		"$RIG/vm.sh" --mode "$m" --mem "$mem" --timeout "${BENCH_TIMEOUT:-1800}" \
			--kernel "$kernel" --quiet --quiet-kernel \
			--log "$out/console-$m.log" -- "${args[@]}"
		rc=$?
		tr -d '\r' <"$out/console-$m.log" | grep -a '^# ' | sed "s/^/$m /"
		tr -d '\r' <"$out/console-$m.log" | awk -v m="$m" \
			'$1 == "BENCH" && NF == 7 { $1 = m; print }' >>"$res.new"
		if [ $rc != 0 ]; then
			note "bench ($m): exit status $rc; console: ${out#"$REPO"/}/console-$m.log"
			status=1
		fi
	done
	mv "$res.new" "$res"
fi
[ -s "$res" ] || die "no results in ${res#"$REPO"/}"

# The table: map and unmap side by side per path, then every other figure.
awk '
function hsize(x) {
	return x >= 2^30 ? x / 2^30 "G" : x >= 2^20 ? x / 2^20 "M" : x
}
function unit(op) {
	if (op ~ /^(map|unmap|copy|domain2)$/) return "ns/page"
	if (op == "unmap_n") return "ns/area"
	if (op ~ /_pins$/) return "pages"
	if (op ~ /^(slab|sunreclaim|kmem)$/) return "KiB/GiB"
	return "ns"
}
function ratio(a, b) {
	return (a == "" || b == "" || b + 0 == 0) ? "-" : sprintf("%.2f", a / b)
}
{
	k = $1 SUBSEP $3 SUBSEP $4 SUBSEP $5
	v[k, $2] = $6
	if (!(k in seen)) { seen[k] = 1; order[++n] = k }
	if (!($1 in ms)) { ms[$1] = 1; mode[++nm] = $1 }
	line[++nl] = $0
}
END {
	for (i = 1; i <= nm; i++) {
		m = mode[i]
		printf "\n== %s: map, unmap (ns per 4 KiB page, medians); ratios ours / type1\n", m
		printf "%-8s %-6s %6s %10s %10s %10s %9s %9s\n", "memtype", "op",
		       "size", "iommufd", "compat", "type1", "iommufd/", "compat/"
		for (j = 1; j <= n; j++) {
			split(order[j], f, SUBSEP)
			if (f[1] != m || f[3] !~ /^(map|unmap)$/) continue
			a = v[order[j], "iommufd"]; c = v[order[j], "compat"]
			t = v[order[j], "type1"]
			printf "%-8s %-6s %6s %10s %10s %10s %9s %9s\n", f[2], f[3],
			       hsize(f[4]), a == "" ? "-" : a, c == "" ? "-" : c,
			       t == "" ? "-" : t, ratio(a, t), ratio(c, t)
		}
		printf "\n== %s: other figures; ratio ours / type1 where type1 has it\n", m
		printf "%-8s %-8s %-16s %6s %12s %-8s %7s\n", "path", "memtype",
		       "op", "x", "value", "unit", "/type1"
		for (j = 1; j <= nl; j++) {
			split(line[j], f, " ")
			if (f[1] != m || f[4] ~ /^(map|unmap)$/) continue
			t = v[f[1], f[3], f[4], f[5], "type1"]
			printf "%-8s %-8s %-16s %6s %12s %-8s %7s\n", f[2], f[3],
			       f[4], f[4] == "unmap_n" ? f[5] : hsize(f[5]), f[6],
			       unit(f[4]), f[2] == "type1" ? "" : ratio(f[6], t)
		}
	}
}' "$res"

# The plots: one per mode, map and unmap side by side.
if ! command -v gnuplot >/dev/null; then
	note "no gnuplot (make deps installs gnuplot-nox): no plots"
	exit "${status:-0}"
fi
for m in $(cut -d' ' -f1 "$res" | sort -u); do
	dat=$out/data-$m
	rm -rf "$dat"; mkdir -p "$dat"
	awk -v d="$dat" -v m="$m" '$1 == m && $4 ~ /^(map|unmap)$/ {
		print $5 / 1048576, $6 > (d "/" $4 "-" $2 "-" $3)
	}' "$res"
	{
		echo "set terminal pngcairo size 1400,560 font ',10'"
		echo "set output '$out/$m.png'"
		echo "set multiplot layout 1,2 title 'VT-d $m: ns per 4 KiB page (median) against size'"
		echo "set logscale xy 2; set logscale y 10; set grid"
		echo "set xlabel 'MiB mapped'; set ylabel 'ns/page'; set key top right"
		for op in map unmap; do
			echo "set title '$op'"
			plot="plot"
			pi=0
			for p in iommufd compat type1; do
				pi=$((pi + 1))
				ti=0
				for t in 4k thp hugetlb; do
					ti=$((ti + 1))
					f=$dat/$op-$p-$t
					[ -s "$f" ] || continue
					plot+=" '$f' using 1:2 with linespoints lc $pi dt $ti pt $((ti + 4)) title '$p $t',"
				done
			done
			[ "$plot" = plot ] && plot="plot 1/0 notitle,"
			echo "${plot%,}"
		done
		echo "unset multiplot"
	} >"$dat/plot.gp"
	if gnuplot "$dat/plot.gp" 2>"$dat/gnuplot.err"; then
		echo "plot: ${out#"$REPO"/}/$m.png"
	else
		note "gnuplot failed for $m: $(head -n 3 "$dat/gnuplot.err")"
	fi
done
exit "${status:-0}"
