#!/bin/bash
# make bases: which Debian linux-source-6.1 versions the series applies to.
#   rig/bases.sh [VERSION...]
# Default versions: every one apt knows (apt-cache madison), the pinned and
# the newest base of rig/base.lock. Each is downloaded once (rig/fetch.sh,
# build/dl) and imported once into build/bases.git, a bare repo with one
# commit per version (tag base/<version>, the same tree `make prepare`
# commits as "base"), streamed from the tarball (rig/tar2git.py): nothing is
# unpacked. The check then applies patches/series in order with
# `git apply --cached` on a scratch index: git am --no-3way's rules (offsets
# allowed, no fuzz, no whitespace leniency); and no new file of the series
# may exist in the base or be created by a patch (rig/link.sh refuses).
# Prints one line per version: applies yes/no, the first failing patch and
# where it fails; a failure whose context differs only in whitespace says so.
# PATCHES=dir checks another patch directory (a scratch copy of patches/).
# Exit status 1 when the pinned or the newest base does not apply.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
PATCHES=${PATCHES:-$REPO/patches}
PATCHES=$(cd "$PATCHES" && pwd) || die "no patch directory $PATCHES"
G=${BASES_GIT:-$REPO/build/bases.git}
pkg=linux-source-$BASE_SERIES

apt=
if [ $# -gt 0 ]; then
	versions=$(printf '%s\n' "$@")
else
	apt=$(apt-cache madison "$pkg" 2>/dev/null | awk -F'|' '{ gsub(/ /, "", $2); print $2 }')
	[ -n "$apt" ] || note "apt knows no $pkg version (apt-get update first); checking the pinned and the newest base only"
	versions=$(printf '%s\n' "$apt" "$BASE_PINNED" "$BASE_NEWEST")
fi
versions=$(echo "$versions" | sed '/^$/d' | sort -u -V -r)

mkdir -p "$G"
exec 9>"$G.lock"
flock 9
[ -f "$G/HEAD" ] || git init -q --bare "$G"
idx=$(mktemp -u "${TMPDIR:-/tmp}/rig-bases-index.XXXXXX")
err=$(mktemp)
trap 'rm -f "$idx" "$idx.lock" "$err"' EXIT
bgit() { GIT_DIR=$G GIT_INDEX_FILE=$idx git "$@"; }

# Import the versions not yet in the repo.
for v in $versions; do
	bgit rev-parse -q --verify "refs/tags/base/$v" >/dev/null && continue
	tarball=$(FETCH_QUIET=1 "$RIG/fetch.sh" "$v") || { note "$v: no tarball, skipped"; continue; }
	note "importing $v into ${G#"$REPO"/}"
	python3 "$RIG/tar2git.py" "$tarball" "refs/tags/base/$v" "base: $pkg $v" |
		bgit fast-import --quiet || die "importing $v failed"
done

patches=$(sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$PATCHES/series")
newf=$(new_files)

# check VERSION: "yes" or "no<TAB>patch<TAB>where"
check() {
	local v=$1 p where
	bgit read-tree "base/$v" || { printf 'no\t-\tno base\n'; return; }
	for p in $patches; do
		if [ ! -f "$PATCHES/$p" ]; then
			printf 'no\t%s\tmissing from %s\n' "$p" "${PATCHES#"$REPO"/}"
			return
		fi
		if ! bgit apply --cached "$PATCHES/$p" 2>"$err"; then
			where=$(grep -m1 -oE 'patch failed: .*|does not exist in index|already exists in index' "$err")
			where=${where#patch failed: }
			[ -n "$where" ] || where=$(head -n 1 "$err")
			if bgit apply --cached --check --ignore-whitespace "$PATCHES/$p" 2>/dev/null; then
				where+="; context differs in whitespace only"
			fi
			printf 'no\t%s\t%s\n' "$p" "$where"
			return
		fi
	done
	# New files of the series that the base (or a patch) already has.
	where=$(comm -12 <(bgit ls-files | sort) <(echo "$newf") | head -n 3 | paste -sd' ')
	if [ -n "$where" ]; then
		printf 'no\t(new files)\texist already: %s\n' "$where"
		return
	fi
	echo yes
}

printf '%-11s %-7s %-7s %s\n' version base applies "first failing patch (where)"
bad=0
for v in $versions; do
	bgit rev-parse -q --verify "refs/tags/base/$v" >/dev/null || {
		printf '%-11s %-7s %-7s %s\n' "$v" "" "?" "not downloaded"; continue; }
	role=
	[ "$v" = "$BASE_PINNED" ] && role=pinned
	[ "$v" = "$BASE_NEWEST" ] && role=newest
	IFS=$'\t' read -r ok p where < <(check "$v")
	if [ "$ok" = yes ]; then
		printf '%-11s %-7s %s\n' "$v" "$role" yes
	else
		printf '%-11s %-7s %-7s %s (%s)\n' "$v" "$role" no "$p" "$where"
		[ -n "$role" ] && bad=1
	fi
done
top=$(echo "$apt" | sort -V -r | head -n 1)
if [ -n "$top" ] && dpkg --compare-versions "$top" gt "$BASE_NEWEST"; then
	echo "apt offers $top, newer than BASE_NEWEST=$BASE_NEWEST (rig/base.lock)"
fi
exit $bad
