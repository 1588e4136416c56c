package sandbox

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
	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/network"
	"github.com/podshim/podshim/sandboxshim"
	"github.com/podshim/podshim/userns"
)

// recoverTimeout bounds the loading of one sandbox at start-up.
const recoverTimeout = 30 * time.Second

// Recover rebuilds the sandbox store from containerd and the root dir after
// a (re)start: every pause container podshim made is loaded with its
// metadata, its state taken from the live task; names are reserved again.
// Sandbox dirs without a containerd container, and containerd containers
// without metadata, are leftovers of a crash mid-Run and are removed.
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
				s.logUnrecoverable(ctx, c.ID(), err)
				s.removeOrphan(ctx, c)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if err := s.names.Reserve(sb.meta.Name, sb.meta.ID); err != nil {
				log.G(ctx).WithError(err).Warn("recovered sandbox name conflict")
			}
			s.store.Add(sb.meta.ID, sb)
			s.opts.Groups.Recover(sb.meta.ShimGroup, sb.meta.ID)
		}(c)
	}
	wg.Wait()
	served := func(id string) bool {
		_, err := s.store.Get(id)
		return (err == nil && id != "") || s.opts.Groups.Has(id) // a pod's, or a group's shim
	}
	for _, id := range killStrayShims(ctx, s.opts.ContainerdAddress, served) {
		s.CleanRuncLeftovers(ctx, id)
	}
	s.removeOrphanDirs(ctx, known)
	s.recoverLostNetworks(ctx)
	// A CNI DEL that failed before the restart is retried until it
	// succeeds, whether or not kubelet stops the pod again.
	for _, sb := range s.store.List() {
		if m := sb.Metadata(); m.NetworkDelFailed && !m.NetworkDown {
			log.G(ctx).WithField("sandbox", m.ID).Info("CNI DEL of the sandbox failed before the restart: retrying it in the background")
			s.retryNetworkTeardown(ctx, sb)
		}
	}
	sandboxshim.Prune(ctx, s.opts.Client, func(id string) bool { _, err := s.store.Get(id); return err == nil })
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

// removeOrphan deletes a pause container podshim cannot use any more,
// and everything the pod holds: its containers' tasks first (they share
// the pod's shim; the container service's recovery then deletes the
// containers, whose sandbox is gone), the pause, the shim, the pause's
// cgroup, the network and the dirs.
func (s *Service) removeOrphan(ctx context.Context, c containerd.Container) {
	s.killContainerTasks(ctx, c.ID())
	var netns string // the pause's, for a sandbox whose record is lost
	if sp, err := c.Spec(ctx); err == nil && sp.Linux != nil {
		defer RemoveEmptyCgroup(ctx, sp.Linux.CgroupsPath)
		for _, ns := range sp.Linux.Namespaces {
			if ns.Type == specs.NetworkNamespace {
				netns = ns.Path
			}
		}
	}
	_ = stopPause(ctx, c)
	if err := c.Delete(ctx, containerd.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		log.G(ctx).WithError(err).WithField("sandbox", c.ID()).Warn("delete orphan pause container")
	}
	// In density mode the orphan's shim may be its group's, serving other
	// pods: killStrayShims decides once every sandbox is loaded.
	if s.opts.Groups == nil {
		killOrphanShim(ctx, c.ID())
	}
	s.CleanRuncLeftovers(ctx, c.ID())
	rootDir, stateDir := s.sandboxDirs(c.ID())
	s.releaseLeftovers(ctx, rootDir, stateDir, netns)
}

// releaseLeftovers undoes what a sandbox's metadata says it holds (CNI
// attachment, netns, shm, user namespace pin) and removes its dirs.
// Without metadata, netns (from the pause's spec; "" when unknown) is the
// pod's netns.
func (s *Service) releaseLeftovers(ctx context.Context, rootDir, stateDir, netns string) {
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
	} else if id := filepath.Base(rootDir); id != "" {
		// The record is lost or broken: CNI DEL from what libcni cached
		// of the pod's ADD, in the netns found by the pod's ID, so that
		// the IP and NAT rules are released all the same.
		if err := s.opts.Network.TeardownLost(ctx, id, netns); err != nil {
			log.G(ctx).WithError(err).WithField("sandbox", id).Warn("tear down network of sandbox without a record")
		}
		if s.opts.Network.OwnsNetNS(netns) {
			_ = network.RemoveNetNS(netns)
		}
	}
	// A netns made before the metadata named it (see Run).
	if err := s.opts.Network.RemovePodNetNSDir(filepath.Base(rootDir)); err != nil {
		log.G(ctx).WithError(err).Warn("remove netns dir of orphaned sandbox")
	}
	_ = unmountShm(filepath.Join(stateDir, "shm"))
	_ = userns.Unpin(filepath.Join(stateDir, "userns"))
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
			s.releaseLeftovers(ctx, rootDir, stateDir, "")
		}
	}
}

// logUnrecoverable says, at error level, why sandbox id is removed at
// start-up: a broken or missing record names its path and the problem.
func (s *Service) logUnrecoverable(ctx context.Context, id string, err error) {
	rootDir, _ := s.sandboxDirs(id)
	l := log.G(ctx).WithError(err).WithFields(log.Fields{"sandbox": id, "record": filepath.Join(rootDir, "sandbox.json")})
	switch {
	case errors.Is(err, ErrBrokenRecord):
		l.Error("broken sandbox record: removing the sandbox (its containers, pause, network, netns and dirs); kubelet makes the pod a new one")
	case errors.Is(err, fs.ErrNotExist):
		l.Error("sandbox record missing: removing the sandbox (its containers, pause, network, netns and dirs); kubelet makes the pod a new one")
	default:
		l.Warn("removing sandbox that cannot be recovered")
	}
}

// killContainerTasks deletes, with a kill, the tasks of the containers of
// sandbox id, found by their label in containerd.
func (s *Service) killContainerTasks(ctx context.Context, id string) {
	cs, err := s.opts.Client.Containers(ctx, fmt.Sprintf(`labels."%s"==%s,labels."%s"==%s`, LabelKind, KindContainer, LabelSandboxID, id))
	if err != nil {
		log.G(ctx).WithError(err).WithField("sandbox", id).Warn("list containers of a removed sandbox")
		return
	}
	for _, c := range cs {
		if task, err := c.Task(ctx, nil); err == nil {
			if _, err := task.Delete(ctx, containerd.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
				log.G(ctx).WithError(err).WithField("container", c.ID()).Warn("delete task of a container of a removed sandbox")
			}
		}
	}
}
