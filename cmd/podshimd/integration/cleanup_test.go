package integration

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/podshim/podshim/critest/testenv"
)

// cleanStaleRuns tears down what an earlier run of this suite left when
// it was killed before its teardown (its owner process is gone).
func cleanStaleRuns() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), baseDirPrefix+"*"))
	for _, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, "owner.pid"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); err == nil || !errors.Is(err, syscall.ESRCH) {
			continue // still running
		}
		fmt.Fprintf(os.Stderr, "integration: cleaning up after an interrupted run in %s\n", dir)
		testenv.KillShims(filepath.Join(dir, "containerd", "containerd.sock"))
		killProcessesUsing(dir)
		testenv.UnmountBelow(dir)
		_ = exec.Command("ip", "link", "del", bridgeName).Run()
		_ = os.RemoveAll(hostLocalDir)
		removeNetworkRules()
		_ = os.RemoveAll(dir)
	}
}

// killProcessesUsing kills containerd and podshimd processes whose command
// line names a path below dir (left by a killed run).
func killProcessesUsing(dir string) {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if len(args) == 0 || !(strings.HasSuffix(args[0], "containerd") || strings.HasSuffix(args[0], "podshimd")) {
			continue
		}
		if strings.Contains(string(cmdline), dir+"/") {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// removeNetworkRules deletes the nat rules the CNI plugins made for the
// suite's network (their comment names it) and the per-pod chains those
// rules live in or jump to; the shared CNI-HOSTPORT-* chains stay. It
// returns how many rules it deleted.
func removeNetworkRules() int {
	out, err := exec.Command("iptables-save", "-t", "nat").Output()
	if err != nil {
		return 0
	}
	marker := `name: \"` + networkName + `\"`
	chains := map[string]bool{}
	deleted := 0
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, "-A ") || !strings.Contains(line, marker) {
			continue
		}
		f := strings.Fields(line)
		for i, w := range f {
			if (i == 1 || (i > 0 && f[i-1] == "-j")) && strings.HasPrefix(w, "CNI-") && !strings.HasPrefix(w, "CNI-HOSTPORT-") {
				chains[w] = true
			}
		}
		// iptables-save quotes the way a shell does.
		if exec.Command("sh", "-c", "iptables -t nat -D"+strings.TrimPrefix(line, "-A")).Run() == nil {
			deleted++
		}
	}
	for c := range chains {
		_ = exec.Command("iptables", "-t", "nat", "-F", c).Run()
		_ = exec.Command("iptables", "-t", "nat", "-X", c).Run()
	}
	return deleted
}

// keepLog copies podshimd's log out of the suite's dir (which teardown
// removes) for the post-mortem of a failed run.
func keepLog(path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		return
	}
	kept := filepath.Join(os.TempDir(), "podshim-itest-failed-podshimd.log")
	if err := os.WriteFile(kept, data, 0o644); err == nil {
		fmt.Fprintf(os.Stderr, "integration: podshimd's log is kept in %s\n", kept)
	}
}
