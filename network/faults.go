package network

import (
	"context"
	"slices"

	"github.com/containernetworking/cni/pkg/invoke"

	"github.com/podshim/podshim/faultpoint"
)

// crashingExec runs CNI plugins as pluginExec does and hits
// faultpoint.RunSandboxDuringCNIAdd after each ADD of a plugin: the crash
// then comes in the middle of the chain, once the first plugin (bridge
// with its IPAM) allocated the veth and the IP. It is installed only when
// that point is armed.
type crashingExec struct {
	invoke.Exec
	faults *faultpoint.Set
}

func newExec(faults *faultpoint.Set) invoke.Exec {
	if !faults.Armed(faultpoint.RunSandboxDuringCNIAdd) {
		return &pluginExec{}
	}
	return &crashingExec{Exec: &pluginExec{}, faults: faults}
}

func (e *crashingExec) ExecPlugin(ctx context.Context, pluginPath string, stdinData []byte, environ []string) ([]byte, error) {
	out, err := e.Exec.ExecPlugin(ctx, pluginPath, stdinData, environ)
	if err == nil && slices.Contains(environ, "CNI_COMMAND=ADD") {
		e.faults.Hit(faultpoint.RunSandboxDuringCNIAdd)
	}
	return out, err
}
