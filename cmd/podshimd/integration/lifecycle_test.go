package integration

import (
	"fmt"
	"testing"
	"time"

	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestExitCodesAndReasons checks exit code, reason and timestamps of
// containers that exit on their own.
func TestExitCodesAndReasons(t *testing.T) {
	pod := podConfig(t)
	podID := runPod(t, pod)
	cases := []struct {
		name       string
		cmd        []string
		code       int32
		reason     string
		minRuntime time.Duration
	}{
		{"ok", []string{"sh", "-c", "exit 0"}, 0, "Completed", 0},
		{"fail", []string{"sh", "-c", "exit 3"}, 3, "Error", 0},
		{"slow-ok", []string{"sh", "-c", "sleep 1; exit 0"}, 0, "Completed", time.Second},
		{"slow-fail", []string{"sh", "-c", "sleep 1; exit 3"}, 3, "Error", time.Second},
	}
	ids := map[string]string{}
	for _, tc := range cases {
		ids[tc.name] = runContainer(t, podID, pod, containerConfig(pod, tc.name, tc.cmd...))
	}
	for _, tc := range cases {
		st := waitExited(t, ids[tc.name], 30*time.Second)
		if st.ExitCode != tc.code || st.Reason != tc.reason {
			t.Errorf("%s: exit code %d reason %q, want %d %q", tc.name, st.ExitCode, st.Reason, tc.code, tc.reason)
		}
		if !(st.CreatedAt > 0 && st.CreatedAt <= st.StartedAt && st.StartedAt <= st.FinishedAt) {
			t.Errorf("%s: timestamps out of order: created %s, started %s, finished %s (want created <= started <= finished)",
				tc.name, ts(st.CreatedAt), ts(st.StartedAt), ts(st.FinishedAt))
		}
		if ran := time.Duration(st.FinishedAt - st.StartedAt); ran < tc.minRuntime-50*time.Millisecond {
			t.Errorf("%s: ran %s by its timestamps, but it sleeps %s", tc.name, ran, tc.minRuntime)
		}
		if age := time.Since(time.Unix(0, st.FinishedAt)); age < 0 || age > time.Minute {
			t.Errorf("%s: finished at %s, not just now", tc.name, ts(st.FinishedAt))
		}
	}
	// An exited container is reported as such by ListContainers too.
	ctx, cancel := callCtx()
	defer cancel()
	list, err := rt().ListContainers(ctx, &criapi.ListContainersRequest{Filter: &criapi.ContainerFilter{
		PodSandboxId: podID, State: &criapi.ContainerStateValue{State: criapi.ContainerState_CONTAINER_EXITED}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Containers) != len(cases) {
		t.Errorf("ListContainers(EXITED, pod) = %d containers, want %d", len(list.Containers), len(cases))
	}
}

// TestImmediateExitTimestamps runs containers that exit at once, and checks
// that none is reported as finished before it started (the exit can reach
// podshim before StartContainer returns).
func TestImmediateExitTimestamps(t *testing.T) {
	pod := podConfig(t)
	podID := runPod(t, pod)
	const n = 8
	for i := 0; i < n; i++ {
		id := runContainer(t, podID, pod, containerConfig(pod, fmt.Sprintf("instant-%d", i), "true"))
		st := waitExited(t, id, 20*time.Second)
		if st.ExitCode != 0 || st.Reason != "Completed" {
			t.Errorf("instant-%d: exit code %d reason %q, want 0 Completed", i, st.ExitCode, st.Reason)
		}
		if !(st.CreatedAt <= st.StartedAt && st.StartedAt <= st.FinishedAt) {
			t.Errorf("instant-%d: timestamps out of order: created %s, started %s, finished %s (started %s after it finished)",
				i, ts(st.CreatedAt), ts(st.StartedAt), ts(st.FinishedAt), time.Duration(st.StartedAt-st.FinishedAt))
		}
	}
}

func ts(ns int64) string {
	return time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
}

// stopContainer calls StopContainer and returns how long it took.
func stopContainer(t *testing.T, id string, timeout int64) time.Duration {
	t.Helper()
	ctx, cancel := callCtx()
	defer cancel()
	start := time.Now()
	if _, err := rt().StopContainer(ctx, &criapi.StopContainerRequest{ContainerId: id, Timeout: timeout}); err != nil {
		t.Fatalf("StopContainer %s: %v", id, err)
	}
	return time.Since(start)
}

// TestStopContainer checks the stop protocol: the stop signal, then
// SIGKILL when the timeout passes.
func TestStopContainer(t *testing.T) {
	pod := podConfig(t)
	podID := runPod(t, pod)

	// Each container says it is ready once its traps are set, so the stop
	// signal cannot arrive before them.
	ready := func(id string) {
		waitFor(t, 20*time.Second, "container "+id+" to set its traps", func() (bool, string) {
			r := execSync(t, id, "cat", "/tmp/ready")
			return r.code == 0, r.stderr
		})
	}

	t.Run("IgnoresTERMKilledAfterTimeout", func(t *testing.T) {
		id := runContainer(t, podID, pod, containerConfig(pod, "stubborn", "sh", "-c",
			`trap "" TERM; touch /tmp/ready; while true; do sleep 0.1; done`))
		ready(id)
		took := stopContainer(t, id, 2)
		st := containerStatus(t, id)
		if st.State != criapi.ContainerState_CONTAINER_EXITED || st.ExitCode != 137 || st.Reason != "Error" {
			t.Errorf("after stop: state %v exit code %d reason %q, want EXITED 137 Error", st.State, st.ExitCode, st.Reason)
		}
		if took < 2*time.Second || took > 8*time.Second {
			t.Errorf("StopContainer(timeout 2) took %s, want ~2s (the grace period, then SIGKILL)", took)
		}
		t.Logf("StopContainer(timeout 2) of a container ignoring SIGTERM took %s", took)
	})

	t.Run("HonoursTERM", func(t *testing.T) {
		id := runContainer(t, podID, pod, containerConfig(pod, "polite", "sh", "-c",
			`trap "exit 7" TERM; touch /tmp/ready; while true; do sleep 0.1; done`))
		ready(id)
		took := stopContainer(t, id, 20)
		st := containerStatus(t, id)
		if st.State != criapi.ContainerState_CONTAINER_EXITED || st.ExitCode != 7 {
			t.Errorf("after stop: state %v exit code %d, want EXITED with its own code 7", st.State, st.ExitCode)
		}
		if took > 5*time.Second {
			t.Errorf("StopContainer of a container that exits on SIGTERM took %s", took)
		}
	})

	t.Run("ImageStopSignal", func(t *testing.T) {
		// The image says STOPSIGNAL SIGUSR1; the container exits 42 on it and
		// ignores SIGTERM, so a SIGTERM would end in SIGKILL (137) after 20s.
		cfg := containerConfig(pod, "usr1", "sh", "-c",
			`trap "exit 42" USR1; trap "" TERM; touch /tmp/ready; while true; do sleep 0.1; done`)
		cfg.Image.Image = stopSignalImage
		pullImage(t, stopSignalImage)
		id := runContainer(t, podID, pod, cfg)
		ready(id)
		took := stopContainer(t, id, 20)
		st := containerStatus(t, id)
		if st.ExitCode != 42 {
			t.Errorf("after stop: exit code %d, want 42 (the image's STOPSIGNAL SIGUSR1 sent)", st.ExitCode)
		}
		if took > 5*time.Second {
			t.Errorf("StopContainer took %s: the image's stop signal was not sent", took)
		}
	})

	t.Run("StopTwiceAndStopExited", func(t *testing.T) {
		id := runContainer(t, podID, pod, containerConfig(pod, "short", "sh", "-c", "exit 0"))
		waitExited(t, id, 20*time.Second)
		stopContainer(t, id, 1)
		stopContainer(t, id, 1)
		if st := containerStatus(t, id); st.ExitCode != 0 || st.Reason != "Completed" {
			t.Errorf("stopping an exited container changed its status: code %d reason %q", st.ExitCode, st.Reason)
		}
	})
}

// pullImage pulls ref through podshimd.
func pullImage(t *testing.T, ref string) string {
	t.Helper()
	ctx, cancel := callCtx()
	defer cancel()
	resp, err := img().PullImage(ctx, &criapi.PullImageRequest{Image: &criapi.ImageSpec{Image: ref}})
	if err != nil {
		t.Fatalf("PullImage %s: %v", ref, err)
	}
	return resp.ImageRef
}
