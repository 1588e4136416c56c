// Package shimproc finds containerd shim processes by their command line
// and kills them together with every process they started. podshimd uses
// it for a shim containerd lost track of (see sandbox's recovery); the
// test environments use it to clean up after a containerd they stopped.
package shimproc

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Process is a running containerd shim.
type Process struct {
	Pid  int
	Args []string // its command line
}

// Find returns the containerd-shim processes whose command line match
// accepts.
func Find(match func(args []string) bool) []Process {
	var out []Process
	for _, pid := range pids() {
		data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		if err != nil || len(data) == 0 {
			continue
		}
		args := strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")
		if strings.Contains(filepath.Base(args[0]), "containerd-shim") && match(args) {
			out = append(out, Process{Pid: pid, Args: args})
		}
	}
	return out
}

// Arg returns the value that follows flag in args, or "".
func Arg(args []string, flag string) string {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == flag {
			return args[i+1]
		}
	}
	return ""
}

// KillTrees sends SIGKILL to every process below each of roots, then to
// the roots: the containers a shim runs live in process groups of their
// own, so killing the shim alone would leave them.
func KillTrees(roots ...int) {
	if len(roots) == 0 {
		return
	}
	parent := map[int]int{}
	for _, pid := range pids() {
		if ppid, ok := parentOf(pid); ok {
			parent[pid] = ppid
		}
	}
	for _, root := range roots {
		for pid := range parent {
			if descendsFrom(pid, root, parent) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		_ = syscall.Kill(root, syscall.SIGKILL)
	}
}

// pids lists the processes in /proc.
func pids() []int {
	entries, _ := os.ReadDir("/proc")
	out := make([]int, 0, len(entries))
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// parentOf reads a process's parent from /proc/<pid>/stat: "pid (comm)
// state ppid ...", where comm may hold spaces.
func parentOf(pid int) (int, bool) {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, false
	}
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}

func descendsFrom(pid, ancestor int, parent map[int]int) bool {
	for seen := 0; pid > 1 && seen < 64; seen++ {
		pid = parent[pid]
		if pid == ancestor {
			return true
		}
	}
	return false
}
