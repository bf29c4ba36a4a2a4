#!/bin/bash
# List what the tree holds that the repo does not capture; exit 1 if any.
#   - edits to upstream files, files deleted or created in the tree
#   - commits made in the tree that are not yet patches
#   - patch commits changed in the tree (amended, rebased) since the last
#     prepare/refresh
# Also tells (without failing) when the tree is stale: patches/ or the set of
# new files changed in the repo since prepare.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
quiet=0
[ "${1:-}" = --quiet ] && quiet=1
say() { [ $quiet = 1 ] || echo "$@"; }

if [ ! -d "$TREE/.git" ]; then
	say "status: no tree yet (make prepare)"
	exit 0
fi
lost=0

if [ -d "$TREE/.git/rebase-apply" ] || [ -d "$TREE/.git/rebase-merge" ]; then
	say "status: a git am/rebase is in progress in the tree"
	lost=1
fi

# --ignored: Debian's .gitignore ignores the whole top level.
changes=$(tgit status --porcelain --untracked-files=all --ignored | grep -v -e '/__pycache__/' -e '^!! .*\.pyc$' || true)
if [ -n "$changes" ]; then
	say "status: not captured (edits in the tree; make refresh):"
	[ $quiet = 1 ] || echo "$changes" | sed 's/^/  /' | head -n 50
	lost=1
fi

extra=$(tgit log --reverse --format='%h %s' "$(tgit log -1 --format=%H --grep="^$NEWFILES_SUBJECT\$" 2>/dev/null || echo base)..HEAD" |
	grep -v " $NEWFILES_SUBJECT\$" || true)
if [ -n "$extra" ]; then
	say "status: not captured (commits in the tree after the new-file links; make refresh):"
	[ $quiet = 1 ] || echo "$extra" | sed 's/^/  /'
	lost=1
fi

# The link commits must hold symlinks into the repo and nothing else: they
# are never exported, anything else in them would be lost.
for c in $(tgit log --format=%H --grep="^$NEWFILES_SUBJECT\$" base..HEAD); do
	bad=$(tgit diff-tree -r --no-commit-id "$c" |
	      awk '$2 != "120000" && $1 != ":120000" { print $6 }')
	if [ -n "$bad" ]; then
		say "status: not captured (a \"$NEWFILES_SUBJECT\" commit holds other changes):"
		[ $quiet = 1 ] || echo "$bad" | sed 's/^/  /'
		lost=1
	fi
done

prepared=$(cat "$TREE/.git/rig-prepared-head" 2>/dev/null || true)
if [ -n "$prepared" ]; then
	# Compare the patch content (not commit ids): the tree the patch commits produce.
	want=$(tgit rev-parse "$prepared^{tree}" 2>/dev/null || true)
	have=$(tgit rev-parse "HEAD^{tree}")
	if [ -z "$extra" ] && [ "$want" != "$have" ] &&
	   [ -n "$(tgit diff --name-only "$prepared" HEAD |
		   while read -r f; do [ -L "$TREE/$f" ] || echo "$f"; done)" ]; then
		say "status: not captured (patch commits in the tree changed since prepare/refresh; make refresh)"
		lost=1
	fi
fi

if [ "$(cat "$TREE/.git/rig-patches-stamp" 2>/dev/null)" != "$(patches_stamp)" ]; then
	say "status: note: patches/ changed since the tree was prepared (make prepare)"
fi
missing=$(new_files | while read -r f; do [ -L "$TREE/$f" ] || echo "$f"; done)
if [ -n "$missing" ]; then
	say "status: note: new files not linked into the tree yet (make build links them):"
	[ $quiet = 1 ] || echo "$missing" | sed 's/^/  /'
fi

unlisted=$(new_files | while read -r f; do
	awk -v f="$f" '$2 == f { found = 1 } END { exit !found }' "$REPO/patches/new-files" 2>/dev/null || echo "$f"
done)
if [ -n "$unlisted" ]; then
	say "status: note: new files not in patches/new-files (make series needs them there):"
	[ $quiet = 1 ] || echo "$unlisted" | sed 's/^/  /'
fi

if [ $lost = 0 ]; then
	say "status: clean: everything in the tree is captured in the repo"
fi
exit $lost
