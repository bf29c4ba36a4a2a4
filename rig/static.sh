#!/bin/bash
# Static checks of the series, one result per checked file:
#   static/checkpatch/<patch or new file>   scripts/checkpatch.pl --strict
#   static/w1-sparse/<variant>/<file.c>     W=1 and sparse (C=2) clean, for
#                                           every new .c file a build compiled
set -uo pipefail
. "$(dirname "$0")/lib.sh"
mkdir -p "$LOGS/static"
cp=$TREE/scripts/checkpatch.pl
cpopts=(--strict --quiet --no-summary --show-types --color=never)

for p in $(series); do
	log=$LOGS/static/checkpatch-$p.log
	if (cd "$TREE" && "$cp" "${cpopts[@]}" "$REPO/patches/$p") >"$log" 2>&1 &&
	   ! grep -q Traceback "$log"; then
		result PASS "static/checkpatch/patches/$p"
	else
		result FAIL "static/checkpatch/patches/$p" "see ${log#"$REPO"/}"
		sed 's/^/    /' "$log" | head -n 20
	fi
done

while read -r f; do
	[ -n "$f" ] || continue
	log=$LOGS/static/checkpatch-$(echo "$f" | tr / _).log
	if (cd "$TREE" && "$cp" "${cpopts[@]}" -f "$f") >"$log" 2>&1 &&
	   ! grep -q Traceback "$log"; then
		result PASS "static/checkpatch/$f"
	else
		result FAIL "static/checkpatch/$f" "see ${log#"$REPO"/}"
		sed 's/^/    /' "$log" | head -n 20
	fi
done < <(new_files)

# W=1 + sparse on every new C file a build has compiled. Changing W= forces
# kbuild to recompile just these objects (the command line is recorded).
check_objs() {	# check_objs <variant> <objdir> [make args...]
	local variant=$1 o=$2 f obj log; shift 2
	while read -r f; do
		case $f in *.c) ;; *) continue ;; esac
		case $f in tools/*) continue ;; esac
		obj=${f%.c}.o
		[ -f "$o/$obj" ] || continue
		log=$LOGS/static/w1-sparse-$variant-$(echo "$f" | tr / _).log
		make -s -C "$TREE" O="$o" "$@" W=1 C=2 CHECK="sparse" "$obj" >"$log" 2>&1
		local rc=$?
		# Warnings of the file itself, and errors anywhere: the W=1
		# make also rebuilds the arch's prepare objects, and UML's
		# asm-offsets.c and user-offsets.c warn under W=1.
		local own="(^|/)${f//./\\.}:[0-9]+:([0-9]+:)? (warning|error):"
		if [ $rc -eq 0 ] && ! grep -qE -e "$own" -e ': error:' "$log"; then
			result PASS "static/w1-sparse/$variant/$f"
		else
			result FAIL "static/w1-sparse/$variant/$f" "see ${log#"$REPO"/}"
			sed 's/^/    /' "$log" | head -n 20
		fi
		# back to normal flags for the next incremental build
		make -s -C "$TREE" O="$o" "$@" "$obj" >/dev/null 2>&1
	done < <(new_files)
}
[ -f "$OBJ/guest/vmlinux" ] && check_objs guest "$OBJ/guest" CC="ccache gcc"
[ -f "$BUILD/kunit/.config" ] && check_objs kunit "$BUILD/kunit" ARCH=um CC="ccache gcc"
exit 0
