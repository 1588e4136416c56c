package pinns

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// inNS runs f on a thread that joined the namespace pinned at path (of
// kind nstype); the thread is thrown away afterwards.
func inNS(t *testing.T, path string, nstype int, f func() string) string {
	t.Helper()
	var out string
	err := onThrowAwayThread(func() error {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, nstype); err != nil {
			return err
		}
		out = f()
		return nil
	})
	if err != nil {
		t.Fatalf("join %s: %v", path, err)
	}
	return out
}

func nsInode(t *testing.T, path string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

func TestPinAndUnpin(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("pinning namespaces needs root (the test machine runs as root)")
	}
	dir := filepath.Join(t.TempDir(), "ns")
	pins, err := Pin(dir, Options{IPC: true, UTS: true, Hostname: "pinned-host", Sysctls: map[string]string{"kernel.shmmni": "1234"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Unpin(dir) })
	if pins.IPC != filepath.Join(dir, IPCFile) || pins.UTS != filepath.Join(dir, UTSFile) {
		t.Fatalf("pins %+v", pins)
	}
	for _, p := range []string{pins.IPC, pins.UTS} {
		if !Pinned(p) {
			t.Fatalf("%s is not a pinned namespace", p)
		}
	}
	if nsInode(t, pins.IPC) == nsInode(t, "/proc/self/ns/ipc") || nsInode(t, pins.UTS) == nsInode(t, "/proc/self/ns/uts") {
		t.Fatal("a pin is podshim's own namespace")
	}
	// podshim's own namespaces are untouched: hostname and sysctl.
	if h, _ := os.Hostname(); h == "pinned-host" {
		t.Fatal("the host's hostname changed")
	}
	if got := inNS(t, pins.UTS, unix.CLONE_NEWUTS, func() string {
		var u unix.Utsname
		if err := unix.Uname(&u); err != nil {
			return err.Error()
		}
		return unix.ByteSliceToString(u.Nodename[:])
	}); got != "pinned-host" {
		t.Errorf("hostname in the pinned UTS namespace = %q", got)
	}
	if got := inNS(t, pins.IPC, unix.CLONE_NEWIPC, func() string {
		b, err := os.ReadFile("/proc/sys/kernel/shmmni")
		if err != nil {
			return err.Error()
		}
		return strings.TrimSpace(string(b))
	}); got != "1234" {
		t.Errorf("kernel.shmmni in the pinned IPC namespace = %q", got)
	}
	if b, _ := os.ReadFile("/proc/sys/kernel/shmmni"); strings.TrimSpace(string(b)) == "1234" {
		t.Error("the sysctl was set in the host's IPC namespace")
	}

	if err := Unpin(dir); err != nil {
		t.Fatal(err)
	}
	if Pinned(pins.IPC) || Pinned(pins.UTS) {
		t.Fatal("still pinned after Unpin")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("pin dir left: %v", err)
	}
	if err := Unpin(dir); err != nil {
		t.Fatalf("second Unpin: %v", err)
	}
}

func TestPinRefusesWhatItCannotSet(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ns")
	for name, o := range map[string]Options{
		"ipc sysctl without ipc namespace": {UTS: true, Sysctls: map[string]string{"kernel.shmmax": "1"}},
		"net sysctl without netns":         {IPC: true, Sysctls: map[string]string{"net.ipv4.ip_forward": "1"}},
		"not namespaced":                   {IPC: true, Sysctls: map[string]string{"vm.swappiness": "1"}},
	} {
		if _, err := Pin(dir, o); err == nil {
			_ = Unpin(dir)
			t.Errorf("%s: Pin succeeded", name)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("%s: pin dir made: %v", name, err)
		}
	}
	// A failure after the pin files were made leaves nothing.
	if _, err := Pin(dir, Options{IPC: true, Sysctls: map[string]string{"kernel.shmmni": "not-a-number"}}); err == nil {
		t.Fatal("Pin with a bad sysctl value succeeded")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("pin dir left after a failed Pin: %v", err)
	}
	if pins, err := Pin(dir, Options{}); err != nil || pins != (Pins{}) {
		t.Fatalf("nothing to pin: %+v, %v", pins, err)
	}
}
