package sandbox

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

	"github.com/podshim/podshim/network"
	"github.com/podshim/podshim/pinns"
	"github.com/podshim/podshim/userns"
)

// recoverTimeout bounds the loading of one sandbox at start-up.
const recoverTimeout = 30 * time.Second

// Recover rebuilds the sandbox store from containerd and the root dir after
// a (re)start: every pause container podshim made is loaded with its
// metadata, its state taken from the live task; names are reserved again.
// Pause-less sandboxes are loaded from their metadata alone. Other sandbox
// dirs without a containerd container, and containerd containers without
// metadata, are leftovers of a crash mid-Run and are removed.
func (s *Service) Recover(ctx context.Context) error {
	containers, err := s.opts.Client.Containers(ctx, fmt.Sprintf(`labels."%s"==%s`, LabelKind, KindSandbox))
	if err != nil {
		return fmt.Errorf("list sandboxes in containerd: %w", err)
	}
	known := map[string]bool{}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, c := range containers {
		known[c.ID()] = true
		wg.Add(1)
		go func(c containerd.Container) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(ctx, recoverTimeout)
			defer cancel()
			sb, err := s.load(ctx, c)
			if err != nil {
				log.G(ctx).WithError(err).WithField("sandbox", c.ID()).Warn("removing sandbox that cannot be recovered")
				s.removeOrphan(ctx, c)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if err := s.names.Reserve(sb.meta.Name, sb.meta.ID); err != nil {
				log.G(ctx).WithError(err).Warn("recovered sandbox name conflict")
			}
			s.store.Add(sb.meta.ID, sb)
		}(c)
	}
	wg.Wait()
	s.recoverPauseless(ctx, known)
	shimIDs := map[string]bool{}
	for _, sb := range s.store.List() {
		for _, id := range sb.shimIDs() {
			shimIDs[id] = true
		}
	}
	for _, id := range killStrayShims(ctx, s.opts.ContainerdAddress, func(id string) bool { return id != "" && shimIDs[id] }) {
		s.cleanRuncLeftovers(ctx, id)
	}
	s.removeOrphanDirs(ctx, known)
	log.G(ctx).WithField("sandboxes", s.store.Len()).Info("sandboxes recovered")
	return nil
}

func (s *Service) load(ctx context.Context, c containerd.Container) (*Sandbox, error) {
	rootDir, _ := s.sandboxDirs(c.ID())
	metaPath := filepath.Join(rootDir, "sandbox.json")
	meta, err := loadMetadata(metaPath)
	if err != nil {
		return nil, fmt.Errorf("load metadata: %w", err)
	}
	if meta.Creating {
		return nil, fmt.Errorf("RunPodSandbox was interrupted")
	}
	sb := &Sandbox{meta: meta, container: c, metaPath: metaPath}
	sb.status = Status{State: runtime.PodSandboxState_SANDBOX_NOTREADY}
	task, err := c.Task(ctx, nil)
	switch {
	case err == nil:
		st, err := task.Status(ctx)
		if err == nil && st.Status == containerd.Running {
			sb.status = Status{State: runtime.PodSandboxState_SANDBOX_READY, Pid: task.Pid()}
		} else if _, err := task.Delete(ctx, containerd.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
			log.G(ctx).WithError(err).WithField("sandbox", c.ID()).Warn("delete dead pause task")
		}
	case !errdefs.IsNotFound(err):
		return nil, fmt.Errorf("get pause task: %w", err)
	}
	return sb, nil
}

// removeOrphan deletes a pause container podshim cannot use any more.
func (s *Service) removeOrphan(ctx context.Context, c containerd.Container) {
	_ = stopPause(ctx, c)
	if err := c.Delete(ctx, containerd.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		log.G(ctx).WithError(err).WithField("sandbox", c.ID()).Warn("delete orphan pause container")
	}
	killOrphanShim(ctx, c.ID())
	s.cleanRuncLeftovers(ctx, c.ID())
	rootDir, stateDir := s.sandboxDirs(c.ID())
	s.releaseLeftovers(ctx, rootDir, stateDir)
}

// releaseLeftovers undoes what a sandbox's metadata says it holds (CNI
// attachment, netns, shm, user namespace pin) and removes its dirs.
func (s *Service) releaseLeftovers(ctx context.Context, rootDir, stateDir string) {
	if meta, err := loadMetadata(filepath.Join(rootDir, "sandbox.json")); err == nil {
		if meta.NetNSPath != "" && !meta.NetworkDown {
			sb := &Sandbox{meta: meta}
			if err := s.opts.Network.Teardown(ctx, podNetwork(sb)); err != nil {
				log.G(ctx).WithError(err).WithField("sandbox", meta.ID).Warn("tear down network of orphaned sandbox")
			}
		}
		_ = network.RemoveNetNS(meta.NetNSPath)
		_ = unmountShm(meta.ShmPath)
		RemoveEmptyCgroup(ctx, meta.CgroupsPath)
	}
	// A netns made before the metadata named it (see Run).
	if err := s.opts.Network.RemovePodNetNSDir(filepath.Base(rootDir)); err != nil {
		log.G(ctx).WithError(err).Warn("remove netns dir of orphaned sandbox")
	}
	_ = unmountShm(filepath.Join(stateDir, "shm"))
	_ = userns.Unpin(filepath.Join(stateDir, "userns"))
	if err := pinns.Unpin(filepath.Join(stateDir, pinDirName)); err != nil {
		log.G(ctx).WithError(err).Warn("unpin namespaces of orphaned sandbox")
	}
	os.RemoveAll(stateDir)
	os.RemoveAll(rootDir)
}

// removeOrphanDirs removes sandbox dirs that no containerd container backs
// (a crash before the pause container was made), releasing what their
// metadata names.
func (s *Service) removeOrphanDirs(ctx context.Context, known map[string]bool) {
	seen := map[string]bool{}
	for _, base := range []string{filepath.Join(s.opts.RootDir, "sandboxes"), filepath.Join(s.opts.StateDir, "sandboxes")} {
		entries, _ := os.ReadDir(base)
		for _, e := range entries {
			id := e.Name()
			if known[id] || seen[id] {
				continue
			}
			seen[id] = true
			rootDir, stateDir := s.sandboxDirs(id)
			log.G(ctx).WithField("sandbox", id).Info("removing orphaned sandbox dirs")
			s.releaseLeftovers(ctx, rootDir, stateDir)
		}
	}
}

// recoverPauseless loads the pause-less sandboxes in the root dir (they
// have no containerd container) and adds them to known; one whose Run was
// interrupted stays unknown, for removeOrphanDirs.
func (s *Service) recoverPauseless(ctx context.Context, known map[string]bool) {
	entries, _ := os.ReadDir(filepath.Join(s.opts.RootDir, "sandboxes"))
	for _, e := range entries {
		id := e.Name()
		if known[id] {
			continue
		}
		rootDir, _ := s.sandboxDirs(id)
		metaPath := filepath.Join(rootDir, "sandbox.json")
		meta, err := loadMetadata(metaPath)
		if err != nil || !meta.Pauseless || meta.Creating || meta.ID != id {
			continue
		}
		sb := s.loadPauseless(ctx, meta, metaPath)
		if err := s.names.Reserve(meta.Name, meta.ID); err != nil {
			log.G(ctx).WithError(err).Warn("recovered sandbox name conflict")
		}
		s.store.Add(id, sb)
		known[id] = true
	}
}
