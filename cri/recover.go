package cri

import (
	"context"
	"fmt"
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
				log.G(ctx).WithError(err).Warn("removing container that cannot be recovered")
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
	if st.State != runtime.ContainerState_CONTAINER_RUNNING {
		return c, nil
	}
	cfg := meta.Config
	cio, err := openIO(ctx, filepath.Join(stateDir, "io"), meta.LogPath, cfg.Stdin, cfg.Tty, s.opts.Logs)
	if err != nil {
		return nil, fmt.Errorf("reopen io: %w", err)
	}
	task, err := cc.Task(ctx, cio.attacher())
	if errdefs.IsNotFound(err) {
		// The task is gone with its exit status: nothing to learn.
		cio.close()
		err = c.update(func(st *Status) {
			st.State, st.ExitCode, st.Reason, st.FinishedAt = runtime.ContainerState_CONTAINER_EXITED, 255, "Unknown", time.Now().UnixNano()
			st.Message = "the container's task disappeared while podshim was not running"
		})
		return c, err
	}
	if err != nil {
		cio.close()
		return nil, fmt.Errorf("attach task: %w", err)
	}
	c.task, c.io, c.exited, c.taskGone = task, cio, make(chan struct{}), make(chan struct{})
	status, err := task.Status(ctx)
	if err == nil && status.Status == containerd.Stopped {
		s.recordExit(ctx, c, int32(status.ExitStatus), status.ExitTime)
	}
	return c, nil
}

func (s *Service) removeOrphan(ctx context.Context, cc containerd.Container) {
	if task, err := cc.Task(ctx, nil); err == nil {
		_, _ = task.Delete(ctx, containerd.WithProcessKill)
	}
	if err := cc.Delete(ctx, containerd.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		log.G(ctx).WithError(err).Warn("delete orphan container")
	}
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
