package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/podshim/podshim/critest/testenv"
	"github.com/podshim/podshim/critest/testimage"
)

// Env is everything the benchmark starts: the registry, both runtimes and
// the floor. Close stops and removes all of it.
type Env struct {
	dir      string
	registry *testimage.Registry
	Images   Images
	RTs      [2]*Runtime // podshim, containerd
	Floor    *Floor
	lock     *os.File
}

// setupEnv starts the registry with the benchmark's images, writes both CNI
// networks, and starts podshim and containerd's CRI. Once it has locked the
// work dir it returns the Env even with an error, and the caller must Close
// it.
func setupEnv(ctx context.Context, o Options) (*Env, error) {
	dir, err := filepath.Abs(o.WorkDir)
	if err != nil {
		return nil, err
	}
	lock, err := lockWorkDir(dir)
	if err != nil {
		return nil, err
	}
	e := &Env{dir: dir, lock: lock}
	if dirExists(dir) {
		for _, d := range cleanupLeftovers(dir) {
			logf("leftover of an earlier run: %s", d)
		}
		if err := os.RemoveAll(dir); err != nil {
			return e, fmt.Errorf("remove old work dir: %w", err)
		}
	}
	for _, d := range []string{dir, filepath.Join(dir, "a", "podshim")} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return e, err
		}
	}
	for _, n := range []Network{netA, netB} {
		if _, err := os.Stat("/sys/class/net/" + n.Bridge); err == nil {
			return e, fmt.Errorf("bridge %s exists already: another user of the benchmark's networks?", n.Bridge)
		}
	}

	e.registry, err = testimage.StartRegistry(ctx)
	if err != nil {
		return e, err
	}
	hosts := filepath.Join(dir, "hosts")
	if err := testimage.WriteHostsTOML(hosts, e.registry.Addr(), e.registry.Addr()); err != nil {
		return e, err
	}
	pause, err := filepath.Abs(o.Pause)
	if err != nil {
		return e, err
	}
	if e.Images, err = pushImages(ctx, e.registry, pause, o.PullRounds); err != nil {
		return e, err
	}

	na, err := writeNetwork(dir, netA)
	if err != nil {
		return e, err
	}
	nb, err := writeNetwork(dir, netB)
	if err != nil {
		return e, err
	}
	podshimd, err := filepath.Abs(o.Podshimd)
	if err != nil {
		return e, err
	}
	s := runtimeSetup{Dir: dir, HostsDir: hosts, SandboxImage: e.Images.Pause, Podshimd: podshimd, Profiles: o.Profiles,
		PodshimdArgs: o.PodshimdArgs, PodshimHandler: o.PodshimHandler}
	// Each runtime's daemons start in its runtime cgroup (runtimeCgroup).
	if err := withinCgroup(runtimeCgroup("a"), func() (err error) {
		e.RTs[0], err = startPodshim(ctx, s, na)
		return err
	}); err != nil {
		return e, err
	}
	if err := withinCgroup(runtimeCgroup("b"), func() (err error) {
		e.RTs[1], err = startContainerdCRI(ctx, s, nb)
		return err
	}); err != nil {
		return e, err
	}
	for _, rt := range e.RTs {
		if err := rt.pullImages(ctx, e.Images.Pause, e.Images.Busybox); err != nil {
			return e, err
		}
		logf("%s ready: %s", rt.Name, rt.Version)
	}
	if e.Floor, err = newFloor(ctx, filepath.Join(dir, "floor"), na); err != nil {
		return e, err
	}
	return e, nil
}

// Close removes every pod through CRI, stops the daemons, kills leftover
// shims and pod processes, and removes mounts, cgroups, bridges and the
// work dir. The daemons' logs are copied to logDir first (when set). It
// writes what it did to w.
func (e *Env) Close(w io.Writer, logDir string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, rt := range e.RTs {
		if rt == nil {
			continue
		}
		if err := rt.removeAllPods(ctx); err != nil {
			fmt.Fprintf(w, "cleanup: %v\n", err)
		}
	}
	for _, rt := range e.RTs {
		if rt != nil {
			rt.Stop()
		}
	}
	if e.Floor != nil {
		e.Floor.Cleanup()
	}
	for _, d := range cleanupLeftovers(e.dir) {
		fmt.Fprintf(w, "cleanup: %s\n", d)
	}
	if e.registry != nil {
		if err := e.registry.Close(); err != nil {
			fmt.Fprintf(w, "cleanup: %v\n", err)
		}
	}
	if logDir != "" {
		copyLogs(e.dir, logDir)
	}
	testenv.UnmountBelow(e.dir)
	if err := os.RemoveAll(e.dir); err != nil {
		fmt.Fprintf(w, "cleanup: remove %s: %v\n", e.dir, err)
	}
	for _, l := range verifyClean(e.dir) {
		fmt.Fprintf(w, "cleanup: LEFT BEHIND: %s\n", l)
	}
	if e.lock != nil {
		e.lock.Close()
	}
}

// copyLogs copies the daemons' logs from the work dir to dst.
func copyLogs(dir, dst string) {
	logs := map[string]string{
		"a/podshim/podshimd.log":      "podshimd.log",
		"a/containerd/containerd.log": "podshim-containerd.log",
		"b/containerd/containerd.log": "containerd-cri.log",
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return
	}
	for src, name := range logs {
		data, err := os.ReadFile(filepath.Join(dir, src))
		if err == nil {
			_ = os.WriteFile(filepath.Join(dst, name), data, 0o644)
		}
	}
}

// verifyClean lists what of the benchmark is still there: processes, mounts,
// bridges, cgroups.
func verifyClean(dir string) []string {
	var left []string
	for _, p := range listProcs(func(_ int, args []string) bool {
		return hasArg(args, dir+"/")
	}, false) {
		if p.PID != os.Getpid() && p.PID != os.Getppid() {
			left = append(left, fmt.Sprintf("process %d: %s", p.PID, strings.Join(p.Args, " ")))
		}
	}
	if data, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Fields(line)
			if len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
				left = append(left, "mount "+f[4])
			}
		}
	}
	for _, n := range []Network{netA, netB} {
		if _, err := os.Stat("/sys/class/net/" + n.Bridge); err == nil {
			left = append(left, "bridge "+n.Bridge)
		}
	}
	if d := benchCgroupDirs(); len(d) > 0 {
		left = append(left, fmt.Sprintf("%d cgroup dirs, first %s", len(d), d[0]))
	}
	if dirExists(dir) {
		left = append(left, "work dir "+dir)
	}
	return left
}
