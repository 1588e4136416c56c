package cri

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/moby/sys/signal"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/faultpoint"
)

// killWait bounds the wait for a container's exit after SIGKILL.
const killWait = 30 * time.Second

// Stop stops a running container: its stop signal (the image's STOPSIGNAL,
// else SIGTERM), then SIGKILL to all its processes once timeout seconds
// have passed. Stopping an unknown, created or exited container succeeds
// (the CRI asks StopContainer to be idempotent).
func (s *Service) Stop(ctx context.Context, id string, timeout int64) error {
	c, err := s.store.Get(id)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	c.opMu.Lock()
	defer c.opMu.Unlock()
	return s.stop(ctx, c, time.Duration(timeout)*time.Second)
}

func (s *Service) stop(ctx context.Context, c *Container, grace time.Duration) error {
	c.mu.RLock()
	task, exited, running := c.task, c.exited, c.status.State == runtime.ContainerState_CONTAINER_RUNNING
	c.mu.RUnlock()
	if task == nil {
		if running && exited != nil {
			// The exit is being recorded (output drained, task deleted):
			// wait for it, so that Remove finds the task gone.
			select {
			case <-exited:
			case <-time.After(killWait):
				return fmt.Errorf("container %s: exit not recorded after %s", c.meta.ID, killWait)
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}
	ctx = log.WithLogger(ctx, log.G(ctx).WithFields(log.Fields{"container": c.meta.ID, "sandbox": c.meta.SandboxID}))
	if grace > 0 {
		sig := syscall.SIGTERM
		if c.meta.StopSignal != "" {
			if parsed, err := signal.ParseSignal(c.meta.StopSignal); err == nil {
				sig = parsed
			}
		}
		if err := task.Kill(ctx, sig); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("signal container %s: %w", c.meta.ID, err)
		}
		s.opts.Faults.Hit(faultpoint.StopContainerAfterKill)
		select {
		case <-exited:
			return nil
		case <-time.After(grace):
			log.G(ctx).WithField("grace", grace).Info("container ignored its stop signal; killing")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := task.Kill(ctx, syscall.SIGKILL, containerd.WithKillAll); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("kill container %s: %w", c.meta.ID, err)
	}
	s.opts.Faults.Hit(faultpoint.StopContainerAfterKill)
	select {
	case <-exited:
		return nil
	case <-time.After(killWait):
		return fmt.Errorf("container %s did not exit %s after SIGKILL", c.meta.ID, killWait)
	case <-ctx.Done():
		return ctx.Err()
	}
}
