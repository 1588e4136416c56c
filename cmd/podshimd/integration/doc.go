// Package integration holds podshim's integration tests: they drive the
// real podshimd (built from this tree) through its CRI gRPC socket exactly as
// kubelet would, on a private containerd, real runc, the real CNI plugins
// and an in-process registry serving busybox-static images.
//
// Run them as root (they create network namespaces, a bridge and mounts):
//
//	go test -count=1 -p 1 ./cmd/podshimd/integration/
//
// TestMain builds podshimd and pause once and starts one containerd, one
// registry and one podshimd shared by all tests, on the CNI network
// podshim-itest (bridge cni-itest0, subnet 10.91.0.0/16), everything below
// one temporary directory; it tears all of it down at the end, also after a
// failure or an interrupt.
package integration
