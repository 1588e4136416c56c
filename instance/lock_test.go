package instance

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestMain lets the test binary act as the other process holding a lock:
// with PODSHIM_TEST_HOLD_LOCK=<root> it takes the lock, says "locked" and
// waits for its stdin to close.
func TestMain(m *testing.M) {
	if root := os.Getenv("PODSHIM_TEST_HOLD_LOCK"); root != "" {
		l, err := Acquire(root)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("locked")
		buf := make([]byte, 1)
		os.Stdin.Read(buf)
		l.Release()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// holdLock starts a process that holds the lock on root.
func holdLock(t *testing.T, root string) (*exec.Cmd, func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PODSHIM_TEST_HOLD_LOCK="+root)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "locked" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper: %q", line)
	}
	release := func() { stdin.Close(); cmd.Wait() }
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, release
}

func TestSecondProcessIsRefusedWithHolderPID(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	holder, release := holdLock(t, root)
	_, err := Acquire(root)
	var held *HeldError
	if !errors.As(err, &held) {
		t.Fatalf("Acquire while another process holds the lock: err = %v, want *HeldError", err)
	}
	if held.PID != holder.Process.Pid {
		t.Errorf("PID = %d, want the holder's %d", held.PID, holder.Process.Pid)
	}
	for _, want := range []string{"PID " + strconv.Itoa(holder.Process.Pid), root, filepath.Join(root, LockFile)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	// The refused attempt left the holder's PID in place.
	if got := readPID(filepath.Join(root, LockFile)); got != holder.Process.Pid {
		t.Errorf("lock file says PID %d after the refusal, want %d", got, holder.Process.Pid)
	}
	release()
	l, err := Acquire(root)
	if err != nil {
		t.Fatalf("Acquire after the holder released: %v", err)
	}
	defer l.Release()
	if got := readPID(filepath.Join(root, LockFile)); got != os.Getpid() {
		t.Errorf("lock file says PID %d, want ours %d", got, os.Getpid())
	}
}

func TestKilledHolderLeavesNoStaleLock(t *testing.T) {
	root := t.TempDir()
	holder, _ := holdLock(t, root)
	holder.Process.Kill()
	holder.Wait()
	l, err := Acquire(root)
	if err != nil {
		t.Fatalf("Acquire after the holder was killed: %v", err)
	}
	l.Release()
}

func TestLockInOneProcess(t *testing.T) {
	root := t.TempDir()
	l, err := Acquire(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Acquire(root); err == nil {
		t.Fatal("second Acquire of the same root succeeded")
	}
	other, err := Acquire(t.TempDir())
	if err != nil {
		t.Fatalf("another root: %v", err)
	}
	other.Release()
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Fatalf("second Release: %v", err)
	}
	l2, err := Acquire(root)
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	l2.Release()
}
