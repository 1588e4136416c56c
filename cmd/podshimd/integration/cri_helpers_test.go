package integration

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// callTimeout bounds one CRI call made by a test.
const callTimeout = 60 * time.Second

// rt and img are the shared podshimd's CRI clients.
func rt() criapi.RuntimeServiceClient { return env.podshimd.Runtime }
func img() criapi.ImageServiceClient  { return env.podshimd.Image }

// callCtx returns a context for one CRI call.
func callCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), callTimeout)
}

var podCounter atomic.Int64

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// podName makes a DNS-label pod name from the test's name.
func podName(t *testing.T) string {
	var b strings.Builder
	for _, r := range strings.ToLower(t.Name()) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	name := strings.Trim(b.String(), "-")
	if len(name) > 40 {
		name = name[:40]
	}
	return fmt.Sprintf("%s-%d", strings.TrimSuffix(name, "-"), podCounter.Add(1))
}

// podConfig returns a pod config as kubelet sends it for a plain pod: own
// network, IPC shared in the pod, a pid namespace per container, a log
// directory of its own.
func podConfig(t *testing.T) *criapi.PodSandboxConfig {
	name := podName(t)
	uid := randHex(8)
	return &criapi.PodSandboxConfig{
		Metadata:     &criapi.PodSandboxMetadata{Name: name, Namespace: podNamespace, Uid: uid},
		Hostname:     name,
		LogDirectory: filepath.Join(env.logDir, podNamespace+"_"+name+"_"+uid),
		Labels:       map[string]string{"io.kubernetes.pod.name": name, "itest": "true"},
		Annotations:  map[string]string{"itest/test": t.Name()},
		Linux: &criapi.LinuxPodSandboxConfig{
			SecurityContext: &criapi.LinuxSandboxSecurityContext{
				NamespaceOptions: &criapi.NamespaceOption{
					Network: criapi.NamespaceMode_POD,
					Pid:     criapi.NamespaceMode_CONTAINER,
					Ipc:     criapi.NamespaceMode_POD,
				},
			},
		},
	}
}

// containerConfig returns the config of a busybox container running cmd,
// logging to <name>/0.log, in the pid namespace mode of the pod.
func containerConfig(pod *criapi.PodSandboxConfig, name string, cmd ...string) *criapi.ContainerConfig {
	ns := pod.GetLinux().GetSecurityContext().GetNamespaceOptions()
	return &criapi.ContainerConfig{
		Metadata: &criapi.ContainerMetadata{Name: name},
		Image:    &criapi.ImageSpec{Image: busyboxImage},
		Command:  cmd,
		LogPath:  name + "/0.log",
		Labels:   map[string]string{"io.kubernetes.container.name": name},
		Linux: &criapi.LinuxContainerConfig{
			SecurityContext: &criapi.LinuxContainerSecurityContext{
				NamespaceOptions: &criapi.NamespaceOption{Network: ns.GetNetwork(), Pid: ns.GetPid(), Ipc: ns.GetIpc()},
			},
		},
	}
}

// runPod runs a pod sandbox and removes it when t ends.
func runPod(t *testing.T, cfg *criapi.PodSandboxConfig) string {
	t.Helper()
	ctx, cancel := callCtx()
	defer cancel()
	resp, err := rt().RunPodSandbox(ctx, &criapi.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		t.Fatalf("RunPodSandbox %s: %v", cfg.Metadata.Name, err)
	}
	id := resp.PodSandboxId
	t.Cleanup(func() { removePod(t, id) })
	return id
}

// removePod stops and removes a pod (idempotent) and fails t on error.
func removePod(t *testing.T, id string) {
	t.Helper()
	ctx, cancel := callCtx()
	defer cancel()
	if _, err := rt().StopPodSandbox(ctx, &criapi.StopPodSandboxRequest{PodSandboxId: id}); err != nil {
		t.Errorf("cleanup: StopPodSandbox %s: %v", id, err)
	}
	if _, err := rt().RemovePodSandbox(ctx, &criapi.RemovePodSandboxRequest{PodSandboxId: id}); err != nil {
		t.Errorf("cleanup: RemovePodSandbox %s: %v", id, err)
	}
}

// createContainer creates a container in a pod.
func createContainer(t *testing.T, podID string, pod *criapi.PodSandboxConfig, cfg *criapi.ContainerConfig) string {
	t.Helper()
	ctx, cancel := callCtx()
	defer cancel()
	resp, err := rt().CreateContainer(ctx, &criapi.CreateContainerRequest{PodSandboxId: podID, Config: cfg, SandboxConfig: pod})
	if err != nil {
		t.Fatalf("CreateContainer %s: %v", cfg.Metadata.Name, err)
	}
	return resp.ContainerId
}

// startContainer starts a created container.
func startContainer(t *testing.T, id string) {
	t.Helper()
	ctx, cancel := callCtx()
	defer cancel()
	if _, err := rt().StartContainer(ctx, &criapi.StartContainerRequest{ContainerId: id}); err != nil {
		t.Fatalf("StartContainer %s: %v", id, err)
	}
}

// runContainer creates and starts a container.
func runContainer(t *testing.T, podID string, pod *criapi.PodSandboxConfig, cfg *criapi.ContainerConfig) string {
	t.Helper()
	id := createContainer(t, podID, pod, cfg)
	startContainer(t, id)
	return id
}

// containerStatus returns a container's CRI status.
func containerStatus(t *testing.T, id string) *criapi.ContainerStatus {
	t.Helper()
	ctx, cancel := callCtx()
	defer cancel()
	resp, err := rt().ContainerStatus(ctx, &criapi.ContainerStatusRequest{ContainerId: id})
	if err != nil {
		t.Fatalf("ContainerStatus %s: %v", id, err)
	}
	return resp.Status
}

// containerPid returns the host pid of a running container's process, from
// the verbose status.
func containerPid(t *testing.T, id string) int {
	t.Helper()
	ctx, cancel := callCtx()
	defer cancel()
	resp, err := rt().ContainerStatus(ctx, &criapi.ContainerStatusRequest{ContainerId: id, Verbose: true})
	if err != nil {
		t.Fatalf("ContainerStatus %s: %v", id, err)
	}
	var info struct {
		Pid int `json:"pid"`
	}
	if err := json.Unmarshal([]byte(resp.Info["info"]), &info); err != nil || info.Pid <= 0 {
		t.Fatalf("container %s verbose info has no pid (%v): %q", id, err, resp.Info["info"])
	}
	return info.Pid
}

// sandboxInfo is what the verbose PodSandboxStatus tells about a pod.
type sandboxInfo struct {
	Pid         int    `json:"pid"`
	NetNSPath   string `json:"netNamespacePath"`
	CgroupsPath string `json:"cgroupsPath"`
}

// podStatus returns a pod's CRI status and verbose info.
func podStatus(t *testing.T, id string) (*criapi.PodSandboxStatus, sandboxInfo) {
	t.Helper()
	ctx, cancel := callCtx()
	defer cancel()
	resp, err := rt().PodSandboxStatus(ctx, &criapi.PodSandboxStatusRequest{PodSandboxId: id, Verbose: true})
	if err != nil {
		t.Fatalf("PodSandboxStatus %s: %v", id, err)
	}
	var info sandboxInfo
	if err := json.Unmarshal([]byte(resp.Info["info"]), &info); err != nil {
		t.Fatalf("pod %s verbose info: %v: %q", id, err, resp.Info["info"])
	}
	return resp.Status, info
}

// waitFor polls cond until it holds or timeout passes, then fails t with
// what cond last said.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: %s", timeout, what, detail)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitExited waits until a container has exited and returns its status.
func waitExited(t *testing.T, id string, timeout time.Duration) *criapi.ContainerStatus {
	t.Helper()
	var st *criapi.ContainerStatus
	waitFor(t, timeout, "container "+id+" to exit", func() (bool, string) {
		st = containerStatus(t, id)
		return st.State == criapi.ContainerState_CONTAINER_EXITED, st.State.String()
	})
	return st
}

// execResult is the outcome of ExecSync.
type execResult struct {
	stdout, stderr string
	code           int32
}

// execSync runs cmd in a container and fails t if the call fails.
func execSync(t *testing.T, id string, cmd ...string) execResult {
	t.Helper()
	ctx, cancel := callCtx()
	defer cancel()
	resp, err := rt().ExecSync(ctx, &criapi.ExecSyncRequest{ContainerId: id, Cmd: cmd, Timeout: 30})
	if err != nil {
		t.Fatalf("ExecSync %v in %s: %v", cmd, id, err)
	}
	return execResult{stdout: string(resp.Stdout), stderr: string(resp.Stderr), code: resp.ExitCode}
}

// execOK runs cmd, requires exit code 0 and returns stdout.
func execOK(t *testing.T, id string, cmd ...string) string {
	t.Helper()
	r := execSync(t, id, cmd...)
	if r.code != 0 {
		t.Fatalf("ExecSync %v in %s: exit code %d, stdout %q, stderr %q", cmd, id, r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// grpcCode is the gRPC status code of err (OK for nil).
func grpcCode(err error) codes.Code {
	return status.Code(err)
}

// waitForOutput runs cmd in a container until its stdout contains want.
func waitForOutput(t *testing.T, id string, timeout time.Duration, want string, cmd ...string) {
	t.Helper()
	waitFor(t, timeout, fmt.Sprintf("%v to print %q", cmd, want), func() (bool, string) {
		r := execSync(t, id, cmd...)
		return strings.Contains(r.stdout, want), fmt.Sprintf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	})
}
