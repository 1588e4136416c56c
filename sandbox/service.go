package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"

	"github.com/containerd/containerd"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/cri/spec"
	"github.com/podshim/podshim/cri/store"
	"github.com/podshim/podshim/faultpoint"
	"github.com/podshim/podshim/image"
	"github.com/podshim/podshim/network"
)

// DefaultRuntime is the containerd runtime (shim) pods run on.
const DefaultRuntime = "io.containerd.runc.v2"

// Containers is what the sandbox service needs of the container service:
// stopping and removing a pod's containers when the pod is stopped or
// removed. (The container service imports this package, so it is wired in
// after construction with SetContainers.)
type Containers interface {
	StopAll(ctx context.Context, sandboxID string) error
	RemoveAll(ctx context.Context, sandboxID string) error
}

// Options configure the sandbox service.
type Options struct {
	Client          *containerd.Client
	Images          *image.Service
	Network         *network.Manager
	RootDir         string // persistent state: <RootDir>/sandboxes/<id>
	StateDir        string // volatile state: <StateDir>/sandboxes/<id> (shm)
	Snapshotter     string
	Spec            spec.Options
	RuntimeHandlers map[string]string // CRI runtime handler → containerd runtime; "" is the default
	RuntimeOptions  interface{}       // the runc shim's options, see cri.Options
	ShmSize         int64             // bytes of a pod's /dev/shm tmpfs
	Phases          PhaseRecorder     // durations of RunPodSandbox's steps; nil: not recorded
	Faults          *faultpoint.Set   // crash points (tests only; nil arms none)
	// ContainerdAddress is containerd's socket; recovery kills the shims
	// of this containerd and namespace that serve no known sandbox (none
	// when empty).
	ContainerdAddress string
	// Pauseless runs pods that share no PID namespace without a pause
	// container (see pauseless.go).
	Pauseless bool
}

// Service runs pod sandboxes.
type Service struct {
	opts       Options
	store      *store.Store[*Sandbox]
	names      *store.Names
	containers Containers
}

// New returns the sandbox service. Call Recover before serving.
func New(o Options) *Service {
	if o.RuntimeHandlers == nil {
		o.RuntimeHandlers = map[string]string{}
	}
	if _, ok := o.RuntimeHandlers[""]; !ok {
		o.RuntimeHandlers[""] = DefaultRuntime
	}
	if _, ok := o.RuntimeHandlers["runc"]; !ok {
		o.RuntimeHandlers["runc"] = DefaultRuntime
	}
	if o.Phases == nil {
		o.Phases = noPhases{}
	}
	if o.ShmSize == 0 {
		o.ShmSize = 64 << 20
	}
	return &Service{opts: o, store: store.New[*Sandbox]("sandbox"), names: store.NewNames()}
}

// SetContainers wires in the container service.
func (s *Service) SetContainers(c Containers) { s.containers = c }

// Get returns the sandbox with that ID or unique ID prefix.
func (s *Service) Get(id string) (*Sandbox, error) { return s.store.Get(id) }

// List returns all sandboxes.
func (s *Service) List() []*Sandbox { return s.store.List() }

// RuntimeHandlers lists the configured runtime handler names, the default
// ("") first, as kubelet reads each handler's features from Status.
func (s *Service) RuntimeHandlers() []string {
	out := make([]string, 0, len(s.opts.RuntimeHandlers))
	for h := range s.opts.RuntimeHandlers {
		out = append(out, h)
	}
	sort.Strings(out)
	return out
}

// newID returns a random 64-hex-digit ID, like containerd's.
func newID() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("read random: %v", err))
	}
	return hex.EncodeToString(b[:])
}

// makeName is the unique name of a sandbox: kubelet never runs two
// sandboxes with the same metadata at once.
func makeName(m *runtime.PodSandboxMetadata) string {
	return fmt.Sprintf("%s_%s_%s_%d", m.GetName(), m.GetNamespace(), m.GetUid(), m.GetAttempt())
}
