#!/bin/bash
# The extra initramfs of the modules variant: build/initramfs-modules.cpio.gz
# with /lib/modules/<release>/ as `make modules_install` laid it out under
# build/obj/modules/mod-root (rig/build.sh modules), appended to the normal
# one by rig/vm.sh --initrd-extra. Remade when the modules were. Prints its
# path.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
root=$OBJ/modules/mod-root
out=$BUILD/initramfs-modules.cpio.gz
[ -d "$root/lib/modules" ] || die "no modules in ${root#"$REPO"/} (rig/build.sh modules)"
if [ ! -f "$out" ] || [ -n "$(find "$root" -newer "$out" -print -quit)" ]; then
	(cd "$root" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) |
		gzip -1 >"$out.tmp"
	mv "$out.tmp" "$out"
fi
echo "$out"
