package network

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containernetworking/cni/libcni"
	"go.opentelemetry.io/otel/attribute"

	"github.com/podshim/podshim/tracing"
)

// TeardownLost runs CNI DEL for pod id whose own record (name, namespace,
// UID, port mappings, netns path) is lost: libcni's cache of its ADD has
// the config and the runtime arguments it was set up with, and the netns
// is found in the pod's netns dir (NewPodNetNS), else it is netns (from
// the pause container's spec; "" when unknown). Without a cached ADD, DEL
// runs on the current config when the pod's netns dir still exists (an ADD
// that failed part way caches nothing, yet may hold an IP); with neither
// there is nothing CNI could hold for the pod and nothing runs. It is
// idempotent.
func (m *Manager) TeardownLost(ctx context.Context, id, netns string) (retErr error) {
	if own := m.podNetNS(id); own != "" || !m.OwnsNetNS(netns) || !NetNSExists(netns) {
		netns = own
	}
	atts, err := m.cni.GetCachedAttachments(id)
	if err != nil {
		atts = nil // an unreadable cache: fall back to the current config
	}
	if len(atts) == 0 {
		if netns == "" {
			return nil
		}
		return m.Teardown(ctx, Pod{ID: id, NetNS: netns})
	}
	ctx, end := tracing.Start(ctx, "cni.del", attribute.String("pod.sandbox_id", id))
	defer func() {
		m.opts.Recorder.CNIDone(OpDel, retErr)
		end(retErr)
	}()
	ctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
	defer cancel()
	for _, a := range atts {
		list, err := libcni.ConfListFromBytes(a.Config)
		if err != nil {
			return fmt.Errorf("CNI DEL for pod %s: cached config of network %q: %w", id, a.Network, err)
		}
		rt := &libcni.RuntimeConf{
			ContainerID: id, NetNS: netns, IfName: a.IfName,
			Args: a.CniArgs, CapabilityArgs: a.CapabilityArgs,
		}
		if err := m.cni.DelNetworkList(ctx, list, rt); err != nil {
			if perr := m.delEachPlugin(ctx, list, rt); perr != nil {
				return fmt.Errorf("CNI DEL on network %q for pod %s: %w", list.Name, id, perr)
			}
		}
	}
	return nil
}

// podNetNS returns the netns pinned in pod id's dir, or "" when there is
// none.
func (m *Manager) podNetNS(id string) string {
	entries, err := os.ReadDir(m.PodNetNSDir(id))
	if err != nil {
		return ""
	}
	for _, e := range entries {
		if p := filepath.Join(m.PodNetNSDir(id), e.Name()); NetNSExists(p) {
			return p
		}
	}
	return ""
}

// OwnsNetNS reports whether path is a netns this manager pinned: below its
// netns dir.
func (m *Manager) OwnsNetNS(path string) bool {
	return path != "" && strings.HasPrefix(filepath.Clean(path), filepath.Clean(m.opts.NetNSDir)+"/")
}
