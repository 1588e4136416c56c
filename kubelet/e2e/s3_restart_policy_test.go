//go:build kubelet_e2e

package e2e

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestRestartPolicyAndPhases is the table of the seeds: a container exiting
// 0 or 1 under each restart policy gives the restart count and pod phase
// Kubernetes defines; then two-container pods where one container fails.
func TestRestartPolicyAndPhases(t *testing.T) {
	h.timed(t)
	type want struct {
		phase    string
		restarts bool // the container is restarted (count >= 1), else count stays 0
		reason   string
	}
	cases := []struct {
		name   string
		policy string
		exit   int
		want   want
	}{
		{"always-exit0", "Always", 0, want{"Running", true, "Completed"}},
		{"always-exit1", "Always", 1, want{"Running", true, "Error"}},
		{"onfailure-exit0", "OnFailure", 0, want{"Succeeded", false, "Completed"}},
		{"onfailure-exit1", "OnFailure", 1, want{"Running", true, "Error"}},
		{"never-exit0", "Never", 0, want{"Succeeded", false, "Completed"}},
		{"never-exit1", "Never", 1, want{"Failed", false, "Error"}},
	}
	pods := map[string]*podRef{}
	for _, c := range cases {
		pods[c.name] = h.runPod(t, Pod{
			Metadata: ObjectMeta{Name: "policy-" + c.name},
			Spec: PodSpec{
				RestartPolicy: c.policy,
				Containers: []Container{{
					Name:    "main",
					Image:   busyboxImage,
					Command: shell(fmt.Sprintf("sleep 1; exit %d", c.exit)),
				}},
			},
		})
	}
	// Two containers, restartPolicy Never: "fails" exits 1 at once, "works"
	// exits 0 after 6s. The pod is Running while "works" runs, then Failed.
	twoNever := h.runPod(t, Pod{
		Metadata: ObjectMeta{Name: "policy-two-never"},
		Spec: PodSpec{
			RestartPolicy: "Never",
			Containers: []Container{
				{Name: "fails", Image: busyboxImage, Command: shell("exit 1")},
				{Name: "works", Image: busyboxImage, Command: shell("sleep 6; exit 0")},
			},
		},
	})
	// Two containers, restartPolicy Always: only the failing one restarts.
	twoAlways := h.runPod(t, Pod{
		Metadata: ObjectMeta{Name: "policy-two-always"},
		Spec: PodSpec{
			RestartPolicy: "Always",
			Containers: []Container{
				{Name: "fails", Image: busyboxImage, Command: shell("sleep 1; exit 1")},
				{Name: "works", Image: busyboxImage, Command: shell("exec sleep 3600")},
			},
		},
	})

	var wg sync.WaitGroup
	for _, c := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(c.name, func(t *testing.T) {
				p := pods[c.name].waitFor(t, 60*time.Second, fmt.Sprintf("phase %s", c.want.phase), func(p *Pod) error {
					m := p.Status.container("main")
					if m == nil {
						return fmt.Errorf("no status for main")
					}
					if p.Status.Phase != c.want.phase {
						return fmt.Errorf("phase %q", p.Status.Phase)
					}
					if c.want.restarts && m.RestartCount < 1 {
						return fmt.Errorf("not restarted yet")
					}
					return nil
				})
				m := p.Status.container("main")
				last := m.State.Terminated
				if c.want.restarts {
					last = m.LastState.Terminated
				}
				if last == nil || last.ExitCode != c.exit || last.Reason != c.want.reason {
					t.Errorf("want a terminated state with exit %d, reason %s; status %s", c.exit, c.want.reason, statusJSON(p))
				}
				if !c.want.restarts {
					// Long enough for kubelet to have restarted it (it restarts
					// a first exit at once): it must not.
					holdsFor(t, 3*time.Second, "no restart", func() error {
						p, err := pods[c.name].get()
						if err != nil || p == nil {
							return fmt.Errorf("pod gone: %v", err)
						}
						if m := p.Status.container("main"); m == nil || m.RestartCount != 0 || p.Status.Phase != c.want.phase {
							return fmt.Errorf("status changed: %s", statusJSON(p))
						}
						return nil
					})
				}
			})
		}()
	}

	wg.Add(2)
	go func() {
		defer wg.Done()
		t.Run("two-containers-never", func(t *testing.T) {
			twoNever.waitFor(t, 30*time.Second, "Running with one container failed", func(p *Pod) error {
				f, w := p.Status.container("fails"), p.Status.container("works")
				if f == nil || w == nil || f.State.Terminated == nil || w.State.Running == nil {
					return fmt.Errorf("not yet: %s", statusJSON(p))
				}
				if p.Status.Phase != "Running" {
					return fmt.Errorf("%w: phase %q while one container still runs", errStop, p.Status.Phase)
				}
				return nil
			})
			p := twoNever.waitFor(t, 30*time.Second, "Failed once both exited", func(p *Pod) error {
				if p.Status.Phase != "Failed" {
					return fmt.Errorf("phase %q", p.Status.Phase)
				}
				return nil
			})
			f, w := p.Status.container("fails"), p.Status.container("works")
			if f.RestartCount != 0 || w.RestartCount != 0 {
				t.Errorf("restartPolicy Never restarted a container: %s", statusJSON(p))
			}
			if f.State.Terminated == nil || f.State.Terminated.ExitCode != 1 || w.State.Terminated == nil || w.State.Terminated.ExitCode != 0 {
				t.Errorf("want exits 1 and 0: %s", statusJSON(p))
			}
		})
	}()
	go func() {
		defer wg.Done()
		t.Run("two-containers-always", func(t *testing.T) {
			p := twoAlways.waitFor(t, 60*time.Second, "the failing container restarted", func(p *Pod) error {
				f := p.Status.container("fails")
				if f == nil || f.RestartCount < 1 {
					return fmt.Errorf("not restarted yet")
				}
				return nil
			})
			w := p.Status.container("works")
			if p.Status.Phase != "Running" || w == nil || w.RestartCount != 0 || w.State.Running == nil {
				t.Errorf("want phase Running and the healthy container running, never restarted: %s", statusJSON(p))
			}
		})
	}()
	wg.Wait()
}
