package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/errdefs"
	runcoptions "github.com/containerd/containerd/runtime/v2/runc/options"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/cri/spec"
	"github.com/podshim/podshim/cri/store"
	"github.com/podshim/podshim/faultpoint"
	"github.com/podshim/podshim/image"
	"github.com/podshim/podshim/network"
	"github.com/podshim/podshim/runtimes"
	"github.com/podshim/podshim/sandboxshim"
	"github.com/podshim/podshim/shimgroup"
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
	Client      *containerd.Client
	Images      *image.Service
	Network     *network.Manager
	RootDir     string // persistent state: <RootDir>/sandboxes/<id>
	StateDir    string // volatile state: <StateDir>/sandboxes/<id> (shm)
	Snapshotter string
	Spec        spec.Options
	// Runtimes are the runtime handlers pods may name (nil: "runc" only,
	// with RuntimeOptions).
	Runtimes       *runtimes.Set
	RuntimeOptions *runcoptions.Options // the default handler's runc shim options when Runtimes is nil
	ShmSize        int64                // bytes of a pod's /dev/shm tmpfs
	Phases         PhaseRecorder        // durations of RunPodSandbox's steps; nil: not recorded
	Faults         *faultpoint.Set      // crash points (tests only; nil arms none)
	// Shims makes the pod's containers join its pause's shim (nil: off).
	Shims *sandboxshim.Joiner
	// Groups puts several pods in one shim (density mode; nil: off).
	Groups *shimgroup.Groups
	// ContainerdAddress is containerd's socket; recovery kills the shims
	// of this containerd and namespace that serve no known sandbox (none
	// when empty).
	ContainerdAddress string
	// Lifetime ends when podshimd shuts down: background work that
	// outlives a request (CNI DEL retries) stops with it. nil: never.
	Lifetime context.Context
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
	if o.Runtimes == nil {
		o.Runtimes = runtimes.Only(o.RuntimeOptions)
	}
	if o.Phases == nil {
		o.Phases = noPhases{}
	}
	if o.Lifetime == nil {
		o.Lifetime = context.Background()
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
func (s *Service) RuntimeHandlers() []string { return s.opts.Runtimes.Names() }

// Runtime returns the runtime handler sb runs with (recorded in its
// metadata). A handler no longer configured is FailedPrecondition: the
// pod's running tasks keep their options, new containers get none.
func (s *Service) Runtime(sb *Sandbox) (runtimes.Handler, error) {
	h, err := s.opts.Runtimes.Get(sb.Metadata().RuntimeHandler)
	if err != nil {
		return h, fmt.Errorf("%w: runtime handler %q of sandbox %s is no longer configured", errdefs.ErrFailedPrecondition, sb.Metadata().RuntimeHandler, sb.ID())
	}
	return h, nil
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
