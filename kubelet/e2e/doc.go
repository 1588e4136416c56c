// Package e2e drives a real kubelet (built by kubelet/build.sh) against a CRI
// runtime: podshimd on a private containerd, or, to prove the harness
// itself, containerd's own CRI plugin. Kubelet runs standalone, with static
// pods written into a manifest directory, and the tests read pod and
// container status from kubelet's read-only `/pods` endpoint.
//
// The tests carry the build tag kubelet_e2e so that the plain unit run
// (`go test ./...`) leaves them out. Run them with `make kubelet-e2e`, or
//
//	RUNTIME=containerd go test -tags kubelet_e2e -v ./kubelet/e2e/
//
// RUNTIME is podshim (default) or containerd. Everything the tests start
// lives below /tmp/kubelet-h and is stopped and cleaned up at the end.
package e2e
