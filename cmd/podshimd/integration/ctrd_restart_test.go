package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/containerd/containerd"
	tasksapi "github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/containerd/namespaces"
	"google.golang.org/grpc/codes"
	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/critest/testenv"
	"github.com/podshim/podshim/sandbox/shimproc"
)

// TestContainerdRestart kills containerd (SIGKILL; the shims and pods keep
// running) under a podshimd with a running pod, checks that calls needing
// containerd fail fast with Unavailable while List and Status answer from
// memory, lets a container exit while containerd is down, restarts
// containerd and checks that the exit is recorded with its code, and that
// the pod then stops and is removed without leftovers. It runs on a
// containerd and podshimd of its own.
func TestContainerdRestart(t *testing.T) {
	dir := filepath.Join(env.dir, "ctrd-restart")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ctrd, err := testenv.StartContainerd(ctx, filepath.Join(dir, "containerd"), testenv.ContainerdOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ctrd.Stop)
	if err := os.MkdirAll(filepath.Join(dir, "podshimd"), 0o755); err != nil {
		t.Fatal(err)
	}
	p, err := testenv.StartPodshimd(ctx, filepath.Join(dir, "podshimd"), testenv.PodshimdOptions{
		Binary:            filepath.Join(env.binDir, "podshimd"),
		ContainerdAddress: ctrd.Address,
		CNIConfDir:        env.cniConfDir,
		RegistryConfigDir: env.registryConfigDir,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("podshimd log:\n%s", p.LogTail(6000))
		}
		p.Stop()
		testenv.UnmountBelow(dir)
	})
	b := &crashBed{dir: p.Dir, ns: "podshim", p: p}
	res(p.Image.PullImage(ctx, &criapi.PullImageRequest{Image: &criapi.ImageSpec{Image: busyboxImage}})).must(t, "PullImage")
	podID, pod := b.pod(t)
	running := b.container(t, podID, pod, true)
	cr := res(p.Runtime.CreateContainer(ctx, &criapi.CreateContainerRequest{PodSandboxId: podID,
		Config: containerConfig(pod, "exits", "sh", "-c", "sleep 2; exit 7"), SandboxConfig: pod})).must(t, "CreateContainer")
	exits := cr.ContainerId
	res(p.Runtime.StartContainer(ctx, &criapi.StartContainerRequest{ContainerId: exits})).must(t, "StartContainer")

	ctrd.Kill()
	down := time.Now()

	// From memory.
	cctx, ccancel := callCtx()
	defer ccancel()
	list := res(p.Runtime.ListContainers(cctx, &criapi.ListContainersRequest{})).must(t, "ListContainers with containerd down")
	if len(list.Containers) != 2 {
		t.Errorf("ListContainers with containerd down: %d containers, want 2", len(list.Containers))
	}
	res(p.Runtime.ListPodSandbox(cctx, &criapi.ListPodSandboxRequest{})).must(t, "ListPodSandbox with containerd down")
	st := res(p.Runtime.PodSandboxStatus(cctx, &criapi.PodSandboxStatusRequest{PodSandboxId: podID})).must(t, "PodSandboxStatus with containerd down")
	if st.Status.State != criapi.PodSandboxState_SANDBOX_READY {
		t.Errorf("sandbox with containerd down: %v, want READY", st.Status.State)
	}
	res(p.Runtime.ContainerStatus(cctx, &criapi.ContainerStatusRequest{ContainerId: running})).must(t, "ContainerStatus with containerd down")

	// Fail fast.
	for name, call := range map[string]func(context.Context) error{
		"RunPodSandbox": func(ctx context.Context) error {
			_, err := p.Runtime.RunPodSandbox(ctx, &criapi.RunPodSandboxRequest{Config: podConfig(t)})
			return err
		},
		"CreateContainer": func(ctx context.Context) error {
			_, err := p.Runtime.CreateContainer(ctx, &criapi.CreateContainerRequest{PodSandboxId: podID,
				Config: containerConfig(pod, "while-down", "sleep", "1"), SandboxConfig: pod})
			return err
		},
		"StopContainer": func(ctx context.Context) error {
			_, err := p.Runtime.StopContainer(ctx, &criapi.StopContainerRequest{ContainerId: running, Timeout: 1})
			return err
		},
	} {
		start := time.Now()
		err := call(cctx)
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("%s with containerd down took %s, want it to fail fast", name, took)
		}
		if grpcCode(err) != codes.Unavailable {
			t.Errorf("%s with containerd down: %v, want Unavailable", name, err)
		}
	}
	time.Sleep(time.Until(down.Add(4 * time.Second))) // the exit (2 s after its start) happens while containerd is down

	if err := ctrd.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	var exited *criapi.ContainerStatus
	waitFor(t, 30*time.Second, "the exit during containerd's downtime to be recorded", func() (bool, string) {
		c := res(p.Runtime.ContainerStatus(cctx, &criapi.ContainerStatusRequest{ContainerId: exits})).must(t, "ContainerStatus")
		exited = c.Status
		return c.Status.State == criapi.ContainerState_CONTAINER_EXITED, c.Status.State.String()
	})
	// containerd 1.x keeps the exited task until podshim deletes it, so its
	// exit code is read back. containerd 2.x, loading its shims at start,
	// may delete a task of a shim that is not in its sandbox store and has
	// no process left (core/runtime/v2/shim_load.go, shouldCleanupShim):
	// podshim records its pods in containerd's sandbox store (package
	// sandboxshim) but runs no sandbox controller, and the exit code is
	// still gone in most runs (3 of 4 on containerd 2.4.2): the exit is
	// then recorded as unknown (255). Either way the
	// container must be reported EXITED, and nothing may be left (below).
	t.Logf("exit code recorded after containerd came back: %d (%s)", exited.ExitCode, exited.Reason)
	want := []int32{7}
	if containerdMajor(t) >= 2 {
		want = append(want, 255)
	}
	if !slices.Contains(want, exited.ExitCode) {
		t.Errorf("exit code recorded after containerd came back = %d (%s), want one of %v", exited.ExitCode, exited.Reason, want)
	}
	if c := res(p.Runtime.PodSandboxStatus(cctx, &criapi.PodSandboxStatusRequest{PodSandboxId: podID})).must(t, "PodSandboxStatus"); c.Status.State != criapi.PodSandboxState_SANDBOX_READY {
		t.Errorf("the pod after containerd's restart: %v, want SANDBOX_READY (its pause never stopped)", c.Status.State)
	}
	if c := res(p.Runtime.ContainerStatus(cctx, &criapi.ContainerStatusRequest{ContainerId: running})).must(t, "ContainerStatus"); c.Status.State != criapi.ContainerState_CONTAINER_RUNNING {
		t.Errorf("the long-running container after containerd's restart: %v", c.Status.State)
	}

	res(p.Runtime.StopPodSandbox(cctx, &criapi.StopPodSandboxRequest{PodSandboxId: podID})).must(t, "StopPodSandbox")
	res(p.Runtime.RemovePodSandbox(cctx, &criapi.RemovePodSandboxRequest{PodSandboxId: podID})).must(t, "RemovePodSandbox")
	client, err := containerd.New(ctrd.Address, containerd.WithDefaultNamespace("podshim"))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	nctx := namespaces.WithNamespace(ctx, "podshim")
	waitFor(t, 15*time.Second, "containerd objects and shims to go", func() (bool, string) {
		cs, _ := client.Containers(nctx)
		ts, _ := client.TaskService().List(nctx, &tasksapi.ListTasksRequest{})
		shims := shimproc.Find(func(args []string) bool { return slices.Contains(args, ctrd.Address) })
		return len(cs) == 0 && ts != nil && len(ts.Tasks) == 0 && len(shims) == 0,
			fmt.Sprintf("containers %d, tasks %v, shims %d", len(cs), ts, len(shims))
	})
}
