package cri

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/log"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/faultpoint"
)

// Remove removes a container, killing it first if it runs: its containerd
// container, snapshot, FIFOs and state files go. The log file stays: it
// belongs to kubelet's log directory and kubelet removes it. Removing an
// unknown container succeeds (the CRI asks RemoveContainer to be
// idempotent).
func (s *Service) Remove(ctx context.Context, id string) error {
	c, err := s.store.Get(id)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	c.opMu.Lock()
	defer c.opMu.Unlock()
	ctx = log.WithLogger(ctx, log.G(ctx).WithFields(log.Fields{"container": c.meta.ID, "sandbox": c.meta.SandboxID}))
	c.mu.Lock()
	c.status.Removing = true
	c.mu.Unlock()
	if err := s.stop(ctx, c, 0); err != nil {
		c.mu.Lock()
		c.status.Removing = false
		c.mu.Unlock()
		return err
	}
	if err := waitTaskGone(ctx, c); err != nil {
		return err
	}
	s.opts.Faults.Hit(faultpoint.RemoveContainerAfterTask)
	if err := s.deleteContainer(ctx, c.container); err != nil {
		return err
	}
	s.opts.Faults.Hit(faultpoint.RemoveContainerAfterRecord)
	rootDir, stateDir := s.containerDirs(c.meta.ID)
	if err := os.RemoveAll(stateDir); err != nil {
		return fmt.Errorf("remove container state dir: %w", err)
	}
	if err := os.RemoveAll(rootDir); err != nil {
		return fmt.Errorf("remove container dir: %w", err)
	}
	// Stats state exists only for a container whose spec was loaded.
	c.mu.RLock()
	sp := c.spec
	c.mu.RUnlock()
	if sp != nil && sp.Linux != nil {
		s.stats.forget(sp.Linux.CgroupsPath, c.meta.ID)
	}
	s.store.Delete(c.meta.ID)
	s.names.ReleaseID(c.meta.ID)
	s.publish(c, runtime.ContainerEventType_CONTAINER_DELETED_EVENT)
	log.G(ctx).Debug("container removed")
	return nil
}

// waitTaskGone waits until the task of an exited container is deleted (see
// recordExit).
func waitTaskGone(ctx context.Context, c *Container) error {
	c.mu.RLock()
	gone := c.taskGone
	c.mu.RUnlock()
	if gone == nil {
		return nil
	}
	select {
	case <-gone:
		return nil
	case <-time.After(killWait):
		return fmt.Errorf("container %s: task not deleted %s after its exit", c.meta.ID, killWait)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// deleteContainer deletes a stopped container's task if it still has one,
// its rootfs snapshot and its containerd container, in that order:
// containerd.Container.Delete with WithSnapshotCleanup, less the round trip
// it spends re-reading the container's record (the snapshotter and
// snapshot key are those it was created or loaded with).
//
// The task goes first because containerd deletes a container record even
// while a task of it exists (only the client's Delete checks), and a task
// whose container is gone can no longer be deleted: its shim, its rootfs
// mount and its runc state stay until containerd restarts. Stop normally
// deleted the task already; it has not when a crash came between the exit
// and the task delete, or that delete failed.
func (s *Service) deleteContainer(ctx context.Context, container containerd.Container) error {
	id := container.ID()
	if err := deleteTaskOf(ctx, container); err != nil {
		return err
	}
	info, err := container.Info(ctx, containerd.WithoutRefreshedMetadata)
	if err != nil {
		return fmt.Errorf("containerd container %s: %w", id, err)
	}
	if info.SnapshotKey != "" {
		err := s.opts.Client.SnapshotService(info.Snapshotter).Remove(ctx, info.SnapshotKey)
		if err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("remove rootfs snapshot of container %s: %w", id, err)
		}
	}
	s.opts.Faults.Hit(faultpoint.RemoveContainerAfterSnapshot)
	if err := s.opts.Client.ContainerService().Delete(ctx, id); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("delete containerd container %s: %w", id, err)
	}
	return nil
}

// deleteTaskOf deletes the task of container, killing its processes if
// they still run. A container without a task is fine.
func deleteTaskOf(ctx context.Context, container containerd.Container) error {
	task, err := container.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("task of container %s: %w", container.ID(), err)
	}
	if _, err := task.Delete(ctx, containerd.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("delete task of container %s: %w", container.ID(), err)
	}
	log.G(ctx).WithField("container", container.ID()).Info("deleted a task left behind")
	return nil
}
