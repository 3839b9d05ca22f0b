#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the .deb with cpack, unpacks it into a clean tree (dpkg-deb -x, nothing installed) and
# checks what a desktop user meets: the menu entry and the AppStream metainfo validate, the icon,
# man pages and bash completion are there, and fcl run from the tree finds the installed examples
# (not the source tree's).  Usage: check_deb.sh BUILD_DIR
set -euo pipefail
build=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$build" && cpack -G DEB -B "$work/out" > "$work/cpack.log" 2>&1) || {
    cat "$work/cpack.log"; echo "check_deb: cpack failed" >&2; exit 1; }
deb=$(ls "$work"/out/fcl-workbench*.deb)
echo "check_deb: built $(basename "$deb") ($(du -h "$deb" | cut -f1))"
dpkg-deb -x "$deb" "$work/root"
root=$work/root/usr

fail() { echo "check_deb: $*" >&2; exit 1; }
for file in bin/fcl bin/fcl-workbench \
    share/applications/org.fclworkbench.FclWorkbench.desktop \
    share/metainfo/org.fclworkbench.FclWorkbench.metainfo.xml \
    share/icons/hicolor/scalable/apps/org.fclworkbench.FclWorkbench.svg \
    share/bash-completion/completions/fcl \
    share/man/man1/fcl.1 share/man/man1/fcl-workbench.1 \
    share/fcl-workbench/presets/default.json share/fcl-workbench/base/tiny-vlm/manifest.json; do
    [ -e "$root/$file" ] || fail "the package lacks /usr/$file"
done
desktop-file-validate "$root/share/applications/org.fclworkbench.FclWorkbench.desktop" ||
    fail "the desktop entry does not validate"
appstreamcli validate --no-net \
    "$root/share/metainfo/org.fclworkbench.FclWorkbench.metainfo.xml" ||
    fail "the AppStream metainfo does not validate"
grep -q '^Exec=fcl-workbench %f$' "$root/share/applications/org.fclworkbench.FclWorkbench.desktop"
grep -q 'MimeType=application/json;' "$root/share/applications/org.fclworkbench.FclWorkbench.desktop"
# The man pages are --help, methods included, in roff.
grep -q '^\.TH FCL 1' "$root/share/man/man1/fcl.1" || fail "fcl.1 has no title line"
grep -q 'fedprox' "$root/share/man/man1/fcl.1" || fail "fcl.1 does not list the methods"
bash -n "$root/share/bash-completion/completions/fcl" || fail "the completion has a syntax error"

# The unpacked fcl finds its own presets (share/ beside bin/), whatever the working directory.
cd "$work"
examples=$("$root/bin/fcl" examples)
grep -q "^default " <<< "$examples" || fail "fcl examples lists no default"
grep -q "files in $root/share/fcl-workbench/presets" <<< "$examples" ||
    fail "fcl examples does not use the installed presets: $(echo "$examples" | tail -1)"
validated=$("$root/bin/fcl" validate pcft-personal) ||
    fail "fcl validate pcft-personal (an example by name) failed"
grep -q "^pcft-personal: valid" <<< "$validated" || fail "unexpected: $validated"
echo "check_deb: desktop entry, metainfo, icon, man pages, completion and examples OK"
