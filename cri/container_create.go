package cri

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/containers"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/snapshots"
	"github.com/containerd/log"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/cri/cleanup"
	"github.com/podshim/podshim/cri/spec"
	"github.com/podshim/podshim/faultpoint"
	"github.com/podshim/podshim/shimgroup"
	"github.com/podshim/podshim/userns"
)

// Create creates a container in a READY sandbox from a local image. The
// container does not run until Start. A failed Create leaves nothing
// behind: name, dirs, snapshot and containerd container are undone. cfg
// was checked at the front door (validate.Request).
func (s *Service) Create(ctx context.Context, sandboxID string, cfg *runtime.ContainerConfig) (string, error) {
	return s.create(ctx, sandboxID, cfg, nil)
}

// create creates a container, restored from a checkpoint when r is set.
func (s *Service) create(ctx context.Context, sandboxID string, cfg *runtime.ContainerConfig, r *Restore) (_ string, retErr error) {
	start := time.Now()
	sb, err := s.opts.Sandboxes.Get(sandboxID)
	if err != nil {
		return "", err
	}
	sb.Lock()
	defer sb.Unlock()
	if st := sb.Status(); st.State != runtime.PodSandboxState_SANDBOX_READY {
		return "", fmt.Errorf("%w: sandbox %s is not ready", errdefs.ErrFailedPrecondition, sb.ID())
	}
	sbMeta := sb.Metadata()
	id := newID()
	ctx = log.WithLogger(ctx, log.G(ctx).WithFields(log.Fields{"container": id, "sandbox": sb.ID(), "name": cfg.Metadata.Name}))
	name := makeName(cfg.Metadata, sbMeta.Config.Metadata)
	if err := s.names.Reserve(name, id); err != nil {
		return "", err
	}
	var undo cleanup.Stack
	defer func() {
		if retErr != nil {
			undo.Run(ctx)
		}
	}()
	undo.Push("release container name", func(context.Context) error { s.names.ReleaseID(id); return nil })

	img, err := s.opts.Images.Get(ctx, cfg.Image.Image)
	if err != nil {
		return "", fmt.Errorf("image %q of container %s: %w", cfg.Image.Image, cfg.Metadata.Name, err)
	}
	rootDir, stateDir := s.containerDirs(id)
	if err := os.MkdirAll(rootDir, 0o711); err != nil {
		return "", fmt.Errorf("create container dir: %w", err)
	}
	undo.Push("remove container dirs", func(context.Context) error {
		os.RemoveAll(stateDir)
		return os.RemoveAll(rootDir)
	})

	stopSignal, err := spec.ContainerStopSignal(cfg, img.Config)
	if err != nil {
		return "", err
	}
	c := &Container{
		meta: Metadata{
			ID: id, Name: name, SandboxID: sb.ID(), Config: cfg,
			ImageID: img.ID, ImageName: imageName(cfg.Image.Image, img), ImageRef: imageRef(img),
			LogPath:    logPath(sbMeta.Config.GetLogDirectory(), cfg.GetLogPath()),
			StopSignal: strconv.Itoa(int(stopSignal)),
			CreatedAt:  time.Now().UnixNano(),
		},
		dir:    rootDir,
		status: Status{State: runtime.ContainerState_CONTAINER_CREATED},
	}
	for _, p := range spec.HostPathsToCreate(cfg) {
		if err := os.MkdirAll(p, 0o755); err != nil {
			return "", fmt.Errorf("create host path %s: %w", p, err)
		}
	}
	rth, err := s.opts.Sandboxes.Runtime(sb)
	if err != nil {
		return "", err
	}
	sbSpec := sb.Spec()
	if target := spec.TargetID(cfg); target != "" {
		if sbSpec.TargetPid, err = s.targetPid(target, sb.ID()); err != nil {
			return "", err
		}
	}
	specOpts, err := spec.Container(id, cfg, sbSpec, img.Config, s.opts.Spec)
	if err != nil {
		return "", err
	}
	c.meta.User = &specs.User{}
	specOpts = append(specOpts, spec.WithUserCapture(c.meta.User))
	specOpts = append(specOpts, shimgroup.SpecOpts(sbMeta.ShimGroup)...) // density mode: the pod's shim group
	var snapOpts []snapshots.Opt
	if u, err := spec.PodUserns(sbMeta.Config, s.opts.Spec.Features.UserNamespaces); err != nil {
		return "", err
	} else if u != nil {
		snapOpts = append(snapOpts, userns.SnapshotOpt(u.UIDs, u.GIDs)) // an idmapped rootfs
	}
	// Under podshim's lease: a crash between the snapshot and the record
	// would otherwise leave the snapshot under the client's lease, which
	// nothing releases for 24 h.
	lctx, releaseLease, err := s.opts.Images.WithWorkLease(ctx)
	if err != nil {
		return "", fmt.Errorf("create lease: %w", err)
	}
	ctrOpts := append([]containerd.NewContainerOpts{
		containerd.WithSnapshotter(s.opts.Snapshotter),
		s.opts.Images.WithNewSnapshot(id, img, snapOpts...),
		func(context.Context, *containerd.Client, *containers.Container) error {
			s.opts.Faults.Hit(faultpoint.CreateContainerAfterSnapshot)
			return nil
		},
		containerd.WithRuntime(sbMeta.Runtime, rth.Options), // the pod's handler
		containerd.WithNewSpec(specOpts...),
		containerd.WithContainerLabels(containerdLabels(sb.ID(), cfg)),
	}, s.opts.Shims.ContainerOpts(sb.ID())...) // its task joins the pod's shim
	container, err := s.opts.Client.NewContainer(lctx, id, ctrOpts...)
	if lerr := releaseLease(context.WithoutCancel(ctx)); lerr != nil {
		log.G(ctx).WithError(lerr).Warn("release lease")
	}
	if err != nil {
		return "", fmt.Errorf("create containerd container: %w", err)
	}
	c.container = container
	s.opts.Faults.Hit(faultpoint.CreateContainerAfterRecord)
	undo.Push("delete containerd container", func(ctx context.Context) error {
		if err := container.Delete(ctx, containerd.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
			return err
		}
		return nil
	})
	if r != nil {
		c.meta.RestoreImages = restoreImagesDir(rootDir)
		if err := s.prepareRestore(ctx, c, r); err != nil {
			return "", err
		}
	}
	if err := c.saveMetadata(); err != nil {
		return "", err
	}
	s.opts.Faults.Hit(faultpoint.CreateContainerAfterMetadata)
	if err := c.update(func(*Status) {}); err != nil {
		return "", err
	}
	s.store.Add(id, c)
	s.publish(c, runtime.ContainerEventType_CONTAINER_CREATED_EVENT)
	log.G(ctx).Debug("container created")
	s.opts.Phases.ObservePhase(PhaseContainerCreate, time.Since(start))
	return id, nil
}

// logPath is where the container's CRI log goes: the pod's log directory
// joined with the container's log path, or nowhere when either is unset.
func logPath(dir, rel string) string {
	if dir == "" || rel == "" {
		return ""
	}
	return filepath.Join(dir, rel)
}

// targetPid returns the pid of the running container whose PID namespace a
// container with pid mode TARGET joins (kubectl debug --target).
func (s *Service) targetPid(targetID, sandboxID string) (uint32, error) {
	t, err := s.store.Get(targetID)
	if err != nil {
		return 0, fmt.Errorf("target container of pid namespace: %w", err)
	}
	if t.meta.SandboxID != sandboxID {
		return 0, fmt.Errorf("%w: target container %s is not in sandbox %s", errdefs.ErrInvalidArgument, targetID, sandboxID)
	}
	st := t.Status()
	if st.State != runtime.ContainerState_CONTAINER_RUNNING {
		return 0, fmt.Errorf("%w: target container %s is not running", errdefs.ErrFailedPrecondition, targetID)
	}
	return st.Pid, nil
}
