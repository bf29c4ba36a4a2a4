# Common definitions for the rig scripts. Sourced, not executed.
# shellcheck shell=bash

# Debian's tools first: a python3 from pyenv or similar lacks Debian's
# python3-ply/python3-git that checkpatch's SPDX check and kunit.py need.
PATH=/usr/bin:/bin:/usr/sbin:/sbin:$PATH
export PATH

RIG=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$RIG/.." && pwd)
BUILD=${BUILD:-$REPO/build}
TREE=$BUILD/linux		# the kernel tree: a git repo, base + patches + new files
OBJ=$BUILD/obj			# out-of-tree kernel objects, one dir per config
LOGS=$BUILD/logs		# console logs of failing VM runs, step logs
RESULTS=${RESULTS:-$BUILD/results.txt}
DL=${DL:-$REPO/build/dl}	# downloaded linux-source packages, one dir per version
NPROC=$(nproc)

# shellcheck source=base.lock
. "$RIG/base.lock"

# ccache: one cache for every clone; paths under the repo are hashed relative
# to it, so a fresh clone elsewhere (CI) still hits.
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_BASEDIR=$REPO
export CCACHE_NOHASHDIR=1

# Subject of the commit(s) in the tree that hold the symlinks to new files.
NEWFILES_SUBJECT="rig: new files of the series"

# Paths at the repo root that belong to the rig, not to the kernel tree.
RIG_PATHS='^(rig|patches|\.ci|build|Makefile|README\.md|\.gitignore|\.gitattributes)(/|$)'

die() { echo "rig: $*" >&2; exit 1; }
note() { echo "rig: $*" >&2; }

# New files of the series: every repo file outside the rig paths.
new_files() {
	git -C "$REPO" ls-files --cached --others --exclude-standard |
		grep -Ev "$RIG_PATHS" | sort
}

# Patches in series order (comments and blank lines skipped).
series() {
	[ -f "$REPO/patches/series" ] || return 0
	sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$REPO/patches/series"
}

# Checksum of everything that defines the tree: base version, series, patches.
patches_stamp() {
	{
		echo "$BASE_VERSION"
		series | while read -r p; do
			echo "$p"; cat "$REPO/patches/$p"
		done
	} | sha256sum | cut -d' ' -f1
}

tgit() { git -C "$TREE" "$@"; }

# Kernel build variants: arm64 is cross-built (Debian's gcc-aarch64-linux-gnu),
# every other one is x86_64. kbuild_arch <variant> prints the make variables,
# kernel_image <variant> the path of the bootable image it builds.
kbuild_arch() {
	case $1 in
	arm64) echo ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- ;;
	esac
}
kernel_image() {
	case $1 in
	arm64) echo "$OBJ/$1/arch/arm64/boot/Image" ;;
	*) echo "$OBJ/$1/arch/x86/boot/bzImage" ;;
	esac
}

# The base as a git repo: the subject of its one commit, and
# make_base_repo <dir>, which makes <dir> that repo afresh (tarball unpacked,
# committed with the series' identity, tagged base).
BASE_SUBJECT="base: linux-source-$BASE_SERIES $BASE_VERSION"
make_base_repo() {
	local d=$1 tarball
	tarball=$("$RIG/fetch.sh")
	note "unpacking $tarball into ${d#"$REPO"/}"
	rm -rf "$d"
	mkdir -p "$d"
	tar -xf "$tarball" -C "$d" --strip-components=1
	git -C "$d" init -q
	# Commits made in the tree become patches: the series' identity
	git -C "$d" config user.name "iommufd-6.1 team"
	git -C "$d" config user.email "team@iommufd-6.1.invalid"
	git -C "$d" config core.untrackedCache true
	git -C "$d" config gc.auto 0
	git -C "$d" add -A -f
	git -C "$d" commit -q -m "$BASE_SUBJECT"
	git -C "$d" tag base
}

# Commits of the tree after base that carry patches (not the new-file links).
patch_commits() {
	tgit log --reverse --format='%H %s' base..HEAD |
		grep -v " $NEWFILES_SUBJECT\$" | cut -d' ' -f1
}

# Result recording for make check: one line per test.
result() {	# result PASS|FAIL|SKIP|NOTE name [detail]  (NOTE: not a test)
	local r=$1 n=${RESULT_PREFIX:-}$2; shift 2	# RESULT_PREFIX=newest/ ...
	mkdir -p "$(dirname "$RESULTS")"
	printf '%s %s%s\n' "$r" "$n" "${*:+ # $*}" >> "$RESULTS"
	printf '%-4s %s%s\n' "$r" "$n" "${*:+ ($*)}"
}
