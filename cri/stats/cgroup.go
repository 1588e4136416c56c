// Package stats reads container resource usage straight from cgroups (v1
// and v2), on demand: no background poller, so every value is fresh when
// kubelet asks for it.
package stats

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Sample is one reading of a cgroup.
type Sample struct {
	Timestamp       time.Time
	CPUUsageNanos   uint64 // total CPU time used
	MemoryUsage     uint64 // including page cache
	WorkingSet      uint64 // usage minus inactive file pages: what kubelet evicts on
	RSS             uint64 // anonymous memory
	PageFaults      uint64
	MajorPageFaults uint64
	MemoryLimit     uint64 // 0 when unlimited
	Pids            uint64
}

// Reader reads cgroups of either version.
type Reader struct {
	v2     bool
	root   string            // v2: the unified mount
	mounts map[string]string // v1: controller → mount point
}

// NewReader finds the cgroup mounts of this host. On a hybrid host (v1
// controllers, plus a unified mount without them) it reads v1, where the
// controllers are.
func NewReader() (*Reader, error) {
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		return &Reader{v2: true, root: "/sys/fs/cgroup"}, nil
	}
	mounts, err := v1Mounts("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	return &Reader{mounts: mounts}, nil
}

// V2 reports whether the host uses the unified hierarchy.
func (r *Reader) V2() bool { return r.v2 }

// Read samples the cgroup at cgroupsPath (an OCI cgroupsPath: a path, or
// the systemd "slice:prefix:name" form).
func (r *Reader) Read(cgroupsPath string) (Sample, error) {
	rel := Dir(cgroupsPath)
	s := Sample{Timestamp: time.Now()}
	if r.v2 {
		return s, r.readV2(filepath.Join(r.root, rel), &s)
	}
	return s, r.readV1(rel, &s)
}

func (r *Reader) readV1(rel string, s *Sample) error {
	cpuDir, ok := r.mounts["cpuacct"]
	if !ok {
		return errors.New("no cpuacct cgroup mount")
	}
	usage, err := readUint(filepath.Join(cpuDir, rel, "cpuacct.usage"))
	if err != nil {
		return err
	}
	s.CPUUsageNanos = usage
	if memDir, ok := r.mounts["memory"]; ok {
		dir := filepath.Join(memDir, rel)
		if s.MemoryUsage, err = readUint(filepath.Join(dir, "memory.usage_in_bytes")); err != nil {
			return err
		}
		stat, err := readKeyed(filepath.Join(dir, "memory.stat"))
		if err != nil {
			return err
		}
		s.WorkingSet = subFloor(s.MemoryUsage, stat["total_inactive_file"])
		s.RSS = stat["total_rss"]
		s.PageFaults, s.MajorPageFaults = stat["total_pgfault"], stat["total_pgmajfault"]
		if limit, err := readUint(filepath.Join(dir, "memory.limit_in_bytes")); err == nil && limit < 1<<62 {
			s.MemoryLimit = limit
		}
	}
	if pidsDir, ok := r.mounts["pids"]; ok {
		s.Pids, _ = readUint(filepath.Join(pidsDir, rel, "pids.current"))
	}
	return nil
}

func (r *Reader) readV2(dir string, s *Sample) error {
	cpu, err := readKeyed(filepath.Join(dir, "cpu.stat"))
	if err != nil {
		return err
	}
	s.CPUUsageNanos = cpu["usage_usec"] * 1000
	if s.MemoryUsage, err = readUint(filepath.Join(dir, "memory.current")); err == nil {
		stat, err := readKeyed(filepath.Join(dir, "memory.stat"))
		if err != nil {
			return err
		}
		s.WorkingSet = subFloor(s.MemoryUsage, stat["inactive_file"])
		s.RSS = stat["anon"]
		s.PageFaults, s.MajorPageFaults = stat["pgfault"], stat["pgmajfault"]
		if limit, err := readUint(filepath.Join(dir, "memory.max")); err == nil {
			s.MemoryLimit = limit
		}
	}
	s.Pids, _ = readUint(filepath.Join(dir, "pids.current"))
	return nil
}

// Dir turns an OCI cgroupsPath into a path relative to a hierarchy's root.
// The systemd form "kubepods-besteffort-pod1.slice:podshim:id" becomes
// /kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/podshim-id.scope.
func Dir(cgroupsPath string) string {
	parts := strings.Split(cgroupsPath, ":")
	if len(parts) != 3 || strings.HasPrefix(cgroupsPath, "/") {
		return cgroupsPath
	}
	slice, prefix, name := parts[0], parts[1], parts[2]
	return filepath.Join(expandSlice(slice), prefix+"-"+name+".scope")
}

// expandSlice returns the path of a systemd slice: each dash-separated
// prefix is a parent slice.
func expandSlice(slice string) string {
	name := strings.TrimSuffix(slice, ".slice")
	if name == "" || name == "-" {
		return "/"
	}
	var b strings.Builder
	var prefix string
	for _, comp := range strings.Split(name, "-") {
		if prefix == "" {
			prefix = comp
		} else {
			prefix += "-" + comp
		}
		b.WriteString("/" + prefix + ".slice")
	}
	return b.String()
}

func v1Mounts(mountinfo string) (map[string]string, error) {
	data, err := os.ReadFile(mountinfo)
	if err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	mounts := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		// ... mountpoint ... - cgroup cgroup rw,cpu,cpuacct
		sep := strings.Index(line, " - ")
		if sep < 0 {
			continue
		}
		pre, post := strings.Fields(line[:sep]), strings.Fields(line[sep+3:])
		if len(pre) < 5 || len(post) < 3 || post[0] != "cgroup" {
			continue
		}
		for _, opt := range strings.Split(post[2], ",") {
			switch opt {
			case "cpu", "cpuacct", "memory", "pids", "cpuset", "blkio", "hugetlb":
				if _, seen := mounts[opt]; !seen {
					mounts[opt] = pre[4]
				}
			}
		}
	}
	return mounts, nil
}

func readUint(path string) (uint64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(data))
	if s == "max" {
		return 0, nil
	}
	return strconv.ParseUint(s, 10, 64)
}

// readKeyed parses "key value" lines (memory.stat, cpu.stat).
func readKeyed(path string) (map[string]uint64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		if n, err := strconv.ParseUint(v, 10, 64); err == nil {
			out[k] = n
		}
	}
	return out, nil
}

func subFloor(a, b uint64) uint64 {
	if b > a {
		return 0
	}
	return a - b
}
