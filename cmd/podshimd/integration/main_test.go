package integration

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/critest/testenv"
	"github.com/podshim/podshim/critest/testimage"
	"github.com/podshim/podshim/network"
)

// The names this suite owns on the host.
const (
	networkName   = "podshim-itest"
	bridgeName    = "cni-itest0"
	podSubnet     = "10.91.0.0/16"
	ctrdNamespace = "podshim" // podshimd's containerd namespace (testenv's default)
	podNamespace  = "itest"   // the Kubernetes namespace of every test pod
	baseDirPrefix = "podshim-itest-"
)

// Images the registry serves. They are named docker.io/..., which resolves
// only through the hosts.toml mirror to the local registry.
const (
	busyboxImage    = "docker.io/library/busybox:1.36"
	stopSignalImage = "docker.io/library/podshim-stopsignal:1"
	pullTestImage   = "docker.io/library/podshim-pulltest:1"
)

// hostLocalDir is where the host-local IPAM plugin keeps the suite's IP
// reservations.
var hostLocalDir = filepath.Join("/var/lib/cni/networks", networkName)

// suite is the shared test bed.
type suite struct {
	dir               string // everything lives below it
	binDir            string // podshimd and pause
	cniConfDir        string
	registryConfigDir string
	logDir            string // pods' log directories

	registry   *testimage.Registry
	images     map[string]v1.Image // by the name tests use
	containerd *testenv.Containerd
	podshimd   *testenv.Podshimd
	ctrd       *containerd.Client // on the suite's containerd, for leak checks
}

// env is the suite TestMain sets up.
var env *suite

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "integration: these tests need root (netns, bridge, mounts)")
		return 1
	}
	cleanStaleRuns()
	s := &suite{}
	env = s
	var once sync.Once
	teardown := func() []error {
		var errs []error
		once.Do(func() { errs = s.teardown() })
		return errs
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		sig := <-sigs
		fmt.Fprintf(os.Stderr, "integration: %v: tearing down\n", sig)
		teardown()
		os.Exit(1)
	}()

	start := time.Now()
	if err := s.setup(context.Background()); err != nil {
		fmt.Fprintf(os.Stderr, "integration: set-up: %v\n", err)
		if s.podshimd != nil {
			fmt.Fprintf(os.Stderr, "podshimd log:\n%s\n", s.podshimd.LogTail(4000))
		}
		for _, e := range teardown() {
			fmt.Fprintf(os.Stderr, "integration: teardown: %v\n", e)
		}
		return 1
	}
	fmt.Fprintf(os.Stderr, "integration: set-up took %s (dir %s, race detector %v)\n", time.Since(start).Round(time.Millisecond), s.dir, raceBuild())

	code := m.Run()

	if code != 0 {
		keepLog(s.podshimd.LogPath)
	}
	tdStart := time.Now()
	errs := teardown()
	for _, e := range errs {
		fmt.Fprintf(os.Stderr, "integration: teardown: %v\n", e)
	}
	fmt.Fprintf(os.Stderr, "integration: teardown took %s\n", time.Since(tdStart).Round(time.Millisecond))
	if len(errs) > 0 && code == 0 {
		code = 1
	}
	return code
}

// setup builds the binaries and starts registry, containerd and podshimd.
func (s *suite) setup(ctx context.Context) error {
	for _, tool := range []string{"containerd", "runc", "iptables-save", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not installed: %w", tool, err)
		}
	}
	for _, f := range []string{"/usr/lib/cni/bridge", "/usr/lib/cni/host-local", "/usr/lib/cni/portmap", "/usr/lib/cni/tuning", testimage.StaticBusyboxPath} {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("required file: %w", err)
		}
	}
	if out, err := exec.Command("ip", "link", "show", bridgeName).CombinedOutput(); err == nil {
		return fmt.Errorf("bridge %s already exists (another run of this suite?): %s", bridgeName, out)
	}
	dir, err := os.MkdirTemp("", baseDirPrefix)
	if err != nil {
		return err
	}
	s.dir = dir
	// Traversable by the host uids of pods with a user namespace: runc
	// opens their rootfs (in containerd's state dir) and pod files (in
	// podshimd's dirs) as the pod's root.
	if err := os.Chmod(dir, 0o711); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return err
	}
	s.binDir = filepath.Join(dir, "bin")
	s.cniConfDir = filepath.Join(dir, "cni", "net.d")
	s.registryConfigDir = filepath.Join(dir, "certs.d")
	s.logDir = filepath.Join(dir, "pod-logs")
	for _, d := range []string{s.binDir, s.cniConfDir, s.registryConfigDir, s.logDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := buildBinaries(s.binDir); err != nil {
		return err
	}
	if err := s.startRegistry(ctx); err != nil {
		return err
	}
	if _, err := network.WriteBridgeConfig(s.cniConfDir, networkName, bridgeName, podSubnet); err != nil {
		return fmt.Errorf("write CNI config: %w", err)
	}
	s.containerd, err = testenv.StartContainerd(ctx, filepath.Join(dir, "containerd"), testenv.ContainerdOptions{})
	if err != nil {
		return err
	}
	s.ctrd, err = containerd.New(s.containerd.Address, containerd.WithDefaultNamespace(ctrdNamespace))
	if err != nil {
		return fmt.Errorf("containerd client: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "podshimd"), 0o755); err != nil {
		return err
	}
	s.podshimd, err = testenv.StartPodshimd(ctx, filepath.Join(dir, "podshimd"), testenv.PodshimdOptions{
		Binary:            filepath.Join(s.binDir, "podshimd"),
		ContainerdAddress: s.containerd.Address,
		CNIConfDir:        s.cniConfDir,
		RegistryConfigDir: s.registryConfigDir,
	})
	if err != nil {
		return err
	}
	// Every test may rely on busybox being present (pulled through the
	// mirror, as kubelet would before creating a container).
	pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if _, err := s.podshimd.Image.PullImage(pctx, &criapi.PullImageRequest{Image: &criapi.ImageSpec{Image: busyboxImage}}); err != nil {
		return fmt.Errorf("pull %s: %w", busyboxImage, err)
	}
	return nil
}

// buildBinaries builds podshimd and, next to it, the static pause.
func buildBinaries(binDir string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	builds := []struct {
		out, pkg string
		env      []string
		flags    []string
	}{
		{filepath.Join(binDir, "podshimd"), "github.com/podshim/podshim/cmd/podshimd", nil, buildFlags()},
		{filepath.Join(binDir, "pause"), "github.com/podshim/podshim/cmd/pause", []string{"CGO_ENABLED=0"}, nil},
	}
	for _, b := range builds {
		cmd := exec.Command(goBin, append(append([]string{"build"}, b.flags...), "-o", b.out, b.pkg)...)
		cmd.Env = append(os.Environ(), b.env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %w\n%s", b.pkg, err, out)
		}
	}
	return nil
}

// startRegistry serves the test images and points docker.io at it.
func (s *suite) startRegistry(ctx context.Context) error {
	busybox, err := testimage.Busybox()
	if err != nil {
		return err
	}
	stopSignal, err := testimage.WithConfig(busybox, func(c *v1.Config) { c.StopSignal = "SIGUSR1" })
	if err != nil {
		return err
	}
	pullTest, err := testimage.WithConfig(busybox, func(c *v1.Config) {
		c.Env = append(c.Env, "PODSHIM_PULL_TEST=1")
		c.User = "nobody"
	})
	if err != nil {
		return err
	}
	s.images = map[string]v1.Image{busyboxImage: busybox, stopSignalImage: stopSignal, pullTestImage: pullTest}
	if s.registry, err = testimage.StartRegistry(ctx); err != nil {
		return err
	}
	for name, img := range s.images {
		if err := s.registry.PushContext(ctx, strings.TrimPrefix(name, "docker.io/"), img); err != nil {
			return err
		}
	}
	return testimage.WriteHostsTOML(s.registryConfigDir, "docker.io", s.registry.Addr())
}

// teardown removes every pod through CRI, checks that podshimd left nothing
// behind, then stops everything and removes what is left anyway.
func (s *suite) teardown() []error {
	var errs []error
	if s.podshimd != nil {
		errs = append(errs, s.removeAllPods()...)
		if leftovers := s.podResidue(); len(leftovers) > 0 {
			errs = append(errs, fmt.Errorf("left behind after removing every pod: %s", strings.Join(leftovers, "; ")))
		}
		s.podshimd.Stop()
		if n := raceReports(s.podshimd.LogPath); n > 0 {
			errs = append(errs, fmt.Errorf("podshimd (built with -race) reported %d data races in its log", n))
			keepLog(s.podshimd.LogPath)
		}
	}
	var namespaces []string
	if s.ctrd != nil {
		namespaces, _ = s.ctrd.NamespaceService().List(context.Background())
		s.ctrd.Close()
	}
	if s.containerd != nil {
		s.containerd.Stop() // kills the shims and unmounts below its dir
	}
	// Pods without a cgroup parent live below containerd's default
	// /<namespace>; runc removes a container's cgroup but not that parent.
	for _, ns := range namespaces {
		for _, d := range cgroupDirs("/" + ns) {
			err := os.Remove(d)
			for deadline := time.Now().Add(2 * time.Second); err != nil && !errors.Is(err, os.ErrNotExist) && time.Now().Before(deadline); {
				time.Sleep(50 * time.Millisecond) // killed processes leaving
				err = os.Remove(d)
			}
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, fmt.Errorf("cgroup parent of namespace %s (a container cgroup left in it?): %w", ns, err))
			}
		}
	}
	if s.dir != "" {
		testenv.KillShims(filepath.Join(s.dir, "containerd", "containerd.sock"))
		testenv.UnmountBelow(s.dir)
	}
	if out, err := exec.Command("ip", "link", "show", bridgeName).CombinedOutput(); err == nil {
		if out, err := exec.Command("ip", "link", "del", bridgeName).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("delete bridge %s: %v: %s", bridgeName, err, out))
		}
	} else if !strings.Contains(string(out), "does not exist") {
		errs = append(errs, fmt.Errorf("ip link show %s: %v: %s", bridgeName, err, out))
	}
	if err := os.RemoveAll(hostLocalDir); err != nil {
		errs = append(errs, err)
	}
	if n := removeNetworkRules(); n > 0 {
		errs = append(errs, fmt.Errorf("removed %d leftover iptables nat rules of network %s", n, networkName))
	}
	if s.registry != nil {
		// The pushes' keep-alive connections would hold up the shutdown.
		if tr, ok := remote.DefaultTransport.(*http.Transport); ok {
			tr.CloseIdleConnections()
		}
		if err := s.registry.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if s.dir != "" {
		if err := os.RemoveAll(s.dir); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", s.dir, err))
		}
	}
	return errs
}

// removeAllPods stops and removes every pod podshimd knows, as kubelet's
// garbage collection would.
func (s *suite) removeAllPods() []error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	resp, err := s.podshimd.Runtime.ListPodSandbox(ctx, &criapi.ListPodSandboxRequest{})
	if err != nil {
		return []error{fmt.Errorf("list pods at teardown: %w", err)}
	}
	var errs []error
	for _, p := range resp.Items {
		if _, err := s.podshimd.Runtime.StopPodSandbox(ctx, &criapi.StopPodSandboxRequest{PodSandboxId: p.Id}); err != nil {
			errs = append(errs, fmt.Errorf("stop pod %s at teardown: %w", p.Id, err))
		}
		if _, err := s.podshimd.Runtime.RemovePodSandbox(ctx, &criapi.RemovePodSandboxRequest{PodSandboxId: p.Id}); err != nil {
			errs = append(errs, fmt.Errorf("remove pod %s at teardown: %w", p.Id, err))
		}
	}
	return errs
}

// podResidue lists the pod resources that still exist although podshimd
// has no pod any more.
func (s *suite) podResidue() []string {
	var out []string
	deadline := time.Now().Add(10 * time.Second)
	for {
		out = out[:0]
		res := takeResources(context.Background())
		for _, kind := range []string{kindNetNS, kindIPs, kindVeths, kindMounts, kindContainers, kindTasks, kindSnapshots, kindShims, kindDirs, kindCNICache, kindIptables} {
			for _, item := range res[kind] {
				out = append(out, kind+" "+item)
			}
		}
		if len(out) == 0 || time.Now().After(deadline) {
			return out
		}
		time.Sleep(200 * time.Millisecond)
	}
}
