package cri

import (
	"context"
	"time"

	"github.com/containerd/containerd"
	eventtypes "github.com/containerd/containerd/api/events"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/log"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// outputDrainTimeout bounds how long an exit waits for the last output: a
// process whose children keep stdout open would otherwise hold it forever.
const outputDrainTimeout = 2 * time.Second

// HandleExit records the exit of a container's process.
func (s *Service) HandleExit(ctx context.Context, e *eventtypes.TaskExit) {
	if e.ID != e.ContainerID {
		return // an exec process
	}
	c, err := s.store.Get(e.ContainerID)
	if err != nil || c.meta.ID != e.ContainerID {
		return
	}
	exitedAt := time.Now()
	if e.ExitedAt != nil {
		exitedAt = e.ExitedAt.AsTime()
	}
	go s.recordExit(ctx, c, int32(e.ExitStatus), exitedAt)
}

// recordExit finishes a container whose process exited: drains its output,
// deletes the task, records exit code and reason, and wakes Stop. Only the
// first caller for a given run does the work.
func (s *Service) recordExit(ctx context.Context, c *Container, code int32, at time.Time) {
	c.mu.Lock()
	task, cio, exited := c.task, c.io, c.exited
	c.task, c.io = nil, nil
	c.mu.Unlock()
	if task == nil {
		return
	}
	ctx = log.WithLogger(ctx, log.G(ctx).WithFields(log.Fields{"container": c.meta.ID, "sandbox": c.meta.SandboxID}))
	if cio != nil {
		cio.waitOutput(outputDrainTimeout)
	}
	if _, err := task.Delete(ctx, containerd.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
		log.G(ctx).WithError(err).Warn("delete exited task")
	}
	if cio != nil {
		cio.close()
	}
	if err := c.update(func(st *Status) {
		st.State, st.ExitCode, st.FinishedAt = runtime.ContainerState_CONTAINER_EXITED, code, at.UnixNano()
		if st.StartedAt == 0 || st.StartedAt > st.FinishedAt {
			st.StartedAt = st.FinishedAt
		}
		switch {
		case st.OOMKilled:
			st.Reason = "OOMKilled"
		case code == 0:
			st.Reason = "Completed"
		default:
			st.Reason = "Error"
		}
	}); err != nil {
		log.G(ctx).WithError(err).Warn("persist container exit")
	}
	if exited != nil {
		close(exited)
	}
	s.publish(c, runtime.ContainerEventType_CONTAINER_STOPPED_EVENT)
	log.G(ctx).WithField("exitCode", code).Info("container exited")
}

// HandleOOM marks a container as OOM-killed; its exit (before or after this
// event) then gets reason OOMKilled.
func (s *Service) HandleOOM(ctx context.Context, e *eventtypes.TaskOOM) {
	c, err := s.store.Get(e.ContainerID)
	if err != nil || c.meta.ID != e.ContainerID {
		return
	}
	_ = c.update(func(st *Status) {
		st.OOMKilled = true
		if st.State == runtime.ContainerState_CONTAINER_EXITED {
			st.Reason = "OOMKilled"
		}
	})
}

// Resync records exits that happened while no event subscription was up.
func (s *Service) Resync(ctx context.Context) {
	for _, c := range s.store.List() {
		c.mu.RLock()
		task := c.task
		c.mu.RUnlock()
		if task == nil {
			continue
		}
		st, err := task.Status(ctx)
		if errdefs.IsNotFound(err) {
			s.recordExit(ctx, c, 255, time.Now())
		} else if err == nil && st.Status == containerd.Stopped {
			s.recordExit(ctx, c, int32(st.ExitStatus), st.ExitTime)
		}
	}
}

// publish sends a lifecycle event for c to GetContainerEvents streams,
// with the pod's sandbox status and the statuses of all its containers, as
// kubelet's evented PLEG expects.
func (s *Service) publish(c *Container, t runtime.ContainerEventType) {
	e := &runtime.ContainerEventResponse{
		ContainerId:        c.meta.ID,
		ContainerEventType: t,
		CreatedAt:          time.Now().UnixNano(),
	}
	if sb, err := s.opts.Sandboxes.Get(c.meta.SandboxID); err == nil {
		e.PodSandboxStatus = sb.ToCRI()
	}
	seen := false
	for _, other := range s.inSandbox(c.meta.SandboxID) {
		seen = seen || other == c
		e.ContainersStatuses = append(e.ContainersStatuses, other.ToCRIStatus())
	}
	if !seen { // created before it is stored, or deleted already
		e.ContainersStatuses = append(e.ContainersStatuses, c.ToCRIStatus())
	}
	s.events.Publish(e)
}
