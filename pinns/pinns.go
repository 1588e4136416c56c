// Package pinns makes the IPC and UTS namespaces of a pod without a pause
// process (podshim's pause-less sandboxes, as CRI-O's pinns does): a
// thread of podshimd unshares them, sets the pod's hostname and its IPC and
// network sysctls, and bind-mounts its namespace files on files in the
// pod's state dir, where they outlive the thread. The pod's containers join
// them by path.
//
// The thread is locked to its goroutine and never unlocked, so the Go
// runtime ends it instead of handing its namespaces to other goroutines.
package pinns

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// The pin files below a pod's pin dir.
const (
	IPCFile = "ipc"
	UTSFile = "uts"
)

// Options say which namespaces to make and how to set them up.
type Options struct {
	// IPC and UTS ask for a new namespace of that kind (a pod on the
	// host's IPC namespace or network keeps the host's).
	IPC, UTS bool
	// Hostname is set in the new UTS namespace.
	Hostname string
	// Sysctls are written in the new IPC namespace (kernel.shm*,
	// kernel.msg*, kernel.sem, fs.mqueue.*) or, for net.*, in the network
	// namespace at NetNSPath. Others are refused.
	Sysctls map[string]string
	// NetNSPath is the pod's pinned network namespace, for net.* sysctls.
	NetNSPath string
}

// Pins are the pinned namespace files ("" for a namespace not made).
type Pins struct {
	IPC, UTS string
}

// ipcSysctl reports whether sysctl k lives in the IPC namespace.
func ipcSysctl(k string) bool {
	return strings.HasPrefix(k, "kernel.shm") || strings.HasPrefix(k, "kernel.msg") ||
		k == "kernel.sem" || strings.HasPrefix(k, "fs.mqueue.")
}

// Pin makes the namespaces o asks for and pins them in dir (created). On
// failure nothing is left pinned; dir may remain (Unpin removes it).
func Pin(dir string, o Options) (Pins, error) {
	var pins Pins
	if !o.IPC && !o.UTS {
		return pins, nil
	}
	for k := range o.Sysctls {
		switch {
		case ipcSysctl(k) && !o.IPC:
			return pins, fmt.Errorf("sysctl %s: the pod has no IPC namespace of its own", k)
		case strings.HasPrefix(k, "net.") && o.NetNSPath == "":
			return pins, fmt.Errorf("sysctl %s: the pod has no network namespace of its own", k)
		case !ipcSysctl(k) && !strings.HasPrefix(k, "net."):
			return pins, fmt.Errorf("sysctl %s is not namespaced", k)
		}
	}
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return pins, fmt.Errorf("create pin dir: %w", err)
	}
	var flags int
	if o.IPC {
		pins.IPC = filepath.Join(dir, IPCFile)
		flags |= unix.CLONE_NEWIPC
	}
	if o.UTS {
		pins.UTS = filepath.Join(dir, UTSFile)
		flags |= unix.CLONE_NEWUTS
	}
	for _, p := range []string{pins.IPC, pins.UTS} {
		if p == "" {
			continue
		}
		f, err := os.OpenFile(p, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
		if err != nil {
			_ = Unpin(dir)
			return Pins{}, fmt.Errorf("create pin file: %w", err)
		}
		f.Close()
	}
	if err := onThrowAwayThread(func() error { return pinLocked(flags, pins, o) }); err != nil {
		_ = Unpin(dir)
		return Pins{}, err
	}
	return pins, nil
}

// onThrowAwayThread runs f on a thread of its own that ends with it: f may
// change the thread's namespaces. The thread is locked and never unlocked,
// so the Go runtime ends it rather than reuse it. Never the main thread:
// the runtime cannot end that one (it keeps it, wedged), and it is the one
// /proc/self names.
func onThrowAwayThread(f func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() == unix.Getpid() {
			// Keep the main thread locked meanwhile, so that the
			// goroutine below runs on another one.
			inner := make(chan error, 1)
			go func() {
				runtime.LockOSThread() // never unlocked
				inner <- f()
			}()
			err := <-inner
			runtime.UnlockOSThread()
			done <- err
			return
		}
		done <- f() // never unlocked
	}()
	return <-done
}

// pinLocked runs on a locked thread that is thrown away afterwards.
func pinLocked(flags int, pins Pins, o Options) error {
	if err := unix.Unshare(flags); err != nil {
		return fmt.Errorf("unshare ipc/uts namespaces: %w", err)
	}
	if o.UTS && o.Hostname != "" {
		if err := unix.Sethostname([]byte(o.Hostname)); err != nil {
			return fmt.Errorf("set hostname %q: %w", o.Hostname, err)
		}
	}
	// IPC sysctls follow the writer's IPC namespace.
	for k, v := range o.Sysctls {
		if ipcSysctl(k) {
			if err := writeSysctl(k, v); err != nil {
				return err
			}
		}
	}
	self := fmt.Sprintf("/proc/%d/task/%d/ns/", os.Getpid(), unix.Gettid())
	for _, p := range []struct{ pin, ns string }{{pins.IPC, "ipc"}, {pins.UTS, "uts"}} {
		if p.pin == "" {
			continue
		}
		if err := unix.Mount(self+p.ns, p.pin, "none", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("pin %s namespace at %s: %w", p.ns, p.pin, err)
		}
	}
	// net.* sysctls follow the writer's network namespace: join the pod's
	// last (the thread is discarded anyway).
	var netSysctls [][2]string
	for k, v := range o.Sysctls {
		if strings.HasPrefix(k, "net.") {
			netSysctls = append(netSysctls, [2]string{k, v})
		}
	}
	if len(netSysctls) == 0 {
		return nil
	}
	fd, err := unix.Open(o.NetNSPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open netns %s: %w", o.NetNSPath, err)
	}
	defer unix.Close(fd)
	if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("join netns %s: %w", o.NetNSPath, err)
	}
	for _, kv := range netSysctls {
		if err := writeSysctl(kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}

func writeSysctl(k, v string) error {
	if strings.Contains(k, "..") {
		return fmt.Errorf("sysctl %q: bad name", k)
	}
	p := filepath.Join("/proc/sys", strings.ReplaceAll(k, ".", "/"))
	if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
		return fmt.Errorf("set sysctl %s=%s: %w", k, v, err)
	}
	return nil
}

// Unpin unmounts and removes the pins in dir, and dir. It is idempotent:
// a dir that is gone, or pins half made, are not errors.
func Unpin(dir string) error {
	if dir == "" {
		return nil
	}
	for _, name := range []string{IPCFile, UTSFile} {
		p := filepath.Join(dir, name)
		for {
			err := unix.Unmount(p, unix.MNT_DETACH)
			if err == nil {
				continue // stacked mounts: unmount until none is left
			}
			if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
				break
			}
			return fmt.Errorf("unpin %s: %w", p, err)
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove pin %s: %w", p, err)
		}
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove pin dir %s: %w", dir, err)
	}
	return nil
}

// Pinned reports whether path is a pinned namespace (a mounted nsfs file).
func Pinned(path string) bool {
	if path == "" {
		return false
	}
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return false
	}
	return st.Type == unix.NSFS_MAGIC
}
