//go:build kubelet_e2e

package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLifecycleHooks: the postStart and preStop exec hooks run, observed
// through a file in a shared hostPath volume; when the static pod's
// manifest is removed, preStop runs (to its end) before the container gets
// SIGTERM.
func TestLifecycleHooks(t *testing.T) {
	h.timed(t)
	out := h.hostDir(t, "out")
	events := filepath.Join(out, "events")
	grace := int64(15)
	pod := h.runPod(t, Pod{
		Metadata: ObjectMeta{Name: "hooks"},
		Spec: PodSpec{
			TerminationGracePeriodSeconds: &grace,
			Volumes:                       []Volume{hostPathVolume("out", out)},
			Containers: []Container{{
				Name:  "main",
				Image: busyboxImage,
				// As PID 1 the shell only gets SIGTERM through its trap;
				// "sleep & wait" lets the trap run at once.
				Command: shell(`trap 'echo main-got-SIGTERM >> /out/events; exit 0' TERM
echo main-started >> /out/events
while true; do sleep 1 & wait $!; done`),
				VolumeMounts: []VolumeMount{{Name: "out", MountPath: "/out"}},
				Lifecycle: &Lifecycle{
					PostStart: &LifecycleHandler{Exec: &ExecAction{Command: shell("echo poststart >> /out/events")}},
					PreStop: &LifecycleHandler{Exec: &ExecAction{Command: shell(
						"echo prestop-begin >> /out/events; sleep 2; echo prestop-end >> /out/events")}},
				},
			}},
		},
	})

	pod.waitFor(t, 60*time.Second, "running", func(p *Pod) error {
		if m := p.Status.container("main"); m == nil || m.State.Running == nil {
			return fmt.Errorf("not running")
		}
		return nil
	})
	waitUntil(t, 20*time.Second, "the postStart hook", func() error {
		if !strings.Contains(readFile(t, events), "poststart\n") {
			return fmt.Errorf("events: %q", readFile(t, events))
		}
		return nil
	})
	if strings.Contains(readFile(t, events), "prestop") {
		t.Fatalf("preStop ran while the pod was running: %q", readFile(t, events))
	}

	pod.remove(t)
	waitUntil(t, 30*time.Second, "the container to get SIGTERM", func() error {
		if !strings.Contains(readFile(t, events), "main-got-SIGTERM") {
			return fmt.Errorf("events: %q", readFile(t, events))
		}
		return nil
	})
	got := strings.Fields(readFile(t, events))
	order := map[string]int{}
	for i, e := range got {
		order[e] = i
	}
	for _, e := range []string{"main-started", "poststart", "prestop-begin", "prestop-end", "main-got-SIGTERM"} {
		if _, ok := order[e]; !ok {
			t.Fatalf("event %s missing: %v", e, got)
		}
	}
	if !(order["prestop-begin"] < order["prestop-end"] && order["prestop-end"] < order["main-got-SIGTERM"]) {
		t.Errorf("want preStop to run to its end before SIGTERM; events %v", got)
	}
	pod.waitStopped(t, 30*time.Second)
}
