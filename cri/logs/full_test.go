package logs

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCopyGoesOnWhenTheFileSystemIsFull writes to /dev/full (every write
// fails with ENOSPC): Copy must drain all the input without an error (the
// container must never block on its output), count every record as
// dropped, and resume writing once writes succeed again.
func TestCopyGoesOnWhenTheFileSystemIsFull(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	f, err := Open(context.Background(), "/dev/full")
	if err != nil {
		t.Fatal(err)
	}
	f.now = fixedClock()
	c := &countingCounter{}
	f.SetCounter(c)
	input := strings.Repeat("a line of output\n", 1000)
	if err := Copy(f, Stdout, strings.NewReader(input), 0, nil); err != nil {
		t.Fatalf("Copy on a full file system = %v, want nil (keep draining)", err)
	}
	record := len("2026-11-23T08:00:00.123456789Z stdout F a line of output\n")
	if c.dropped != 1000*record || c.written != 0 {
		t.Errorf("dropped %d written %d bytes, want %d dropped", c.dropped, c.written, 1000*record)
	}
	if f.failing == nil {
		t.Errorf("the failure is not recorded")
	}

	// Space returns (here: the file is swapped for one that takes writes).
	path := filepath.Join(t.TempDir(), "0.log")
	g, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.f.Close()
	f.f = g
	f.mu.Unlock()
	if err := Copy(f, Stdout, strings.NewReader("back\n"), 0, nil); err != nil {
		t.Fatal(err)
	}
	f.Close()
	got, _ := os.ReadFile(path)
	if string(got) != "2026-11-23T08:00:00.123456789Z stdout F back\n" || f.failing != nil || c.written != len(got) {
		t.Errorf("after space returned: log %q, failing %v, written %d", got, f.failing, c.written)
	}
}
