package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/namespaces"
	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/critest/testenv"
)

// pauselessName is the podshimd of the pause-less tests (--pauseless), on
// containerd namespace "podshim-"+pauselessName.
const pauselessName = "pauseless"

// pauselessInfo is the verbose PodSandboxStatus of a pause-less pod.
type pauselessInfo struct {
	Pid       int    `json:"pid"`
	NetNSPath string `json:"netNamespacePath"`
	Pauseless bool   `json:"pauseless"`
	IPCNSPath string `json:"ipcNamespacePath"`
	UTSNSPath string `json:"utsNamespacePath"`
}

func pauselessStatus(t *testing.T, p *testenv.Podshimd, id string) (*criapi.PodSandboxStatus, pauselessInfo) {
	t.Helper()
	ctx, cancel := callCtx()
	defer cancel()
	resp := res(p.Runtime.PodSandboxStatus(ctx, &criapi.PodSandboxStatusRequest{PodSandboxId: id, Verbose: true})).must(t, "PodSandboxStatus")
	var info pauselessInfo
	if err := json.Unmarshal([]byte(resp.Info["info"]), &info); err != nil {
		t.Fatalf("pod %s verbose info: %v", id, err)
	}
	return resp.Status, info
}

func runIn(t *testing.T, p *testenv.Podshimd, podID string, pod *criapi.PodSandboxConfig, name string) (id string, pid int) {
	t.Helper()
	ctx, cancel := callCtx()
	defer cancel()
	c := res(p.Runtime.CreateContainer(ctx, &criapi.CreateContainerRequest{
		PodSandboxId: podID, Config: containerConfig(pod, name, "sleep", "3600"), SandboxConfig: pod})).must(t, "CreateContainer "+name)
	res(p.Runtime.StartContainer(ctx, &criapi.StartContainerRequest{ContainerId: c.ContainerId})).must(t, "StartContainer "+name)
	st := res(p.Runtime.ContainerStatus(ctx, &criapi.ContainerStatusRequest{ContainerId: c.ContainerId, Verbose: true})).must(t, "ContainerStatus")
	var info struct {
		Pid int `json:"pid"`
	}
	if err := json.Unmarshal([]byte(st.Info["info"]), &info); err != nil || info.Pid <= 0 {
		t.Fatalf("container %s has no pid: %v %q", name, err, st.Info["info"])
	}
	return c.ContainerId, info.Pid
}

func execIn(t *testing.T, p *testenv.Podshimd, id string, cmd ...string) string {
	t.Helper()
	ctx, cancel := callCtx()
	defer cancel()
	r := res(p.Runtime.ExecSync(ctx, &criapi.ExecSyncRequest{ContainerId: id, Cmd: cmd, Timeout: 20})).must(t, fmt.Sprint("ExecSync ", cmd))
	if r.ExitCode != 0 {
		t.Fatalf("ExecSync %v: exit %d: %s%s", cmd, r.ExitCode, r.Stdout, r.Stderr)
	}
	return strings.TrimSpace(string(r.Stdout))
}

// nsIno is the inode of a namespace file (equal inodes: same namespace).
func nsIno(t *testing.T, path string) uint64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatalf("stat %s: %v", path, err)
	}
	return st.Ino
}

// TestPauseless runs a podshimd with --pauseless: a pod with two containers
// and no pause container or process, whose containers share the pinned
// IPC, UTS and network namespaces, hostname, sysctls and /dev/shm; it stays
// READY across a podshimd restart (its shim kept), reports stats, and
// Stop and Remove leave nothing. A pod sharing its PID namespace still
// gets a pause.
func TestPauseless(t *testing.T) {
	p := startOwnPodshimd(t, pauselessName, "--pauseless")
	dir, ns := filepath.Join(env.dir, "own-"+pauselessName), "podshim-"+pauselessName
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res(p.Image.PullImage(ctx, &criapi.PullImageRequest{Image: &criapi.ImageSpec{Image: busyboxImage}})).must(t, "PullImage")
	before := takeResourcesOf(ctx, dir, ns)
	shimsBefore := len(shimProcesses())

	pod := podConfig(t)
	pod.Linux.Sysctls = map[string]string{"kernel.shmmni": "2222", "net.ipv4.ip_unprivileged_port_start": "81"}
	podID := res(p.Runtime.RunPodSandbox(ctx, &criapi.RunPodSandboxRequest{Config: pod})).must(t, "RunPodSandbox").PodSandboxId
	st, info := pauselessStatus(t, p, podID)
	if st.State != criapi.PodSandboxState_SANDBOX_READY || !info.Pauseless || info.Pid != 0 || info.IPCNSPath == "" || info.UTSNSPath == "" {
		t.Fatalf("pod status %v, info %+v: want READY, pause-less, no pid, pinned ipc and uts", st.State, info)
	}
	cctx := namespaces.WithNamespace(ctx, ns)
	if _, err := env.ctrd.LoadContainer(cctx, podID); !errdefs.IsNotFound(err) {
		t.Fatalf("containerd container of the pause-less sandbox: %v, want NotFound", err)
	}

	a, pidA := runIn(t, p, podID, pod, "a")
	b, pidB := runIn(t, p, podID, pod, "b")
	pinned := map[string]string{"ipc": info.IPCNSPath, "uts": info.UTSNSPath, "net": info.NetNSPath}
	for kind, pin := range pinned {
		want := nsIno(t, pin)
		if want == nsIno(t, "/proc/self/ns/"+kind) {
			t.Errorf("the pod's %s namespace is the host's", kind)
		}
		for name, pid := range map[string]int{"a": pidA, "b": pidB} {
			if got := nsIno(t, fmt.Sprintf("/proc/%d/ns/%s", pid, kind)); got != want {
				t.Errorf("container %s's %s namespace %d is not the pinned %d", name, kind, got, want)
			}
		}
	}
	if nsIno(t, fmt.Sprintf("/proc/%d/ns/pid", pidA)) == nsIno(t, fmt.Sprintf("/proc/%d/ns/pid", pidB)) {
		t.Error("the containers share a pid namespace")
	}
	for _, id := range []string{a, b} {
		if h := execIn(t, p, id, "hostname"); h != pod.Hostname {
			t.Errorf("hostname in %s = %q, want %q", id, h, pod.Hostname)
		}
		if v := execIn(t, p, id, "cat", "/proc/sys/kernel/shmmni"); v != "2222" {
			t.Errorf("kernel.shmmni in %s = %q", id, v)
		}
		if v := execIn(t, p, id, "cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start"); v != "81" {
			t.Errorf("net.ipv4.ip_unprivileged_port_start in %s = %q", id, v)
		}
	}
	execIn(t, p, a, "sh", "-c", "echo shared > /dev/shm/x")
	if v := execIn(t, p, b, "cat", "/dev/shm/x"); v != "shared" {
		t.Errorf("/dev/shm/x in b = %q", v)
	}
	// One shim, started by the first container: no pause anywhere.
	var podShims []shim
	for _, s := range shimProcesses() {
		if s.id == a || s.id == b || s.id == podID {
			podShims = append(podShims, s)
		}
	}
	if len(podShims) != 1 || podShims[0].id != a || len(shimProcesses()) != shimsBefore+1 {
		t.Fatalf("pod shims %+v (%d shims, %d before): want one, named after the first container", podShims, len(shimProcesses()), shimsBefore)
	}
	for name, pid := range map[string]int{"a": pidA, "b": pidB} {
		if ppid, err := parentPid(pid); err != nil || ppid != podShims[0].pid {
			t.Errorf("%s (pid %d) is a child of %d (%v), not of the pod's shim %d", name, pid, ppid, err, podShims[0].pid)
		}
	}
	stats := res(p.Runtime.ListPodSandboxStats(ctx, &criapi.ListPodSandboxStatsRequest{Filter: &criapi.PodSandboxStatsFilter{Id: podID}})).must(t, "ListPodSandboxStats")
	if len(stats.Stats) != 1 || len(stats.Stats[0].Linux.GetContainers()) != 2 || stats.Stats[0].Linux.GetNetwork().GetDefaultInterface().GetName() != "eth0" {
		t.Errorf("pod stats %v: want 2 containers and eth0", stats.Stats)
	}

	// A restart keeps the pod, its shim and its containers.
	p.Stop()
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _ := pauselessStatus(t, p, podID); st.State != criapi.PodSandboxState_SANDBOX_READY {
		t.Fatalf("pod %v after a restart, want READY", st.State)
	}
	if v := execIn(t, p, b, "cat", "/dev/shm/x"); v != "shared" || !processAlive(podShims[0].pid) {
		t.Fatalf("after a restart: /dev/shm/x = %q, shim alive %v", v, processAlive(podShims[0].pid))
	}
	// A second pod, sharing its PID namespace, gets a pause.
	shared := podConfig(t)
	shared.Linux.SecurityContext.NamespaceOptions.Pid = criapi.NamespaceMode_POD
	sharedID := res(p.Runtime.RunPodSandbox(ctx, &criapi.RunPodSandboxRequest{Config: shared})).must(t, "RunPodSandbox (shared pid)").PodSandboxId
	if _, si := pauselessStatus(t, p, sharedID); si.Pauseless || si.Pid == 0 {
		t.Errorf("pod sharing its pid namespace: info %+v, want a pause", si)
	}
	if _, err := env.ctrd.LoadContainer(cctx, sharedID); err != nil {
		t.Errorf("pause container of the pid-sharing pod: %v", err)
	}

	res(p.Runtime.StopPodSandbox(ctx, &criapi.StopPodSandboxRequest{PodSandboxId: podID})).must(t, "StopPodSandbox")
	if st, _ := pauselessStatus(t, p, podID); st.State != criapi.PodSandboxState_SANDBOX_NOTREADY {
		t.Errorf("pod %v after Stop", st.State)
	}
	for _, pin := range []string{info.IPCNSPath, info.UTSNSPath} {
		if _, err := os.Stat(pin); !os.IsNotExist(err) {
			t.Errorf("pin %s after Stop: %v", pin, err)
		}
	}
	ctx2, cancel2 := callCtx()
	defer cancel2()
	if _, err := p.Runtime.CreateContainer(ctx2, &criapi.CreateContainerRequest{
		PodSandboxId: podID, Config: containerConfig(pod, "late", "true"), SandboxConfig: pod}); grpcCode(err).String() != "FailedPrecondition" {
		t.Errorf("CreateContainer in a stopped pause-less pod: %v, want FailedPrecondition", err)
	}
	for _, id := range []string{podID, sharedID} {
		res(p.Runtime.StopPodSandbox(ctx, &criapi.StopPodSandboxRequest{PodSandboxId: id})).must(t, "StopPodSandbox")
		res(p.Runtime.RemovePodSandbox(ctx, &criapi.RemovePodSandboxRequest{PodSandboxId: id})).must(t, "RemovePodSandbox")
	}
	assertNoNewResourcesIn(t, before, "pause-less pods removed", func(ctx context.Context) resources { return takeResourcesOf(ctx, dir, ns) })
}
