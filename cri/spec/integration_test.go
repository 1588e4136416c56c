package spec

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/cio"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/containerd/oci"
	imagespec "github.com/opencontainers/image-spec/specs-go/v1"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/critest/testenv"
)

// itest names what the end-to-end test creates outside its temp dirs: the
// containerd namespace (runc v2 shims keep state in the global
// /run/containerd/runc/<namespace>) and the cgroup parent. Unique per run.
type itest struct {
	ns           string
	cgroupParent string
}

func newItest() itest {
	name := fmt.Sprintf("podshim-spec-itest-%d", os.Getpid())
	return itest{ns: name, cgroupParent: "/" + name}
}

func (it itest) ctx() context.Context {
	return namespaces.WithNamespace(context.Background(), it.ns)
}

// syncBuffer is a bytes.Buffer safe for the cio copy goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// itestRootfs is a rootfs with a static busybox and the test users.
func itestRootfs(t *testing.T) string {
	t.Helper()
	root := testRootfs(t)
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := os.Open("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(filepath.Join(root, "bin/busybox"), os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{root, filepath.Join(root, "etc")} {
		if err := os.Chmod(d, 0o755); err != nil { // t.TempDir is 0700: uid 1000 could not traverse "/"
			t.Fatal(err)
		}
	}
	return root
}

// TestSpecRunsUnderRunc runs a pause and a container built from Pause and
// Container on a private containerd with runc, and checks from inside the
// container that the spec did what it says.
func TestSpecRunsUnderRunc(t *testing.T) {
	if testing.Short() {
		t.Skip("starts containerd and runc containers")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to run containers")
	}
	for _, bin := range []string{"containerd", "containerd-shim-runc-v2", "runc", "/bin/busybox"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not installed: %v", bin, err)
		}
	}
	ctrd := testenv.ContainerdForTest(t)
	client, err := containerd.New(ctrd.Address)
	if err != nil {
		t.Fatal(err)
	}
	// Cleanups run last-in first-out: the tasks and containers go first,
	// then the test's cgroups, then the client, then containerd.
	it := newItest()
	t.Cleanup(func() { client.Close() })
	t.Cleanup(func() {
		it.removeCgroups()
		_ = os.Remove(filepath.Join("/run/containerd/runc", it.ns)) // only if empty
	})
	ctx, cancel := context.WithTimeout(it.ctx(), 2*time.Minute)
	defer cancel()

	root := itestRootfs(t)
	pod := t.TempDir()
	shm := filepath.Join(pod, "shm")
	data := filepath.Join(pod, "data")
	for _, d := range []string{shm, data} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(shm, 0o1777); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"hostname": "itest-pod\n", "hosts": "127.0.0.1 localhost itest-pod\n", "resolv.conf": "nameserver 127.0.0.53\n"}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(pod, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	minOOM, canLower, err := CurrentOOMScoreAdj()
	if err != nil {
		t.Fatal(err)
	}
	o := Options{RestrictOOMScoreAdj: !canLower, MinOOMScoreAdj: minOOM}
	sb := Sandbox{
		ID: "itest-sb",
		Config: &runtime.PodSandboxConfig{
			Metadata: &runtime.PodSandboxMetadata{Name: "itest", Namespace: "default", Uid: "itest-uid"},
			Hostname: "itest-pod",
			Linux: &runtime.LinuxPodSandboxConfig{
				CgroupParent:    it.cgroupParent,
				Sysctls:         map[string]string{"kernel.shm_rmid_forced": "1"},
				SecurityContext: &runtime.LinuxSandboxSecurityContext{},
			},
		},
		HostnamePath:   filepath.Join(pod, "hostname"),
		HostsPath:      filepath.Join(pod, "hosts"),
		ResolvConfPath: filepath.Join(pod, "resolv.conf"),
		ShmPath:        shm,
	}

	// The pause: busybox sleep stands in for cmd/pause.
	pauseOpts, err := Pause(sb, imagespec.ImageConfig{Entrypoint: []string{"/bin/busybox", "sleep", "600"}}, o)
	if err != nil {
		t.Fatal(err)
	}
	pauseTask := it.runTask(ctx, t, client, sb.ID, root, pauseOpts, nil)
	if err := pauseTask.Start(ctx); err != nil {
		t.Fatalf("start pause: %v", err)
	}
	sb.Pid = pauseTask.Pid()

	cfg := &runtime.ContainerConfig{
		Metadata: &runtime.ContainerMetadata{Name: "check"},
		Image:    &runtime.ImageSpec{Image: "itest"},
		Command: []string{"/bin/busybox", "sh", "-c", strings.Join([]string{
			`echo "ids=$(busybox id -u):$(busybox id -g):$(busybox id -G)"`,
			`echo "hostname=$(busybox hostname)"`,
			`echo "etchostname=$(busybox cat /etc/hostname)"`,
			`echo "resolv=$(busybox cat /etc/resolv.conf)"`,
			`echo "net=$(busybox readlink /proc/self/ns/net)"`,
			`echo "ipc=$(busybox readlink /proc/self/ns/ipc)"`,
			`echo "uts=$(busybox readlink /proc/self/ns/uts)"`,
			`echo "pid=$(busybox readlink /proc/self/ns/pid)"`,
			`echo "pid1=$(busybox tr '\0' ' ' < /proc/1/cmdline)"`,
			`echo "sysctl=$(busybox cat /proc/sys/kernel/shm_rmid_forced)"`,
			`echo "oom=$(busybox cat /proc/self/oom_score_adj)"`,
			`busybox grep -E '^(Seccomp|NoNewPrivs|CapBnd):' /proc/self/status | busybox sed 's/:\s*/=/'`,
			`busybox touch /data/x 2>/dev/null; echo "datawrite=$?"`,
			`busybox touch /dev/shm/from-container; echo "shmwrite=$?"`,
			`echo "env=$FROM_CRI"`,
		}, "; ")},
		Envs:   []*runtime.KeyValue{{Key: "FROM_CRI", Value: []byte("yes")}},
		Mounts: []*runtime.Mount{{ContainerPath: "/data", HostPath: data, Readonly: true}},
		Linux: &runtime.LinuxContainerConfig{
			Resources: &runtime.LinuxContainerResources{CpuShares: 256, MemoryLimitInBytes: 64 << 20, OomScoreAdj: -100},
			SecurityContext: &runtime.LinuxContainerSecurityContext{
				RunAsUsername:      "alice",
				SupplementalGroups: []int64{1234},
				NoNewPrivs:         true,
				ReadonlyRootfs:     true,
				Capabilities:       &runtime.Capability{DropCapabilities: []string{"ALL"}, AddCapabilities: []string{"NET_BIND_SERVICE"}},
				Seccomp:            &runtime.SecurityProfile{ProfileType: runtime.SecurityProfile_RuntimeDefault},
			},
		},
	}
	ctrOpts, err := Container("itest-ctr", cfg, sb, imagespec.ImageConfig{}, o)
	if err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	task := it.runTask(ctx, t, client, "itest-ctr", root, ctrOpts, &out)
	if n := shimsOf(ctrd.Address); n != 1 {
		t.Errorf("%d shims for the pod's two containers, want 1 (grouped by %s)", n, AnnotationSandboxID)
	}
	exited, err := task.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Start(ctx); err != nil {
		t.Fatalf("start container: %v", err)
	}
	var status containerd.ExitStatus
	select {
	case status = <-exited:
	case <-ctx.Done():
		t.Fatal("container did not exit")
	}
	if _, err := task.Delete(ctx); err != nil {
		t.Fatalf("delete task: %v", err)
	}
	t.Logf("container output:\n%s", out.String())
	if status.ExitCode() != 0 {
		t.Fatalf("container exit code %d", status.ExitCode())
	}

	got := map[string]string{}
	for _, line := range strings.Split(out.String(), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			got[k] = strings.TrimSpace(v)
		}
	}
	hostNS := func(ns string) string {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", sb.Pid, ns))
		if err != nil {
			t.Fatal(err)
		}
		return link
	}
	wantOOM := oomScoreAdj(-100, o)
	want := map[string]string{
		"ids":         "1000:1000:1000 50 1234 50000",
		"hostname":    "itest-pod",
		"etchostname": "itest-pod",
		"resolv":      "nameserver 127.0.0.53",
		"net":         hostNS("net"),
		"ipc":         hostNS("ipc"),
		"uts":         hostNS("uts"),
		"pid":         hostNS("pid"),
		"pid1":        "/bin/busybox sleep 600",
		"sysctl":      "1",
		"oom":         fmt.Sprint(wantOOM),
		"Seccomp":     "2",
		"NoNewPrivs":  "1",
		"CapBnd":      "0000000000000400", // CAP_NET_BIND_SERVICE only
		"datawrite":   "1",
		"shmwrite":    "0",
		"env":         "yes",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if hostNS("net") == mustReadlink(t, "/proc/self/ns/net") {
		t.Error("the pause shares the test's network namespace")
	}
	if _, err := os.Stat(filepath.Join(shm, "from-container")); err != nil {
		t.Errorf("the container's /dev/shm is not the pod's: %v", err)
	}
}

func mustReadlink(t *testing.T, p string) string {
	t.Helper()
	l, err := os.Readlink(p)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// runTask creates a container and its task (not started) with the spec
// options on the rootfs at root, and removes both when the test ends.
func (it itest) runTask(ctx context.Context, t *testing.T, client *containerd.Client, id, root string, opts []oci.SpecOpts, out io.Writer) containerd.Task {
	t.Helper()
	specOpts := append([]oci.SpecOpts{oci.WithRootFSPath(root)}, opts...)
	ctr, err := client.NewContainer(ctx, id, containerd.WithNewSpec(specOpts...), containerd.WithRuntime("io.containerd.runc.v2", nil))
	if err != nil {
		t.Fatalf("create container %s: %v", id, err)
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(it.ctx(), 30*time.Second)
		defer cancel()
		if err := ctr.Delete(cctx); err != nil {
			t.Logf("delete container %s: %v", id, err)
		}
	})
	creator := cio.NullIO
	if out != nil {
		creator = cio.NewCreator(cio.WithStreams(nil, out, out), cio.WithFIFODir(t.TempDir()))
	}
	task, err := ctr.NewTask(ctx, creator)
	if err != nil {
		t.Fatalf("create task %s: %v", id, err)
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(it.ctx(), 30*time.Second)
		defer cancel()
		_, _ = task.Delete(cctx, containerd.WithProcessKill)
	})
	return task
}

// shimsOf counts the runc v2 shims serving the containerd at address.
func shimsOf(address string) int {
	n := 0
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if strings.Contains(args[0], "containerd-shim-runc-v2") && contains(args, address) {
			n++
		}
	}
	return n
}

// removeItestCgroups kills what is left in the test's cgroup parent (only
// this test's containers run there) and removes it in every hierarchy.
func (it itest) removeCgroups() {
	procs, _ := filepath.Glob("/sys/fs/cgroup/pids" + it.cgroupParent + "/*/cgroup.procs")
	for _, p := range procs {
		b, _ := os.ReadFile(p)
		for _, f := range strings.Fields(string(b)) {
			var pid int
			if _, err := fmt.Sscanf(f, "%d", &pid); err == nil && pid > 1 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	parents, _ := filepath.Glob("/sys/fs/cgroup/*" + it.cgroupParent)
	for _, parent := range parents {
		children, _ := filepath.Glob(parent + "/*/")
		for _, dir := range append(children, parent) {
			for i := 0; i < 50; i++ { // a killed process leaves its cgroup asynchronously
				if err := syscall.Rmdir(dir); err == nil || os.IsNotExist(err) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
}
