// Package checkpoint checkpoints running containers with CRIU into the
// archive kubelet's checkpoint API asks for (CheckpointContainer), and
// restores a container from such an archive when CreateContainer names one
// as its image, as CRI-O and containerd's CRI do.
//
// The archive is an uncompressed tar (see files.go for its entries):
// config.dump, spec.dump and status.dump describe the container,
// checkpoint/ holds CRIU's images, rootfs-diff.tar and deleted.files the
// changes to its root filesystem (read from the overlay upper dir), and
// stats-dump, dump.log and container.log are kept for inspection.
//
// Checkpoint: location checked → container RUNNING (held against Stop and
// Remove) → CRIU works here (`criu check`, once) → freeze → CRIU dump into
// a work dir → rootfs diff → thaw → archive written beside location and
// renamed into place. Any failure leaves no archive and no work dir, and
// the container running.
//
// Restore: archive unpacked and validated → container config rebuilt →
// container created on the checkpoint's base image → rootfs diff and
// deletions applied to its snapshot, CRIU images moved into its directory
// → StartContainer has runc restore them.
package checkpoint

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/containers"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/mount"
	"github.com/containerd/containerd/runtime/v2/runc/options"
	"github.com/containerd/log"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/cri"
)

// Options configure the checkpoint service.
type Options struct {
	Client     *containerd.Client
	Containers *cri.Service
	// RootDir is podshim's persistent root: work dirs go to
	// <RootDir>/checkpoints, on the filesystem of the containers' dirs.
	RootDir string
	CRIU    *CRIU
}

// Service checkpoints and restores containers.
type Service struct {
	opts Options
}

// New returns the checkpoint service, removing work dirs that an
// interrupted checkpoint or restore left behind.
func New(o Options) (*Service, error) {
	s := &Service{opts: o}
	if err := os.RemoveAll(s.workRoot()); err != nil {
		return nil, fmt.Errorf("remove stale checkpoint work dirs: %w", err)
	}
	return s, nil
}

// WorkRoot is where checkpoint and restore work dirs live under root.
func WorkRoot(root string) string { return filepath.Join(root, "checkpoints") }

func (s *Service) workRoot() string { return WorkRoot(s.opts.RootDir) }

// Checkpoint checkpoints the running container id into the archive
// location (an absolute path), leaving it running. timeout (seconds, 0:
// none) bounds the whole operation.
func (s *Service) Checkpoint(ctx context.Context, id, location string, timeout int64) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: container_id is required", errdefs.ErrInvalidArgument)
	case location == "":
		return fmt.Errorf("%w: location is required", errdefs.ErrInvalidArgument)
	case !filepath.IsAbs(location):
		return fmt.Errorf("%w: location %q is not an absolute path", errdefs.ErrInvalidArgument, location)
	}
	if info, err := os.Stat(filepath.Dir(location)); err != nil || !info.IsDir() {
		return fmt.Errorf("%w: location %q: directory %s does not exist", errdefs.ErrInvalidArgument, location, filepath.Dir(location))
	}
	if info, err := os.Stat(location); err == nil && info.IsDir() {
		return fmt.Errorf("%w: location %q is a directory", errdefs.ErrInvalidArgument, location)
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(timeout)*time.Second)
		defer cancel()
	}
	return s.opts.Containers.WithRunning(ctx, id, func(ctx context.Context, r cri.Running) error {
		if err := s.opts.CRIU.Check(ctx); err != nil {
			return fmt.Errorf("checkpoint container %s: %w", r.Meta.ID, err)
		}
		ctx = log.WithLogger(ctx, log.G(ctx).WithFields(log.Fields{"container": r.Meta.ID, "location": location}))
		start := time.Now()
		info, err := r.Container.Info(ctx)
		if err != nil {
			return err
		}
		mounts, err := s.opts.Client.SnapshotService(info.Snapshotter).Mounts(ctx, info.SnapshotKey)
		if err != nil {
			return fmt.Errorf("checkpoint container %s: snapshot mounts: %w", r.Meta.ID, err)
		}
		if err := s.checkpoint(ctx, r, info, mounts, location); err != nil {
			return fmt.Errorf("checkpoint container %s: %w", r.Meta.ID, err)
		}
		log.G(ctx).WithField("took", time.Since(start)).Info("container checkpointed")
		return nil
	})
}

// checkpoint dumps the container r, whose containerd record is info and
// whose root filesystem is mounts, into the archive location.
func (s *Service) checkpoint(ctx context.Context, r cri.Running, info containers.Container, mounts []mount.Mount, location string) error {
	if err := os.MkdirAll(s.workRoot(), 0o700); err != nil {
		return err
	}
	work, err := os.MkdirTemp(s.workRoot(), "dump-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	images, criuWork := filepath.Join(work, "images"), filepath.Join(work, "work")
	for _, d := range []string{images, criuWork} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return err
		}
	}
	sp, err := r.Container.Spec(ctx)
	if err != nil {
		return fmt.Errorf("spec: %w", err)
	}
	layers, err := OverlayLayers(mounts)
	if err != nil {
		return err
	}
	exclude := map[string]bool{}
	for _, m := range sp.Mounts {
		exclude[filepath.Clean(m.Destination)] = true
	}

	// Frozen, CRIU's dump and the rootfs diff see the same moment.
	if err := r.Task.Pause(ctx); err != nil {
		return fmt.Errorf("freeze: %w", err)
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := r.Task.Resume(rctx); err != nil {
			log.G(ctx).WithError(err).Error("thaw container after checkpoint")
		}
	}()
	_, err = r.Task.Checkpoint(ctx, func(ti *containerd.CheckpointTaskInfo) error {
		ti.Options = &options.CheckpointOptions{ImagePath: images, WorkPath: criuWork, Exit: false}
		return nil
	})
	if err != nil {
		return fmt.Errorf("criu dump: %w", err)
	}
	meta := r.Meta
	return Write(ctx, location, Contents{
		Config: ContainerConfig{
			ID: meta.ID, Name: meta.Name,
			RootfsImage: meta.Config.GetImage().GetImage(), RootfsImageName: meta.ImageName, RootfsImageRef: meta.ImageRef,
			OCIRuntime:  info.Runtime.Name,
			CreatedTime: time.Unix(0, meta.CreatedAt).UTC(), CheckpointedAt: time.Now().UTC(),
		},
		Spec: sp, Status: r.Status,
		ImagesDir: images, WorkDir: criuWork,
		Rootfs: layers, Exclude: exclude,
		LogPath: meta.LogPath,
	})
}

// Restore creates, in sandbox sandboxID, a container that restores the
// checkpoint archive cfg.Image.Image names (see IsArchiveRef). Its
// StartContainer restores the processes.
func (s *Service) Restore(ctx context.Context, sandboxID string, cfg *runtime.ContainerConfig) (string, error) {
	if sandboxID == "" {
		return "", fmt.Errorf("%w: pod_sandbox_id is required", errdefs.ErrInvalidArgument)
	}
	if err := os.MkdirAll(s.workRoot(), 0o700); err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp(s.workRoot(), "restore-")
	if err != nil {
		return "", err
	}
	a, err := Open(ctx, cfg.GetImage().GetImage(), dir)
	if err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("config.image.image: %w", err)
	}
	defer a.Close()
	rcfg, err := RestoreConfig(cfg, a)
	if err != nil {
		return "", err
	}
	id, err := s.opts.Containers.CreateRestored(ctx, sandboxID, rcfg, cri.Restore{
		Images: func(ctx context.Context, dst string) error { return os.Rename(a.ImagesDir(), dst) },
		Rootfs: a.ApplyRootfs,
	})
	if err != nil {
		return "", fmt.Errorf("restore %s: %w", a.Path, err)
	}
	log.G(ctx).WithFields(log.Fields{"container": id, "archive": a.Path, "from": a.Config.ID}).Info("container created from checkpoint")
	return id, nil
}
