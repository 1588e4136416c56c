#!/usr/bin/env bash
# build.sh builds kubelet from the Kubernetes Go module at a pinned version and
# caches the binary in kubelet/_bin/<version>/kubelet (git-ignored). It does
# nothing when that binary already exists, so it is cheap to call from make.
#
# Why not `go install k8s.io/kubernetes/cmd/kubelet@v1.34.4`: the module's go.mod
# replaces every k8s.io/* staging module with ./staging/src/k8s.io/<name>, and
# the module zip does not contain those nested modules. So, in a copy of the
# module: drop those replace lines, require the published v0.<minor>.<patch>
# version of each staging module instead, delete vendor/ and go.work, and build
# with GOWORK=off GOFLAGS=-mod=mod. podshim's own module never imports
# k8s.io/kubernetes.
#
# Usage: kubelet/build.sh            (prints the binary's path on stdout)
#        KUBELET_VERSION=v1.34.4 kubelet/build.sh
set -euo pipefail

version="${KUBELET_VERSION:-v1.34.4}"
here="$(cd "$(dirname "$0")" && pwd)"
out_dir="${here}/_bin/${version}"
bin="${out_dir}/kubelet"

if [[ -x "${bin}" ]]; then
	echo "${bin}"
	exit 0
fi

# Staging modules are published as v0.<minor>.<patch> for kubernetes v1.<minor>.<patch>.
staging_version="v0.${version#v1.}"

# GONOSUMDB: the k8s.io/* modules added below are not in kubernetes' go.sum;
# skip the checksum database for them (it is not always reachable from here).
export GOWORK=off GOFLAGS=-mod=mod GONOSUMDB=k8s.io GOTOOLCHAIN=local

echo "build.sh: downloading k8s.io/kubernetes@${version}" >&2
# From outside any module, so that podshim's go.mod and go.sum stay untouched.
mod_dir="$(cd / && go mod download -json "k8s.io/kubernetes@${version}" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
if [[ -z "${mod_dir}" || ! -d "${mod_dir}" ]]; then
	echo "build.sh: go mod download k8s.io/kubernetes@${version} gave no directory" >&2
	exit 1
fi

src="${out_dir}/src"
rm -rf "${src}"
mkdir -p "${out_dir}"
cp -r "${mod_dir}" "${src}"
chmod -R u+w "${src}"
cd "${src}"
rm -rf vendor go.work go.work.sum

# Every replace of a k8s.io/* module by a local ./staging path goes; the
# module is then required at its published version.
staging="$(sed -n 's/^[[:space:]]*\(k8s\.io\/[^ ]*\) => \.\/staging\/.*$/\1/p' go.mod)"
edits=()
for m in ${staging}; do
	edits+=("-dropreplace=${m}" "-require=${m}@${staging_version}")
done
if ((${#edits[@]} == 0)); then
	echo "build.sh: found no staging replaces in go.mod" >&2
	exit 1
fi
go mod edit "${edits[@]}"
if grep -q '=> \./staging/' go.mod; then
	echo "build.sh: staging replaces left in go.mod:" >&2
	grep '=> \./staging/' go.mod >&2
	exit 1
fi

# Version stamping the way hack/lib/version.sh does it, so that
# `kubelet --version` and the node status report the real version.
pkg=k8s.io/component-base/version
ldflags="-s -w -X ${pkg}.gitVersion=${version} -X ${pkg}.gitTreeState=clean"
ldflags+=" -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=$(echo "${version}" | cut -d. -f2)"
ldflags+=" -X ${pkg}.buildDate=1970-01-01T00:00:00Z"

echo "build.sh: building kubelet ${version} (takes minutes)" >&2
nice -n 10 go build -trimpath -ldflags "${ldflags}" -o "${bin}.tmp" ./cmd/kubelet
mv "${bin}.tmp" "${bin}"
cd "${here}"
rm -rf "${src}"
"${bin}" --version >&2
echo "${bin}"
