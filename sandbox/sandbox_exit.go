package sandbox

import (
	"context"

	"github.com/containerd/containerd"
	eventtypes "github.com/containerd/containerd/api/events"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/log"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// HandleExit marks a sandbox NOTREADY when its pause process exits and
// deletes the dead task. The network stays until Stop tears it down.
func (s *Service) HandleExit(ctx context.Context, e *eventtypes.TaskExit) {
	if e.ID != e.ContainerID {
		return
	}
	sb, err := s.store.Get(e.ContainerID)
	if err != nil || sb.meta.ID != e.ContainerID {
		return
	}
	go s.pauseExited(ctx, sb)
}

func (s *Service) pauseExited(ctx context.Context, sb *Sandbox) {
	sb.setStatus(Status{State: runtime.PodSandboxState_SANDBOX_NOTREADY})
	// A running Stop or Remove deletes the task itself: two deletes race,
	// and the loser talks to a shim that already shut down.
	if !sb.opMu.TryLock() {
		return
	}
	defer sb.opMu.Unlock()
	if sb.pauseGone != nil {
		return // Stop killed it and deletes the task
	}
	task, err := sb.container.Task(ctx, nil)
	if err == nil {
		if err := deletePauseTask(ctx, sb.container, task); err != nil {
			log.G(ctx).WithError(err).WithField("sandbox", sb.meta.ID).Warn("delete exited pause task")
		}
	}
	log.G(ctx).WithField("sandbox", sb.meta.ID).Info("pause process exited; sandbox not ready")
}

// HandleOOM is not used for sandboxes.
func (s *Service) HandleOOM(context.Context, *eventtypes.TaskOOM) {}

// Resync re-checks every READY sandbox's pause task after events may have
// been missed. A containerd that does not answer (it may be down, and Resync
// runs at each resubscription) says nothing about the pause.
func (s *Service) Resync(ctx context.Context) {
	for _, sb := range s.store.List() {
		if sb.Status().State != runtime.PodSandboxState_SANDBOX_READY {
			continue
		}
		if pauseGone(ctx, sb.container) {
			s.pauseExited(ctx, sb)
		}
	}
}

// pauseGone reports whether containerd says the pause task has stopped or
// no longer exists.
func pauseGone(ctx context.Context, c containerd.Container) bool {
	task, err := c.Task(ctx, nil)
	if err != nil {
		return errdefs.IsNotFound(err)
	}
	st, err := task.Status(ctx)
	if err != nil {
		return errdefs.IsNotFound(err)
	}
	return st.Status == containerd.Stopped
}
