package stats

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testCgroup creates a cgroup of the same path in every hierarchy r reads
// (as runc does for a container), moves a child process that burns some
// CPU and memory into it, and returns the cgroup's path.
func testCgroup(t *testing.T, r *Reader) string {
	rel := fmt.Sprintf("/podshim-statstest-%d", os.Getpid())
	var dirs []string
	if r.V2() {
		dirs = []string{filepath.Join(r.root, rel)}
	} else {
		for _, c := range []string{"cpuacct", "memory", "pids"} {
			if m, ok := r.mounts[c]; ok {
				dirs = append(dirs, filepath.Join(m, rel))
			}
		}
	}
	cmd := exec.Command("sh", "-c", `read go; i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done; x=$(head -c 2000000 /dev/zero | tr '\0' a); sleep 30`)
	stdin, _ := cmd.StdinPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		// The shell's `sleep` child is in the cgroup too: kill every
		// process there, or the cgroup stays busy for 30 s.
		for _, d := range dirs {
			data, _ := os.ReadFile(filepath.Join(d, "cgroup.procs"))
			for _, f := range strings.Fields(string(data)) {
				if pid, err := strconv.Atoi(f); err == nil {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
		cmd.Process.Kill()
		cmd.Wait()
		for _, d := range dirs {
			for i := 0; i < 50 && os.Remove(d) != nil; i++ {
				time.Sleep(20 * time.Millisecond)
			}
		}
	})
	stdin.Write([]byte("go\n"))
	return rel
}
