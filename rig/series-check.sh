#!/bin/bash
# make series-check: export the series (rig/series.sh), then apply it to the
# base one patch at a time, in a scratch tree, and after each patch build
# vmlinux with the guest config and run checkpatch.pl --strict on the patch.
# One line a patch, "PASS|FAIL series/<patch>", then "N passed, N failed".
#   build/series-check/linux        the scratch tree (git am of build/series)
#   build/series-check/obj/guest    its objects: incremental, ccache
#   build/logs/series/              a log per patch and step
# The config: tinyconfig + rig/config/guest.config merged once on the base,
# then olddefconfig at every patch (symbols appear with the patches).
# checkpatch as rig/static.sh runs it, except FILE_PATH_CHANGES ("does
# MAINTAINERS need updating?", for any patch adding a file without touching
# MAINTAINERS): the files the series adds are covered by entries (IOMMUFD,
# IOMMU SUBSYSTEM, VFIO DRIVER, VFIO MEDIATED DEVICE DRIVERS), but for
# lib/interval_tree_kunit.c, whose lib/interval_tree.c has none either.
# Last, series/final-tree: the tree after the last patch is the prepared
# tree (make prepare) with the new files in place.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
SC=$BUILD/series-check
CT=$SC/linux
O=$SC/obj/guest
L=$LOGS/series
export RESULTS=$BUILD/results-series.txt
rm -f "$RESULTS"
rm -rf "$L"
mkdir -p "$L"
start=$(date +%s)

if "$RIG/series.sh" >"$L/export.log" 2>&1; then
	result PASS series/export
else
	result FAIL series/export "see build/logs/series/export.log"
	tail -n 20 "$L/export.log"
	echo "0 passed, 1 failed"
	exit 1
fi

# The scratch tree: the export's base, reset to it.
if [ "$(git -C "$CT" log -1 --format=%s base 2>/dev/null)" != "$BASE_SUBJECT" ]; then
	rm -rf "$SC"
	git clone -q --no-checkout "$BUILD/series-work" "$CT"
	git -C "$CT" config user.name "iommufd-6.1 team"
	git -C "$CT" config user.email "team@iommufd-6.1.invalid"
	git -C "$CT" config gc.auto 0
fi
git -C "$CT" am --abort >/dev/null 2>&1 || true
git -C "$CT" checkout -q -f --detach base
git -C "$CT" clean -q -fdx

export KBUILD_BUILD_TIMESTAMP=${KBUILD_BUILD_TIMESTAMP:-"2026-01-01"}
export KBUILD_BUILD_USER=rig KBUILD_BUILD_HOST=rig
kmake() { make -s -C "$CT" O="$O" CC="ccache gcc" -j"$NPROC" "$@"; }
mkdir -p "$O"
raw=$SC/guest.config.raw
if [ ! -f "$raw" ] || [ "$RIG/config/guest.config" -nt "$raw" ]; then
	tmp=$SC/.config-raw
	rm -rf "$tmp"
	mkdir -p "$tmp"
	make -s -C "$CT" O="$tmp" tinyconfig >/dev/null &&
	(cd "$tmp" && "$CT/scripts/kconfig/merge_config.sh" -m -O "$tmp" \
		"$tmp/.config" "$RIG/config/guest.config" >/dev/null) &&
	cp "$tmp/.config" "$raw"
	rm -rf "$tmp"
fi

cpopts=(--strict --quiet --no-summary --show-types --color=never --ignore FILE_PATH_CHANGES)
applied=1
for p in $(cat "$BUILD/series/series"); do
	n=${p%.patch}
	why=()
	if [ $applied = 1 ] &&
	   ! git -C "$CT" am -q --no-3way "$BUILD/series/$p" >"$L/$n.am.log" 2>&1; then
		git -C "$CT" am --abort >/dev/null 2>&1 || true
		applied=0
		why+=("does not apply: build/logs/series/$n.am.log")
	elif [ $applied = 0 ]; then
		why+=("not applied: an earlier patch did not apply")
	fi
	if ! (cd "$CT" && scripts/checkpatch.pl "${cpopts[@]}" "$BUILD/series/$p") \
		>"$L/$n.checkpatch.log" 2>&1 || grep -q Traceback "$L/$n.checkpatch.log"; then
		why+=("checkpatch: build/logs/series/$n.checkpatch.log")
	fi
	t=$(date +%s)
	if [ $applied = 1 ]; then
		cp "$raw" "$O/.config"
		if ! { kmake olddefconfig && kmake vmlinux; } >"$L/$n.build.log" 2>&1; then
			why+=("build: build/logs/series/$n.build.log")
		fi
	fi
	if [ ${#why[@]} = 0 ]; then
		result PASS "series/$n" "$(($(date +%s) - t)) s"
	else
		result FAIL "series/$n" "${why[*]}"
		for w in "${why[@]}"; do
			f=build/${w#*build/}
			case $w in
			build:*) grep -E 'error|Error' "$REPO/$f" | head -n 10 | grep . ||
				 tail -n 5 "$REPO/$f" ;;
			checkpatch:*) head -n 10 "$REPO/$f" ;;
			esac
		done | sed 's/^/    /'
	fi
done

# The final tree: the prepared tree's patched files, and the new files.
if [ $applied = 1 ] && [ -d "$TREE/.git" ] &&
   [ "$(cat "$TREE/.git/rig-patches-stamp" 2>/dev/null)" = "$(patches_stamp)" ]; then
	last=$(patch_commits | tail -n 1)
	idx=$SC/final.index
	rm -f "$idx"
	GIT_INDEX_FILE=$idx git -C "$CT" read-tree HEAD
	diffs=()
	while read -r f; do
		[ "$(git -C "$CT" rev-parse "HEAD:$f" 2>/dev/null)" = "$(git hash-object --no-filters "$REPO/$f")" ] ||
			diffs+=("$f")
		GIT_INDEX_FILE=$idx git -C "$CT" update-index --force-remove "$f"
	done < <(new_files)
	if [ "$(GIT_INDEX_FILE=$idx git -C "$CT" write-tree)" != "$(tgit rev-parse "$last^{tree}")" ]; then
		diffs+=("files the patches change")
	fi
	rm -f "$idx"
	if [ ${#diffs[@]} = 0 ]; then
		result PASS series/final-tree
	else
		result FAIL series/final-tree "differs from the prepared tree: ${diffs[*]}"
	fi
else
	result SKIP series/final-tree "the series did not apply, or build/linux is not prepared from patches/"
fi

pass=$(grep -c '^PASS ' "$RESULTS")
fail=$(grep -c '^FAIL ' "$RESULTS")
echo "time: $(($(date +%s) - start)) s; results: build/results-series.txt"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
