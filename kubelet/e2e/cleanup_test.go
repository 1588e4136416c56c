//go:build kubelet_e2e

package e2e

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// mountEntry is one line of /proc/self/mountinfo.
type mountEntry struct {
	mountPoint string
	fstype     string
	source     string
}

func parseMountinfo(line string) (mountEntry, bool) {
	pre, post, ok := strings.Cut(line, " - ")
	if !ok {
		return mountEntry{}, false
	}
	f, g := strings.Fields(pre), strings.Fields(post)
	if len(f) < 5 || len(g) < 2 {
		return mountEntry{}, false
	}
	return mountEntry{mountPoint: unescapeMountPath(f[4]), fstype: g[0], source: g[1]}, true
}

// unescapeMountPath undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountPath(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mounts returns every mount of this mount namespace.
func mounts() ([]mountEntry, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []mountEntry
	s := bufio.NewScanner(f)
	for s.Scan() {
		if m, ok := parseMountinfo(s.Text()); ok {
			out = append(out, m)
		}
	}
	return out, s.Err()
}

// mountsMatching lists the mount points that contain any of the strings.
func mountsMatching(subs ...string) []string {
	all, _ := mounts()
	var out []string
	for _, m := range all {
		for _, s := range subs {
			if s != "" && strings.Contains(m.mountPoint, s) {
				out = append(out, m.mountPoint)
				break
			}
		}
	}
	return out
}

// unmountBelow lazily unmounts everything mounted at or below dir, deepest
// first, repeating while mounts remain (a bind mount can be stacked).
func unmountBelow(dir string) []error {
	var errs []error
	for round := 0; round < 5; round++ {
		all, err := mounts()
		if err != nil {
			return []error{err}
		}
		var below []string
		for _, m := range all {
			if m.mountPoint == dir || strings.HasPrefix(m.mountPoint, dir+"/") {
				below = append(below, m.mountPoint)
			}
		}
		if len(below) == 0 {
			return nil
		}
		sort.Slice(below, func(i, j int) bool { return len(below[i]) > len(below[j]) })
		errs = nil
		for _, p := range below {
			if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && err != unix.EINVAL && err != unix.ENOENT {
				errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
			}
		}
	}
	return errs
}

// cgroupV1Root is where this machine mounts its cgroup v1 hierarchies.
const cgroupV1Root = "/sys/fs/cgroup"

// cgroupHierarchies lists the mounted hierarchies (cpu, memory, ...), with
// the hybrid layout's cgroup2 "unified" one, where kubelet's cgroup manager
// creates the pod cgroups too.
func cgroupHierarchies() []string {
	entries, _ := os.ReadDir(cgroupV1Root)
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, filepath.Join(cgroupV1Root, e.Name()))
		}
	}
	return out
}

// createCgroupRoot creates the cgroup rel in every v1 hierarchy, as kubelet
// requires of its cgroupRoot. A new cpuset cgroup starts with no CPUs and no
// memory nodes; it gets its parent's.
func createCgroupRoot(rel string) error {
	for _, h := range cgroupHierarchies() {
		d := filepath.Join(h, rel)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create cgroup %s: %w", d, err)
		}
		if filepath.Base(h) != "cpuset" {
			continue
		}
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			b, err := os.ReadFile(filepath.Join(h, f))
			if err != nil {
				return fmt.Errorf("read %s: %w", f, err)
			}
			if err := os.WriteFile(filepath.Join(d, f), b, 0o644); err != nil {
				return fmt.Errorf("write %s: %w", filepath.Join(d, f), err)
			}
		}
	}
	return nil
}

// killCgroupTree SIGKILLs every process in the cgroup tree rel (relative to
// each hierarchy's root): the pods' containers and pause processes.
func killCgroupTree(rel string) {
	for _, h := range cgroupHierarchies() {
		_ = filepath.WalkDir(filepath.Join(h, rel), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || d.Name() != "cgroup.procs" {
				return nil
			}
			b, _ := os.ReadFile(p)
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil && pid > 1 {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
			return nil
		})
	}
}

// removeCgroupTree removes the cgroup tree rel from every hierarchy,
// deepest first. The processes must be gone; removal is retried briefly
// while the kernel finishes tearing them down.
func removeCgroupTree(rel string) []error {
	var errs []error
	for _, h := range cgroupHierarchies() {
		root := filepath.Join(h, rel)
		if _, err := os.Stat(root); err != nil {
			continue
		}
		var dirs []string
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		for _, d := range dirs {
			var err error
			for i := 0; i < 50; i++ {
				if err = os.Remove(d); err == nil || os.IsNotExist(err) {
					err = nil
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("remove cgroup %s: %w", d, err))
			}
		}
	}
	return errs
}

// containerLogSymlinksDir is where kubelet links every container's log file,
// whatever its podLogsDir: a fixed path in kubelet.
const containerLogSymlinksDir = "/var/log/containers"

// removeLogSymlinks removes the /var/log/containers links into podLogsDir.
func removeLogSymlinks(podLogsDir string) {
	entries, _ := os.ReadDir(containerLogSymlinksDir)
	for _, e := range entries {
		p := filepath.Join(containerLogSymlinksDir, e.Name())
		target, err := os.Readlink(p)
		if err == nil && strings.HasPrefix(target, podLogsDir+"/") {
			_ = os.Remove(p)
		}
	}
}

// kubeletSysctls are the kernel settings kubelet's container manager
// rewrites at start (vm.overcommit_memory=1, kernel.panic=10, ...). The
// harness saves them before kubelet starts and puts them back at the end:
// this is a shared machine.
var kubeletSysctls = []string{
	"vm/overcommit_memory",
	"vm/panic_on_oom",
	"kernel/panic",
	"kernel/panic_on_oops",
	"kernel/keys/root_maxkeys",
	"kernel/keys/root_maxbytes",
}

func saveSysctls() map[string]string {
	out := map[string]string{}
	for _, k := range kubeletSysctls {
		if b, err := os.ReadFile(filepath.Join("/proc/sys", k)); err == nil {
			out[k] = strings.TrimSpace(string(b))
		}
	}
	return out
}

func restoreSysctls(saved map[string]string) []error {
	var errs []error
	for k, v := range saved {
		p := filepath.Join("/proc/sys", k)
		if b, err := os.ReadFile(p); err == nil && strings.TrimSpace(string(b)) == v {
			continue
		}
		if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
			errs = append(errs, fmt.Errorf("restore sysctl %s=%s: %w", k, v, err))
		}
	}
	return errs
}

// devicePluginDir is where kubelet's device manager puts its registration
// socket and checkpoint: a fixed path, the API contract with device
// plugins, whatever kubelet's root dir.
const devicePluginDir = "/var/lib/kubelet/device-plugins"

// removeDevicePluginFiles removes the files kubelet's device manager left
// in devicePluginDir, and the directories if that leaves them empty.
func removeDevicePluginFiles() {
	for _, f := range []string{"kubelet.sock", "kubelet_internal_checkpoint"} {
		_ = os.Remove(filepath.Join(devicePluginDir, f))
	}
	_ = os.Remove(devicePluginDir)               // only if empty
	_ = os.Remove(filepath.Dir(devicePluginDir)) // only if empty
}

// killStaleDaemons kills kubelet, podshimd and containerd processes of an
// earlier run of this harness that died without its teardown (a killed
// test binary): they are recognised by an argument below base.
func killStaleDaemons(base string) {
	for _, name := range []string{"kubelet", "podshimd", "containerd"} {
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == os.Getpid() {
				continue
			}
			cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			if err != nil {
				continue
			}
			args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
			if filepath.Base(args[0]) != name {
				continue
			}
			for _, a := range args[1:] {
				if strings.Contains(a, base+"/") {
					_ = syscall.Kill(pid, syscall.SIGKILL)
					break
				}
			}
		}
	}
}
