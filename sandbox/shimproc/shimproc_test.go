package shimproc

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFindAndKillTrees runs a stand-in shim (a shell named
// containerd-shim-fake, with a shim's flags) that starts a child, finds it
// by its flags, and kills it: the child must die with it.
func TestFindAndKillTrees(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	fake := filepath.Join(t.TempDir(), "containerd-shim-fake")
	copyFile(t, sh, fake)
	childFile := filepath.Join(t.TempDir(), "child")
	id := "shimproc-test-" + strconv.Itoa(os.Getpid())
	cmd := exec.Command(fake, "-c", `sleep 600 & echo $! > "$CHILD"; wait`, "-namespace", "shimproc", "-id", id)
	cmd.Env = append(os.Environ(), "CHILD="+childFile)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan struct{})
	go func() { cmd.Wait(); close(waited) }()
	defer cmd.Process.Kill()

	var child int
	for deadline := time.Now().Add(5 * time.Second); child == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		data, _ := os.ReadFile(childFile)
		child, _ = strconv.Atoi(strings.TrimSpace(string(data)))
	}
	if child == 0 {
		t.Fatal("the stand-in shim did not start its child")
	}

	found := Find(func(args []string) bool { return Arg(args, "-namespace") == "shimproc" && Arg(args, "-id") == id })
	if len(found) != 1 || found[0].Pid != cmd.Process.Pid {
		t.Fatalf("Find = %+v, want the stand-in shim %d alone", found, cmd.Process.Pid)
	}
	if none := Find(func(args []string) bool { return Arg(args, "-id") == id+"-other" }); len(none) != 0 {
		t.Fatalf("Find matched %+v for another ID", none)
	}

	KillTrees(found[0].Pid)
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		t.Fatal("the shim survived KillTrees")
	}
	for deadline := time.Now().Add(5 * time.Second); alive(child); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the shim's child %d survived KillTrees", child)
		}
	}
}

// alive tells whether pid runs (a zombie waiting for its reaper does not).
func alive(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i < 0 || !strings.HasPrefix(string(stat[i+1:]), " Z")
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
