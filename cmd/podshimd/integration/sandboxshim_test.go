package integration

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/namespaces"
)

// TestContainersJoinPodShim checks how a pod's containers reach its shim.
// On containerd 2.x the pod is in containerd's sandbox store and each
// container record carries the sandbox's ID, so containerd creates the
// task in the pause's shim without running the shim binary: the only trace
// that path leaves is the "sandbox" file containerd writes into the task's
// bundle (core/runtime/v2 ShimManager.Start). On containerd 1.6 neither
// exists and the shim binary finds the pod's shim by its annotation. On
// both, one shim runs the pod, and the pod's removal leaves no record and
// no shim.
func TestContainersJoinPodShim(t *testing.T) {
	before := takeResources(context.Background())
	join := containerdMajor(t) >= 2
	t.Logf("containerd %d.x: containers join the pod's shim through the sandbox store: %v", containerdMajor(t), join)
	pod := podConfig(t)
	podID := runPod(t, pod)
	_, info := podStatus(t, podID)
	a := runContainer(t, podID, pod, containerConfig(pod, "a", "sleep", "3600"))
	b := runContainer(t, podID, pod, containerConfig(pod, "b", "sleep", "3600"))

	ctx, cancel := callCtx()
	defer cancel()
	ctx = namespaces.WithNamespace(ctx, ctrdNamespace)
	_, err := env.ctrd.SandboxStore().Get(ctx, podID)
	switch {
	case join && err != nil:
		t.Errorf("containerd 2.x: the pod is not in containerd's sandbox store: %v", err)
	case !join && err == nil:
		t.Errorf("containerd 1.6: the pod is in a sandbox store it should not have")
	}
	for _, id := range []string{a, b} {
		c, err := env.ctrd.LoadContainer(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		info, err := c.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		marker, merr := os.ReadFile(filepath.Join(env.containerd.State, "io.containerd.runtime.v2.task", ctrdNamespace, id, "sandbox"))
		if join {
			if info.SandboxID != podID {
				t.Errorf("container %s: containerd record's SandboxID %q, want the pod's %s", id, info.SandboxID, podID)
			}
			if merr != nil || strings.TrimSpace(string(marker)) != podID {
				t.Errorf("container %s: task bundle's sandbox file %q (%v), want %s: containerd ran the shim binary instead of joining the pod's shim",
					id, marker, merr, podID)
			}
		} else if info.SandboxID != "" || merr == nil {
			t.Errorf("containerd 1.6: container %s has SandboxID %q / a sandbox file (%v)", id, info.SandboxID, merr)
		}
	}
	var podShims []shim
	for _, s := range shimProcesses() {
		if s.id == podID {
			podShims = append(podShims, s)
		}
	}
	if len(podShims) != 1 {
		t.Fatalf("%d shims for pod %s, want 1: %v", len(podShims), podID, shimProcesses())
	}
	for name, id := range map[string]string{"a": a, "b": b} {
		if ppid, err := parentPid(containerPid(t, id)); err != nil || ppid != podShims[0].pid {
			t.Errorf("container %s runs under pid %d (%v), not the pod's shim %d", name, ppid, err, podShims[0].pid)
		}
	}

	removePod(t, podID)
	waitFor(t, 10*time.Second, "the pod's shim to exit", func() (bool, string) {
		return !processAlive(podShims[0].pid), "still running"
	})
	if _, err := env.ctrd.SandboxStore().Get(ctx, podID); join && !errdefs.IsNotFound(err) {
		t.Errorf("the pod's sandbox record after RemovePodSandbox: %v, want NotFound", err)
	}
	assertPodGone(t, podID, info, []string{a, b})
	assertNoNewResources(t, before, "a pod whose containers joined its shim, once removed")
}
