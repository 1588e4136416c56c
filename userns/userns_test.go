package userns

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/containerd/containerd/snapshots"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestRunPinUnpin(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create user namespaces with mappings")
	}
	uids := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 300000, Size: 1000}}
	gids := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 400000, Size: 2000}}
	pin := filepath.Join(t.TempDir(), "userns")
	selfNet, _ := os.Readlink("/proc/self/ns/net")
	selfUser, _ := os.Readlink("/proc/self/ns/user")
	var helper int
	err := Run(uids, gids, func(pid int) error {
		helper = pid
		for file, want := range map[string]string{"uid_map": "0 300000 1000", "gid_map": "0 400000 2000"} {
			data, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, file))
			if err != nil {
				return err
			}
			if got := strings.Join(strings.Fields(string(data)), " "); got != want {
				return fmt.Errorf("%s %q, want %q", file, got, want)
			}
		}
		if ns, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid)); ns == selfNet {
			return errors.New("helper shares our network namespace")
		}
		return Pin(pid, pin)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(helper, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("helper %d still exists after Run: %v", helper, err)
	}
	// The pin keeps the user namespace: a process can join it by path.
	var st syscall.Stat_t
	if err := syscall.Stat(pin, &st); err != nil {
		t.Fatal(err)
	}
	var self syscall.Stat_t
	if err := syscall.Stat("/proc/self/ns/user", &self); err != nil {
		t.Fatal(err)
	}
	if st.Ino == self.Ino {
		t.Fatalf("pin %s is the host's user namespace %s", pin, selfUser)
	}
	if err := Unpin(pin); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(pin); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("pin still there after Unpin: %v", err)
	}
	if err := Unpin(pin); err != nil {
		t.Fatalf("second Unpin: %v", err)
	}
}

func TestRunError(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create user namespaces with mappings")
	}
	m := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 300000, Size: 10}}
	want := errors.New("boom")
	if err := Run(m, m, func(int) error { return want }); !errors.Is(err, want) {
		t.Fatalf("Run returned %v, want f's error", err)
	}
	if err := Run(nil, m, func(int) error { return nil }); err == nil {
		t.Fatal("Run without uid mappings succeeded")
	}
}

func TestSnapshotOpt(t *testing.T) {
	var info snapshots.Info
	opt := SnapshotOpt([]specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 65536}}, []specs.LinuxIDMapping{{ContainerID: 0, HostID: 2000, Size: 10}})
	if err := opt(&info); err != nil {
		t.Fatal(err)
	}
	if info.Labels[snapshots.LabelSnapshotUIDMapping] != "0:1000:65536" || info.Labels[snapshots.LabelSnapshotGIDMapping] != "0:2000:10" {
		t.Fatalf("labels %v", info.Labels)
	}
}
