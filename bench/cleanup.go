package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podshim/podshim/critest/testenv"
)

// benchCgroups are the cgroup parents the benchmark's pods and floor
// containers live under (cgroupfs driver, one per runtime and the floor).
// The runtime cgroups hold the daemons and shims (runtimeCgroup).
var benchCgroups = []string{"/podshim-bench-a", "/podshim-bench-b", floorCgroup, runtimeCgroup("a"), runtimeCgroup("b")}

// lockWorkDir takes an exclusive lock next to dir so that two benchmarks
// never share (and clean up) the same work dir. The lock is released when
// the process exits.
func lockWorkDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("another benchmark is running with work dir %s (lock %s.lock held)", dir, dir)
	}
	return f, nil
}

// cleanupLeftovers removes everything a benchmark with work dir dir may
// have left running or mounted: processes naming dir on their command line
// (containerds, podshimd, shims, runc), processes in the benchmark's cgroups
// (pause and containers), the cgroups themselves, mounts (snapshots, netns,
// shm) and the two bridges. It reports what it had to remove.
func cleanupLeftovers(dir string) []string {
	var did []string
	isOurs := func(_ int, args []string) bool {
		switch base := filepath.Base(args[0]); {
		case base == "containerd", base == "podshimd", base == "runc", strings.HasPrefix(base, "containerd-shim"):
			return hasArg(args, dir+"/")
		}
		return false
	}
	for _, p := range listProcs(isOurs, false) {
		did = append(did, fmt.Sprintf("killed leftover process %d (%s)", p.PID, strings.Join(p.Args, " ")))
		_ = syscall.Kill(p.PID, syscall.SIGKILL)
	}
	for _, sock := range []string{"a/containerd/containerd.sock", "b/containerd/containerd.sock"} {
		testenv.KillShims(filepath.Join(dir, sock))
	}
	if f := (&Floor{dir: filepath.Join(dir, "floor"), runcRoot: filepath.Join(dir, "floor", "runc")}); dirExists(f.runcRoot) {
		f.Cleanup()
	}
	did = append(did, killCgroupProcs()...)
	time.Sleep(200 * time.Millisecond) // let the killed processes leave their cgroups
	did = append(did, removeCgroups()...)
	testenv.UnmountBelow(dir)
	for _, n := range []Network{netA, netB} {
		if _, err := os.Stat("/sys/class/net/" + n.Bridge); err == nil {
			if out, err := exec.Command("ip", "link", "delete", n.Bridge).CombinedOutput(); err != nil {
				did = append(did, fmt.Sprintf("delete bridge %s: %v: %s", n.Bridge, err, out))
			} else {
				did = append(did, "deleted bridge "+n.Bridge)
			}
		}
	}
	return did
}

// cgroupRoots returns the mount points of the cgroup hierarchies.
func cgroupRoots() []string {
	entries, err := os.ReadDir("/sys/fs/cgroup")
	if err != nil {
		return nil
	}
	var roots []string
	for _, e := range entries {
		p := filepath.Join("/sys/fs/cgroup", e.Name())
		if fi, err := os.Lstat(p); err == nil && fi.IsDir() {
			roots = append(roots, p)
		}
	}
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.procs"); err == nil {
		roots = append(roots, "/sys/fs/cgroup") // cgroup v2 unified at the top
	}
	return roots
}

// benchCgroupDirs lists every cgroup directory below the benchmark's
// parents, in all hierarchies, deepest first.
func benchCgroupDirs() []string {
	var dirs []string
	for _, root := range cgroupRoots() {
		for _, parent := range benchCgroups {
			top := filepath.Join(root, parent)
			_ = filepath.WalkDir(top, func(p string, d os.DirEntry, err error) error {
				if err == nil && d.IsDir() {
					dirs = append(dirs, p)
				}
				return nil
			})
		}
	}
	sort.Slice(dirs, func(i, j int) bool { return strings.Count(dirs[i], "/") > strings.Count(dirs[j], "/") })
	return dirs
}

// killCgroupProcs kills every process in the benchmark's cgroups.
func killCgroupProcs() []string {
	var did []string
	seen := map[int]bool{}
	for _, d := range benchCgroupDirs() {
		data, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(data)) {
			pid, err := strconv.Atoi(f)
			if err != nil || seen[pid] || pid == os.Getpid() {
				continue
			}
			seen[pid] = true
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if len(seen) > 0 {
		did = append(did, fmt.Sprintf("killed %d leftover pod processes in the benchmark's cgroups", len(seen)))
	}
	return did
}

// removeCgroups removes the benchmark's (empty) cgroup directories.
func removeCgroups() []string {
	var failed []string
	for _, d := range benchCgroupDirs() {
		if err := unix.Rmdir(d); err != nil && !errors.Is(err, unix.ENOENT) {
			failed = append(failed, d)
		}
	}
	if len(failed) > 0 {
		return []string{fmt.Sprintf("could not remove %d cgroup dirs, first %s", len(failed), failed[0])}
	}
	return nil
}

func dirExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
