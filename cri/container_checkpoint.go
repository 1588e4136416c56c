package cri

import (
	"context"
	"fmt"
	"os"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/mount"
	runcoptions "github.com/containerd/containerd/runtime/v2/runc/options"
	"google.golang.org/protobuf/proto"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Running is a running container lent to WithRunning's function.
type Running struct {
	Meta      Metadata
	Status    *runtime.ContainerStatus
	Dir       string // the container's persistent directory
	Container containerd.Container
	Task      containerd.Task
}

// WithRunning calls fn with the container id while it runs, holding off
// its Start, Stop and Remove until fn returns (checkpointing). An unknown
// ID is NotFound, a container that does not run FailedPrecondition.
func (s *Service) WithRunning(ctx context.Context, id string, fn func(context.Context, Running) error) error {
	c, err := s.store.Get(id)
	if err != nil {
		return err
	}
	c.opMu.Lock()
	defer c.opMu.Unlock()
	c.mu.RLock()
	st, task := c.status, c.task
	c.mu.RUnlock()
	switch {
	case st.State != runtime.ContainerState_CONTAINER_RUNNING:
		return fmt.Errorf("%w: container %s is %s, not RUNNING", errdefs.ErrFailedPrecondition, c.meta.ID, stateName(st.State))
	case st.Removing:
		return fmt.Errorf("%w: container %s is being removed", errdefs.ErrFailedPrecondition, c.meta.ID)
	case task == nil:
		return fmt.Errorf("%w: container %s has exited (its exit is being recorded)", errdefs.ErrFailedPrecondition, c.meta.ID)
	}
	return fn(ctx, Running{Meta: c.meta, Status: c.ToCRIStatus(), Dir: c.dir, Container: c.container, Task: task})
}

// Restore makes Create build a container that restores a checkpoint when
// it starts.
type Restore struct {
	// Images puts CRIU's images of the checkpoint into dir (to be
	// created), inside the container's own directory.
	Images func(ctx context.Context, dir string) error
	// Rootfs applies the checkpoint's root filesystem changes to the new
	// container's root filesystem, mounted at root.
	Rootfs func(ctx context.Context, root string) error
}

// CreateRestored creates a container like Create, whose root filesystem
// then gets the checkpoint's changes and whose Start restores the
// checkpointed processes with CRIU instead of running its command.
func (s *Service) CreateRestored(ctx context.Context, sandboxID string, cfg *runtime.ContainerConfig, r Restore) (string, error) {
	return s.create(ctx, sandboxID, cfg, &r)
}

// restoreImagesDir is where a restored container keeps CRIU's images.
func restoreImagesDir(rootDir string) string { return rootDir + "/restore" }

// restoreWorkDir is CRIU's work directory (logs) for restoring dir.
func restoreWorkDir(dir string) string { return dir + "-work" }

// prepareRestore fills a restored container's snapshot and CRIU images.
func (s *Service) prepareRestore(ctx context.Context, c *Container, r *Restore) error {
	if err := r.Images(ctx, c.meta.RestoreImages); err != nil {
		return fmt.Errorf("container %s: unpack CRIU images: %w", c.meta.ID, err)
	}
	if err := os.MkdirAll(restoreWorkDir(c.meta.RestoreImages), 0o700); err != nil {
		return err
	}
	info, err := c.container.Info(ctx)
	if err != nil {
		return err
	}
	mounts, err := s.opts.Client.SnapshotService(info.Snapshotter).Mounts(ctx, info.SnapshotKey)
	if err != nil {
		return fmt.Errorf("container %s: snapshot mounts: %w", c.meta.ID, err)
	}
	if err := mount.WithTempMount(ctx, mounts, func(root string) error { return r.Rootfs(ctx, root) }); err != nil {
		return fmt.Errorf("container %s: restore root filesystem: %w", c.meta.ID, err)
	}
	return nil
}

// withRestore makes the new task restore CRIU's images in dir instead of
// starting the container's process, keeping the node's runc options.
func (s *Service) withRestore(dir string) containerd.NewTaskOpts {
	return func(ctx context.Context, _ *containerd.Client, ti *containerd.TaskInfo) error {
		opts := &runcoptions.Options{}
		if o, ok := s.opts.RuntimeOptions.(*runcoptions.Options); ok && o != nil {
			opts = proto.Clone(o).(*runcoptions.Options)
		}
		opts.CriuImagePath = dir
		opts.CriuWorkPath = restoreWorkDir(dir)
		ti.Options = opts
		return nil
	}
}
