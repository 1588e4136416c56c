//go:build kubelet_e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestResources: requests and limits become the container's cgroup values,
// and a container that exceeds its memory limit is OOMKilled and restarted.
func TestResources(t *testing.T) {
	h.timed(t)
	limited := h.runPod(t, Pod{
		Metadata: ObjectMeta{Name: "resources"},
		Spec: PodSpec{Containers: []Container{{
			Name:    "main",
			Image:   busyboxImage,
			Command: shell("exec sleep 3600"),
			Resources: &Resources{
				Requests: map[string]string{"cpu": "250m", "memory": "64Mi"},
				Limits:   map[string]string{"cpu": "500m", "memory": "128Mi"},
			},
		}}},
	})
	// tail buffers a "line" of /dev/zero that never ends: it grows until
	// the memory cgroup's OOM killer ends it.
	oom := h.runPod(t, Pod{
		Metadata: ObjectMeta{Name: "oom"},
		Spec: PodSpec{Containers: []Container{{
			Name:    "main",
			Image:   busyboxImage,
			Command: shell("sleep 1; exec tail /dev/zero"),
			Resources: &Resources{
				Requests: map[string]string{"memory": "32Mi"},
				Limits:   map[string]string{"memory": "32Mi"},
			},
		}}},
	})

	t.Run("cgroup-values", func(t *testing.T) {
		p := limited.waitFor(t, 60*time.Second, "running", func(p *Pod) error {
			if m := p.Status.container("main"); m == nil || m.State.Running == nil {
				return fmt.Errorf("not running")
			}
			return nil
		})
		if p.Status.QOSClass != "Burstable" {
			t.Errorf("QoS class %q, want Burstable", p.Status.QOSClass)
		}
		id := stripRuntime(p.Status.container("main").ContainerID)
		want := map[string]int64{
			"cpu/cpu.shares":               256,       // 250m: 250*1024/1000
			"cpu/cpu.cfs_period_us":        100000,    // kubelet's default CFS period
			"cpu/cpu.cfs_quota_us":         50000,     // 500m of the period
			"memory/memory.limit_in_bytes": 134217728, // 128Mi
		}
		for file, v := range want {
			hierarchy, name, _ := strings.Cut(file, "/")
			dir, err := containerCgroup(hierarchy, p.Metadata.UID, id)
			if err != nil {
				t.Fatal(err)
			}
			got, err := readCgroupInt(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if got != v {
				t.Errorf("%s of container %s = %d, want %d", name, id, got, v)
			}
		}
		// The pod cgroup holds the pod's total limit too.
		podDir, err := podCgroup("memory", p.Metadata.UID)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := readCgroupInt(filepath.Join(podDir, "memory.limit_in_bytes")); err != nil || got != 134217728 {
			t.Errorf("pod cgroup memory.limit_in_bytes = %d (%v), want 134217728", got, err)
		}
	})

	t.Run("oom-killed", func(t *testing.T) {
		p := oom.waitFor(t, 60*time.Second, "OOMKilled and restarted", func(p *Pod) error {
			m := p.Status.container("main")
			if m == nil || m.RestartCount < 1 || m.LastState.Terminated == nil {
				return fmt.Errorf("not restarted yet")
			}
			return nil
		})
		m := p.Status.container("main")
		if m.LastState.Terminated.Reason != "OOMKilled" || m.LastState.Terminated.ExitCode != 137 {
			t.Errorf("last state: want OOMKilled with exit 137; status %s", statusJSON(p))
		}
		if p.Status.Phase != "Running" {
			t.Errorf("phase %q, want Running (restartPolicy Always)", p.Status.Phase)
		}
	})
}

// podCgroup finds the pod's cgroup directory in hierarchy: kubelet's
// cgroupfs layout is <cgroupRoot>/kubepods[/<qos>]/pod<uid>.
func podCgroup(hierarchy, podUID string) (string, error) {
	base := filepath.Join(cgroupV1Root, hierarchy, cgroupRoot, "kubepods")
	for _, d := range []string{
		filepath.Join(base, "pod"+podUID),
		filepath.Join(base, "burstable", "pod"+podUID),
		filepath.Join(base, "besteffort", "pod"+podUID),
	} {
		if _, err := os.Stat(d); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("no %s cgroup for pod %s below %s", hierarchy, podUID, base)
}

// containerCgroup finds the container's cgroup below its pod's: the
// runtime names it after the container ID.
func containerCgroup(hierarchy, podUID, containerID string) (string, error) {
	pod, err := podCgroup(hierarchy, podUID)
	if err != nil {
		return "", err
	}
	d := filepath.Join(pod, containerID)
	if _, err := os.Stat(d); err != nil {
		entries, _ := os.ReadDir(pod)
		var names []string
		for _, e := range entries {
			if e.IsDir() {
				names = append(names, e.Name())
			}
		}
		return "", fmt.Errorf("container %s has no cgroup in %s (has %v)", containerID, pod, names)
	}
	return d, nil
}

func readCgroupInt(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}
