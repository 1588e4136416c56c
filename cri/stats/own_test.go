package stats

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/podshim/podshim/critest/testenv"
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
	testenv.RunInCgroups(t, dirs, `i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done; x=$(head -c 2000000 /dev/zero | tr '\0' a); sleep 30`)
	return rel
}
