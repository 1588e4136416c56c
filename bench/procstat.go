package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of the CPU times in /proc/<pid>/stat
// (100 on every Linux architecture Go supports).
const clockTicks = 100

// procInfo is what the benchmark reads about one process.
type procInfo struct {
	PID       int
	Args      []string
	StartTime uint64        // field 22 of /proc/<pid>/stat, in clock ticks since boot
	CPU       time.Duration // utime+stime+cutime+cstime: the process and its reaped children
	RSS       int64         // bytes (VmRSS)
	PSS       int64         // bytes (smaps_rollup Pss), 0 when unreadable
}

// listProcs returns the processes whose command line satisfies match, with
// CPU times and (when withMem) memory. Processes that vanish while being
// read are skipped.
func listProcs(match func(pid int, args []string) bool, withMem bool) []procInfo {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []procInfo
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		args := readArgs(pid)
		if len(args) == 0 || !match(pid, args) {
			continue
		}
		p := procInfo{PID: pid, Args: args}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		if p.StartTime, p.CPU, err = parseStat(stat); err != nil {
			continue
		}
		if withMem {
			p.RSS = readKB(fmt.Sprintf("/proc/%d/status", pid), "VmRSS:")
			p.PSS = readKB(fmt.Sprintf("/proc/%d/smaps_rollup", pid), "Pss:")
		}
		out = append(out, p)
	}
	return out
}

// readArgs returns a process's command line split at NUL bytes.
func readArgs(pid int) []string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(data) == 0 {
		return nil
	}
	return strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")
}

// parseStat extracts the start time and the CPU time (own plus reaped
// children's) from the content of /proc/<pid>/stat.
func parseStat(stat []byte) (start uint64, cpu time.Duration, err error) {
	// The command name (field 2) may contain spaces and parentheses: the
	// fields that follow start after its last ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("malformed stat")
	}
	f := strings.Fields(string(stat[i+1:]))
	// f[0] is field 3 (state); field n is f[n-3].
	if len(f) < 20 {
		return 0, 0, fmt.Errorf("short stat: %d fields", len(f))
	}
	var ticks int64
	for _, n := range []int{14, 15, 16, 17} { // utime stime cutime cstime
		v, err := strconv.ParseInt(f[n-3], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("stat field %d: %w", n, err)
		}
		ticks += v
	}
	start, err = strconv.ParseUint(f[22-3], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("stat field 22: %w", err)
	}
	return start, time.Duration(ticks) * time.Second / clockTicks, nil
}

// readKB returns the value of the "key: N kB" line of a /proc file in bytes.
func readKB(path, key string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, key) {
			continue
		}
		fields := strings.Fields(line[len(key):])
		if len(fields) == 0 {
			return 0
		}
		v, _ := strconv.ParseInt(fields[0], 10, 64)
		return v * 1024
	}
	return 0
}

// isShimOf tells whether args are those of a containerd shim started by the
// containerd listening on address (shims carry "-address <socket>").
func isShimOf(args []string, address string) bool {
	if !strings.Contains(filepath.Base(args[0]), "containerd-shim") {
		return false
	}
	for _, a := range args[1:] {
		if a == address {
			return true
		}
	}
	return false
}

// hasArg tells whether some argument contains s.
func hasArg(args []string, s string) bool {
	for _, a := range args {
		if strings.Contains(a, s) {
			return true
		}
	}
	return false
}

// Usage is the resource use of a set of processes at one moment.
type Usage struct {
	Processes int   `json:"processes"`
	Shims     int   `json:"shims"`
	RSS       int64 `json:"rss_bytes"`
	PSS       int64 `json:"pss_bytes"`
	// Pause counts the pods' pause processes (infra containers).
	Pause int `json:"pause"`
	// RSSByName and PSSByName split RSS and PSS by program: "podshimd",
	// "containerd", "shims", "pause".
	RSSByName map[string]int64 `json:"rss_by_name"`
	PSSByName map[string]int64 `json:"pss_by_name"`
	// Cgroup is the memory of the runtime's service cgroup (daemons and
	// shims, see runtimeCgroup); CgroupErr says why it is missing.
	Cgroup    CgroupMemory `json:"cgroup"`
	CgroupErr string       `json:"cgroup_error,omitempty"`
	cpu       map[int]procCPU
}

type procCPU struct {
	start uint64
	cpu   time.Duration
	name  string // "podshimd", "containerd" or "shims"
}

// sumUsage adds up the processes' memory and remembers their CPU times;
// classify names each process ("podshimd", "containerd", "shims" or
// "pause").
func sumUsage(procs []procInfo, classify func(p procInfo) string) Usage {
	u := Usage{cpu: map[int]procCPU{}, RSSByName: map[string]int64{}, PSSByName: map[string]int64{}}
	for _, p := range procs {
		name := classify(p)
		u.Processes++
		switch name {
		case "shims":
			u.Shims++
		case "pause":
			u.Pause++
		}
		u.RSS += p.RSS
		u.PSS += p.PSS
		u.RSSByName[name] += p.RSS
		u.PSSByName[name] += p.PSS
		u.cpu[p.PID] = procCPU{start: p.StartTime, cpu: p.CPU, name: name}
	}
	return u
}

// cpuSince returns the CPU time the processes of u used since before: the
// growth for processes present in both, the whole time for new ones.
// Processes that exited in between are not counted (their time went to
// whoever reaped them).
func (u Usage) cpuSince(before Usage) time.Duration {
	var d time.Duration
	for _, v := range u.cpuByNameSince(before) {
		d += v
	}
	return d
}

// cpuByNameSince is cpuSince split by program ("podshimd", "containerd",
// "shims").
func (u Usage) cpuByNameSince(before Usage) map[string]time.Duration {
	d := map[string]time.Duration{}
	for pid, now := range u.cpu {
		if then, ok := before.cpu[pid]; ok && then.start == now.start {
			d[now.name] += now.cpu - then.cpu
		} else {
			d[now.name] += now.cpu
		}
	}
	return d
}
