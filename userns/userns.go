// Package userns makes the user namespace of a pod that has one
// (hostUsers: false): a user namespace with the pod's mappings that owns
// the pod's network namespace, pinned so that the pause can join it.
//
// The network namespace must be owned by the pod's user namespace: a
// process in a user namespace may not mount sysfs for, or configure, a
// network namespace owned by the host's. containerd's CRI does the same
// (sys.UnshareAfterEnterUserns): a helper process is started in a new user
// namespace, unshares a network namespace there, and is pinned and killed
// before it runs any code.
package userns

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"

	"github.com/containerd/containerd/snapshots"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Run starts a helper process in a new user namespace with the given
// mappings and a new network namespace inside it, calls f with its pid
// (f pins /proc/<pid>/ns/{user,net}), and kills it. The helper never runs
// code: it is ptraced and stops at its execve.
func Run(uids, gids []specs.LinuxIDMapping, f func(pid int) error) error {
	if len(uids) == 0 || len(gids) == 0 {
		return errors.New("user namespace without uid or gid mappings")
	}
	done := make(chan error, 1)
	go func() {
		// The helper is traced by, and dies with (Pdeathsig), this thread:
		// it stays locked until the helper is reaped. A thread that is left
		// locked on error is discarded by the Go runtime, with its tracee.
		runtime.LockOSThread()
		err := runLocked(uids, gids, f)
		if err == nil {
			runtime.UnlockOSThread()
		}
		done <- err
	}()
	return <-done
}

func runLocked(uids, gids []specs.LinuxIDMapping, f func(pid int) error) (retErr error) {
	proc, err := os.StartProcess("/proc/self/exe", []string{"podshim-userns-helper"}, &os.ProcAttr{
		Sys: &syscall.SysProcAttr{
			Cloneflags:                 unix.CLONE_NEWUSER,
			Unshareflags:               unix.CLONE_NEWNET,
			UidMappings:                sysMappings(uids),
			GidMappings:                sysMappings(gids),
			GidMappingsEnableSetgroups: true,
			Ptrace:                     true,
			Pdeathsig:                  syscall.SIGKILL,
		},
	})
	if err != nil {
		return fmt.Errorf("start user namespace helper: %w", err)
	}
	defer func() {
		if err := proc.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) && retErr == nil {
			retErr = fmt.Errorf("kill user namespace helper: %w", err)
		}
		_, _ = proc.Wait()
	}()
	return f(proc.Pid)
}

func sysMappings(m []specs.LinuxIDMapping) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, 0, len(m))
	for _, x := range m {
		out = append(out, syscall.SysProcIDMap{ContainerID: int(x.ContainerID), HostID: int(x.HostID), Size: int(x.Size)})
	}
	return out
}

// Pin bind-mounts the user namespace of pid on path (a new file), so that
// it outlives the process.
func Pin(pid int, path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return fmt.Errorf("create user namespace pin %s: %w", path, err)
	}
	f.Close()
	src := fmt.Sprintf("/proc/%d/ns/user", pid)
	if err := unix.Mount(src, path, "none", unix.MS_BIND, ""); err != nil {
		os.Remove(path)
		return fmt.Errorf("pin user namespace %s at %s: %w", src, path, err)
	}
	return nil
}

// Unpin unmounts and removes a pin made by Pin. It is idempotent.
func Unpin(path string) error {
	if path == "" {
		return nil
	}
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unpin user namespace %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove user namespace pin %s: %w", path, err)
	}
	return nil
}

// SnapshotOpt labels a new snapshot so that a snapshotter with the
// "remap-ids" capability (containerd 2.x overlayfs) mounts it idmapped to
// the pod's user namespace: the rootfs' root-owned files then belong to the
// container's root.
func SnapshotOpt(uids, gids []specs.LinuxIDMapping) snapshots.Opt {
	return snapshots.WithLabels(map[string]string{
		snapshots.LabelSnapshotUIDMapping: mappingLabel(uids),
		snapshots.LabelSnapshotGIDMapping: mappingLabel(gids),
	})
}

// mappingLabel is containerd's label format: container:host:size, comma
// separated.
func mappingLabel(m []specs.LinuxIDMapping) string {
	s := ""
	for i, x := range m {
		if i > 0 {
			s += ","
		}
		s += fmt.Sprintf("%d:%d:%d", x.ContainerID, x.HostID, x.Size)
	}
	return s
}
