package cri

import (
	"context"
	"time"

	"github.com/containerd/containerd"
	eventtypes "github.com/containerd/containerd/api/events"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/log"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/faultpoint"
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
// records exit code and reason, wakes Stop, and then deletes the task. Only
// the first caller for a given run does the work.
//
// The task is deleted after the exit is recorded: containerd's task delete
// (runc delete in the shim, then containerd's clean-up of the shim
// connection, which runs the shim binary and runc once more) takes tens of
// milliseconds that Stop need not wait for. Remove waits for it (taskGone).
func (s *Service) recordExit(ctx context.Context, c *Container, code int32, at time.Time) {
	c.mu.Lock()
	task, cio, exited, gone := c.task, c.io, c.exited, c.taskGone
	c.task, c.io = nil, nil
	c.mu.Unlock()
	if task == nil {
		return
	}
	ctx = log.WithLogger(ctx, log.G(ctx).WithFields(log.Fields{"container": c.meta.ID, "sandbox": c.meta.SandboxID}))
	if cio != nil {
		cio.waitOutput(outputDrainTimeout)
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
	s.opts.Faults.Hit(faultpoint.StopContainerAfterExit)

	deleteExitedTask(ctx, task)
	if cio != nil {
		cio.close()
	}
	if gone != nil {
		close(gone)
	}
}

// deleteExitedTask deletes the task of a process that exited. It does not
// kill first (containerd.WithProcessKill): that would run `runc kill --all`
// for nothing, since what the process left in its cgroup is killed by the
// shim on the exit and by runc delete when the container shares a PID
// namespace, and dies with it otherwise.
func deleteExitedTask(ctx context.Context, task containerd.Task) {
	_, err := task.Delete(ctx)
	if errdefs.IsFailedPrecondition(err) { // not stopped after all
		_, err = task.Delete(ctx, containerd.WithProcessKill)
	}
	if err != nil && !errdefs.IsNotFound(err) {
		log.G(ctx).WithError(err).Warn("delete exited task")
	}
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
// Right after a restart containerd may not have loaded its tasks from their
// shims yet (containerd 2.x answers NotFound until it has), so a task that
// is not found is asked again for a few seconds, in the background, before
// its exit is recorded as unknown (255). An exit event that comes in the
// meantime wins: recordExit records only the first exit.
func (s *Service) Resync(ctx context.Context) {
	var missing []*Container
	for _, c := range s.store.List() {
		if !s.resyncOne(ctx, c) {
			missing = append(missing, c)
		}
	}
	if len(missing) == 0 {
		return
	}
	go func() {
		for i := 0; i < resyncRetries && len(missing) > 0; i++ {
			select {
			case <-ctx.Done():
				return
			case <-time.After(resyncInterval):
			}
			still := missing[:0]
			for _, c := range missing {
				if !s.resyncOne(ctx, c) {
					still = append(still, c)
				}
			}
			missing = still
		}
		for _, c := range missing {
			s.recordExit(ctx, c, 255, time.Now())
		}
	}()
}

// How long Resync keeps asking for a task containerd does not know.
const (
	resyncRetries  = 10
	resyncInterval = 500 * time.Millisecond
)

// resyncOne records c's exit if its task has stopped. It returns false when
// containerd does not know the task.
func (s *Service) resyncOne(ctx context.Context, c *Container) bool {
	c.mu.RLock()
	task := c.task
	c.mu.RUnlock()
	if task == nil {
		return true
	}
	st, err := task.Status(ctx)
	if errdefs.IsNotFound(err) {
		return false
	}
	if err == nil && st.Status == containerd.Stopped {
		s.recordExit(ctx, c, int32(st.ExitStatus), st.ExitTime)
	}
	return true
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
