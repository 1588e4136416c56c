//go:build kubelet_e2e

package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSharedProcessNamespace: with shareProcessNamespace the containers of a
// pod see each other's processes, PID 1 is the sandbox's pause process, and
// orphaned processes that exit are reaped by it instead of staying zombies.
func TestSharedProcessNamespace(t *testing.T) {
	h.timed(t)
	out := h.hostDir(t, "out")
	share := true
	pod := h.runPod(t, Pod{
		Metadata: ObjectMeta{Name: "shared-pid"},
		Spec: PodSpec{
			ShareProcessNamespace: &share,
			Volumes:               []Volume{hostPathVolume("out", out)},
			Containers: []Container{
				{
					Name:    "other",
					Image:   busyboxImage,
					Command: []string{"sleep", "7777"},
				},
				{
					Name:  "observer",
					Image: busyboxImage,
					// Three orphans: each subshell exits at once, so its
					// "sleep 2" is re-parented to PID 1 of the namespace.
					// The process table is taken while they live and again
					// after they have exited.
					Command: shell(`until ps -o args | grep -q '^sleep 7777'; do sleep 0.2; done
tr '\0' ' ' < /proc/1/cmdline > /out/pid1
for i in 1 2 3; do (sleep 2 &); done
sleep 0.5
ps -o pid,ppid,stat,args > /out/ps-orphans
sleep 4
ps -o pid,ppid,stat,args > /out/ps-after
exec sleep 3600`),
					VolumeMounts: []VolumeMount{{Name: "out", MountPath: "/out"}},
				},
			},
		},
	})
	pod.waitFor(t, 60*time.Second, "running", func(p *Pod) error {
		for _, c := range []string{"other", "observer"} {
			if s := p.Status.container(c); s == nil || s.State.Running == nil {
				return fmt.Errorf("%s not running", c)
			}
		}
		return nil
	})
	waitUntil(t, 30*time.Second, "the observer's process tables", func() error {
		if readFile(t, filepath.Join(out, "ps-after")) == "" {
			return fmt.Errorf("not written yet")
		}
		return nil
	})

	pid1 := strings.TrimSpace(readFile(t, filepath.Join(out, "pid1")))
	if !strings.Contains(pid1, "pause") {
		t.Errorf("PID 1 of the shared namespace is %q, want the pause process", pid1)
	}
	orphans := parsePS(readFile(t, filepath.Join(out, "ps-orphans")))
	after := parsePS(readFile(t, filepath.Join(out, "ps-after")))
	if !hasProcess(orphans, "sleep 7777") {
		t.Errorf("the observer does not see the other container's process:\n%s", readFile(t, filepath.Join(out, "ps-orphans")))
	}
	var reparented int
	for _, p := range orphans {
		if p.args == "sleep 2" && p.ppid == "1" {
			reparented++
		}
	}
	if reparented != 3 {
		t.Errorf("want 3 orphans re-parented to PID 1, found %d:\n%s", reparented, readFile(t, filepath.Join(out, "ps-orphans")))
	}
	for _, p := range after {
		if strings.HasPrefix(p.stat, "Z") {
			t.Errorf("zombie left after the orphans exited: %+v\n%s", p, readFile(t, filepath.Join(out, "ps-after")))
		}
		if p.args == "sleep 2" {
			t.Errorf("orphan still listed after it exited: %+v", p)
		}
	}
}

// psLine is one line of busybox `ps -o pid,ppid,stat,args`.
type psLine struct {
	pid, ppid, stat, args string
}

func parsePS(s string) []psLine {
	var out []psLine
	for i, line := range strings.Split(strings.TrimSpace(s), "\n") {
		f := strings.Fields(line)
		if i == 0 || len(f) < 4 {
			continue // header
		}
		out = append(out, psLine{pid: f[0], ppid: f[1], stat: f[2], args: strings.Join(f[3:], " ")})
	}
	return out
}

func hasProcess(ps []psLine, args string) bool {
	for _, p := range ps {
		if p.args == args {
			return true
		}
	}
	return false
}
