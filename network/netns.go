package network

import (
	"errors"
	"fmt"
	"os"

	"github.com/containerd/containerd/pkg/netns"
	cnins "github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
)

// NewNetNS creates a network namespace and pins it with a bind mount in the
// manager's netns dir. The returned path is what CNI and the pod's
// containers use.
func (m *Manager) NewNetNS() (string, error) {
	if err := os.MkdirAll(m.opts.NetNSDir, 0o755); err != nil {
		return "", fmt.Errorf("create netns dir: %w", err)
	}
	ns, err := netns.NewNetNS(m.opts.NetNSDir)
	if err != nil {
		return "", fmt.Errorf("create netns: %w", err)
	}
	return upLoopback(ns)
}

// NewNetNSFromPID pins the network namespace of process pid (one made in a
// pod's user namespace, see package userns) like NewNetNS pins a new one.
func (m *Manager) NewNetNSFromPID(pid int) (string, error) {
	if err := os.MkdirAll(m.opts.NetNSDir, 0o755); err != nil {
		return "", fmt.Errorf("create netns dir: %w", err)
	}
	ns, err := netns.NewNetNSFromPID(m.opts.NetNSDir, uint32(pid))
	if err != nil {
		return "", fmt.Errorf("pin netns of pid %d: %w", pid, err)
	}
	return upLoopback(ns)
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
