package cri

import (
	"context"
	"fmt"
	"os"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/log"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
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
	if err := c.container.Delete(ctx, containerd.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("delete containerd container %s: %w", c.meta.ID, err)
	}
	rootDir, stateDir := s.containerDirs(c.meta.ID)
	if err := os.RemoveAll(stateDir); err != nil {
		return fmt.Errorf("remove container state dir: %w", err)
	}
	if err := os.RemoveAll(rootDir); err != nil {
		return fmt.Errorf("remove container dir: %w", err)
	}
	if sp, err := c.loadSpec(ctx); err == nil && sp.Linux != nil {
		s.stats.forget(sp.Linux.CgroupsPath, c.meta.ID)
	}
	s.store.Delete(c.meta.ID)
	s.names.ReleaseID(c.meta.ID)
	s.publish(c, runtime.ContainerEventType_CONTAINER_DELETED_EVENT)
	log.G(ctx).Debug("container removed")
	return nil
}
