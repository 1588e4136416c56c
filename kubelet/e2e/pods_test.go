//go:build kubelet_e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// podRef is a static pod a test wrote into kubelet's manifest directory.
type podRef struct {
	h        *harness
	name     string // metadata.name; kubelet calls it name-<node>
	manifest string
	uid      string // known once kubelet has reported the pod
}

// defaultGracePeriod keeps pod deletion short: the test containers are
// shells that mostly ignore SIGTERM.
const defaultGracePeriod int64 = 2

// runPod writes pod as a static pod manifest and returns its handle. The
// manifest is written as a dot-file (kubelet ignores those) and renamed into
// place, so kubelet never reads half of it. At the end of the test the
// manifest is removed and the pod awaited until the runtime has stopped it.
func (h *harness) runPod(t *testing.T, pod Pod) *podRef {
	t.Helper()
	pod.APIVersion, pod.Kind = "v1", "Pod"
	if pod.Metadata.Namespace == "" {
		pod.Metadata.Namespace = "default"
	}
	if pod.Spec.TerminationGracePeriodSeconds == nil {
		g := defaultGracePeriod
		pod.Spec.TerminationGracePeriodSeconds = &g
	}
	b, err := json.MarshalIndent(pod, "", "  ")
	if err != nil {
		t.Fatalf("manifest %s: %v", pod.Metadata.Name, err)
	}
	p := &podRef{h: h, name: pod.Metadata.Name, manifest: filepath.Join(h.paths.manifests, pod.Metadata.Name+".json")}
	tmp := filepath.Join(h.paths.manifests, "."+pod.Metadata.Name+".json")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatalf("write manifest: %v", err)
	}
	if err := os.Rename(tmp, p.manifest); err != nil {
		t.Fatalf("rename manifest: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			p.logContainerLogs(t)
		}
		p.remove(t)
		p.waitStopped(t, 60*time.Second)
	})
	return p
}

// logContainerLogs puts the tail of every container log of the pod into the
// test's output, to explain a failure.
func (p *podRef) logContainerLogs(t *testing.T) {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join(p.h.paths.podLogs, "*_"+p.fullName()+"_*", "*"))
	for _, d := range dirs {
		files, _ := filepath.Glob(filepath.Join(d, "*.log"))
		for _, f := range files {
			t.Logf("log %s:\n%s", strings.TrimPrefix(f, p.h.paths.podLogs+"/"), fileTail(f, 1500))
		}
	}
}

// fullName is the pod's name as kubelet reports it.
func (p *podRef) fullName() string { return p.name + "-" + nodeName }

// get returns the pod as kubelet's /pods reports it, or nil if absent.
func (p *podRef) get() (*Pod, error) {
	body, err := httpGet(context.Background(), p.h.kubelet.podsURL)
	if err != nil {
		return nil, err
	}
	var list PodList
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("decode /pods: %w", err)
	}
	for i := range list.Items {
		if list.Items[i].Metadata.Name == p.fullName() {
			if p.uid == "" {
				p.uid = list.Items[i].Metadata.UID
			}
			return &list.Items[i], nil
		}
	}
	return nil, nil
}

// waitFor polls /pods until cond accepts the pod, failing the test at
// timeout with the condition's last complaint and the pod's status.
func (p *podRef) waitFor(t *testing.T, timeout time.Duration, what string, cond func(*Pod) error) *Pod {
	t.Helper()
	var last *Pod
	err := poll(context.Background(), timeout, func() error {
		pod, err := p.get()
		if err != nil {
			return err
		}
		if pod == nil {
			return fmt.Errorf("pod %s not in /pods", p.fullName())
		}
		last = pod
		return cond(pod)
	})
	if err != nil {
		t.Fatalf("pod %s: waiting for %s: %v\nstatus: %s", p.name, what, err, statusJSON(last))
	}
	return last
}

// remove deletes the manifest: kubelet then stops and removes the pod.
func (p *podRef) remove(t *testing.T) {
	t.Helper()
	if err := os.Remove(p.manifest); err != nil && !os.IsNotExist(err) {
		t.Errorf("remove manifest: %v", err)
	}
}

// waitStopped waits until the runtime runs nothing of the pod: no running
// container, no ready sandbox.
func (p *podRef) waitStopped(t *testing.T, timeout time.Duration) {
	t.Helper()
	if p.uid == "" {
		if _, err := p.get(); err != nil || p.uid == "" {
			return // kubelet never reported it; nothing was started
		}
	}
	waitUntil(t, timeout, "pod "+p.name+" stopped by the runtime", func() error {
		return p.h.podStopped(p.uid)
	})
}

// podStopped says why the runtime still runs something of the pod, or nil.
func (h *harness) podStopped(uid string) error {
	ctx := context.Background()
	cs, err := h.cri.containersOf(ctx, uid)
	if err != nil {
		return err
	}
	for _, c := range cs {
		if c.State == runtimeapi.ContainerState_CONTAINER_RUNNING {
			return fmt.Errorf("container %s still running", c.Metadata.GetName())
		}
	}
	ss, err := h.cri.sandboxesOf(ctx, uid)
	if err != nil {
		return err
	}
	for _, s := range ss {
		if s.State == runtimeapi.PodSandboxState_SANDBOX_READY {
			return fmt.Errorf("sandbox %s still ready", s.Id)
		}
	}
	return nil
}

func statusJSON(p *Pod) string {
	if p == nil {
		return "(never seen)"
	}
	b, _ := json.Marshal(p.Status)
	return string(b)
}

// stripRuntime turns "containerd://<id>" into "<id>".
func stripRuntime(containerID string) string {
	if _, id, ok := strings.Cut(containerID, "://"); ok {
		return id
	}
	return containerID
}

// shell makes a container command running script with busybox's sh.
func shell(script string) []string { return []string{"sh", "-c", script} }

// hostDir creates a directory for hostPath volumes of the current test and
// returns its path.
func (h *harness) hostDir(t *testing.T, name string) string {
	t.Helper()
	d := filepath.Join(h.paths.volumes, t.Name(), name)
	if err := os.MkdirAll(d, 0o777); err != nil {
		t.Fatalf("host dir: %v", err)
	}
	return d
}

// hostPathVolume is a hostPath volume of an existing directory.
func hostPathVolume(name, dir string) Volume {
	return Volume{Name: name, HostPath: &HostPath{Path: dir, Type: "Directory"}}
}

// readFile returns a file's contents, or "" when it does not exist yet.
func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatalf("read %s: %v", path, err)
	}
	return string(b)
}
