#!/bin/bash
# Give every new file of the series a symlink in the tree at the same path,
# and commit the links ("rig: new files of the series"). A new file whose path
# exists in the base or is created by a patch is an error, never overwritten.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

paths=()
while read -r f; do
	[ -n "$f" ] || continue
	t=$TREE/$f
	dir=$(dirname "$f")
	rel=$(realpath -s --relative-to="$TREE/$dir" "$REPO/$f")
	if [ -L "$t" ]; then
		[ "$(readlink "$t")" = "$rel" ] && continue
		die "$f: the tree's symlink points to $(readlink "$t"), not into the repo"
	fi
	[ -e "$t" ] && die "$f: new file of the series, but the path exists in the base or a patch creates it"
	mkdir -p "$TREE/$dir"
	ln -s "$rel" "$t"
	paths+=("$f")
done < <(new_files)

# Links whose repo file went away.
while read -r l; do
	[ -n "$l" ] || continue
	dest=$(realpath -m "$TREE/$(dirname "$l")/$(readlink "$TREE/$l")")
	case $dest in "$TREE"/*) continue ;; "$REPO"/*) ;; *) continue ;; esac
	if [ ! -e "$dest" ]; then
		rm -f "$TREE/$l"
		paths+=("$l")
	fi
done < <(tgit ls-files -s | awk '$1 == "120000" { print $4 }')

# Commit exactly these paths: whatever else is staged in the tree stays
# staged (it is work for refresh, not part of the links).
if [ ${#paths[@]} -gt 0 ]; then
	# -f: Debian's .gitignore ignores the top level
	tgit add -f -A -- "${paths[@]}"
	tgit commit -q -m "$NEWFILES_SUBJECT" -- "${paths[@]}"
fi
