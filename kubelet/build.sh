#!/usr/bin/env bash
# build.sh builds binaries from the Kubernetes Go module at ONE pinned version
# and caches each in kubelet/_bin/<version>/<name> (git-ignored). A binary that
# already exists is not rebuilt, so it is cheap to call from make.
#
# Targets (arguments; default: kubelet):
#   kubelet         go build ./cmd/kubelet
#   e2e_node.test   go test -c ./test/e2e_node (the node conformance suite,
#                   node-e2e/node-e2e.mk)
#   agnhost         CGO_ENABLED=0 go build ./test/images/agnhost (static; the
#                   e2e tests' agnhost image, node-e2e/)
#   ginkgo          the ginkgo CLI at exactly the github.com/onsi/ginkgo/v2
#                   version the module's go.mod requires (go install
#                   .../ginkgo/v2/ginkgo@<that version>): it runs
#                   e2e_node.test on several processes (node-e2e/run.sh)
#
# Why not `go install k8s.io/kubernetes/cmd/kubelet@v1.34.4`: the module's go.mod
# replaces every k8s.io/* staging module with ./staging/src/k8s.io/<name>, and
# the module zip does not contain those nested modules. So, in a copy of the
# module: drop those replace lines, require the published v0.<minor>.<patch>
# version of each staging module instead, delete vendor/ and go.work, and build
# with GOWORK=off GOFLAGS=-mod=mod. podshim's own module never imports
# k8s.io/kubernetes. All targets are built from the same prepared copy, so
# kubelet and the test binary always come from the same Kubernetes.
#
# Usage: kubelet/build.sh [target...]   (prints each binary's path on stdout)
#        KUBELET_VERSION=v1.34.4 kubelet/build.sh kubelet e2e_node.test
set -euo pipefail

version="${KUBELET_VERSION:-v1.34.4}"
here="$(cd "$(dirname "$0")" && pwd)"
out_dir="${here}/_bin/${version}"
targets=("$@")
((${#targets[@]} > 0)) || targets=(kubelet)

for t in "${targets[@]}"; do
	case "$t" in
	kubelet | e2e_node.test | agnhost | ginkgo) ;;
	*)
		echo "build.sh: unknown target '$t' (kubelet, e2e_node.test, agnhost, ginkgo)" >&2
		exit 2
		;;
	esac
done

missing=()
for t in "${targets[@]}"; do
	if [[ ! -x "${out_dir}/${t}" || ($t == agnhost && ! -f "${out_dir}/agnhost-localhost.key") ]]; then
		missing+=("$t")
	fi
done
if ((${#missing[@]} == 0)); then
	for t in "${targets[@]}"; do echo "${out_dir}/${t}"; done
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

# The ginkgo CLI needs no copy of the module: only the ginkgo/v2 version its
# go.mod requires (the CLI and the suite's library must match).
mkdir -p "${out_dir}"
rest=()
for t in "${missing[@]}"; do
	if [[ $t != ginkgo ]]; then
		rest+=("$t")
		continue
	fi
	ginkgo_version="$(awk '$1 == "github.com/onsi/ginkgo/v2" { print $2; exit }' "${mod_dir}/go.mod")"
	if [[ -z "${ginkgo_version}" ]]; then
		echo "build.sh: k8s.io/kubernetes@${version}'s go.mod requires no github.com/onsi/ginkgo/v2" >&2
		exit 1
	fi
	echo "build.sh: building the ginkgo CLI ${ginkgo_version} (k8s.io/kubernetes@${version}'s go.mod)" >&2
	gobin="$(mktemp -d "${out_dir}/ginkgo.XXXXXX")"
	(cd / && GOBIN="${gobin}" nice -n 19 go install "github.com/onsi/ginkgo/v2/ginkgo@${ginkgo_version}") ||
		{ rm -rf "${gobin}"; exit 1; }
	mv "${gobin}/ginkgo" "${out_dir}/ginkgo"
	rm -rf "${gobin}"
done
missing=("${rest[@]}")
if ((${#missing[@]} == 0)); then
	for t in "${targets[@]}"; do echo "${out_dir}/${t}"; done
	exit 0
fi

# One source copy and one temporary output name per build.sh process: two
# concurrent builds of the same version (kubelet/_bin may be shared between
# worktrees) must not share, overwrite or remove each other's files.
src="$(mktemp -d "${out_dir}/src.XXXXXX")"
trap 'rm -rf "${src}"' EXIT
trap 'exit 130' INT TERM
cp -r "${mod_dir}/." "${src}"
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

for t in "${missing[@]}"; do
	bin="${out_dir}/${t}"
	echo "build.sh: building ${t} ${version} (takes minutes)" >&2
	case "$t" in
	kubelet)
		nice -n 19 go build -trimpath -ldflags "${ldflags}" -o "${bin}.tmp.$$" ./cmd/kubelet
		;;
	e2e_node.test)
		nice -n 19 go test -c -vet=off -trimpath -ldflags "${ldflags}" -o "${bin}.tmp.$$" ./test/e2e_node
		;;
	agnhost)
		CGO_ENABLED=0 nice -n 19 go build -trimpath -ldflags "${ldflags}" -o "${bin}.tmp.$$" ./test/images/agnhost
		# The image's test TLS pair, for node-e2e/images.
		cp test/images/agnhost/porter/localhost.crt "${out_dir}/agnhost-localhost.crt"
		cp test/images/agnhost/porter/localhost.key "${out_dir}/agnhost-localhost.key"
		;;
	esac
	mv "${bin}.tmp.$$" "${bin}"
done
cd "${here}"
[[ ! -x "${out_dir}/kubelet" ]] || "${out_dir}/kubelet" --version >&2
for t in "${targets[@]}"; do echo "${out_dir}/${t}"; done
