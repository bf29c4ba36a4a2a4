#!/bin/bash
# Build the kernel tree: build/linux becomes a git repo holding
#   1. "base": the pristine linux-source tarball of BASE_VERSION (tag base),
#   2. one commit per entry of patches/series, applied with git am (no fuzz),
#   3. one commit with a symlink per new file of the series, pointing back
#      into the repo, so the build uses the repo's files directly.
# Refuses to run over changes that `make status` reports as not captured,
# unless FORCE=1.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

if [ -d "$TREE/.git" ] && [ "${FORCE:-0}" != 1 ]; then
	"$RIG/status.sh" --quiet ||
		die "the tree holds work not captured in the repo; make refresh first (or FORCE=1 to drop it)"
fi

stamp_base=$(tgit log -1 --format=%s base 2>/dev/null || true)
if [ "$stamp_base" != "$BASE_SUBJECT" ]; then
	rm -rf "$OBJ"
	make_base_repo "$TREE"
else
	tgit am --abort >/dev/null 2>&1 || true
	tgit rebase --abort >/dev/null 2>&1 || true
	tgit reset -q --hard base
	tgit clean -q -fd
fi

for p in $(series); do
	f=$REPO/patches/$p
	[ -f "$f" ] || die "patches/series names $p, which does not exist"
	if ! tgit am -q --no-3way "$f" >"$BUILD/am.log" 2>&1; then
		cat "$BUILD/am.log" >&2
		tgit am --abort >/dev/null 2>&1 || true
		die "patches/$p does not apply to $BASE_VERSION without fuzz"
	fi
done

"$RIG/link.sh"
patches_stamp > "$TREE/.git/rig-patches-stamp"
tgit rev-parse HEAD > "$TREE/.git/rig-prepared-head"
note "tree ready: $(patch_commits | wc -l) patches, $(new_files | wc -l) new files"
