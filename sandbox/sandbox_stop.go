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

	"github.com/podshim/podshim/faultpoint"
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
	s.opts.Groups.Close(sb.meta.ShimGroup) // it may empty now: no new pods
	if s.containers != nil {
		if err := s.containers.StopAll(ctx, id); err != nil {
			return fmt.Errorf("stop containers of sandbox %s: %w", id, err)
		}
	}
	// The netns is pinned by podshim, not held by the pause process: CNI
	// DEL runs while the pause task is killed.
	netDone := make(chan error, 1)
	go func() { netDone <- s.teardownNetwork(ctx, sb) }()
	pauseErr := s.killPause(ctx, sb)
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

// killPause kills the pause process, waits for its exit and then deletes
// its task in the background: containerd's task delete (runc delete, the
// shim's shutdown and containerd's clean-up after it, which runs the shim
// binary and runc once more) takes longer than the kill, and Stop need not
// wait for it. Remove does (waitPauseGone). The caller holds sb.opMu.
func (s *Service) killPause(ctx context.Context, sb *Sandbox) error {
	if sb.pauseGone != nil {
		select {
		case <-sb.pauseGone: // deleted, or failed: try again below
			sb.pauseGone = nil
		default:
			return nil // the pause exited; its task is being deleted
		}
	}
	task, err := killPauseTask(ctx, sb.container)
	if err != nil || task == nil {
		return err
	}
	s.opts.Faults.Hit(faultpoint.StopSandboxAfterKill)
	gone := make(chan struct{})
	sb.pauseGone = gone
	go func() {
		defer close(gone)
		s.opts.Faults.Hit(faultpoint.StopSandboxBeforeTaskDelete)
		if err := deletePauseTask(context.WithoutCancel(ctx), sb.container, task); err != nil {
			log.G(ctx).WithError(err).Warn("delete stopped pause task")
		}
	}()
	return nil
}

// waitPauseGone waits for the deletion killPause started, and then makes
// sure the task is gone. The caller holds sb.opMu.
func (s *Service) waitPauseGone(ctx context.Context, sb *Sandbox) error {
	if sb.pauseGone != nil {
		select {
		case <-sb.pauseGone:
			sb.pauseGone = nil
		case <-time.After(pauseStopTimeout):
			return fmt.Errorf("pause task of sandbox %s not deleted %s after its exit", sb.meta.ID, pauseStopTimeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return stopPause(ctx, sb.container) // a no-op unless the deletion failed
}

// stopPause kills the pause process and deletes its task. A missing task
// is already stopped.
func stopPause(ctx context.Context, c containerd.Container) error {
	task, err := killPauseTask(ctx, c)
	if err != nil || task == nil {
		return err
	}
	return deletePauseTask(ctx, c, task)
}

// killPauseTask kills the pause process and waits for its exit. It returns
// the stopped task, or nil when there is none.
func killPauseTask(ctx context.Context, c containerd.Container) (containerd.Task, error) {
	task, err := c.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get pause task: %w", err)
	}
	exitCh, err := task.Wait(ctx)
	if errdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("wait pause task: %w", err)
	}
	if err := task.Kill(ctx, syscall.SIGKILL); err != nil && !errdefs.IsNotFound(err) {
		return nil, fmt.Errorf("kill pause task: %w", err)
	}
	select {
	case <-exitCh:
	case <-time.After(pauseStopTimeout):
		return nil, fmt.Errorf("pause task of %s did not exit %s after SIGKILL", c.ID(), pauseStopTimeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return task, nil
}

// deletePauseTask deletes a stopped pause task, without
// containerd.WithProcessKill: the process exited, and its `runc kill --all`
// would be one more runc run for nothing.
func deletePauseTask(ctx context.Context, c containerd.Container, task containerd.Task) error {
	if _, err := task.Delete(ctx); err != nil && !errdefs.IsNotFound(err) {
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
			s.retryNetworkTeardown(ctx, sb)
			return fmt.Errorf("tear down network of sandbox %s: %w", m.ID, err)
		}
		sb.mu.Lock()
		sb.meta.NetworkDown = true
		sb.mu.Unlock()
		if err := sb.save(); err != nil {
			return err
		}
		s.opts.Faults.Hit(faultpoint.StopSandboxAfterNetwork)
	}
	if err := network.RemoveNetNS(m.NetNSPath); err != nil {
		return err
	}
	return s.opts.Network.RemovePodNetNSDir(m.ID)
}
