package cri

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/log"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/faultpoint"
)

// Start starts a CREATED container: its stdio FIFOs are connected to the
// log file, then its task is created and started. A failure leaves the
// container EXITED with reason StartError, as kubelet expects.
func (s *Service) Start(ctx context.Context, id string) error {
	start := time.Now()
	c, err := s.store.Get(id)
	if err != nil {
		return err
	}
	c.opMu.Lock()
	defer c.opMu.Unlock()
	ctx = log.WithLogger(ctx, log.G(ctx).WithFields(log.Fields{"container": c.meta.ID, "sandbox": c.meta.SandboxID}))
	if st := c.Status(); st.State != runtime.ContainerState_CONTAINER_CREATED || st.Removing {
		return fmt.Errorf("%w: container %s is %s, not CREATED", errdefs.ErrFailedPrecondition, c.meta.ID, stateName(st.State))
	}
	sb, err := s.opts.Sandboxes.Get(c.meta.SandboxID)
	if err != nil {
		return fmt.Errorf("sandbox of container %s: %w", c.meta.ID, err)
	}
	if sb.Status().State != runtime.PodSandboxState_SANDBOX_READY {
		return fmt.Errorf("%w: sandbox %s of container %s is not ready", errdefs.ErrFailedPrecondition, sb.ID(), c.meta.ID)
	}
	if err := s.start(ctx, c); err != nil {
		msg := err.Error()
		_ = c.update(func(st *Status) {
			st.State, st.Reason, st.Message = runtime.ContainerState_CONTAINER_EXITED, "StartError", msg
			st.ExitCode, st.FinishedAt = 128, time.Now().UnixNano()
		})
		s.publish(c, runtime.ContainerEventType_CONTAINER_STOPPED_EVENT)
		return err
	}
	s.publish(c, runtime.ContainerEventType_CONTAINER_STARTED_EVENT)
	s.opts.Phases.ObservePhase(PhaseContainerStart, time.Since(start))
	return nil
}

func (s *Service) start(ctx context.Context, c *Container) error {
	cfg := c.meta.Config
	_, stateDir := s.containerDirs(c.meta.ID)
	cio, err := openIO(ctx, filepath.Join(stateDir, "io"), c.meta.LogPath, cfg.Stdin, cfg.Tty, s.opts.Logs)
	if err != nil {
		return fmt.Errorf("open io of container %s: %w", c.meta.ID, err)
	}
	s.opts.Faults.Hit(faultpoint.StartContainerAfterIO)
	var taskOpts []containerd.NewTaskOpts
	if c.meta.RestoreImages != "" {
		if s.opts.RestoreCheck != nil {
			if err := s.opts.RestoreCheck(ctx); err != nil {
				cio.close()
				return fmt.Errorf("restore container %s: %w", c.meta.ID, err)
			}
		}
		taskOpts = append(taskOpts, s.withRestore(c.meta.RestoreImages))
	}
	task, err := c.container.NewTask(ctx, cio.creator(), taskOpts...)
	if err != nil {
		cio.close()
		return fmt.Errorf("create task of container %s: %w", c.meta.ID, err)
	}
	s.opts.Faults.Hit(faultpoint.StartContainerAfterTask)
	gone := make(chan struct{})
	c.mu.Lock()
	c.task, c.io, c.exited, c.taskGone = task, cio, make(chan struct{}), gone
	c.mu.Unlock()
	startedAt := time.Now().UnixNano()
	if err := task.Start(ctx); err != nil {
		// An exit recorded meanwhile took the task, and deletes it.
		c.mu.Lock()
		owned := c.task == task
		if owned {
			c.task, c.io = nil, nil
		}
		c.mu.Unlock()
		if owned {
			if _, derr := task.Delete(context.WithoutCancel(ctx), containerd.WithProcessKill); derr != nil && !errdefs.IsNotFound(derr) {
				log.G(ctx).WithError(derr).Warn("delete task after failed start")
			}
			cio.close()
			close(gone)
		}
		return fmt.Errorf("start container %s: %w", c.meta.ID, err)
	}
	s.opts.Faults.Hit(faultpoint.StartContainerAfterStart)
	// The process may already have exited, and its exit been recorded:
	// then its times stand (started ≤ finished).
	return c.update(func(st *Status) {
		st.Pid = task.Pid()
		if st.State == runtime.ContainerState_CONTAINER_CREATED {
			st.State, st.StartedAt = runtime.ContainerState_CONTAINER_RUNNING, startedAt
		}
	})
}

func stateName(s runtime.ContainerState) string {
	return runtime.ContainerState_name[int32(s)]
}
