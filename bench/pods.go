package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	cri "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// callTimeout bounds every CRI call of the benchmark (containerd's
// ListPodSandboxStats takes ~25 s at 200 pods on 2 cores).
const callTimeout = 2 * time.Minute

// containerCommand runs until SIGTERM and then exits at once: sh is PID 1
// of the container and traps TERM; no process wakes up while idle. (A TERM
// that arrives before sh has set its trap is ignored, as by any PID 1
// without a handler; the workloads give containers time to start first.)
var containerCommand = []string{"sh", "-c", "trap 'exit 0' TERM; sleep 86400 & wait"}

// Pod is a pod the benchmark started.
type Pod struct {
	Name       string
	UID        string
	ID         string
	Containers []string
	config     *cri.PodSandboxConfig
}

// StartTiming is the latency of each call that starts a pod. Create and
// Start add up all containers of the pod.
type StartTiming struct {
	Run, Create, Start, Total time.Duration
}

// StopTiming is the latency of each call that tears a pod down, in kubelet's
// order.
type StopTiming struct {
	StopContainer, StopPod, RemoveContainer, RemovePod, Total time.Duration
}

// sandboxConfig is a kubelet-like pod: its own pod cgroup below the
// runtime's parent (cgroupfs driver), pod network, container pid namespace,
// a log directory made beforehand.
func (r *Runtime) sandboxConfig(name, uid, logDir string) *cri.PodSandboxConfig {
	return &cri.PodSandboxConfig{
		Metadata:     &cri.PodSandboxMetadata{Name: name, Uid: uid, Namespace: "bench"},
		Hostname:     name,
		LogDirectory: logDir,
		Labels: map[string]string{
			"io.kubernetes.pod.name":      name,
			"io.kubernetes.pod.namespace": "bench",
			"io.kubernetes.pod.uid":       uid,
		},
		Annotations: map[string]string{"kubernetes.io/config.source": "api"},
		Linux: &cri.LinuxPodSandboxConfig{
			CgroupParent: r.CgroupParent + "/pod" + uid,
			SecurityContext: &cri.LinuxSandboxSecurityContext{
				NamespaceOptions: &cri.NamespaceOption{Network: cri.NamespaceMode_POD, Pid: cri.NamespaceMode_CONTAINER, Ipc: cri.NamespaceMode_POD},
			},
		},
	}
}

// containerConfig is a kubelet-like BestEffort container of image.
func containerConfig(pod *cri.PodSandboxConfig, name, image string) *cri.ContainerConfig {
	return &cri.ContainerConfig{
		Metadata: &cri.ContainerMetadata{Name: name},
		Image:    &cri.ImageSpec{Image: image, UserSpecifiedImage: image},
		Command:  containerCommand,
		LogPath:  filepath.Join(name, "0.log"),
		Labels: map[string]string{
			"io.kubernetes.container.name": name,
			"io.kubernetes.pod.name":       pod.Metadata.Name,
			"io.kubernetes.pod.namespace":  pod.Metadata.Namespace,
			"io.kubernetes.pod.uid":        pod.Metadata.Uid,
		},
		Linux: &cri.LinuxContainerConfig{
			Resources: &cri.LinuxContainerResources{CpuShares: 2, OomScoreAdj: 1000},
			SecurityContext: &cri.LinuxContainerSecurityContext{
				NamespaceOptions: pod.Linux.SecurityContext.NamespaceOptions,
			},
		},
	}
}

// startPod runs a sandbox and creates and starts n containers in it, as
// kubelet does, timing each call. On error the half-made pod is removed.
func (r *Runtime) startPod(ctx context.Context, name string, n int, image string) (Pod, StartTiming, error) {
	uid := fmt.Sprintf("%s-%s", r.Key, name)
	logDir, err := r.podLogDir(uid)
	if err != nil {
		return Pod{}, StartTiming{}, err
	}
	pod := Pod{Name: name, UID: uid, config: r.sandboxConfig(name, uid, logDir)}
	var cfgs []*cri.ContainerConfig
	for i := 0; i < n; i++ {
		c := containerConfig(pod.config, fmt.Sprintf("c%d", i), image)
		if err := os.MkdirAll(filepath.Join(logDir, c.Metadata.Name), 0o755); err != nil {
			return Pod{}, StartTiming{}, fmt.Errorf("container log dir: %w", err)
		}
		cfgs = append(cfgs, c)
	}
	var t StartTiming
	fail := func(step string, err error) (Pod, StartTiming, error) {
		if pod.ID != "" {
			cctx, cancel := context.WithTimeout(context.Background(), callTimeout)
			_, _ = r.RT.StopPodSandbox(cctx, &cri.StopPodSandboxRequest{PodSandboxId: pod.ID})
			_, _ = r.RT.RemovePodSandbox(cctx, &cri.RemovePodSandboxRequest{PodSandboxId: pod.ID})
			cancel()
		}
		return Pod{}, t, fmt.Errorf("%s: pod %s: %s: %w", r.Name, name, step, err)
	}

	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	t0 := time.Now()
	resp, err := r.RT.RunPodSandbox(cctx, &cri.RunPodSandboxRequest{Config: pod.config, RuntimeHandler: r.Handler})
	t.Run = time.Since(t0)
	if err != nil {
		return fail("RunPodSandbox", err)
	}
	pod.ID = resp.PodSandboxId
	for _, c := range cfgs {
		t0 = time.Now()
		cr, err := r.RT.CreateContainer(cctx, &cri.CreateContainerRequest{PodSandboxId: pod.ID, Config: c, SandboxConfig: pod.config})
		t.Create += time.Since(t0)
		if err != nil {
			return fail("CreateContainer", err)
		}
		pod.Containers = append(pod.Containers, cr.ContainerId)
		t0 = time.Now()
		_, err = r.RT.StartContainer(cctx, &cri.StartContainerRequest{ContainerId: cr.ContainerId})
		t.Start += time.Since(t0)
		if err != nil {
			return fail("StartContainer", err)
		}
	}
	t.Total = t.Run + t.Create + t.Start
	return pod, t, nil
}

// stopPod tears a pod down in kubelet's order, timing each call:
// StopContainer (10 s grace), StopPodSandbox, RemoveContainer,
// RemovePodSandbox.
func (r *Runtime) stopPod(ctx context.Context, pod Pod) (StopTiming, error) {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	var t StopTiming
	for _, id := range pod.Containers {
		t0 := time.Now()
		_, err := r.RT.StopContainer(cctx, &cri.StopContainerRequest{ContainerId: id, Timeout: 10})
		t.StopContainer += time.Since(t0)
		if err != nil {
			return t, fmt.Errorf("%s: StopContainer %s: %w", r.Name, id, err)
		}
	}
	t0 := time.Now()
	_, err := r.RT.StopPodSandbox(cctx, &cri.StopPodSandboxRequest{PodSandboxId: pod.ID})
	t.StopPod = time.Since(t0)
	if err != nil {
		return t, fmt.Errorf("%s: StopPodSandbox %s: %w", r.Name, pod.ID, err)
	}
	for _, id := range pod.Containers {
		t0 := time.Now()
		_, err := r.RT.RemoveContainer(cctx, &cri.RemoveContainerRequest{ContainerId: id})
		t.RemoveContainer += time.Since(t0)
		if err != nil {
			return t, fmt.Errorf("%s: RemoveContainer %s: %w", r.Name, id, err)
		}
	}
	t0 = time.Now()
	_, err = r.RT.RemovePodSandbox(cctx, &cri.RemovePodSandboxRequest{PodSandboxId: pod.ID})
	t.RemovePod = time.Since(t0)
	if err != nil {
		return t, fmt.Errorf("%s: RemovePodSandbox %s: %w", r.Name, pod.ID, err)
	}
	t.Total = t.StopContainer + t.StopPod + t.RemoveContainer + t.RemovePod
	_ = os.RemoveAll(filepath.Join(r.LogDir, pod.UID))
	return t, nil
}
