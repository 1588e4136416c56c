#!/usr/bin/env bash
# Builds the "current" stack (containerd, its runc v2 shim, ctr and runc at
# the versions pinned in stack/versions.env) from their Go modules into
# stack/_bin/<containerd>-<runc>/ (git-ignored), once: an existing build of
# the same versions is reused. Prints the bin directory on stdout.
#
# runc needs Debian's libseccomp-dev (installed by `make deps`).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
out="$here/_bin/containerd-${CONTAINERD_VERSION}_runc-${RUNC_VERSION}"
want="containerd ${CONTAINERD_VERSION} runc ${RUNC_VERSION}"
if [[ "$(cat "$out/.version" 2>/dev/null)" == "$want" ]]; then
	echo "$out"
	exit 0
fi
echo "stack/build.sh: building $want into $out (takes minutes)" >&2
rm -rf "$out"
mkdir -p "$out"
export GOBIN="$out" GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
cd /
# Version stamps as containerd's and runc's own Makefiles set them.
nice -n 10 go install -tags no_btrfs \
	-ldflags "-X github.com/containerd/containerd/v2/version.Version=${CONTAINERD_VERSION}" \
	"github.com/containerd/containerd/v2/cmd/containerd@${CONTAINERD_VERSION}" \
	"github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@${CONTAINERD_VERSION}" \
	"github.com/containerd/containerd/v2/cmd/ctr@${CONTAINERD_VERSION}"
nice -n 10 go install -tags seccomp \
	-ldflags "-X main.version=${RUNC_VERSION#v}" \
	"github.com/opencontainers/runc@${RUNC_VERSION}"
"$out/containerd" --version >&2
"$out/runc" --version >&2
echo "$want" >"$out/.version"
echo "$out"
