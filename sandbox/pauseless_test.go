package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/cri/cleanup"
	"github.com/podshim/podshim/cri/spec"
	"github.com/podshim/podshim/pinns"
)

func podWithPid(mode runtime.NamespaceMode) *runtime.PodSandboxConfig {
	return &runtime.PodSandboxConfig{
		Metadata: &runtime.PodSandboxMetadata{Name: "p", Namespace: "ns", Uid: "u"},
		Hostname: "pod-host",
		Linux: &runtime.LinuxPodSandboxConfig{SecurityContext: &runtime.LinuxSandboxSecurityContext{
			NamespaceOptions: &runtime.NamespaceOption{Pid: mode},
		}},
	}
}

// Only pods that share no PID namespace and have no user namespace go
// without a pause, and only with the option on.
func TestUsePauseless(t *testing.T) {
	on, off := New(Options{Pauseless: true}), New(Options{})
	u := &spec.Userns{}
	for _, tc := range []struct {
		name string
		s    *Service
		cfg  *runtime.PodSandboxConfig
		u    *spec.Userns
		want bool
	}{
		{"pid CONTAINER", on, podWithPid(runtime.NamespaceMode_CONTAINER), nil, true},
		{"host pid", on, podWithPid(runtime.NamespaceMode_NODE), nil, true},
		{"shared pid", on, podWithPid(runtime.NamespaceMode_POD), nil, false},
		{"user namespace", on, podWithPid(runtime.NamespaceMode_CONTAINER), u, false},
		{"option off", off, podWithPid(runtime.NamespaceMode_CONTAINER), nil, false},
	} {
		if got := tc.s.usePauseless(tc.cfg, tc.u); got != tc.want {
			t.Errorf("%s: usePauseless = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A pause-less sandbox's pins are made by pinNamespaces and undone by its
// undo; it is READY when recovered with its pins, NOTREADY once stopped or
// when the pins are gone; its shims are known by its containers' IDs.
func TestPauselessPinsAndRecovery(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("pinning namespaces needs root (the test machine runs as root)")
	}
	state := t.TempDir()
	s := New(Options{Pauseless: true, StateDir: state, RootDir: t.TempDir()})
	_, stateDir := s.sandboxDirs("sb1")
	sb := &Sandbox{meta: Metadata{ID: "sb1", Config: podWithPid(runtime.NamespaceMode_CONTAINER), Pauseless: true}}
	var undo cleanup.Stack
	if err := s.pinNamespaces(context.Background(), sb, stateDir, &undo); err != nil {
		t.Fatal(err)
	}
	m := sb.Metadata()
	if sb.Status().State != runtime.PodSandboxState_SANDBOX_READY || !pinns.Pinned(m.IPCNSPath) || !pinns.Pinned(m.UTSNSPath) {
		t.Fatalf("after pinNamespaces: %v, %+v", sb.Status(), m)
	}
	if sp := sb.Spec(); sp.IPCNSPath != m.IPCNSPath || sp.UTSNSPath != m.UTSNSPath || sp.Pid != 0 {
		t.Errorf("containers' view of the sandbox %+v", sp)
	}

	if got := s.loadPauseless(context.Background(), m, ""); got.Status().State != runtime.PodSandboxState_SANDBOX_READY {
		t.Errorf("recovered with its pins: %v, want READY", got.Status().State)
	}
	stopped := m
	stopped.Stopped = true
	if got := s.loadPauseless(context.Background(), stopped, ""); got.Status().State != runtime.PodSandboxState_SANDBOX_NOTREADY {
		t.Errorf("recovered stopped: %v, want NOTREADY", got.Status().State)
	}

	if err := sb.RecordContainer("c1"); err != nil {
		t.Fatal(err)
	}
	if ids := sb.shimIDs(); len(ids) != 2 || ids[0] != "sb1" || ids[1] != "c1" {
		t.Errorf("shim IDs %v", ids)
	}

	undo.Run(context.Background())
	if _, err := os.Stat(filepath.Join(stateDir, pinDirName)); !os.IsNotExist(err) {
		t.Fatalf("pins left after the undo: %v", err)
	}
	if got := s.loadPauseless(context.Background(), m, ""); got.Status().State != runtime.PodSandboxState_SANDBOX_NOTREADY {
		t.Errorf("recovered without its pins: %v, want NOTREADY", got.Status().State)
	}
}
