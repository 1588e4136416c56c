#!/usr/bin/env bash
# Builds crictl and critest from the cri-tools version pinned in this
# directory's go.mod into critest/_tools/<version>/ (or the directory given as
# $1), once: an existing build of the same version is reused.
#
# `go install sigs.k8s.io/cri-tools/cmd/critest@<version>` does not work here,
# so this small module requires cri-tools and builds its commands; go.sum is
# committed so the build is reproducible.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
version=$(awk '$1 == "require" && $2 == "sigs.k8s.io/cri-tools" { print $3 }' "$here/go.mod")
if [[ -z "$version" ]]; then
	echo "critest/tools: no sigs.k8s.io/cri-tools requirement in $here/go.mod" >&2
	exit 1
fi
out=${1:-$here/../_tools/$version}

if [[ -x "$out/critest" && -x "$out/crictl" && "$(cat "$out/.version" 2>/dev/null)" == "$version" ]]; then
	exit 0
fi

echo "critest/tools: building crictl and critest $version into $out" >&2
mkdir -p "$out"
out=$(cd "$out" && pwd) # the build below runs from $here
rm -f "$out/.version"
cd "$here"
export GONOSUMDB=sigs.k8s.io/cri-tools GOFLAGS="-mod=mod -buildvcs=false"
go build -o "$out/crictl" sigs.k8s.io/cri-tools/cmd/crictl
go test -c -o "$out/critest" sigs.k8s.io/cri-tools/cmd/critest
echo "$version" >"$out/.version"
