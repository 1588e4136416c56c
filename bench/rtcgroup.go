package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// runtimeCgroup is the memory cgroup the benchmark moves a runtime's
// daemons into once they serve ("/podshim-bench-rt-a"): the shims they
// start inherit it, so its usage is what the runtime's service cgroup
// pays on a node (daemons + shims, with their page cache and kernel
// memory), apart from the pods' own cgroups (pause and containers).
func runtimeCgroup(key string) string { return "/podshim-bench-rt-" + key }

// memoryCgroupDir returns the directory of cgroup name in the memory
// hierarchy: cgroup v1's memory controller, or the v2 tree.
func memoryCgroupDir(name string) (string, bool) {
	if _, err := os.Stat("/sys/fs/cgroup/memory/cgroup.procs"); err == nil {
		return filepath.Join("/sys/fs/cgroup/memory", name), false
	}
	return filepath.Join("/sys/fs/cgroup", name), true
}

// cpuCgroupDir returns the directory of cgroup name in the hierarchy that
// accounts CPU time: cgroup v1's cpuacct controller, or the v2 tree.
func cpuCgroupDir(name string) (string, bool) {
	if _, err := os.Stat("/sys/fs/cgroup/cpuacct/cgroup.procs"); err == nil {
		return filepath.Join("/sys/fs/cgroup/cpuacct", name), false
	}
	return filepath.Join("/sys/fs/cgroup", name), true
}

// withinCgroup runs f with the benchmark's own process in memory cgroup
// name (created when missing), and in cpuacct cgroup name on cgroup v1,
// and moves it back to its own cgroups after:
// the daemons f starts begin life there, so every page they touch is
// charged to it (the kernel no longer moves charges with a task), and the
// shims they start later inherit it. The benchmark's own allocations
// while f runs (waiting for the daemons to serve) are charged there too:
// a few hundred KB at most, alike for both runtimes.
func withinCgroup(name string, f func() error) error {
	dir, v2 := memoryCgroupDir(name)
	home, err := ownCgroup("memory")
	if err != nil {
		return err
	}
	homeDir, _ := memoryCgroupDir(home)
	dirs, homeDirs := []string{dir}, []string{homeDir}
	if cpuDir, _ := cpuCgroupDir(name); !v2 {
		cpuHome, err := ownCgroup("cpuacct")
		if err != nil {
			return err
		}
		cpuHomeDir, _ := cpuCgroupDir(cpuHome)
		dirs, homeDirs = append(dirs, cpuDir), append(homeDirs, cpuHomeDir)
	}
	self := []byte(strconv.Itoa(os.Getpid()))
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("runtime cgroup: %w", err)
		}
		if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), self, 0o644); err != nil {
			return fmt.Errorf("runtime cgroup %s: join: %w", d, err)
		}
	}
	ferr := f()
	for _, d := range homeDirs {
		if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), self, 0o644); err != nil {
			return fmt.Errorf("runtime cgroup %s: move back to %s: %w", name, d, err)
		}
	}
	return ferr
}

// readCgroupCPU returns the CPU time that every process of cgroup name
// has used, the exited ones included (cpuacct.usage on v1, cpu.stat's
// usage_usec on v2): all the processes a runtime ran, even for a few
// milliseconds (shim and runc execs, CNI plugins).
func readCgroupCPU(name string) (time.Duration, error) {
	dir, v2 := cpuCgroupDir(name)
	if v2 {
		stat, err := os.ReadFile(filepath.Join(dir, "cpu.stat"))
		if err != nil {
			return 0, err
		}
		return time.Duration(cgroupStatValue(string(stat), "usage_usec")) * time.Microsecond, nil
	}
	data, err := os.ReadFile(filepath.Join(dir, "cpuacct.usage"))
	if err != nil {
		return 0, err
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("cpuacct.usage: %w", err)
	}
	return time.Duration(ns), nil
}

// ownCgroup returns the benchmark process's cgroup of v1 controller
// (memory, cpuacct), else its v2 cgroup.
func ownCgroup(controller string) (string, error) {
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	v1, v2 := "", ""
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		if f[0] == "0" && f[1] == "" {
			v2 = f[2]
		}
		for _, c := range strings.Split(f[1], ",") {
			if c == controller {
				v1 = f[2]
			}
		}
	}
	if _, isV2 := memoryCgroupDir("/"); isV2 {
		return v2, nil
	}
	if v1 == "" {
		return "", fmt.Errorf("no %s cgroup in /proc/self/cgroup", controller)
	}
	return v1, nil
}

// CgroupMemory is a cgroup's memory use in bytes: all of it (usage, with
// page cache) and its anonymous memory.
type CgroupMemory struct {
	Usage int64 `json:"usage_bytes"`
	Anon  int64 `json:"anon_bytes"`
}

// readCgroupMemory reads cgroup name's memory use.
func readCgroupMemory(name string) (CgroupMemory, error) {
	dir, v2 := memoryCgroupDir(name)
	usageFile, anonKey := "memory.usage_in_bytes", "total_rss"
	if v2 {
		usageFile, anonKey = "memory.current", "anon"
	}
	data, err := os.ReadFile(filepath.Join(dir, usageFile))
	if err != nil {
		return CgroupMemory{}, err
	}
	var m CgroupMemory
	if m.Usage, err = strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64); err != nil {
		return CgroupMemory{}, fmt.Errorf("%s: %w", usageFile, err)
	}
	stat, err := os.ReadFile(filepath.Join(dir, "memory.stat"))
	if err != nil {
		return CgroupMemory{}, err
	}
	m.Anon = cgroupStatValue(string(stat), anonKey)
	return m, nil
}

// cgroupStatValue returns the value of key in the content of memory.stat
// or cpu.stat ("key value" lines), 0 when absent.
func cgroupStatValue(stat, key string) int64 {
	for _, line := range strings.Split(stat, "\n") {
		k, v, ok := strings.Cut(line, " ")
		if ok && k == key {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// inCgroupBelow tells whether process pid is in a cgroup below parent in
// some hierarchy (a pod's pause process under the runtime's cgroup
// parent).
func inCgroupBelow(pid int, parent string) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) == 3 && strings.HasPrefix(f[2], parent+"/") {
			return true
		}
	}
	return false
}
