//go:build kubelet_e2e

package e2e

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/podshim/podshim/critest/testenv"
)

// kubeletVersion is the kubelet the harness runs when KUBELET_BIN does not
// name one (kubelet/build.sh builds it).
const kubeletVersion = "v1.34.4"

// baseDir holds everything the harness creates.
const baseDir = "/tmp/kubelet-h"

// paths are the harness's directories, all below baseDir.
type paths struct {
	base              string
	bin               string
	containerdDir     string
	podshimDir        string
	kubeletDir        string
	kubeletRoot       string
	manifests         string
	podLogs           string
	cniConfDir        string
	ipamDir           string
	registryConfigDir string
	volumes           string
}

func newPaths(base string) paths {
	return paths{
		base:              base,
		bin:               filepath.Join(base, "bin"),
		containerdDir:     filepath.Join(base, "containerd"),
		podshimDir:        filepath.Join(base, "podshim"),
		kubeletDir:        filepath.Join(base, "kubelet"),
		kubeletRoot:       filepath.Join(base, "kubelet", "root"),
		manifests:         filepath.Join(base, "kubelet", "manifests"),
		podLogs:           filepath.Join(base, "kubelet", "pod-logs"),
		cniConfDir:        filepath.Join(base, "cni", "net.d"),
		ipamDir:           filepath.Join(base, "cni", "ipam"),
		registryConfigDir: filepath.Join(base, "certs.d"),
		volumes:           filepath.Join(base, "volumes"),
	}
}

// harness is the running test bed: one kubelet on one runtime, shared by
// all scenarios.
type harness struct {
	runtime  string // "podshim" or "containerd"
	repoRoot string
	paths    paths

	registry   *testRegistry
	containerd *containerdDaemon
	podshimd   *podshimDaemon
	kubelet    *kubeletDaemon
	cri        *criClient
	sysctls    map[string]string

	mu      sync.Mutex
	timings map[string]time.Duration
}

// h is the harness TestMain sets up for the tests of this package.
var h *harness

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse() // for -test.timeout, read below
	ctx := context.Background()
	start := time.Now()
	hh, err := newHarness()
	if err != nil {
		fmt.Fprintf(os.Stderr, "kubelet e2e: %v\n", err)
		return 1
	}
	h = hh

	// Tear down also on Ctrl-C or a kill from make.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	var once sync.Once
	teardown := func() []error {
		var errs []error
		once.Do(func() { errs = h.teardown(ctx) })
		return errs
	}
	go func() {
		s := <-sigs
		fmt.Fprintf(os.Stderr, "kubelet e2e: %v: tearing down\n", s)
		teardown()
		os.Exit(1)
	}()

	if err := h.setup(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "kubelet e2e: setup (runtime %s): %v\n", h.runtime, err)
		for _, e := range teardown() {
			fmt.Fprintf(os.Stderr, "kubelet e2e: teardown: %v\n", e)
		}
		return 1
	}
	setupTime := time.Since(start)
	// go test's -timeout panics without running TestMain's teardown: tear
	// down shortly before it instead.
	if d := testTimeout(); d > time.Minute {
		timer := time.AfterFunc(d-30*time.Second, func() {
			fmt.Fprintf(os.Stderr, "kubelet e2e: -timeout %s about to expire: tearing down\n", d)
			teardown()
			fmt.Fprintf(os.Stderr, "kubelet e2e: logs kept in %s\n", baseDir)
			os.Exit(1)
		})
		defer timer.Stop()
	}
	code := m.Run()
	tdStart := time.Now()
	errs := teardown()
	for _, e := range errs {
		fmt.Fprintf(os.Stderr, "kubelet e2e: teardown: %v\n", e)
	}
	if len(errs) > 0 {
		code = 1
	}
	h.printTimings(setupTime, time.Since(tdStart), time.Since(start))
	if code == 0 {
		_ = os.RemoveAll(baseDir)
	} else {
		fmt.Fprintf(os.Stderr, "kubelet e2e: logs kept in %s\n", baseDir)
	}
	return code
}

// testTimeout is go test's -timeout (0: none).
func testTimeout() time.Duration {
	f := flag.Lookup("test.timeout")
	if f == nil {
		return 0
	}
	d, _ := time.ParseDuration(f.Value.String())
	return d
}

// newHarness checks that everything the run needs is there. A missing
// kubelet or runtime binary fails the run: these tests never skip.
func newHarness() (*harness, error) {
	rt := os.Getenv("RUNTIME")
	if rt == "" {
		rt = "podshim"
	}
	if rt != "podshim" && rt != "containerd" {
		return nil, fmt.Errorf("RUNTIME=%q: want podshim or containerd", rt)
	}
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	hh := &harness{runtime: rt, repoRoot: root, paths: newPaths(baseDir), timings: map[string]time.Duration{}}
	if _, err := os.Stat(hh.kubeletBin()); err != nil {
		return nil, fmt.Errorf("kubelet binary: %w (build it with kubelet/build.sh or make kubelet-bin)", err)
	}
	if rt == "podshim" {
		if _, err := os.Stat(hh.podshimdBin()); err != nil {
			return nil, fmt.Errorf("podshimd binary: %w (build bin/podshimd first)", err)
		}
	}
	for _, tool := range []string{"containerd", "containerd-shim-runc-v2", "runc", "nsenter", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s: %w", tool, err)
		}
	}
	if _, err := os.Stat(filepath.Join(cniBinDir, "bridge")); err != nil {
		return nil, fmt.Errorf("CNI plugins: %w", err)
	}
	return hh, nil
}

func (h *harness) kubeletBin() string {
	if b := os.Getenv("KUBELET_BIN"); b != "" {
		return b
	}
	return filepath.Join(h.repoRoot, "kubelet", "_bin", kubeletVersion, "kubelet")
}

// kubeletMinor is the minor version of the kubelet binary the harness
// runs (34 for v1.34.4).
func (h *harness) kubeletMinor(t *testing.T) int {
	t.Helper()
	out, err := exec.Command(h.kubeletBin(), "--version").Output()
	if err != nil {
		t.Fatalf("%s --version: %v", h.kubeletBin(), err)
	}
	var major, minor int
	if _, err := fmt.Sscanf(strings.TrimSpace(string(out)), "Kubernetes v%d.%d", &major, &minor); err != nil {
		t.Fatalf("kubelet version %q: %v", out, err)
	}
	return minor
}

func (h *harness) podshimdBin() string {
	if b := os.Getenv("PODSHIMD_BIN"); b != "" {
		return b
	}
	return filepath.Join(h.repoRoot, "bin", "podshimd")
}

// repoRoot finds podshim's module root above the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/podshim/podshim\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("podshim's go.mod not found above the working directory")
		}
		dir = parent
	}
}

// setup cleans what a crashed earlier run may have left, then starts the
// registry, containerd, podshimd (RUNTIME=podshim) and kubelet.
func (h *harness) setup(ctx context.Context) error {
	for _, e := range h.cleanupLeftovers() {
		fmt.Fprintf(os.Stderr, "kubelet e2e: leftover from an earlier run: %v\n", e)
	}
	if err := os.RemoveAll(h.paths.base); err != nil {
		return fmt.Errorf("remove %s: %w", h.paths.base, err)
	}
	for _, d := range []string{h.paths.bin, h.paths.volumes, h.paths.registryConfigDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	pauseBin := ""
	if h.runtime == "containerd" {
		// containerd's CRI pulls its sandbox image; podshimd carries its own.
		pauseBin = filepath.Join(h.paths.bin, "pause")
		if err := h.buildPause(ctx, pauseBin); err != nil {
			return err
		}
	}

	reg, err := startRegistry(ctx)
	if err != nil {
		return err
	}
	h.registry = reg
	if err := reg.pushTestImages(ctx, pauseBin); err != nil {
		return err
	}
	if err := reg.writeHostsTOML(h.paths.registryConfigDir); err != nil {
		return err
	}
	if err := writeCNIConfig(h.paths.cniConfDir, h.paths.ipamDir); err != nil {
		return err
	}

	cd, err := startContainerd(ctx, h.paths.containerdDir, h.runtime == "containerd", h.paths)
	if err != nil {
		return err
	}
	h.containerd = cd
	endpoint := cd.address
	if h.runtime == "podshim" {
		d, err := startPodshimd(ctx, h.podshimdBin(), h.paths, cd.address)
		if err != nil {
			return err
		}
		h.podshimd = d
		endpoint = d.socket
	}
	if h.cri, err = dialCRI(endpoint); err != nil {
		return err
	}

	h.sysctls = saveSysctls()
	k, err := startKubelet(ctx, h.kubeletBin(), h.paths, "unix://"+endpoint)
	if err != nil {
		return err
	}
	h.kubelet = k
	return nil
}

// buildPause builds podshim's cmd/pause statically for the sandbox image
// containerd's CRI pulls as registry.k8s.io/pause:3.10.
func (h *harness) buildPause(ctx context.Context, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/pause")
	cmd.Dir = h.repoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build cmd/pause: %v: %s", err, b)
	}
	return nil
}

// runtimeRestart restarts the runtime kubelet talks to: podshimd, or
// containerd itself when its CRI plugin is the runtime.
func (h *harness) runtimeRestart(ctx context.Context) error {
	if h.runtime == "podshim" {
		return h.podshimd.restart(ctx)
	}
	return h.containerd.restart(ctx)
}

// teardown stops everything in dependency order and removes what kubelet
// and the runtimes leave behind. It returns what could not be cleaned.
func (h *harness) teardown(ctx context.Context) []error {
	h.kubelet.stop()
	var errs []error
	if h.cri != nil {
		// The runtime stops the pods' containers and tears down their
		// networks (CNI DEL, netns) itself, as it would for kubelet.
		errs = append(errs, h.cri.removeAllPods(ctx)...)
		h.cri.close()
	}
	h.podshimd.stop()
	errs = append(errs, h.cleanupLeftovers()...)
	h.registry.stop()
	if h.sysctls != nil {
		errs = append(errs, restoreSysctls(h.sysctls)...)
	}
	return errs
}

// cleanupLeftovers removes whatever the processes of a run may leave
// behind: container processes in the pod cgroups, containerd and its shims,
// mounts below the base dir (kubelet bind-mounts its root dir onto itself),
// pod cgroups, /var/log/containers links, netns, the bridge and IPs.
func (h *harness) cleanupLeftovers() []error {
	killStaleDaemons(h.paths.base)
	killCgroupTree(cgroupRoot)
	h.containerd.stop()
	testenv.KillShims(filepath.Join(h.paths.containerdDir, "containerd.sock"))
	var errs []error
	errs = append(errs, unmountBelow(h.paths.base)...)
	errs = append(errs, removeCgroupTree(cgroupRoot)...)
	removeLogSymlinks(h.paths.podLogs)
	removeDevicePluginFiles()
	errs = append(errs, cleanupNetwork(h.paths.ipamDir)...)
	return errs
}

// timed records how long the calling test takes; call it first in a test.
func (h *harness) timed(t *testing.T) {
	start := time.Now()
	// A cleanup registered first runs last: the time includes the test's
	// own cleanups (pod removal).
	t.Cleanup(func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		status := ""
		if t.Failed() {
			status = " FAILED"
		}
		h.timings[t.Name()+status] = time.Since(start)
	})
}

func (h *harness) printTimings(setup, teardown, total time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	names := make([]string, 0, len(h.timings))
	for n := range h.timings {
		names = append(names, n)
	}
	sort.Strings(names)
	version := "unknown"
	if out, err := exec.Command(h.kubeletBin(), "--version").Output(); err == nil {
		version = strings.TrimSpace(strings.TrimPrefix(string(out), "Kubernetes "))
	}
	containerdVersion := "unknown"
	if out, err := exec.Command("containerd", "--version").Output(); err == nil {
		if f := strings.Fields(string(out)); len(f) >= 3 {
			containerdVersion = f[2]
		}
	}
	fmt.Printf("\nkubelet e2e timings (runtime %s, kubelet %s, containerd %s):\n", h.runtime, version, containerdVersion)
	fmt.Printf("  %-40s %8.1fs\n", "setup", setup.Seconds())
	for _, n := range names {
		fmt.Printf("  %-40s %8.1fs\n", n, h.timings[n].Seconds())
	}
	fmt.Printf("  %-40s %8.1fs\n", "teardown", teardown.Seconds())
	fmt.Printf("  %-40s %8.1fs\n", "total", total.Seconds())
}
