package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	cri "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/critest/containerdconf"
	"github.com/podshim/podshim/critest/testenv"
)

// Runtime is one CRI endpoint under test, with the processes that make it up.
type Runtime struct {
	Name    string // "podshim" or "containerd"
	Key     string // "a" or "b": names its dirs, CNI network and cgroup parent
	Version string // from the CRI Version call
	// Counted says which processes the memory and CPU figures add up.
	Counted string

	RT  cri.RuntimeServiceClient
	Img cri.ImageServiceClient
	// Prof reads pprof profiles of the runtime's CRI daemon (podshimd,
	// containerd); nil when the run takes none.
	Prof *Profiler
	// BackendProf reads pprof profiles of the containerd under podshimd
	// (heap and goroutines at steady state); nil for containerd's CRI, whose
	// Prof is that containerd.
	BackendProf *Profiler

	// ContainerdAddress is the socket of the containerd that runs the pods;
	// its shims name it on their command line.
	ContainerdAddress string
	CgroupParent      string // "/podshim-bench-a": pods go below it
	// Handler is the runtime_handler of every RunPodSandbox ("" for the
	// default; a podshim variant may name one).
	Handler string
	LogDir  string // pod log directories go below it
	Network Network

	// classify names a process of this runtime: "podshimd", "containerd"
	// or "shims"; "" for any other process.
	classify func(args []string) string
	conn     *grpc.ClientConn
	stops    []func()
}

// Usage returns the processes of the runtime (daemons, shims and the pods'
// pause processes) with their memory and the runtime cgroup's when
// withMem, and their CPU times.
func (r *Runtime) Usage(withMem bool) Usage {
	names := map[int]string{}
	procs := listProcs(func(pid int, args []string) bool {
		name := r.classify(args)
		if name == "" && isPause(args) && inCgroupBelow(pid, r.CgroupParent) {
			name = "pause"
		}
		names[pid] = name
		return name != ""
	}, withMem)
	u := sumUsage(procs, func(p procInfo) string { return names[p.PID] })
	if withMem {
		var err error
		if u.Cgroup, err = readCgroupMemory(runtimeCgroup(r.Key)); err != nil {
			u.CgroupErr = err.Error()
		}
	}
	return u
}

// isPause tells whether args are those of a pod's pause process (the
// sandbox image's /pause, or any binary named pause).
func isPause(args []string) bool { return filepath.Base(args[0]) == "pause" }

// Stop stops the runtime's daemons (last started first). Containerd's Stop
// also kills the shims it left and unmounts below its directory.
func (r *Runtime) Stop() {
	if r.conn != nil {
		r.conn.Close()
		r.conn = nil
	}
	for i := len(r.stops) - 1; i >= 0; i-- {
		r.stops[i]()
	}
	r.stops = nil
}

// runtimeSetup is what both runtimes are started with.
type runtimeSetup struct {
	Dir          string // the benchmark's work dir
	HostsDir     string // containerd hosts.toml dir for the local registry
	SandboxImage string
	Podshimd     string // podshimd binary (pause next to it)
	Profiles     bool   // serve pprof: podshimd's --debug-address, containerd's [debug] address
	// PodshimdArgs come after the benchmark's own podshimd flags (a
	// variant's configuration); PodshimHandler is the runtime handler of
	// podshim's pods.
	PodshimdArgs   []string
	PodshimHandler string
}

// startPodshim starts podshim's own containerd (CRI plugin off) and
// podshimd on it, with pprof on a unix socket in its dir when profiling.
func startPodshim(ctx context.Context, s runtimeSetup, net Network) (*Runtime, error) {
	r := &Runtime{Name: "podshim", Key: "a", Network: net, Handler: s.PodshimHandler,
		CgroupParent: "/podshim-bench-a", LogDir: filepath.Join(s.Dir, "logs", "a")}
	var copts testenv.ContainerdOptions
	cdir := filepath.Join(s.Dir, "a", "containerd")
	if s.Profiles {
		copts.DebugAddress = filepath.Join(cdir, "debug.sock")
		bin, _ := exec.LookPath("containerd")
		r.BackendProf = newProfiler("containerd-podshim", bin, copts.DebugAddress)
	}
	ctrd, err := testenv.StartContainerd(ctx, cdir, copts)
	if err != nil {
		return nil, fmt.Errorf("start podshim's containerd: %w", err)
	}
	r.stops = append(r.stops, ctrd.Stop)
	r.ContainerdAddress = ctrd.Address
	pdir := filepath.Join(s.Dir, "a", "podshim")
	// The fixture passes --log-level debug; a later flag wins. Both
	// runtimes log at info level.
	args := []string{"--sandbox-image", s.SandboxImage, "--cni-bin-dir", "/usr/lib/cni", "--log-level", "info"}
	if s.Profiles {
		debugSock := filepath.Join(pdir, "debug.sock")
		args = append(args, "--debug-address", "unix://"+debugSock)
		r.Prof = newProfiler("podshimd", s.Podshimd, debugSock)
	}
	args = append(args, s.PodshimdArgs...)
	p, err := testenv.StartPodshimd(ctx, pdir, testenv.PodshimdOptions{
		Binary:            s.Podshimd,
		ContainerdAddress: ctrd.Address,
		CNIConfDir:        net.ConfDir,
		RegistryConfigDir: s.HostsDir,
		ExtraArgs:         args,
	})
	if err != nil {
		r.Stop()
		return nil, fmt.Errorf("start podshimd: %w", err)
	}
	r.stops = append(r.stops, p.Stop)
	r.RT, r.Img = p.Runtime, p.Image
	ctrdConfig := filepath.Join(ctrd.Dir, "containerd.toml")
	listen := "unix://" + p.Socket
	r.classify = func(args []string) string {
		switch {
		case contains(args, listen): // whatever the binary is called
			return "podshimd"
		case filepath.Base(args[0]) == "containerd" && contains(args, ctrdConfig):
			return "containerd"
		case isShimOf(args, r.ContainerdAddress):
			return "shims"
		}
		return ""
	}
	r.Counted = "podshimd + its containerd + that containerd's shims"
	return r, r.ready(ctx)
}

// startContainerdCRI starts a containerd with its built-in CRI plugin as the
// runtime under test, with its pprof endpoint ([debug] address) on a unix
// socket in its dir when profiling.
func startContainerdCRI(ctx context.Context, s runtimeSetup, net Network) (*Runtime, error) {
	dir := filepath.Join(s.Dir, "b", "containerd")
	r := &Runtime{Name: "containerd", Key: "b", Network: net,
		CgroupParent: "/podshim-bench-b", LogDir: filepath.Join(s.Dir, "logs", "b")}
	copts := testenv.ContainerdOptions{CRI: criConfig(s, net, dir)}
	if s.Profiles {
		copts.DebugAddress = filepath.Join(dir, "debug.sock")
		bin, _ := exec.LookPath("containerd")
		r.Prof = newProfiler("containerd-cri", bin, copts.DebugAddress)
	}
	ctrd, err := testenv.StartContainerd(ctx, dir, copts)
	if err != nil {
		return nil, fmt.Errorf("start containerd with CRI: %w", err)
	}
	r.stops = append(r.stops, ctrd.Stop)
	r.ContainerdAddress = ctrd.Address
	conn, err := grpc.NewClient("unix://"+ctrd.Address, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		r.Stop()
		return nil, fmt.Errorf("connect to containerd CRI: %w", err)
	}
	r.conn = conn
	r.RT, r.Img = cri.NewRuntimeServiceClient(conn), cri.NewImageServiceClient(conn)
	ctrdConfig := filepath.Join(dir, "containerd.toml")
	r.classify = func(args []string) string {
		switch {
		case filepath.Base(args[0]) == "containerd" && contains(args, ctrdConfig):
			return "containerd"
		case isShimOf(args, r.ContainerdAddress):
			return "shims"
		}
		return ""
	}
	r.Counted = "containerd (CRI plugin built in) + its shims"
	return r, r.ready(ctx)
}

// criConfig is containerd's CRI plugin configuration for the benchmark:
// the local registry's pause image, its own CNI network, runc root and
// netns dir (below containerd's state dir).
func criConfig(s runtimeSetup, net Network, dir string) *containerdconf.CRI {
	return &containerdconf.CRI{
		SandboxImage:    s.SandboxImage,
		RuncRoot:        filepath.Join(dir, "runc"),
		CNIConfDir:      net.ConfDir,
		HostsDir:        s.HostsDir,
		NetNSUnderState: true,
	}
}

// ready waits until the runtime reports RuntimeReady and NetworkReady, and
// records its version.
func (r *Runtime) ready(ctx context.Context) error {
	deadline := time.Now().Add(60 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		st, err := r.RT.Status(cctx, &cri.StatusRequest{})
		cancel()
		if err != nil {
			last = err.Error()
		} else {
			ok := 0
			for _, c := range st.GetStatus().GetConditions() {
				if (c.Type == cri.RuntimeReady || c.Type == cri.NetworkReady) && c.Status {
					ok++
				} else {
					last = fmt.Sprintf("%s=%v (%s: %s)", c.Type, c.Status, c.Reason, c.Message)
				}
			}
			if ok == 2 {
				cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				v, err := r.RT.Version(cctx, &cri.VersionRequest{})
				cancel()
				if err != nil {
					return fmt.Errorf("%s: Version: %w", r.Name, err)
				}
				r.Version = v.RuntimeName + " " + v.RuntimeVersion
				return nil
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("%s did not become ready within 60s: %s", r.Name, last)
}

// pullImages pulls the given images through CRI (not timed).
func (r *Runtime) pullImages(ctx context.Context, refs ...string) error {
	for _, ref := range refs {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		_, err := r.Img.PullImage(cctx, &cri.PullImageRequest{Image: &cri.ImageSpec{Image: ref}})
		cancel()
		if err != nil {
			return fmt.Errorf("%s: pull %s: %w", r.Name, ref, err)
		}
	}
	return nil
}

// removeAllPods stops and removes every pod of the runtime through CRI,
// a few at a time.
func (r *Runtime) removeAllPods(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	resp, err := r.RT.ListPodSandbox(cctx, &cri.ListPodSandboxRequest{})
	cancel()
	if err != nil {
		return fmt.Errorf("%s: list pods: %w", r.Name, err)
	}
	ids := make([]string, 0, len(resp.Items))
	for _, p := range resp.Items {
		ids = append(ids, p.Id)
	}
	var errs errList
	forEach(ids, 4, func(id string) {
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if _, err := r.RT.StopPodSandbox(cctx, &cri.StopPodSandboxRequest{PodSandboxId: id}); err != nil {
			errs.add(err)
			return
		}
		if _, err := r.RT.RemovePodSandbox(cctx, &cri.RemovePodSandboxRequest{PodSandboxId: id}); err != nil {
			errs.add(err)
		}
	})
	return errs.err(fmt.Sprintf("%s: removing %d pods", r.Name, len(ids)))
}

// podLogDir is the log directory of a pod, made before RunPodSandbox as
// kubelet does.
func (r *Runtime) podLogDir(uid string) (string, error) {
	d := filepath.Join(r.LogDir, uid)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", fmt.Errorf("pod log dir: %w", err)
	}
	return d, nil
}

// shortVersion trims a multi-line version output to its first line.
func shortVersion(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
