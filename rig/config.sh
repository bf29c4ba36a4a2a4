#!/bin/bash
# Generate (when its inputs changed) and audit the kernel config for a
# variant: build/obj/<variant>/.config from tinyconfig + fragments.
#   rig/config.sh guest|debug|modules|arm64|bench
# (arm64: for ARCH=arm64, cross-compiled; see rig/build.sh)
# The audit fails when an option the fragments ask for (a later fragment
# overriding an earlier one) did not survive olddefconfig (unknown symbol,
# unmet dependency, wrong value).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
variant=${1:-guest}
case $variant in
guest) frags=("$RIG/config/guest.config") ;;
debug) frags=("$RIG/config/guest.config" "$RIG/config/debug.config") ;;
modules) frags=("$RIG/config/guest.config" "$RIG/config/modules.config") ;;
arm64) frags=("$RIG/config/guest.config" "$RIG/config/arm64.config") ;;
bench) frags=("$RIG/config/guest.config" "$RIG/config/bench.config") ;;
*) die "unknown config variant $variant" ;;
esac
o=$OBJ/$variant
mkdir -p "$o"
# shellcheck disable=SC2046
kmake=(make -s -C "$TREE" $(kbuild_arch "$variant"))

stamp=$(cat "${frags[@]}" "$TREE/.git/rig-patches-stamp" 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ ! -f "$o/.config" ] || [ "$(cat "$o/.rig-config-stamp" 2>/dev/null)" != "$stamp" ]; then
	tmp=$BUILD/.config-$variant
	rm -rf "$tmp"; mkdir -p "$tmp"
	"${kmake[@]}" O="$tmp" tinyconfig >/dev/null
	(cd "$tmp" && "$TREE/scripts/kconfig/merge_config.sh" -m -O "$tmp" "$tmp/.config" "${frags[@]}" >/dev/null)
	"${kmake[@]}" O="$tmp" olddefconfig >/dev/null
	if ! cmp -s "$tmp/.config" "$o/.config"; then
		cp "$tmp/.config" "$o/.config"
	fi
	rm -rf "$tmp"
	echo "$stamp" > "$o/.rig-config-stamp"
fi

# Audit: what the fragments ask for, the last word on a symbol winning.
declare -A want=() from=()
for f in "${frags[@]}"; do
	while IFS= read -r line; do
		case $line in
		CONFIG_*=*) sym=${line%%=*} ;;
		"# CONFIG_"*" is not set") sym=${line#\# }; sym=${sym%% *} ;;
		*) continue ;;
		esac
		want[$sym]=$line
		from[$sym]=$(basename "$f")
	done < "$f"
done
bad=0
for sym in "${!want[@]}"; do
	line=${want[$sym]}
	got=$(grep -E "^$sym=" "$o/.config" || echo "# $sym is not set")
	if [ "$got" != "$line" ]; then
		echo "config: ${from[$sym]}: wanted '$line', got '$got'" >&2
		bad=1
	fi
done
exit $bad
