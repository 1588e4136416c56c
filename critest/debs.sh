#!/usr/bin/env bash
# Downloads Debian's busybox (dynamically linked) and libc6 packages with
# apt-get and extracts each with dpkg-deb -x into <dir>/<package>/ (default
# critest/_tools/debs). Already extracted packages are kept. The versions used
# are written to <dir>/versions.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:-$here/_tools/debs}
packages=(busybox libc6)

mkdir -p "$out/download"
for pkg in "${packages[@]}"; do
	if [[ -d "$out/$pkg" ]]; then
		continue
	fi
	rm -f "$out/download/${pkg}_"*.deb
	if ! (cd "$out/download" && apt-get download "$pkg" >/dev/null 2>&1); then
		echo "critest/debs: apt-get download $pkg failed; running apt-get update once" >&2
		apt-get update -qq >/dev/null
		(cd "$out/download" && apt-get download "$pkg" >/dev/null)
	fi
	deb=$(ls "$out/download/${pkg}_"*.deb)
	rm -rf "$out/$pkg.tmp"
	dpkg-deb -x "$deb" "$out/$pkg.tmp"
	mv "$out/$pkg.tmp" "$out/$pkg"
done
for pkg in "${packages[@]}"; do
	ls "$out/download/${pkg}_"*.deb | xargs -n1 basename
done >"$out/versions"
