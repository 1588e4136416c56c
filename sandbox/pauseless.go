package sandbox

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/containerd/log"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/cri/cleanup"
	"github.com/podshim/podshim/cri/spec"
	"github.com/podshim/podshim/faultpoint"
	"github.com/podshim/podshim/network"
	"github.com/podshim/podshim/pinns"
)

// A pause-less sandbox (Options.Pauseless, for pods that share no PID
// namespace and have no user namespace) has no pause container: podshim
// pins the pod's IPC and UTS namespaces itself (package pinns), beside the
// netns it always pins, and the pod's containers join them by path. The
// pod's shim starts with its first container. The sandbox is READY from
// Run until Stop, which unpins the namespaces; it has no pid.

// pinDirName is the dir below a sandbox's state dir holding its pins.
const pinDirName = "ns"

// usePauseless reports whether the pod runs without a pause: the option is
// on, the pod does not share a PID namespace among its containers and has
// no user namespace of its own (both need a process to hold them).
func (s *Service) usePauseless(cfg *runtime.PodSandboxConfig, u *spec.Userns) bool {
	ns := cfg.GetLinux().GetSecurityContext().GetNamespaceOptions()
	return s.opts.Pauseless && u == nil && ns.GetPid() != runtime.NamespaceMode_POD
}

// pinNamespaces makes and pins the pod's IPC and UTS namespaces (the
// hosts' for a host-IPC or host-network pod), with its hostname and
// sysctls, and marks the sandbox READY.
func (s *Service) pinNamespaces(ctx context.Context, sb *Sandbox, stateDir string, undo *cleanup.Stack) error {
	cfg := sb.meta.Config
	if err := spec.CheckPodSysctls(cfg); err != nil {
		return err
	}
	ns := cfg.GetLinux().GetSecurityContext().GetNamespaceOptions()
	dir := filepath.Join(stateDir, pinDirName)
	undo.Push("unpin namespaces", func(context.Context) error { return pinns.Unpin(dir) })
	step := time.Now()
	pins, err := pinns.Pin(dir, pinns.Options{
		IPC:       ns.GetIpc() != runtime.NamespaceMode_NODE,
		UTS:       ns.GetNetwork() != runtime.NamespaceMode_NODE,
		Hostname:  hostnameOf(cfg),
		Sysctls:   cfg.GetLinux().GetSysctls(),
		NetNSPath: sb.meta.NetNSPath,
	})
	if err != nil {
		return fmt.Errorf("pin namespaces of sandbox %s: %w", sb.meta.ID, err)
	}
	s.observeSince(PhasePin, step)
	s.opts.Faults.Hit(faultpoint.RunSandboxAfterPin)
	sb.mu.Lock()
	sb.meta.IPCNSPath, sb.meta.UTSNSPath = pins.IPC, pins.UTS
	sb.mu.Unlock()
	sb.setStatus(Status{State: runtime.PodSandboxState_SANDBOX_READY})
	return nil
}

// unpinNamespaces undoes pinNamespaces; it is idempotent. The caller holds
// sb.opMu.
func (s *Service) unpinNamespaces(sb *Sandbox) error {
	_, stateDir := s.sandboxDirs(sb.meta.ID)
	if err := pinns.Unpin(filepath.Join(stateDir, pinDirName)); err != nil {
		return err
	}
	s.opts.Faults.Hit(faultpoint.StopSandboxAfterUnpin)
	return nil
}

// markStopped records that a pause-less sandbox was stopped, so that it
// stays NOTREADY across restarts. The caller holds sb.opMu.
func (s *Service) markStopped(sb *Sandbox) error {
	sb.mu.Lock()
	done := sb.meta.Stopped
	sb.meta.Stopped = true
	sb.mu.Unlock()
	if done {
		return nil
	}
	return sb.save()
}

// RecordContainer notes, for a pause-less sandbox, the ID of a container
// about to be created in it: the pod's shim is started by (and named
// after, -id) whichever container's task comes first, so recovery and
// RemovePodSandbox know the pod's shims by these IDs. The caller holds the
// sandbox's Lock.
func (sb *Sandbox) RecordContainer(id string) error {
	if !sb.meta.Pauseless {
		return nil
	}
	sb.mu.Lock()
	sb.meta.ContainerIDs = append(sb.meta.ContainerIDs, id)
	sb.mu.Unlock()
	if sb.metaPath == "" {
		return nil // a sandbox added for tests has no files
	}
	return sb.save()
}

// shimIDs are the -id values the sandbox's shims may carry.
func (sb *Sandbox) shimIDs() []string {
	sb.mu.RLock()
	defer sb.mu.RUnlock()
	return append([]string{sb.meta.ID}, sb.meta.ContainerIDs...)
}

// loadPauseless rebuilds a pause-less sandbox from its metadata: READY
// unless it was stopped or its pinned namespaces are gone (a reboot).
func (s *Service) loadPauseless(ctx context.Context, meta Metadata, metaPath string) *Sandbox {
	sb := &Sandbox{meta: meta, metaPath: metaPath}
	sb.status = Status{State: runtime.PodSandboxState_SANDBOX_NOTREADY}
	pinned := func(p string) bool { return p == "" || pinns.Pinned(p) }
	netOK := meta.NetNSPath == "" || network.NetNSExists(meta.NetNSPath)
	if !meta.Stopped && pinned(meta.IPCNSPath) && pinned(meta.UTSNSPath) && netOK {
		sb.status.State = runtime.PodSandboxState_SANDBOX_READY
	} else if !meta.Stopped {
		log.G(ctx).WithField("sandbox", meta.ID).Warn("pause-less sandbox lost its namespaces; not ready")
	}
	return sb
}
