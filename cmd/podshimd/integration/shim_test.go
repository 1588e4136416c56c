package integration

import (
	"testing"
)

// TestOneShimPerPod checks that the pause and both containers of a pod run
// under one containerd-shim process.
func TestOneShimPerPod(t *testing.T) {
	baseline := len(shimProcesses())
	pod := podConfig(t)
	podID := runPod(t, pod)
	a := runContainer(t, podID, pod, containerConfig(pod, "a", "sleep", "3600"))
	b := runContainer(t, podID, pod, containerConfig(pod, "b", "sleep", "3600"))

	shims := shimProcesses()
	if len(shims) != baseline+1 {
		for _, s := range shims {
			t.Logf("shim pid %d: %v", s.pid, s.args)
		}
		t.Fatalf("%d shim processes for a pod with 2 containers (%d before the pod), want exactly 1 more", len(shims), baseline)
	}
	var podShim *shim
	for i := range shims {
		if shims[i].id == podID {
			podShim = &shims[i]
		}
	}
	if podShim == nil {
		t.Fatalf("no shim runs with -id %s (the sandbox); shims: %v", podID, shims)
	}
	_, info := podStatus(t, podID)
	for name, pid := range map[string]int{"pause": info.Pid, "a": containerPid(t, a), "b": containerPid(t, b)} {
		ppid, err := parentPid(pid)
		if err != nil {
			t.Errorf("%s (pid %d): %v", name, pid, err)
			continue
		}
		if ppid != podShim.pid {
			t.Errorf("%s (pid %d) is a child of pid %d, not of the pod's shim %d", name, pid, ppid, podShim.pid)
		}
	}
}
