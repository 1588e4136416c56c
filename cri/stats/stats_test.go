package stats

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestDirSystemd(t *testing.T) {
	for in, want := range map[string]string{
		"/podshim/abc": "/podshim/abc",
		"kubepods-besteffort-pod1.slice:podshim:abc": "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/podshim-abc.scope",
		"system.slice:podshim:x":                     "/system.slice/podshim-x.scope",
	} {
		if got := Dir(in); got != want {
			t.Errorf("Dir(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseNetDev(t *testing.T) {
	data := `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     100       2    0    0    0     0          0         0      100       2    0    0    0     0       0          0
  eth0:    5000      40    1    0    0     0          0         0     3000      30    2    0    0     0       0          0
`
	ifs := parseNetDev(data)
	if len(ifs) != 2 || ifs[1].Name != "eth0" || ifs[1].RxBytes != 5000 || ifs[1].RxErrors != 1 || ifs[1].TxBytes != 3000 || ifs[1].TxErrors != 2 ||
		ifs[1].RxPackets != 40 || ifs[1].TxPackets != 30 || ifs[1].RxDropped != 0 || ifs[0].RxPackets != 2 {
		t.Fatalf("parsed %+v", ifs)
	}
}

// TestReadCgroup reads a real cgroup holding a busy process: CPU time
// grows, memory is used, the process is counted.
func TestReadCgroup(t *testing.T) {
	r, err := NewReader()
	if err != nil {
		t.Fatal(err)
	}
	rel := testCgroup(t, r)
	var s Sample
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if s, err = r.Read(rel); err != nil {
			t.Fatalf("Read(%q): %v", rel, err)
		}
		if s.CPUUsageNanos > 1e6 && s.RSS > 1<<20 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if s.CPUUsageNanos <= 1e6 || s.MemoryUsage == 0 || s.WorkingSet == 0 || s.WorkingSet > s.MemoryUsage || s.RSS <= 1<<20 || s.Pids == 0 {
		t.Fatalf("implausible sample of %s: %+v", rel, s)
	}
	later, _ := r.Read(rel)
	if later.CPUUsageNanos < s.CPUUsageNanos || !later.Timestamp.After(s.Timestamp) {
		t.Fatalf("CPU time went back: %+v then %+v", s, later)
	}
}

// TestReadDetail reads the fuller values of a real cgroup.
func TestReadDetail(t *testing.T) {
	r, err := NewReader()
	if err != nil {
		t.Fatal(err)
	}
	rel := testCgroup(t, r)
	var d Detail
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if d, err = r.ReadDetail(rel); err != nil {
			t.Fatalf("ReadDetail(%q): %v", rel, err)
		}
		if d.CPUUsageNanos > 1e6 && d.RSS > 1<<20 && d.CPUUserNanos+d.CPUSystemNanos > 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if d.CPUUserNanos+d.CPUSystemNanos == 0 || d.Processes == 0 || d.Threads < d.Processes || d.MaxUsage < d.RSS {
		t.Fatalf("implausible detail of %s: %+v", rel, d)
	}
	if _, err := r.ReadDetail(rel + "-gone"); err == nil {
		t.Fatal("a missing cgroup read without error")
	}
}

func TestDirUsage(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a"), make([]byte, 64<<10), 0o644)
	os.Link(filepath.Join(dir, "a"), filepath.Join(dir, "b"))
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	b, i, err := DirUsage(dir)
	if err != nil {
		t.Fatal(err)
	}
	if b < 64<<10 || b > 200<<10 || i != 3 { // dir, a (b is the same inode), sub
		t.Fatalf("DirUsage = %d bytes, %d inodes", b, i)
	}
}
