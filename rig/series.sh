#!/bin/bash
# make series: the series as integrators take it, in build/series/:
#   0000-cover-letter.patch   patches/cover-letter, the base, the options
#   NNNN-*.patch              git format-patch, one per entry of
#                             patches/series, each adding the new files that
#                             patches/new-files gives it
#   series                    quilt's series file
#   iommufd.config            the options to enable (derived below)
# patches/new-files says which patch adds which new file, "<patch> <path>" a
# line; a new file it does not list (or lists twice), a listed path that is
# not a new file, or a patch not in patches/series is an error.
# The commits are made in a scratch repo, build/series-work: the base tarball,
# then git am of each patch with its new files copied in and amended.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
WORK=$BUILD/series-work
OUT=${SERIES_OUT:-$BUILD/series}
MANIFEST=$REPO/patches/new-files

# 1. The manifest.
[ -f "$MANIFEST" ] || die "no patches/new-files"
bad=0
dups=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$MANIFEST" | awk '{ print $2 }' | sort | uniq -d)
[ -z "$dups" ] || { echo "$dups" | sed 's/^/  listed twice: /' >&2; bad=1; }
while read -r p f; do
	series | grep -qxF "$p" || { echo "  $p: not in patches/series ($f)" >&2; bad=1; }
	new_files | grep -qxF "$f" || { echo "  $f: listed, but not a new file of the repo" >&2; bad=1; }
done < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$MANIFEST")
while read -r f; do
	awk -v f="$f" '$2 == f { found = 1 } END { exit !found }' "$MANIFEST" ||
		{ echo "  $f: new file not listed" >&2; bad=1; }
done < <(new_files)
[ $bad = 0 ] || die "patches/new-files does not match the new files and patches/series"

# 2. The commits.
if [ "$(git -C "$WORK" log -1 --format=%s base 2>/dev/null)" != "$BASE_SUBJECT" ]; then
	make_base_repo "$WORK"
else
	git -C "$WORK" am --abort >/dev/null 2>&1 || true
	git -C "$WORK" checkout -q -f --detach base
	git -C "$WORK" clean -q -fdx
fi
export GIT_COMMITTER_NAME="iommufd-6.1 team" GIT_COMMITTER_EMAIL="team@iommufd-6.1.invalid"
for p in $(series); do
	if ! git -C "$WORK" am -q --no-3way --committer-date-is-author-date \
		"$REPO/patches/$p" >"$BUILD/series-am.log" 2>&1; then
		cat "$BUILD/series-am.log" >&2
		git -C "$WORK" am --abort >/dev/null 2>&1 || true
		die "patches/$p does not apply"
	fi
	files=$(awk -v p="$p" '$1 == p { print $2 }' "$MANIFEST")
	[ -n "$files" ] || continue
	for f in $files; do
		[ ! -e "$WORK/$f" ] || die "$f: new file of $p, but the tree has it"
		mkdir -p "$WORK/$(dirname "$f")"
		cp "$REPO/$f" "$WORK/$f"
	done
	# shellcheck disable=SC2086 # one path a word
	git -C "$WORK" add -f -- $files
	git -C "$WORK" commit -q --amend --no-edit --no-verify
done

# 3. The options: those of rig/config/guest.config that the series adds,
# and those of it they depend on (depends on, enclosing if and menu), as
# the final tree's Kconfig says; with guest.config's comments.
new_syms=$({
	series | while read -r p; do
		sed -n 's/^+[[:space:]]*\(menu\)\{0,1\}config[[:space:]]\+\([A-Z0-9_]\+\).*/\2/p' "$REPO/patches/$p"
	done
	new_files | grep -E '(^|/)Kconfig[^/]*$' | while read -r f; do
		sed -n 's/^[[:space:]]*\(menu\)\{0,1\}config[[:space:]]\+\([A-Z0-9_]\+\).*/\2/p' "$REPO/$f"
	done
} | sort -u)
config_frag() {
	python3 - "$WORK" "$RIG/config/guest.config" "$new_syms" <<'PY'
import os, re, sys
tree, frag, new = sys.argv[1], sys.argv[2], set(sys.argv[3].split())
deps = {}				# symbol -> symbols it depends on
def walk(path, stack):
	try:
		lines = open(os.path.join(tree, path)).read().replace('\\\n', ' ').splitlines()
	except FileNotFoundError:
		return
	cur = None			# symbol of the entry being read, or 'menu'
	help_indent = None		# in help text: its indentation
	for l in lines:
		t = l.strip()
		ind = len(l.expandtabs()) - len(l.expandtabs().lstrip())
		if help_indent is not None:
			if not t:
				continue
			if help_indent == -1:
				help_indent = ind
			if ind >= help_indent:
				continue
			help_indent = None
		if t in ('help', '---help---'):
			help_indent = -1
			continue
		m = re.match(r'(menu)?config\s+(\w+)', t)
		if m:
			cur = m.group(2)
			deps.setdefault(cur, set()).update(*stack)
			continue
		m = re.match(r'depends\s+on\s+(.*)', t)
		if m and cur:
			syms = set(re.findall(r'(?<![!\w])([A-Z][A-Z0-9_]+)', m.group(1)))
			if cur == 'menu':
				stack[-1] |= syms
			else:
				deps[cur] |= syms
			continue
		m = re.match(r'if\s+(.*)', t)
		if m:
			stack.append(set(re.findall(r'(?<![!\w])([A-Z][A-Z0-9_]+)', m.group(1))))
			cur = None
		elif re.match(r'menu\s', t):
			stack.append(set())
			cur = 'menu'
		elif re.match(r'(endif|endmenu)\b', t):
			stack.pop()
			cur = None
		elif re.match(r'[or]?source\s', t):
			walk(t.split('"')[1].replace('$(SRCARCH)', 'x86'), stack)
		elif re.match(r'(choice|endchoice|comment|mainmenu)\b', t):
			cur = None
walk('Kconfig', [])
lines = open(frag).read().splitlines()
value = {}
for l in lines:
	m = re.match(r'CONFIG_(\w+)=', l)
	if m:
		value[m.group(1)] = l
want, todo = set(), [s for s in value if s in new]
while todo:
	s = todo.pop()
	if s in want:
		continue
	want.add(s)
	todo += [d for d in deps.get(s, ()) if d in value]
# Each wanted option with the comment lines right above it, and the first
# comment lines of its paragraph (the section's title).
head, run, printed = [], [], False
for l in lines:
	if not l.strip():
		head, run, printed = [], [], False
	elif l.startswith('#'):
		run.append(l)
	else:
		m = re.match(r'CONFIG_(\w+)=', l)
		if not head and not printed:
			head = run
		if m and m.group(1) in want:
			if not printed:
				print()
				if head is not run:
					print('\n'.join(head))
				printed = True
			if run:
				print('\n'.join(run))
			print(l)
		run = []
PY
}

# 4. The export.
rm -rf "$OUT"
mkdir -p "$OUT"
frag=$(config_frag)
{
	echo "# The options to enable for the series, over a config with an IOMMU"
	echo "# driver (the series adds to Intel VT-d: CONFIG_INTEL_IOMMU):"
	echo "#   scripts/kconfig/merge_config.sh .config iommufd.config"
	echo "# IOMMUFD_TEST and the mdma sample are test support, not for production."
	echo "$frag"
} > "$OUT/iommufd.config"
git -C "$WORK" format-patch -q --cover-letter --zero-commit --no-signature \
	-o "$OUT" base..HEAD
n=$(series | wc -l)
cover=$OUT/0000-cover-letter.patch
python3 - "$cover" "$REPO/patches/cover-letter" "$frag" \
	"linux-source-$BASE_SERIES $BASE_VERSION" "$BASE_SHA256" <<'PY'
import sys
cover, text, frag, base, sha = sys.argv[1:]
subject, _, body = open(text).read().partition('\n')
body = body.strip('\n')
body = body.replace('@BASE@', base).replace('@SHA256@', sha)
opts = '\n'.join('\t' + l if l.strip() else l for l in frag.strip('\n').split('\n'))
body = body.replace('@CONFIG@', opts)
s = open(cover).read()
assert '*** SUBJECT HERE ***' in s and '*** BLURB HERE ***' in s
open(cover, 'w').write(s.replace('*** SUBJECT HERE ***', subject.strip())
                        .replace('*** BLURB HERE ***', body))
PY
for f in "$OUT"/[0-9][0-9][0-9][0-9]-*.patch; do
	[ "${f##*/}" = 0000-cover-letter.patch ] || echo "${f##*/}"
done > "$OUT/series"
note "build/series: cover letter, $n patches, series, iommufd.config"
