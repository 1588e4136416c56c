//go:build kubelet_e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestInitContainers: an init container prepares a file that the app
// container reads; the app never starts before its init container
// succeeded; a failing init container is retried and keeps the pod from
// starting.
func TestInitContainers(t *testing.T) {
	h.timed(t)

	// 1. The init container writes into a shared emptyDir, then the app
	// reads it. The app notes whether the file was there when it started.
	okOut := h.hostDir(t, "ok")
	okPod := h.runPod(t, Pod{
		Metadata: ObjectMeta{Name: "init-ok"},
		Spec: PodSpec{
			Volumes: []Volume{{Name: "work", EmptyDir: &EmptyDir{}}, hostPathVolume("out", okOut)},
			InitContainers: []Container{{
				Name:         "prepare",
				Image:        busyboxImage,
				Command:      shell(`sleep 2; echo prepared-by-init > /work/ready`),
				VolumeMounts: []VolumeMount{{Name: "work", MountPath: "/work"}},
			}},
			Containers: []Container{{
				Name:         "app",
				Image:        busyboxImage,
				Command:      shell(`cat /work/ready > /out/app-saw 2>&1 || echo missing >> /out/app-saw; exec sleep 3600`),
				VolumeMounts: []VolumeMount{{Name: "work", MountPath: "/work"}, {Name: "out", MountPath: "/out"}},
			}},
		},
	})

	// 2. The init container fails on its first run and succeeds on its
	// second (it counts its runs in a hostPath file): kubelet retries it,
	// and only then starts the app.
	retryOut := h.hostDir(t, "retry")
	retryPod := h.runPod(t, Pod{
		Metadata: ObjectMeta{Name: "init-retry"},
		Spec: PodSpec{
			Volumes: []Volume{hostPathVolume("out", retryOut)},
			InitContainers: []Container{{
				Name:  "flaky",
				Image: busyboxImage,
				Command: shell(`n=$(cat /out/runs 2>/dev/null || echo 0); n=$((n+1)); echo $n > /out/runs
[ "$n" -ge 2 ] || exit 3`),
				VolumeMounts: []VolumeMount{{Name: "out", MountPath: "/out"}},
			}},
			Containers: []Container{{
				Name:         "app",
				Image:        busyboxImage,
				Command:      shell(`echo "started after $(cat /out/runs) init runs" > /out/app-started; exec sleep 3600`),
				VolumeMounts: []VolumeMount{{Name: "out", MountPath: "/out"}},
			}},
		},
	})

	// 3. The init container always fails: the app must never start.
	failOut := h.hostDir(t, "fail")
	failPod := h.runPod(t, Pod{
		Metadata: ObjectMeta{Name: "init-fail"},
		Spec: PodSpec{
			Volumes: []Volume{hostPathVolume("out", failOut)},
			InitContainers: []Container{{
				Name:    "broken",
				Image:   busyboxImage,
				Command: shell(`echo failing; exit 1`),
			}},
			Containers: []Container{{
				Name:         "app",
				Image:        busyboxImage,
				Command:      shell(`touch /out/app-started; exec sleep 3600`),
				VolumeMounts: []VolumeMount{{Name: "out", MountPath: "/out"}},
			}},
		},
	})

	// 1: the app saw the init container's file, and started after the init
	// container had finished successfully.
	p := okPod.waitFor(t, 60*time.Second, "init done and app running", func(p *Pod) error {
		app := p.Status.container("app")
		if p.Status.Phase != "Running" || app == nil || app.State.Running == nil {
			return fmt.Errorf("phase %q, app not running", p.Status.Phase)
		}
		return nil
	})
	prep := p.Status.initContainer("prepare")
	if prep == nil || prep.State.Terminated == nil || prep.State.Terminated.ExitCode != 0 || prep.State.Terminated.Reason != "Completed" {
		t.Fatalf("init container prepare: want terminated, exit 0, Completed; status %s", statusJSON(p))
	}
	app := p.Status.container("app")
	if app.State.Running.StartedAt.Before(prep.State.Terminated.FinishedAt) {
		t.Errorf("app started at %s, before its init container finished at %s",
			app.State.Running.StartedAt, prep.State.Terminated.FinishedAt)
	}
	waitUntil(t, 10*time.Second, "the app's report", func() error {
		if readFile(t, filepath.Join(okOut, "app-saw")) == "" {
			return fmt.Errorf("no report yet")
		}
		return nil
	})
	if got := strings.TrimSpace(readFile(t, filepath.Join(okOut, "app-saw"))); got != "prepared-by-init" {
		t.Errorf("the app saw %q in the shared volume, want the init container's %q", got, "prepared-by-init")
	}

	// 2: one failed run (exit 3), one retry that succeeded, then the app.
	p = retryPod.waitFor(t, 60*time.Second, "the flaky init container retried and the app running", func(p *Pod) error {
		app := p.Status.container("app")
		if p.Status.Phase != "Running" || app == nil || app.State.Running == nil {
			return fmt.Errorf("phase %q, app not running", p.Status.Phase)
		}
		return nil
	})
	flaky := p.Status.initContainer("flaky")
	if flaky == nil || flaky.RestartCount < 1 || flaky.State.Terminated == nil || flaky.State.Terminated.ExitCode != 0 {
		t.Errorf("init container flaky: want a restart and a final exit 0; status %s", statusJSON(p))
	}
	waitUntil(t, 10*time.Second, "the app's report", func() error {
		if readFile(t, filepath.Join(retryOut, "app-started")) == "" {
			return fmt.Errorf("no report yet")
		}
		return nil
	})
	if got := strings.TrimSpace(readFile(t, filepath.Join(retryOut, "app-started"))); got != "started after 2 init runs" {
		t.Errorf("app reports %q, want %q", got, "started after 2 init runs")
	}

	// 3: the init container is retried again and again; the pod stays
	// Pending and the app never runs.
	neverStarted := func(p *Pod) error {
		if p.Status.Phase != "Pending" {
			return fmt.Errorf("phase %q, want Pending", p.Status.Phase)
		}
		if app := p.Status.container("app"); app != nil && (app.State.Running != nil || app.State.Terminated != nil) {
			return fmt.Errorf("app container ran: %s", statusJSON(p))
		}
		if _, err := os.Stat(filepath.Join(failOut, "app-started")); err == nil {
			return fmt.Errorf("the app container ran (it left its marker)")
		}
		return nil
	}
	p = failPod.waitFor(t, 60*time.Second, "the failing init container retried twice", func(p *Pod) error {
		if err := neverStarted(p); err != nil {
			return fmt.Errorf("%w: %v", errStop, err)
		}
		broken := p.Status.initContainer("broken")
		if broken == nil || broken.RestartCount < 2 {
			return fmt.Errorf("init container not retried twice yet")
		}
		return nil
	})
	broken := p.Status.initContainer("broken")
	last := broken.LastState.Terminated
	if last == nil || last.ExitCode != 1 || last.Reason != "Error" {
		t.Errorf("init container broken: want last state exit 1, Error; status %s", statusJSON(p))
	}
	if app := p.Status.container("app"); app == nil || app.State.Waiting == nil || app.State.Waiting.Reason != "PodInitializing" {
		t.Errorf("app container: want waiting with PodInitializing; status %s", statusJSON(p))
	}
}
