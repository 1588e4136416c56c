package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/log"
)

// killOrphanShim ends the runc v2 shim of sandbox id when containerd lost
// track of it: a podshimd killed while containerd created the pause task
// can leave a shim that has no task, which no containerd call reaches any
// more. The shim is found by its command line (-namespace <ns> -id <id>;
// the shim of a pod is named after its sandbox) and killed with what it
// started.
func killOrphanShim(ctx context.Context, id string) {
	ns, ok := namespaces.Namespace(ctx)
	if !ok {
		return
	}
	parent := map[int]int{}
	var shims []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
			// pid (comm) state ppid ...: comm may hold spaces.
			if i := strings.LastIndexByte(string(stat), ')'); i > 0 {
				if f := strings.Fields(string(stat[i+1:])); len(f) > 1 {
					parent[pid], _ = strconv.Atoi(f[1])
				}
			}
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if len(args) > 0 && strings.Contains(filepath.Base(args[0]), "containerd-shim") &&
			argValue(args, "-namespace") == ns && argValue(args, "-id") == id {
			shims = append(shims, pid)
		}
	}
	for _, shim := range shims {
		log.G(ctx).WithFields(log.Fields{"sandbox": id, "pid": shim}).Warn("killing shim that containerd lost track of")
		for pid := range parent {
			if descendsFrom(pid, shim, parent) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		_ = syscall.Kill(shim, syscall.SIGKILL)
	}
}

func argValue(args []string, flag string) string {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == flag {
			return args[i+1]
		}
	}
	return ""
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
