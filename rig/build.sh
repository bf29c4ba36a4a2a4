#!/bin/bash
# Incremental build of the patched kernel for a config variant.
#   rig/build.sh [guest|debug|modules|arm64|bench]
#                               -> build/obj/<variant>/arch/x86/boot/bzImage
#                                  (arm64: build/obj/arm64/arch/arm64/boot/Image,
#                                  cross-built)
# The modules variant also builds the modules and installs them (stripped,
# depmod run) under build/obj/modules/mod-root for the guest.
# Links new files of the series into the tree first, so an edit in the repo
# is picked up directly. Uses ccache.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
variant=${1:-guest}
[ $# -gt 0 ] && shift
[ -d "$TREE/.git" ] || "$RIG/prepare.sh"
"$RIG/link.sh"
"$RIG/config.sh" "$variant"
o=$OBJ/$variant
export KBUILD_BUILD_TIMESTAMP=${KBUILD_BUILD_TIMESTAMP:-"2026-01-01"}
export KBUILD_BUILD_USER=rig KBUILD_BUILD_HOST=rig
targets=(bzImage)
cc=gcc
if [ "$variant" = arm64 ]; then
	targets=(Image)
	cc=aarch64-linux-gnu-gcc
fi
[ "$variant" = modules ] && targets+=(modules)
# shellcheck disable=SC2046
make -s -C "$TREE" $(kbuild_arch "$variant") O="$o" CC="ccache $cc" -j"$NPROC" \
	"${targets[@]}" "$@"
if [ "$variant" = modules ]; then
	rm -rf "$o/mod-root"
	make -s -C "$TREE" O="$o" INSTALL_MOD_PATH="$o/mod-root" INSTALL_MOD_STRIP=1 \
		modules_install >/dev/null
fi
kernel_image "$variant"
