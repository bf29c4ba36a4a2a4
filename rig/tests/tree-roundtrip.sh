#!/bin/bash
# Self-test of the tree workflow, on a throwaway copy of the repo and a
# shared clone of the tree (the real ones are not touched):
#   edit an upstream file in the tree -> refresh -> the owning patch has it;
#   re-prepare -> the edit is still there; a file created in the tree moves
#   into the repo; a commit made in the tree becomes a new patch; make status
#   is clean after each step.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
[ -d "$TREE/.git" ] || { result FAIL rig/roundtrip/setup "no tree"; exit 0; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
R=$tmp/repo
mkdir -p "$R/build"
(cd "$REPO" && git ls-files -z | xargs -0 cp -P --parents -t "$R")
git -C "$R" init -q
git -C "$R" add -A
git -C "$R" -c user.name=t -c user.email=t@t commit -q -m copy
git clone -q --shared "$TREE" "$R/build/linux"
cp "$TREE"/.git/rig-* "$R/build/linux/.git/"
git -C "$R/build/linux" config user.name rig
git -C "$R/build/linux" config user.email rig@localhost
# Inner runs use the copy's build/, never ours.
rig() { env -u BUILD -u RESULTS "$R/rig/$1" "${@:2}" >"$tmp/out" 2>&1; }
T=$R/build/linux
# Is the patch holding line $1 the one whose subject is $2 (the Subject
# header may be folded over several lines)?
in_patch_of() {
	local p
	p=$(grep -lF -- "$1" "$R"/patches/*.patch) || return 1
	[ "$(awk '/^Subject: /{ s = $0; while ((getline l) > 0 && l ~ /^ /)
		s = s l; print s; exit }' "$p")" = "Subject: [PATCH] $2" ]
}
step() {	# step name command...
	local n=$1; shift
	if "$@"; then
		result PASS "rig/roundtrip/$n"
	else
		result FAIL "rig/roundtrip/$n"
		sed 's/^/    /' "$tmp/out" | tail -n 15
	fi
}

step status-clean-at-start rig status.sh

f=drivers/iommu/iommu.c
mark="/* tree round trip: $$ */"
owner=$(git -C "$T" log -1 --format=%s base..HEAD -- "$f")
echo "$mark" >> "$T/$f"
step status-sees-edit eval '! rig status.sh'
step refresh-edit rig refresh.sh
step edit-in-owning-patch in_patch_of "$mark" "$owner"
step status-clean-after-refresh rig status.sh
step prepare-again rig prepare.sh
step edit-survives-prepare grep -qF -- "$mark" "$T/$f"

new=drivers/iommu/rig-roundtrip-new.c
echo "// SPDX-License-Identifier: GPL-2.0" > "$T/$new"
step refresh-new-file rig refresh.sh
step new-file-in-repo eval "[ -f '$R/$new' ] && [ -L '$T/$new' ]"
step status-clean-after-new-file rig status.sh

# A staged edit must not end up in the link commit of a new file.
mark2="/* staged edit: $$ */"
echo "$mark2" >> "$T/$f"
git -C "$T" add -f "$f"
new2=drivers/iommu/rig-roundtrip-new2.c
echo "// SPDX-License-Identifier: GPL-2.0" > "$R/$new2"
git -C "$R" add -f "$new2"
# link.sh must succeed, link the new file in a commit of its own, and leave
# the edit staged (git diff --quiet: 1 for a difference, more for an error).
link_leaves_staged_edit() {
	rig link.sh || return 1
	[ -L "$T/$new2" ] || return 1
	[ "$(git -C "$T" log -1 --format=%s)" = "$NEWFILES_SUBJECT" ] || return 1
	[ "$(git -C "$T" diff-tree -r --no-commit-id --name-only HEAD)" = "$new2" ] ||
		return 1
	git -C "$T" diff --cached --quiet -- "$f"
	[ $? -eq 1 ]
}
step link-leaves-staged-edit link_leaves_staged_edit
step status-sees-staged-edit eval '! rig status.sh'
step refresh-staged-edit rig refresh.sh
step staged-edit-in-owning-patch in_patch_of "$mark2" "$owner"

n=$(grep -c . "$R/patches/series")
echo "ROUNDTRIP-$$" >> "$T/MAINTAINERS"
git -C "$T" commit -q -a -m "MAINTAINERS: round trip test"
step refresh-commit rig refresh.sh
step commit-is-new-patch eval "[ \$(grep -c . '$R/patches/series') -eq $((n + 1)) ] && grep -q 'ROUNDTRIP-$$' \"\$(ls '$R'/patches/*round-trip*.patch)\""
step prepare-keeps-all rig prepare.sh
step all-edits-present eval "grep -qF -- '$mark' '$T/$f' && grep -q 'ROUNDTRIP-$$' '$T/MAINTAINERS' && [ -L '$T/$new' ]"
step status-clean-at-end rig status.sh

# A new file whose path exists in the base is an error, never an overwrite.
clash=drivers/iommu/iommu-sysfs.c
cp "$T/$clash" "$tmp/clash.orig"
mkdir -p "$(dirname "$R/$clash")"
echo "/* clash */" > "$R/$clash"
git -C "$R" add -f "$clash"
step new-file-clash-refused eval '! rig link.sh && grep -q "exists in the base" "$tmp/out"'
step clash-left-base-alone cmp -s "$T/$clash" "$tmp/clash.orig"
exit 0
