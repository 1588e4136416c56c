package network

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/containerd/pkg/netns"
	cnins "github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
)

// NewNetNS creates a network namespace and pins it with a bind mount in the
// manager's netns dir. The returned path is what CNI and the pod's
// containers use.
func (m *Manager) NewNetNS() (string, error) {
	return newNetNSIn(m.opts.NetNSDir)
}

func newNetNSIn(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create netns dir: %w", err)
	}
	ns, err := netns.NewNetNS(dir)
	if err != nil {
		return "", fmt.Errorf("create netns: %w", err)
	}
	return upLoopback(ns)
}

// NewPodNetNSFromPID pins the network namespace of process pid (one made
// in the user namespace of pod id, see package userns) in the pod's own
// dir below the netns dir, like NewPodNetNS pins a new one: a crash before
// the pod's metadata names it leaves nothing recovery cannot find by the
// pod's ID (RemovePodNetNSDir).
func (m *Manager) NewPodNetNSFromPID(id string, pid int) (string, error) {
	if id == "" || strings.ContainsAny(id, "/.") {
		return "", fmt.Errorf("pod netns: bad pod ID %q", id)
	}
	dir := m.PodNetNSDir(id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create netns dir: %w", err)
	}
	ns, err := netns.NewNetNSFromPID(dir, uint32(pid))
	if err != nil {
		_ = os.Remove(dir)
		return "", fmt.Errorf("pin netns of pid %d: %w", pid, err)
	}
	path, err := upLoopback(ns)
	if err != nil {
		_ = os.Remove(dir)
		return "", err
	}
	return path, nil
}

// upLoopback brings up lo in ns; on failure it removes ns.
func upLoopback(ns *netns.NetNS) (string, error) {
	// The pod's loopback: CNI configures eth0, localhost is ours.
	if err := ns.Do(func(cnins.NetNS) error {
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		return netlink.LinkSetUp(lo)
	}); err != nil {
		_ = ns.Remove()
		return "", fmt.Errorf("bring up loopback in netns %s: %w", ns.GetPath(), err)
	}
	return ns.GetPath(), nil
}

// RemoveNetNS unmounts and deletes a pinned network namespace. It is
// idempotent: a path that is already gone is not an error.
func RemoveNetNS(path string) error {
	if path == "" {
		return nil
	}
	if err := netns.LoadNetNS(path).Remove(); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove netns %s: %w", path, err)
	}
	return nil
}

// NetNSExists reports whether path is still a pinned network namespace.
func NetNSExists(path string) bool {
	if path == "" {
		return false
	}
	closed, err := netns.LoadNetNS(path).Closed()
	return err == nil && !closed
}

// NewPodNetNS is NewNetNS for pod id, pinned in the pod's own dir below the
// netns dir (PodNetNSDir). The dir follows from the ID alone, so a crash
// after the netns was made and before the pod's metadata named it leaves
// nothing recovery cannot find (RemovePodNetNSDir).
func (m *Manager) NewPodNetNS(id string) (string, error) {
	if id == "" || strings.ContainsAny(id, "/.") {
		return "", fmt.Errorf("pod netns: bad pod ID %q", id)
	}
	dir := m.PodNetNSDir(id)
	path, err := newNetNSIn(dir)
	if err != nil {
		_ = os.Remove(dir)
		return "", err
	}
	return path, nil
}

// PodNetNSDir is the dir where NewPodNetNS pins pod id's netns.
func (m *Manager) PodNetNSDir(id string) string {
	return filepath.Join(m.opts.NetNSDir, id)
}

// RemovePodNetNSDir removes every netns pinned in pod id's dir, and the
// dir. It is idempotent.
func (m *Manager) RemovePodNetNSDir(id string) error {
	if id == "" {
		return nil
	}
	dir := m.PodNetNSDir(id)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read pod netns dir: %w", err)
	}
	for _, e := range entries {
		if err := RemoveNetNS(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove pod netns dir: %w", err)
	}
	return nil
}
