package integration

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/containerd/namespaces"
	runcoptions "github.com/containerd/containerd/runtime/v2/runc/options"
	"github.com/containerd/typeurl/v2"
	"google.golang.org/grpc/codes"
	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/critest/testenv"
)

// TestRuntimeHandlers configures a second runtime handler, runc with a
// state root of its own, and checks that a pod naming it really runs on
// it (the containerd records carry its options, runc keeps the pod's
// containers' state in that root, not in the default one), that Status
// lists it, that the pod keeps its handler across a podshimd restart, and
// that an unknown handler is refused with InvalidArgument.
func TestRuntimeHandlers(t *testing.T) {
	dir := filepath.Join(env.dir, "own-rth")
	altRoot := filepath.Join(dir, "alt-runc")
	cfgPath := filepath.Join(env.dir, "rth.toml")
	cfg := "[runtimes.runc-alt]\nruntime_type = \"io.containerd.runc.v2\"\n[runtimes.runc-alt.options]\nBinaryName = \"runc\"\nRoot = \"" + altRoot + "\"\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	const ns = "podshim-rth"
	p := startOwnPodshimd(t, "rth", "--config", cfgPath)
	ctx, cancel := callCtx()
	defer cancel()
	st, err := p.Runtime.Status(ctx, &criapi.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, h := range st.GetRuntimeHandlers() {
		names = append(names, h.GetName())
		if h.GetFeatures() == nil {
			t.Errorf("handler %q has no features", h.GetName())
		}
	}
	if !slices.Equal(names, []string{"", "runc", "runc-alt"}) {
		t.Errorf("Status runtime handlers %q, want \"\", runc, runc-alt", names)
	}
	if _, err := p.Image.PullImage(ctx, &criapi.PullImageRequest{Image: &criapi.ImageSpec{Image: busyboxImage}}); err != nil {
		t.Fatal(err)
	}

	_, err = p.Runtime.RunPodSandbox(ctx, &criapi.RunPodSandboxRequest{Config: podConfig(t), RuntimeHandler: "kata"})
	if grpcCode(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "runtime_handler") {
		t.Errorf("RunPodSandbox with an unknown handler: %v, want InvalidArgument naming runtime_handler", err)
	}

	run := func(handler string) (podID, ctrID string) {
		pod := podConfig(t)
		resp, err := p.Runtime.RunPodSandbox(ctx, &criapi.RunPodSandboxRequest{Config: pod, RuntimeHandler: handler})
		if err != nil {
			t.Fatalf("RunPodSandbox with handler %q: %v", handler, err)
		}
		return resp.PodSandboxId, runOwnContainer(t, p, resp.PodSandboxId, pod, "c-"+randHex(3))
	}
	altPod, altCtr := run("runc-alt")
	defPod, defCtr := run("")
	checkRoot := func(what, id, root string) {
		t.Helper()
		c, err := env.ctrd.LoadContainer(namespaces.WithNamespace(ctx, ns), id)
		if err != nil {
			t.Fatal(err)
		}
		info, err := c.Info(namespaces.WithNamespace(ctx, ns))
		if err != nil {
			t.Fatal(err)
		}
		var opts runcoptions.Options
		if err := typeurl.UnmarshalTo(info.Runtime.Options, &opts); err != nil {
			t.Fatalf("%s: runtime options: %v", what, err)
		}
		if info.Runtime.Name != "io.containerd.runc.v2" || opts.Root != root {
			t.Errorf("%s: containerd runtime %s with root %q, want io.containerd.runc.v2 with %q", what, info.Runtime.Name, opts.Root, root)
		}
		if _, err := os.Stat(filepath.Join(root, ns, id)); err != nil {
			t.Errorf("%s: runc has no state in %s: %v", what, root, err)
		}
	}
	checkRoot("pause of the runc-alt pod", altPod, altRoot)
	checkRoot("container of the runc-alt pod", altCtr, altRoot)
	checkRoot("container of the default pod", defCtr, filepath.Join(p.Dir, "state", "runc"))
	if _, err := os.Stat(filepath.Join(altRoot, ns, defCtr)); err == nil {
		t.Errorf("the default pod's container has state in runc-alt's root")
	}

	// The handler is recorded: after a restart the pod still reports it
	// and its new containers run on it.
	p.Stop()
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	sst, err := p.Runtime.PodSandboxStatus(ctx, &criapi.PodSandboxStatusRequest{PodSandboxId: altPod})
	if err != nil {
		t.Fatal(err)
	}
	if sst.GetStatus().GetRuntimeHandler() != "runc-alt" || sst.GetStatus().GetState() != criapi.PodSandboxState_SANDBOX_READY {
		t.Errorf("after a restart the runc-alt pod reports handler %q, state %v", sst.GetStatus().GetRuntimeHandler(), sst.GetStatus().GetState())
	}
	checkRoot("container created after the restart", runOwnContainer(t, p, altPod, podConfig(t), "late"), altRoot)
	_ = defPod
}

// runOwnContainer runs a sleeping busybox container in pod podID of p.
func runOwnContainer(t *testing.T, p *testenv.Podshimd, podID string, pod *criapi.PodSandboxConfig, name string) string {
	t.Helper()
	ctx, cancel := callCtx()
	defer cancel()
	cfg := containerConfig(pod, name, "sleep", "3600")
	resp, err := p.Runtime.CreateContainer(ctx, &criapi.CreateContainerRequest{PodSandboxId: podID, Config: cfg, SandboxConfig: pod})
	if err != nil {
		t.Fatalf("CreateContainer %s: %v", name, err)
	}
	if _, err := p.Runtime.StartContainer(ctx, &criapi.StartContainerRequest{ContainerId: resp.ContainerId}); err != nil {
		t.Fatalf("StartContainer %s: %v", name, err)
	}
	return resp.ContainerId
}

// TestCrunHandlerAtStartUp configures a handler whose OCI runtime is crun.
// podshimd makes a probe container with it at start-up: where crun cannot
// run containers (crun 1.8 refuses a cgroup v1 host whose cgroup2
// hierarchy has controllers, as this CI machine's hybrid set-up does),
// podshimd does not start and says why, naming the handler and quoting
// crun; where it can, podshimd starts and lists the handler.
func TestCrunHandlerAtStartUp(t *testing.T) {
	if _, err := os.Stat("/usr/bin/crun"); err != nil {
		t.Fatalf("crun is not installed (make deps installs it): %v", err)
	}
	ctrls, _ := os.ReadFile("/sys/fs/cgroup/unified/cgroup.controllers")
	hybridWithControllers := strings.TrimSpace(string(ctrls)) != ""
	cfgPath := filepath.Join(env.dir, "crun.toml")
	if err := os.WriteFile(cfgPath, []byte("[runtimes.crun.options]\nBinaryName = \"/usr/bin/crun\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(env.dir, "own-crun")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p, err := testenv.StartPodshimd(context.Background(), dir, testenv.PodshimdOptions{
		Binary:            filepath.Join(env.binDir, "podshimd"),
		ContainerdAddress: env.containerd.Address,
		CNIConfDir:        env.cniConfDir,
		RegistryConfigDir: env.registryConfigDir,
		ExtraArgs:         []string{"--containerd-namespace", "podshim-crun", "--config", cfgPath},
	})
	if !hybridWithControllers {
		if err != nil {
			t.Fatalf("crun on a host without a hybrid cgroup2 hierarchy: podshimd did not start: %v", err)
		}
		defer p.Stop()
		ctx, cancel := callCtx()
		defer cancel()
		st, err := p.Runtime.Status(ctx, &criapi.StatusRequest{})
		if err != nil || !slices.ContainsFunc(st.GetRuntimeHandlers(), func(h *criapi.RuntimeHandler) bool { return h.GetName() == "crun" }) {
			t.Fatalf("Status does not list crun: %v %v", st, err)
		}
		return
	}
	if err == nil {
		p.Stop()
		t.Fatalf("podshimd started with a crun handler on a hybrid cgroup host with cgroup2 controllers (%s)", ctrls)
	}
	// The error carries podshimd's log, whose text format escapes the
	// quotes inside the error field.
	msg := strings.ReplaceAll(err.Error(), `\"`, `"`)
	for _, want := range []string{`runtime handler "crun"`, "/usr/bin/crun cannot create a container on this host", "cgroups in hybrid mode not supported"} {
		if !strings.Contains(msg, want) {
			t.Errorf("start-up error does not say %q:\n%v", want, err)
		}
	}
}
