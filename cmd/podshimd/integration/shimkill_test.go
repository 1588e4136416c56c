package integration

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestShimKilled kills a pod's shim with SIGKILL (its pause and containers
// die with it): the containers must report EXITED with an exit code and a
// reason, the sandbox NOTREADY, and StopPodSandbox + RemovePodSandbox must
// then leave nothing behind.
func TestShimKilled(t *testing.T) {
	before := takeResources(context.Background())
	pod := podConfig(t)
	podID := runPod(t, pod)
	_, info := podStatus(t, podID)
	a := runContainer(t, podID, pod, containerConfig(pod, "a", "sleep", "3600"))
	b := runContainer(t, podID, pod, containerConfig(pod, "b", "sleep", "3600"))
	var shimPid int
	for _, s := range shimProcesses() {
		if s.id == podID {
			shimPid = s.pid
		}
	}
	if shimPid == 0 {
		t.Fatalf("no shim for pod %s", podID)
	}
	if err := syscall.Kill(shimPid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{a, b} {
		st := waitExited(t, id, 30*time.Second)
		if st.ExitCode == 0 || st.Reason == "" || st.FinishedAt == 0 {
			t.Errorf("container %s after its shim was killed: exit code %d, reason %q, finished %d; want a non-zero code, a reason and a time",
				id, st.ExitCode, st.Reason, st.FinishedAt)
		}
	}
	waitFor(t, 30*time.Second, "the sandbox to be NOTREADY", func() (bool, string) {
		st, _ := podStatus(t, podID)
		return st.State == criapi.PodSandboxState_SANDBOX_NOTREADY, fmt.Sprint(st.State)
	})
	removePod(t, podID)
	assertPodGone(t, podID, info, []string{a, b})
	assertNoNewResources(t, before, "a pod whose shim was killed, once removed")
}
