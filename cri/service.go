package cri

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/containerd/containerd"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/cri/logs"
	"github.com/podshim/podshim/cri/spec"
	"github.com/podshim/podshim/cri/store"
	"github.com/podshim/podshim/faultpoint"
	"github.com/podshim/podshim/image"
	"github.com/podshim/podshim/sandbox"
	"github.com/podshim/podshim/sandboxshim"
)

// Options configure the container service.
type Options struct {
	Client      *containerd.Client
	Images      *image.Service
	Sandboxes   *sandbox.Service
	RootDir     string // persistent: <RootDir>/containers/<id>
	StateDir    string // volatile: <StateDir>/containers/<id> (FIFOs)
	Snapshotter string
	Spec        spec.Options
	// RuntimeOptions are the runc shim's options (cgroup driver, runc
	// root), the same for every container of the node.
	RuntimeOptions interface{}
	// Phases records how long CreateContainer and StartContainer took;
	// nil: not recorded.
	Phases sandbox.PhaseRecorder
	// Logs counts the bytes written to and dropped from container log
	// files; nil: not counted.
	Logs logs.Counter
	// RestoreCheck, when set, is asked before a container created from a
	// checkpoint is restored (whether CRIU works here).
	RestoreCheck func(context.Context) error
	// Faults are the crash points (tests only; nil arms none).
	Faults *faultpoint.Set
	// Shims makes containers join their pod's shim (nil: off).
	Shims *sandboxshim.Joiner
}

// Service runs CRI containers.
type Service struct {
	opts   Options
	store  *store.Store[*Container]
	names  *store.Names
	events *Broadcaster
	stats  *statsState
}

// New returns the container service and wires it into the sandbox service.
// Call Recover before serving.
func New(o Options) *Service {
	if o.Phases == nil {
		o.Phases = noPhases{}
	}
	if o.Logs == nil {
		o.Logs = noLogCounter{}
	}
	s := &Service{opts: o, store: store.New[*Container]("container"), names: store.NewNames(), events: NewBroadcaster(), stats: newStatsState()}
	o.Sandboxes.SetContainers(s)
	return s
}

// Get returns the container with that ID or unique ID prefix.
func (s *Service) Get(id string) (*Container, error) { return s.store.Get(id) }

// Events is the container lifecycle event feed (GetContainerEvents).
func (s *Service) Events() *Broadcaster { return s.events }

func newID() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("read random: %v", err))
	}
	return hex.EncodeToString(b[:])
}

// makeName is a container's unique name: kubelet never runs two containers
// with the same metadata in one sandbox at once.
func makeName(m *runtime.ContainerMetadata, sb *runtime.PodSandboxMetadata) string {
	return fmt.Sprintf("%s_%s_%s_%s_%d", m.GetName(), sb.GetName(), sb.GetNamespace(), sb.GetUid(), m.GetAttempt())
}

func (s *Service) containerDirs(id string) (root, state string) {
	return s.opts.RootDir + "/containers/" + id, s.opts.StateDir + "/containers/" + id
}

// inSandbox returns the containers of a sandbox.
func (s *Service) inSandbox(sandboxID string) []*Container {
	var out []*Container
	for _, c := range s.store.List() {
		if c.meta.SandboxID == sandboxID {
			out = append(out, c)
		}
	}
	return out
}

// StopAll stops every container of a sandbox (StopPodSandbox), killing
// them without a grace period as the CRI asks.
func (s *Service) StopAll(ctx context.Context, sandboxID string) error {
	for _, c := range s.inSandbox(sandboxID) {
		if err := s.Stop(ctx, c.meta.ID, 0); err != nil {
			return err
		}
	}
	return nil
}

// RemoveAll removes every container of a sandbox (RemovePodSandbox).
func (s *Service) RemoveAll(ctx context.Context, sandboxID string) error {
	for _, c := range s.inSandbox(sandboxID) {
		if err := s.Remove(ctx, c.meta.ID); err != nil {
			return err
		}
	}
	return nil
}
