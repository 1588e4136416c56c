// Package testenv starts the real components podshim's tests run against:
// a private containerd daemon (own root, state dir and socket) that is
// stopped and cleaned up when the test ends.
package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd"
	"golang.org/x/sys/unix"

	"github.com/podshim/podshim/critest/containerdconf"
	"github.com/podshim/podshim/sandbox/shimproc"
)

// Containerd is a running private containerd daemon.
type Containerd struct {
	Dir     string // everything of this instance lives below Dir
	Root    string
	State   string
	Address string // unix socket path
	cmd     *exec.Cmd
	logFile *os.File
}

// ContainerdOptions tune a private containerd.
type ContainerdOptions struct {
	// CRI, when set, keeps containerd's own CRI plugin on with this
	// configuration; nil turns it off.
	CRI *containerdconf.CRI
	// DebugAddress, when set, is containerd's [debug] address: a unix
	// socket serving /debug/pprof.
	DebugAddress string
}

// StartContainerd starts a containerd whose files all live in dir and waits
// until it serves. The caller must Stop it.
func StartContainerd(ctx context.Context, dir string, o ContainerdOptions) (*Containerd, error) {
	c := &Containerd{
		Dir:     dir,
		Root:    filepath.Join(dir, "root"),
		State:   filepath.Join(dir, "state"),
		Address: filepath.Join(dir, "containerd.sock"),
	}
	for _, d := range []string{c.Root, c.State} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return nil, err
		}
	}
	cfg := containerdconf.Config{Dir: dir, Address: c.Address, DebugAddress: o.DebugAddress, CRI: o.CRI}
	cfgPath := filepath.Join(dir, "containerd.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg.TOML()), 0o644); err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		return nil, err
	}
	c.logFile = logFile
	c.cmd = exec.Command("containerd", "--config", cfgPath)
	c.cmd.Stdout, c.cmd.Stderr = logFile, logFile
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := c.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start containerd: %w", err)
	}
	if err := c.waitReady(ctx, 20*time.Second); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// Kill ends the daemon with SIGKILL, as a crash would, and leaves its
// shims (and so the containers) running. Restart brings it back.
func (c *Containerd) Kill() {
	if c.cmd != nil && c.cmd.Process != nil {
		_ = c.cmd.Process.Kill()
		_ = c.cmd.Wait()
		c.cmd = nil
	}
}

// Restart starts the daemon again, with the same config, after Kill, and
// waits until it serves.
func (c *Containerd) Restart(ctx context.Context) error {
	if c.cmd != nil {
		return fmt.Errorf("containerd is running")
	}
	c.cmd = exec.Command("containerd", "--config", filepath.Join(c.Dir, "containerd.toml"))
	c.cmd.Stdout, c.cmd.Stderr = c.logFile, c.logFile
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := c.cmd.Start(); err != nil {
		c.cmd = nil
		return fmt.Errorf("restart containerd: %w", err)
	}
	return c.waitReady(ctx, 20*time.Second)
}

func (c *Containerd) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(c.Address); err == nil {
			client, err := containerd.New(c.Address, containerd.WithTimeout(2*time.Second))
			if err == nil {
				serving, err := client.IsServing(ctx)
				client.Close()
				if err == nil && serving {
					return nil
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(c.Dir, "containerd.log"))
	return fmt.Errorf("containerd at %s not serving after %s; log:\n%s", c.Address, timeout, tail(string(log), 2000))
}

// Stop ends the daemon, kills the shims it started, and unmounts whatever
// is left below its root and state dirs. It is safe to call twice.
func (c *Containerd) Stop() {
	if c.cmd != nil && c.cmd.Process != nil {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = c.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = c.cmd.Process.Kill()
			<-done
		}
		c.cmd = nil
	}
	KillShims(c.Address)
	UnmountBelow(c.Dir)
	if c.logFile != nil {
		c.logFile.Close()
		c.logFile = nil
	}
}

// KillShims kills the containerd-shim processes started by the containerd
// at address (their command line names it) and every process below them:
// the containers they run live in process groups of their own.
func KillShims(address string) {
	var pids []int
	for _, p := range shimproc.Find(func(args []string) bool { return slices.Contains(args, address) }) {
		pids = append(pids, p.Pid)
	}
	shimproc.KillTrees(pids...)
}

// UnmountBelow lazily unmounts every mount point below dir, deepest first.
func UnmountBelow(dir string) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var points []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			points = append(points, f[4])
		}
	}
	for i := len(points) - 1; i >= 0; i-- {
		_ = unix.Unmount(points[i], unix.MNT_DETACH)
	}
}

// ContainerdForTest starts a private containerd for t in a fresh directory
// and stops it when t ends.
func ContainerdForTest(t testing.TB) *Containerd {
	t.Helper()
	dir, err := os.MkdirTemp("", "podshim-ctrd-")
	if err != nil {
		t.Fatal(err)
	}
	c, err := StartContainerd(context.Background(), dir, ContainerdOptions{})
	if err != nil {
		os.RemoveAll(dir)
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Stop()
		os.RemoveAll(dir)
	})
	return c
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
