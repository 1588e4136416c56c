package cri

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/log"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/sandbox"
)

const recoverTimeout = 30 * time.Second

// Recover rebuilds the container store after a (re)start: every container
// podshim made is loaded from its files, running ones get their FIFOs
// reopened (so logging goes on) and exits that happened meanwhile are
// recorded. Call it after the sandbox service's Recover and after the
// event monitor subscribed.
func (s *Service) Recover(ctx context.Context) error {
	list, err := s.opts.Client.Containers(ctx, fmt.Sprintf(`labels."%s"==%s`, sandbox.LabelKind, sandbox.KindContainer))
	if err != nil {
		return fmt.Errorf("list containers in containerd: %w", err)
	}
	known := map[string]bool{}
	var wg sync.WaitGroup
	for _, cc := range list {
		known[cc.ID()] = true
		wg.Add(1)
		go func(cc containerd.Container) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(ctx, recoverTimeout)
			defer cancel()
			ctx = log.WithLogger(ctx, log.G(ctx).WithField("container", cc.ID()))
			c, err := s.load(ctx, cc)
			if err != nil {
				s.logUnrecoverable(ctx, cc.ID(), err)
				s.removeOrphan(ctx, cc)
				return
			}
			if err := s.names.Reserve(c.meta.Name, c.meta.ID); err != nil {
				log.G(ctx).WithError(err).Warn("recovered container name conflict")
			}
			s.store.Add(c.meta.ID, c)
		}(cc)
	}
	wg.Wait()
	s.removeOrphanDirs(ctx, known)
	log.G(ctx).WithField("containers", s.store.Len()).Info("containers recovered")
	return nil
}

func (s *Service) load(ctx context.Context, cc containerd.Container) (*Container, error) {
	rootDir, stateDir := s.containerDirs(cc.ID())
	meta, st, err := loadContainerFiles(rootDir)
	if err != nil {
		return nil, err
	}
	if _, err := s.opts.Sandboxes.Get(meta.SandboxID); err != nil {
		return nil, fmt.Errorf("sandbox %s: %w", meta.SandboxID, err)
	}
	c := &Container{meta: meta, dir: rootDir, container: cc, status: st}
	switch st.State {
	case runtime.ContainerState_CONTAINER_RUNNING:
		return c, s.reattach(ctx, c, stateDir)
	case runtime.ContainerState_CONTAINER_CREATED:
		return c, s.reconcileCreated(ctx, c, stateDir)
	default:
		// A crash between recording the exit and deleting the task (see
		// recordExit) left the task: delete it now, before anything can
		// delete the container record under it.
		if err := deleteTaskOf(ctx, cc); err != nil {
			log.G(ctx).WithError(err).Warn("delete the task of an exited container")
		}
		return c, nil
	}
}

// reconcileCreated settles a container recorded as CREATED whose
// StartContainer may have been cut short by a crash. Without a task it is
// simply created. A task that never started is deleted: the container
// stays CREATED and can be started again. A task that started is the
// container running (or having run): it is recorded RUNNING and attached
// as a recovered running container is, which records its exit if it has
// one.
func (s *Service) reconcileCreated(ctx context.Context, c *Container, stateDir string) error {
	task, err := c.container.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		// A task create cut short by the crash may have left runc's
		// state, a waiting `runc init` and the cgroup, which no task
		// delete will remove (in a pod's shim the shim lives on).
		s.opts.Sandboxes.CleanRuncLeftovers(ctx, c.meta.ID)
		if sp, err := c.loadSpec(ctx); err == nil && sp.Linux != nil {
			sandbox.RemoveEmptyCgroup(ctx, sp.Linux.CgroupsPath)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("get task: %w", err)
	}
	st, err := task.Status(ctx)
	if err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("task status: %w", err)
	}
	switch {
	case err == nil && (st.Status == containerd.Running || st.Status == containerd.Paused || st.Status == containerd.Stopped):
		log.G(ctx).WithField("task", st.Status).Info("StartContainer was interrupted after the task started: recording it as started")
		if err := c.update(func(cs *Status) {
			cs.State, cs.Pid, cs.StartedAt = runtime.ContainerState_CONTAINER_RUNNING, task.Pid(), time.Now().UnixNano()
		}); err != nil {
			return err
		}
		return s.reattach(ctx, c, stateDir)
	default:
		log.G(ctx).Info("StartContainer was interrupted before the task started: deleting the task")
		return deleteTaskOf(ctx, c.container)
	}
}

// reattach reopens the FIFOs of a RUNNING container and attaches its task;
// an exit that happened meanwhile is recorded.
func (s *Service) reattach(ctx context.Context, c *Container, stateDir string) error {
	cc, meta := c.container, c.meta
	cfg := meta.Config
	cio, err := openIO(ctx, filepath.Join(stateDir, "io"), meta.LogPath, cfg.Stdin, cfg.Tty, s.opts.Logs)
	if err != nil {
		return fmt.Errorf("reopen io: %w", err)
	}
	task, err := cc.Task(ctx, cio.attacher())
	if errdefs.IsNotFound(err) {
		// The task is gone with its exit status: nothing to learn. (Its
		// runc state is left alone: a containerd that restarted too may
		// not have loaded the task yet, and the container may run.)
		cio.close()
		return c.update(func(st *Status) {
			st.State, st.ExitCode, st.Reason, st.FinishedAt = runtime.ContainerState_CONTAINER_EXITED, 255, "Unknown", time.Now().UnixNano()
			st.Message = "the container's task disappeared while podshim was not running"
		})
	}
	if err != nil {
		cio.close()
		return fmt.Errorf("attach task: %w", err)
	}
	c.task, c.io, c.exited, c.taskGone = task, cio, make(chan struct{}), make(chan struct{})
	status, err := task.Status(ctx)
	if err == nil && status.Status == containerd.Stopped {
		s.recordExit(ctx, c, int32(status.ExitStatus), status.ExitTime)
	}
	return nil
}

func (s *Service) removeOrphan(ctx context.Context, cc containerd.Container) {
	if task, err := cc.Task(ctx, nil); err == nil {
		_, _ = task.Delete(ctx, containerd.WithProcessKill)
	}
	if err := cc.Delete(ctx, containerd.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		log.G(ctx).WithError(err).Warn("delete orphan container")
	}
	s.opts.Sandboxes.CleanRuncLeftovers(ctx, cc.ID())
	rootDir, stateDir := s.containerDirs(cc.ID())
	os.RemoveAll(stateDir)
	os.RemoveAll(rootDir)
}

func (s *Service) removeOrphanDirs(ctx context.Context, known map[string]bool) {
	for _, base := range []string{filepath.Join(s.opts.RootDir, "containers"), filepath.Join(s.opts.StateDir, "containers")} {
		entries, _ := os.ReadDir(base)
		for _, e := range entries {
			if !known[e.Name()] {
				log.G(ctx).WithField("dir", filepath.Join(base, e.Name())).Info("removing orphaned container dir")
				os.RemoveAll(filepath.Join(base, e.Name()))
			}
		}
	}
}

// logUnrecoverable says why container id is removed at start-up: a broken
// or missing record (at error level) names its path and the problem. The
// container is removed (its task killed, its containerd container,
// snapshot and dirs deleted); kubelet makes it again.
func (s *Service) logUnrecoverable(ctx context.Context, id string, err error) {
	rootDir, _ := s.containerDirs(id)
	l := log.G(ctx).WithError(err).WithFields(log.Fields{"container": id, "record": rootDir})
	switch {
	case errors.Is(err, ErrBrokenRecord):
		l.Error("broken container record: removing the container (task, containerd container, snapshot, dirs); kubelet makes it again")
	case errors.Is(err, fs.ErrNotExist):
		l.Error("container record missing: removing the container (task, containerd container, snapshot, dirs); kubelet makes it again")
	default:
		l.Warn("removing container that cannot be recovered")
	}
}
