package sandbox

import (
	"context"
	"fmt"
	"os"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/log"

	"github.com/podshim/podshim/faultpoint"
	"github.com/podshim/podshim/userns"
)

// Remove removes a sandbox and everything of it: a READY sandbox is stopped
// first and its containers are removed. Removing an unknown sandbox
// succeeds (the CRI asks RemovePodSandbox to be idempotent).
func (s *Service) Remove(ctx context.Context, id string) error {
	sb, err := s.store.Get(id)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	sb.opMu.Lock()
	defer sb.opMu.Unlock()
	id = sb.meta.ID
	ctx = log.WithLogger(ctx, log.G(ctx).WithField("sandbox", id))
	// Stop is idempotent and cheap on a stopped sandbox; it also finishes
	// a Stop that failed half way.
	if err := s.stop(ctx, sb); err != nil {
		return err
	}
	if s.containers != nil {
		if err := s.containers.RemoveAll(ctx, id); err != nil {
			return fmt.Errorf("remove containers of sandbox %s: %w", id, err)
		}
	}
	s.opts.Faults.Hit(faultpoint.RemoveSandboxAfterContainers)
	if err := s.waitPauseGone(ctx, sb); err != nil {
		return err
	}
	if err := sb.container.Delete(ctx, containerd.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("delete pause container %s: %w", id, err)
	}
	if err := s.opts.Shims.Unregister(ctx, id); err != nil {
		return err
	}
	s.opts.Faults.Hit(faultpoint.RemoveSandboxAfterPause)
	if err := unmountShm(sb.meta.ShmPath); err != nil {
		return err
	}
	if err := userns.Unpin(sb.meta.UsernsPath); err != nil {
		return err
	}
	rootDir, stateDir := s.sandboxDirs(id)
	if err := os.RemoveAll(stateDir); err != nil {
		return fmt.Errorf("remove sandbox state dir: %w", err)
	}
	s.opts.Faults.Hit(faultpoint.RemoveSandboxAfterStateDir)
	if err := os.RemoveAll(rootDir); err != nil {
		return fmt.Errorf("remove sandbox root dir: %w", err)
	}
	s.store.Delete(id)
	s.names.ReleaseID(id)
	// The shim is named after the pod, or in density mode after its
	// group, which other pods may still use.
	if group := sb.meta.ShimGroup; group == "" {
		go s.reapShim(context.WithoutCancel(ctx), id)
	} else if s.opts.Groups.Leave(group, id) == 0 {
		go s.reapShim(context.WithoutCancel(ctx), group)
	}
	log.G(ctx).Info("sandbox removed")
	return nil
}
