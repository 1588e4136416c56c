package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/cio"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/containerd/snapshots"
	"github.com/containerd/log"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/cri/cleanup"
	"github.com/podshim/podshim/cri/spec"
	"github.com/podshim/podshim/faultpoint"
	"github.com/podshim/podshim/image"
	"github.com/podshim/podshim/network"
	"github.com/podshim/podshim/runtimes"
	"github.com/podshim/podshim/shimgroup"
	"github.com/podshim/podshim/userns"
)

// Run creates and starts a pod sandbox and returns its ID. Every step that
// allocates something pushes its undo; if a later step fails they all run,
// so a failed Run leaves nothing behind. The network set-up runs while the
// pause container is created and started. cfg was checked at the front door
// (validate.Request).
func (s *Service) Run(ctx context.Context, cfg *runtime.PodSandboxConfig, handler string) (_ string, retErr error) {
	rth, err := s.opts.Runtimes.Get(handler)
	if err != nil {
		return "", err
	}
	podUserns, err := spec.PodUserns(cfg, s.opts.Spec.Features.UserNamespaces)
	if err != nil {
		return "", err
	}
	id := newID()
	ctx = log.WithLogger(ctx, log.G(ctx).WithFields(log.Fields{"sandbox": id, "pod": cfg.Metadata.Namespace + "/" + cfg.Metadata.Name}))
	name := makeName(cfg.Metadata)
	if err := s.names.Reserve(name, id); err != nil {
		return "", err
	}
	var undo cleanup.Stack
	defer func() {
		if retErr != nil {
			undo.Run(ctx)
		}
	}()
	undo.Push("release sandbox name", func(context.Context) error { s.names.ReleaseID(id); return nil })

	step := time.Now()
	img, err := s.opts.Images.EnsureSandboxImage(ctx)
	if err != nil {
		return "", fmt.Errorf("sandbox image: %w", err)
	}
	s.observeSince(PhaseSandboxImage, step)

	nsOpts := cfg.GetLinux().GetSecurityContext().GetNamespaceOptions()
	hostNetwork := nsOpts.GetNetwork() == runtime.NamespaceMode_NODE
	rootDir, stateDir := s.sandboxDirs(id)
	for _, d := range []string{rootDir, stateDir} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return "", fmt.Errorf("create sandbox dir: %w", err)
		}
	}
	undo.Push("remove sandbox dirs", func(context.Context) error {
		os.RemoveAll(stateDir)
		return os.RemoveAll(rootDir)
	})

	sb := &Sandbox{
		meta: Metadata{
			ID: id, Name: name, Config: cfg, RuntimeHandler: handler, Runtime: rth.RuntimeType,
			CreatedAt:   time.Now().UnixNano(),
			CgroupsPath: podCgroupsPath(ctx, cfg, id, s.opts.Spec.CgroupDriver),
			Creating:    true,
		},
		metaPath: rootDir + "/sandbox.json",
	}
	m := &sb.meta
	// Density mode: the pod's pause joins a shim group of its runtime
	// handler (waiting, if it is not the group's first pod, for the first
	// pod's pause task).
	ticket, err := s.opts.Groups.Join(ctx, rth.Name, id)
	if err != nil {
		return "", fmt.Errorf("join a shim group: %w", err)
	}
	m.ShimGroup = ticket.ID
	undo.Push("leave shim group", func(context.Context) error { ticket.Leave(); return nil })
	if m.HostnamePath, m.HostsPath, m.ResolvConfPath, err = writePodFiles(rootDir, cfg, hostNetwork); err != nil {
		return "", err
	}
	if nsOpts.GetIpc() != runtime.NamespaceMode_NODE {
		m.ShmPath = stateDir + "/shm"
		if err := mountShm(m.ShmPath, s.opts.ShmSize); err != nil {
			return "", err
		}
		undo.Push("unmount shm", func(context.Context) error { return unmountShm(m.ShmPath) })
	}
	step = time.Now()
	// The netns goes in the undo unless the CNI DEL before it failed: then
	// it stays for the DEL's background retries (releaseLostNetwork).
	netHeld := false
	removeNetNS := func() error {
		if netHeld {
			return nil
		}
		return s.opts.Network.RemovePodNetNSDir(id)
	}
	switch {
	case podUserns != nil:
		// The netns is made in the pod's user namespace, which the pause
		// joins through a pin (see package userns).
		// Both pins are found by the pod's ID after a crash: the netns in
		// the pod's netns dir, the user namespace in its state dir.
		m.UsernsPath = stateDir + "/userns"
		undo.Push("remove netns", func(context.Context) error { return removeNetNS() })
		undo.Push("unpin user namespace", func(context.Context) error { return userns.Unpin(m.UsernsPath) })
		if err := userns.Run(podUserns.UIDs, podUserns.GIDs, func(pid int) (err error) {
			if m.NetNSPath, err = s.opts.Network.NewPodNetNSFromPID(id, pid); err != nil {
				return err
			}
			if err := userns.Pin(pid, m.UsernsPath); err != nil {
				return err
			}
			s.opts.Faults.Hit(faultpoint.RunSandboxAfterUsernsNetNS)
			return nil
		}); err != nil {
			return "", fmt.Errorf("user namespace of sandbox %s: %w", id, err)
		}
		s.observeSince(PhaseNetNS, step)
	case !hostNetwork:
		// In a dir named after the pod: a crash before the metadata below
		// is saved leaves a netns recovery finds by the pod's ID.
		if m.NetNSPath, err = s.opts.Network.NewPodNetNS(id); err != nil {
			return "", err
		}
		s.observeSince(PhaseNetNS, step)
		undo.Push("remove netns", func(context.Context) error { return removeNetNS() })
	}
	// From here on a crash leaves pieces only the metadata can find (the
	// netns, the IP): persist it, marked as being created.
	if err := sb.save(); err != nil {
		return "", err
	}
	s.opts.Faults.Hit(faultpoint.RunSandboxAfterNetNS)

	// CNI ADD in the background while the pause container starts. Its
	// teardown is registered before it runs: a failed ADD may still hold an
	// IP.
	pod := podNetwork(sb)
	var ips []string
	netDone := make(chan error, 1)
	if hostNetwork {
		netDone <- nil
	} else {
		undo.Push("CNI teardown", func(ctx context.Context) error {
			err := s.opts.Network.Teardown(ctx, pod)
			// A plugin that is not installed ran in no ADD and holds
			// nothing (the installed ones released theirs): no retry.
			if err != nil && !errors.Is(err, network.ErrPluginNotInstalled) {
				netHeld = true
				s.releaseLostNetwork(ctx, id)
			}
			return err
		})
		go func() {
			step := time.Now()
			res, err := s.opts.Network.Setup(ctx, pod)
			if err == nil {
				s.observeSince(PhaseCNIAdd, step)
			}
			s.opts.Faults.Hit(faultpoint.RunSandboxAfterCNIAdd)
			ips = res.IPs
			netDone <- err
		}()
	}
	startErr := s.startPause(ctx, sb, rth, img, podUserns, &undo)
	ticket.Started(startErr == nil)
	netErr := <-netDone
	if startErr != nil {
		return "", startErr
	}
	if netErr != nil {
		return "", fmt.Errorf("set up network of sandbox %s: %w", id, netErr)
	}
	m.IPs = ips
	m.Creating = false
	if !hostNetwork {
		if err := writeHosts(m.HostsPath, hostnameOf(cfg), m.IPs, false); err != nil {
			return "", err
		}
	}
	s.opts.Faults.Hit(faultpoint.RunSandboxBeforeSave)
	if err := sb.save(); err != nil {
		return "", err
	}
	s.store.Add(id, sb)
	log.G(ctx).WithField("ips", m.IPs).Info("sandbox ready")
	return id, nil
}

// startPause creates and starts the pause container and its task; with a
// user namespace (u), its rootfs is idmapped and the pin of the user
// namespace is dropped once the pause holds it.
func (s *Service) startPause(ctx context.Context, sb *Sandbox, rth runtimes.Handler, img image.Image, u *spec.Userns, undo *cleanup.Stack) error {
	id := sb.meta.ID
	specOpts, err := spec.Pause(sb.Spec(), img.Config, s.opts.Spec)
	if err != nil {
		return err
	}
	specOpts = append(specOpts, shimgroup.SpecOpts(sb.meta.ShimGroup)...)
	var snapOpts []snapshots.Opt
	if u != nil {
		snapOpts = append(snapOpts, userns.SnapshotOpt(u.UIDs, u.GIDs))
	}
	labels := map[string]string{LabelKind: KindSandbox}
	// Under podshim's lease, released at start-up after a crash (see
	// image.Service.WithWorkLease).
	lctx, releaseLease, err := s.opts.Images.WithWorkLease(ctx)
	if err != nil {
		return fmt.Errorf("create lease: %w", err)
	}
	step := time.Now()
	container, err := s.opts.Client.NewContainer(lctx, id,
		containerd.WithSnapshotter(s.opts.Snapshotter),
		s.opts.Images.WithNewSnapshot(id, img, snapOpts...),
		containerd.WithRuntime(sb.meta.Runtime, rth.Options),
		containerd.WithNewSpec(specOpts...),
		containerd.WithContainerLabels(labels),
	)
	if lerr := releaseLease(context.WithoutCancel(ctx)); lerr != nil {
		log.G(ctx).WithError(lerr).Warn("release lease")
	}
	if err != nil {
		return fmt.Errorf("create pause container: %w", err)
	}
	sb.container = container
	s.opts.Faults.Hit(faultpoint.RunSandboxAfterPauseContainer)
	undo.Push("delete pause container", func(ctx context.Context) error {
		err := container.Delete(ctx, containerd.WithSnapshotCleanup)
		if errdefs.IsNotFound(err) {
			return nil
		}
		return err
	})
	// Before the pause task: the pod's containers join its shim through
	// this record (package sandboxshim).
	if err := s.opts.Shims.Register(ctx, id, sb.meta.Runtime); err != nil {
		return err
	}
	undo.Push("delete sandbox record", func(ctx context.Context) error { return s.opts.Shims.Unregister(ctx, id) })
	task, err := container.NewTask(ctx, cio.NullIO)
	if err != nil {
		return fmt.Errorf("create pause task: %w", err)
	}
	s.opts.Faults.Hit(faultpoint.RunSandboxAfterPauseTask)
	undo.Push("delete pause task", func(ctx context.Context) error {
		_, err := task.Delete(ctx, containerd.WithProcessKill)
		if errdefs.IsNotFound(err) {
			return nil
		}
		return err
	})
	s.observeSince(PhasePauseCreate, step)
	if u != nil {
		if err := userns.Unpin(sb.meta.UsernsPath); err != nil {
			return err
		}
	}
	step = time.Now()
	if err := task.Start(ctx); err != nil {
		return fmt.Errorf("start pause task: %w", err)
	}
	s.observeSince(PhasePauseStart, step)
	s.opts.Faults.Hit(faultpoint.RunSandboxAfterPauseStart)
	sb.setStatus(Status{State: runtime.PodSandboxState_SANDBOX_READY, Pid: task.Pid()})
	return nil
}

func podNetwork(sb *Sandbox) network.Pod {
	cfg := sb.meta.Config
	return network.Pod{
		ID: sb.meta.ID, Name: cfg.Metadata.Name, Namespace: cfg.Metadata.Namespace, UID: cfg.Metadata.Uid,
		NetNS: sb.meta.NetNSPath, PortMappings: cfg.PortMappings, DNS: cfg.DnsConfig,
	}
}

func hostnameOf(cfg *runtime.PodSandboxConfig) string {
	if cfg.Hostname != "" {
		return cfg.Hostname
	}
	h, _ := os.Hostname()
	return h
}

// podCgroupsPath is the pause container's cgroups path: under the pod's
// cgroup parent, or containerd's default /<namespace>/<id> without one (the
// spec keeps that default then).
func podCgroupsPath(ctx context.Context, cfg *runtime.PodSandboxConfig, id, driver string) string {
	if p := spec.CgroupsPath(cfg.GetLinux().GetCgroupParent(), id, driver); p != "" {
		return p
	}
	ns, _ := namespaces.Namespace(ctx)
	return path.Join("/", ns, id)
}
