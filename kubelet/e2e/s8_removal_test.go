//go:build kubelet_e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestPodRemovalLeavesNothing: removing the manifest stops and removes the
// pod: no sandbox, no container, no network namespace, no IP reservation,
// no veth, no mount, no pod cgroup, no pod directory, no logs are left.
func TestPodRemovalLeavesNothing(t *testing.T) {
	h.timed(t)
	ctx := context.Background()
	pod := h.runPod(t, Pod{
		Metadata: ObjectMeta{Name: "removal"},
		Spec: PodSpec{
			// A memory-backed emptyDir is a tmpfs kubelet mounts: one more
			// mount that has to go.
			Volumes: []Volume{{Name: "scratch", EmptyDir: &EmptyDir{Medium: "Memory"}}},
			Containers: []Container{
				{Name: "a", Image: busyboxImage, Command: shell("exec sleep 3600"),
					VolumeMounts: []VolumeMount{{Name: "scratch", MountPath: "/scratch"}}},
				{Name: "b", Image: busyboxImage, Command: shell("exec sleep 3600")},
			},
		},
	})
	p := pod.waitFor(t, 60*time.Second, "running", func(p *Pod) error {
		for _, c := range []string{"a", "b"} {
			if s := p.Status.container(c); s == nil || s.State.Running == nil {
				return fmt.Errorf("%s not running", c)
			}
		}
		if p.Status.PodIP == "" {
			return fmt.Errorf("no pod IP")
		}
		return nil
	})
	uid, podIP := p.Metadata.UID, p.Status.PodIP

	// What the pod holds while it runs; each must be found, so that its
	// absence later means something.
	sandboxes, err := h.cri.sandboxesOf(ctx, uid)
	if err != nil || len(sandboxes) != 1 {
		t.Fatalf("want 1 sandbox for the pod, got %d (%v)", len(sandboxes), err)
	}
	sandboxID := sandboxes[0].Id
	containers, err := h.cri.containersOf(ctx, uid)
	if err != nil || len(containers) != 2 {
		t.Fatalf("want 2 containers for the pod, got %d (%v)", len(containers), err)
	}
	ids := []string{uid, sandboxID}
	for _, c := range containers {
		ids = append(ids, c.Id)
	}
	var netns string
	for path, ip := range podNetnsPaths() {
		if ip == podIP {
			netns = path
		}
	}
	if netns == "" {
		t.Fatalf("no pinned network namespace holds the pod IP %s", podIP)
	}
	veth, err := hostVeth(netns)
	if err != nil {
		t.Fatal(err)
	}
	if !ipReserved(h.paths.ipamDir, podIP) {
		t.Fatalf("host-local has no reservation for the pod IP %s", podIP)
	}
	if m := mountsMatching(ids...); len(m) == 0 {
		t.Fatalf("found no mounts of the pod (looked for %v)", ids)
	}
	if _, err := podCgroup("memory", uid); err != nil {
		t.Fatal(err)
	}
	podDir := filepath.Join(h.paths.kubeletRoot, "pods", uid)
	logDirs, _ := filepath.Glob(filepath.Join(h.paths.podLogs, "*_"+pod.fullName()+"_"+uid))
	if len(logDirs) != 1 {
		t.Fatalf("want the pod's log directory, found %v", logDirs)
	}
	t.Logf("pod %s: sandbox %s, IP %s, netns %s, veth %s", uid, sandboxID, podIP, netns, veth)

	pod.remove(t)
	start := time.Now()
	// kubelet stops the pod at once; it removes stopped sandboxes in its
	// container garbage collection, which runs once a minute.
	waitUntil(t, 90*time.Second, "everything of the pod removed", func() error {
		var left []string
		if s, err := h.cri.sandboxesOf(ctx, uid); err != nil || len(s) > 0 {
			left = append(left, fmt.Sprintf("%d sandboxes (%v)", len(s), err))
		}
		if c, err := h.cri.containersOf(ctx, uid); err != nil || len(c) > 0 {
			left = append(left, fmt.Sprintf("%d containers (%v)", len(c), err))
		}
		if ns, _ := nsfsMounts(); contains(ns, netns) {
			left = append(left, "netns mount "+netns)
		}
		if _, err := os.Stat(netns); err == nil {
			left = append(left, "netns file "+netns)
		}
		if ipReserved(h.paths.ipamDir, podIP) {
			left = append(left, "IP reservation "+podIP)
		}
		if _, err := os.Stat(filepath.Join("/sys/class/net", veth)); err == nil {
			left = append(left, "veth "+veth)
		}
		if m := mountsMatching(ids...); len(m) > 0 {
			left = append(left, fmt.Sprintf("mounts %v", m))
		}
		for _, hierarchy := range []string{"cpu", "memory", "pids"} {
			if d, err := podCgroup(hierarchy, uid); err == nil {
				left = append(left, "cgroup "+d)
			}
		}
		if _, err := os.Stat(podDir); err == nil {
			left = append(left, "kubelet pod dir "+podDir)
		}
		if _, err := os.Stat(logDirs[0]); err == nil {
			left = append(left, "log dir "+logDirs[0])
		}
		if l := logSymlinksOf(pod.fullName()); len(l) > 0 {
			left = append(left, fmt.Sprintf("log links %v", l))
		}
		if len(left) > 0 {
			return fmt.Errorf("left: %s", strings.Join(left, "; "))
		}
		return nil
	})
	t.Logf("pod fully removed %.1fs after its manifest", time.Since(start).Seconds())
}

// hostVeth returns the host-side name of the veth whose peer is eth0 in the
// network namespace at netns ("eth0@if12" names the peer's ifindex).
func hostVeth(netns string) (string, error) {
	out, err := exec.Command("nsenter", "--net="+netns, "ip", "-o", "link", "show", "eth0").Output()
	if err != nil {
		return "", fmt.Errorf("eth0 in %s: %w", netns, err)
	}
	m := regexp.MustCompile(`eth0@if(\d+)`).FindStringSubmatch(string(out))
	if m == nil {
		return "", fmt.Errorf("eth0 in %s has no veth peer: %s", netns, out)
	}
	entries, _ := os.ReadDir("/sys/class/net")
	for _, e := range entries {
		idx, err := os.ReadFile(filepath.Join("/sys/class/net", e.Name(), "ifindex"))
		if err == nil && strings.TrimSpace(string(idx)) == m[1] {
			return e.Name(), nil
		}
	}
	return "", fmt.Errorf("no host interface with ifindex %s", m[1])
}

// logSymlinksOf lists kubelet's /var/log/containers links of a pod.
func logSymlinksOf(podFullName string) []string {
	l, _ := filepath.Glob(filepath.Join(containerLogSymlinksDir, podFullName+"_*"))
	return l
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
