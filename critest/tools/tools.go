//go:build tools

// Package tools pins the cri-tools version whose crictl and critest
// binaries the critest harness builds. It is never compiled into podshim.
package tools

import (
	_ "sigs.k8s.io/cri-tools/cmd/crictl"
	_ "sigs.k8s.io/cri-tools/cmd/critest"
)
