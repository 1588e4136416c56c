package sandbox

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/log"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/network"
)

// pauseStopTimeout bounds the wait for the pause process after SIGKILL.
const pauseStopTimeout = 10 * time.Second

// Stop stops a sandbox: its containers, then the pause process and its
// network (CNI DEL, netns removed) side by side, then its /dev/shm. Stopping an unknown or already
// stopped sandbox succeeds (the CRI asks StopPodSandbox to be idempotent).
func (s *Service) Stop(ctx context.Context, id string) error {
	sb, err := s.store.Get(id)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	sb.opMu.Lock()
	defer sb.opMu.Unlock()
	return s.stop(ctx, sb)
}

func (s *Service) stop(ctx context.Context, sb *Sandbox) error {
	id := sb.meta.ID
	ctx = log.WithLogger(ctx, log.G(ctx).WithField("sandbox", id))
	if s.containers != nil {
		if err := s.containers.StopAll(ctx, id); err != nil {
			return fmt.Errorf("stop containers of sandbox %s: %w", id, err)
		}
	}
	// The netns is pinned by podshim, not held by the pause process: CNI
	// DEL runs while the pause task is killed and deleted.
	netDone := make(chan error, 1)
	go func() { netDone <- s.teardownNetwork(ctx, sb) }()
	pauseErr := stopPause(ctx, sb.container)
	netErr := <-netDone
	if pauseErr != nil {
		return pauseErr
	}
	sb.setStatus(Status{State: runtime.PodSandboxState_SANDBOX_NOTREADY})
	if netErr != nil {
		return netErr
	}
	if err := unmountShm(sb.meta.ShmPath); err != nil {
		return err
	}
	return nil
}

// stopPause kills the pause process and deletes its task. A missing task
// is already stopped.
func stopPause(ctx context.Context, c containerd.Container) error {
	task, err := c.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get pause task: %w", err)
	}
	exitCh, err := task.Wait(ctx)
	if err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("wait pause task: %w", err)
	}
	if err == nil {
		if err := task.Kill(ctx, syscall.SIGKILL); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("kill pause task: %w", err)
		}
		select {
		case <-exitCh:
		case <-time.After(pauseStopTimeout):
			return fmt.Errorf("pause task of %s did not exit %s after SIGKILL", c.ID(), pauseStopTimeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if _, err := task.Delete(ctx, containerd.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
		// The shim exits with its last task; a delete that lost the
		// connection may still have happened.
		if _, terr := c.Task(ctx, nil); !errdefs.IsNotFound(terr) {
			return fmt.Errorf("delete pause task: %w", err)
		}
	}
	return nil
}

// teardownNetwork runs CNI DEL once and removes the netns.
func (s *Service) teardownNetwork(ctx context.Context, sb *Sandbox) error {
	m := sb.Metadata()
	if m.NetNSPath == "" {
		return nil
	}
	if !m.NetworkDown {
		if err := s.opts.Network.Teardown(ctx, podNetwork(sb)); err != nil {
			return fmt.Errorf("tear down network of sandbox %s: %w", m.ID, err)
		}
		sb.mu.Lock()
		sb.meta.NetworkDown = true
		sb.mu.Unlock()
		if err := sb.save(); err != nil {
			return err
		}
	}
	return network.RemoveNetNS(m.NetNSPath)
}
