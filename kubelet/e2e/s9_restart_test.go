//go:build kubelet_e2e

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// TestRuntimeAndKubeletRestart: the runtime (podshimd, or containerd when
// its CRI plugin is the runtime) restarts under a running kubelet: the pods
// keep running, the same containers, restart counts unchanged, and their
// logs keep flowing. Then the same for a kubelet restart.
func TestRuntimeAndKubeletRestart(t *testing.T) {
	h.timed(t)
	ctx := context.Background()
	pod := h.runPod(t, Pod{
		Metadata: ObjectMeta{Name: "survivor"},
		Spec: PodSpec{Containers: []Container{
			{Name: "logger", Image: busyboxImage, Command: shell(`i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 0.2; done`)},
			{Name: "idle", Image: busyboxImage, Command: shell("exec sleep 3600")},
		}},
	})
	p := pod.waitFor(t, 60*time.Second, "running", func(p *Pod) error {
		for _, c := range []string{"logger", "idle"} {
			if s := p.Status.container(c); s == nil || s.State.Running == nil {
				return fmt.Errorf("%s not running", c)
			}
		}
		return nil
	})
	uid := p.Metadata.UID
	before := containerIDs(p)
	sandboxes, err := h.cri.sandboxesOf(ctx, uid)
	if err != nil || len(sandboxes) != 1 {
		t.Fatalf("want 1 sandbox, got %d (%v)", len(sandboxes), err)
	}
	logFile := filepath.Join(h.paths.podLogs, fmt.Sprintf("%s_%s_%s", p.Metadata.Namespace, p.Metadata.Name, uid), "logger", "0.log")

	// unchanged waits until kubelet reports the pod running with the same
	// containers, never restarted, the same single sandbox, and the log
	// has grown past what it held after the restart; then checks that
	// this stays so for a few of kubelet's relist periods.
	unchanged := func(t *testing.T, what string) {
		t.Helper()
		tickAfterRestart := lastTick(t, logFile)
		same := func(p *Pod) error {
			if p.Status.Phase != "Running" {
				return fmt.Errorf("phase %q", p.Status.Phase)
			}
			for name, id := range before {
				c := p.Status.container(name)
				if c == nil || c.State.Running == nil {
					return fmt.Errorf("%s not running: %s", name, statusJSON(p))
				}
				if c.ContainerID != id || c.RestartCount != 0 {
					return fmt.Errorf("%s is now %s with %d restarts, was %s with 0", name, c.ContainerID, c.RestartCount, id)
				}
			}
			s, err := h.cri.sandboxesOf(ctx, uid)
			if err != nil || len(s) != 1 || s[0].Id != sandboxes[0].Id {
				return fmt.Errorf("sandboxes changed: %d (%v)", len(s), err)
			}
			return nil
		}
		pod.waitFor(t, 60*time.Second, what+": pod as before", same)
		waitUntil(t, 30*time.Second, what+": the logger's log growing", func() error {
			if n := lastTick(t, logFile); n < tickAfterRestart+10 {
				return fmt.Errorf("last tick %d, was %d right after the restart", n, tickAfterRestart)
			}
			return nil
		})
		holdsFor(t, 5*time.Second, what+": pod as before", func() error {
			p, err := pod.get()
			if err != nil || p == nil {
				return fmt.Errorf("pod: %v", err)
			}
			return same(p)
		})
	}

	t.Run("runtime-restart", func(t *testing.T) {
		start := time.Now()
		if err := h.runtimeRestart(ctx); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s restarted in %.1fs", h.runtime, time.Since(start).Seconds())
		unchanged(t, "after the runtime restart")
	})
	t.Run("kubelet-restart", func(t *testing.T) {
		start := time.Now()
		if err := h.kubelet.restart(ctx); err != nil {
			t.Fatal(err)
		}
		t.Logf("kubelet restarted in %.1fs", time.Since(start).Seconds())
		unchanged(t, "after the kubelet restart")
	})
}

// containerIDs maps container names to IDs.
func containerIDs(p *Pod) map[string]string {
	out := map[string]string{}
	for _, c := range p.Status.ContainerStatuses {
		out[c.Name] = c.ContainerID
	}
	return out
}

var tickRE = regexp.MustCompile(`stdout F tick (\d+)\n`)

// lastTick returns the highest "tick N" in a CRI-format log file.
func lastTick(t *testing.T, path string) int {
	t.Helper()
	n := 0
	for _, m := range tickRE.FindAllStringSubmatch(readFile(t, path), -1) {
		if v, _ := strconv.Atoi(m[1]); v > n {
			n = v
		}
	}
	return n
}
