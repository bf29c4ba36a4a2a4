#!/bin/bash
# Capture the tree's work back into the repo:
#   - an edit to an upstream file goes into the patch that last touched that
#     file (PATCH=<file name in patches/> picks the patch instead); an edit to
#     a file no patch touches must be committed in the tree (git commit), which
#     makes it a new patch at the end of the series;
#   - commits made in the tree become new patches, in order;
#   - a file created in the tree is a new file of the series: it moves into
#     the repo at the same path and the tree gets a symlink;
# then every patch is regenerated with git format-patch and patches/series
# rewritten. Patch file names are kept.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ -d "$TREE/.git" ] || die "no tree (make prepare)"
if [ -d "$TREE/.git/rebase-merge" ] || [ -d "$TREE/.git/rebase-apply" ]; then
	die "a git rebase or am is in progress in the tree: finish it (git rebase --continue) or abort it first"
fi

# 1. Files created in the tree -> new files in the repo.
{ tgit ls-files --others | grep -v -e '/__pycache__/' || true; } | while read -r f; do
	[ -n "$f" ] || continue
	[ -e "$REPO/$f" ] && die "$f: created in the tree, but the repo has it already"
	mkdir -p "$REPO/$(dirname "$f")"
	mv "$TREE/$f" "$REPO/$f"
	note "new file moved into the repo: $f"
done
"$RIG/link.sh"

# 2. Edits to tracked files -> fixup commits for their owning patch.
mapfile -t changed < <(tgit diff --name-only HEAD)
declare -A owner_of=()
patch_commit() {	# commit of patch file $1
	local i=0 p c
	mapfile -t cs < <(patch_commits)
	for p in $(series); do
		if [ "$p" = "$1" ]; then echo "${cs[$i]}"; return 0; fi
		i=$((i + 1))
	done
	die "PATCH=$1 is not in patches/series"
}
orphans=()
for f in "${changed[@]}"; do
	if [ -n "${PATCH:-}" ]; then
		owner_of[$f]=$(patch_commit "$PATCH")
		continue
	fi
	o=""
	for c in $(patch_commits); do
		if [ -n "$(tgit diff --name-only "$c^" "$c" -- "$f")" ]; then o=$c; fi
	done
	if [ -z "$o" ]; then orphans+=("$f"); else owner_of[$f]=$o; fi
done
if [ ${#orphans[@]} -gt 0 ]; then
	printf '  %s\n' "${orphans[@]}" >&2
	die "no patch touches these files: commit them in the tree (cd build/linux && git commit) to make a new patch, or name one with PATCH=<patch>"
fi
for o in $(printf '%s\n' "${owner_of[@]}" | sort -u); do
	for f in "${!owner_of[@]}"; do
		[ "${owner_of[$f]}" = "$o" ] && tgit add -A -f -- "$f"
	done
	tgit commit -q --no-verify --fixup="$o"
done

# 3. Squash fixups; move the new-file link commits after every patch commit.
if [ -n "$(tgit log --format=%s base..HEAD | grep -e '^fixup! ' -e "^$NEWFILES_SUBJECT\$" | head -1)" ]; then
	mover=$BUILD/.rig-seq-editor
	cat > "$mover" <<SEQ
#!/bin/sh
grep -v '^#' "\$1" | grep -v ' $NEWFILES_SUBJECT\$' > "\$1.other" || true
grep ' $NEWFILES_SUBJECT\$' "\$1" > "\$1.links" || true
cat "\$1.other" "\$1.links" > "\$1"
rm -f "\$1.other" "\$1.links"
SEQ
	chmod +x "$mover"
	if ! GIT_SEQUENCE_EDITOR=$mover tgit -c core.editor=true rebase -q -i --autosquash base >"$BUILD/rebase.log" 2>&1; then
		cat "$BUILD/rebase.log" >&2
		tgit rebase --abort || true
		die "rebase failed: the edit conflicts with a later patch; use PATCH=<the later patch>"
	fi
	# Collapse several link commits into one.
	n=$(tgit log --format=%s base..HEAD | grep -c "^$NEWFILES_SUBJECT\$" || true)
	if [ "$n" -gt 1 ]; then
		first=$(tgit log --reverse --format='%H %s' base..HEAD | grep " $NEWFILES_SUBJECT\$" | head -1 | cut -d' ' -f1)
		tgit reset -q --soft "$first^"
		tgit commit -q -m "$NEWFILES_SUBJECT"
	fi
fi

# 4. Regenerate patches/ from the patch commits.
mapfile -t names < <(series)
mapfile -t cs < <(patch_commits)
tmp=$(mktemp -d)
i=0
for c in "${cs[@]}"; do
	if [ $i -lt ${#names[@]} ]; then
		name=${names[$i]}
	else
		slug=$(tgit log -1 --format=%f "$c" | cut -c1-52)
		name=$(printf '%04d-%s.patch' $((i + 1)) "$slug")
	fi
	tgit format-patch -q -1 --stdout --zero-commit --no-signature "$c" > "$tmp/$name"
	echo "$name" >> "$tmp/series"
	i=$((i + 1))
done
[ $i -ge ${#names[@]} ] || die "the tree has fewer patch commits ($i) than patches/series (${#names[@]})"
mkdir -p "$REPO/patches"
for p in "${names[@]}"; do rm -f "$REPO/patches/$p"; done
touch "$tmp/series"
mv "$tmp"/* "$REPO/patches/"
rmdir "$tmp"
patches_stamp > "$TREE/.git/rig-patches-stamp"
tgit rev-parse HEAD > "$TREE/.git/rig-prepared-head"
note "refreshed: $i patches in patches/series"
