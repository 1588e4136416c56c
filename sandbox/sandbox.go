// Package sandbox runs pod sandboxes: a pause container holding the pod's
// network, IPC and UTS namespaces (and PID, when the pod shares it), in a
// network namespace configured through CNI, with the pod-level files
// (/etc/hostname, /etc/hosts, /etc/resolv.conf, /dev/shm) its containers
// mount.
//
// A sandbox's state machine:
//
//	       Run ok                Stop (or pause exits)
//	(none) ──────▶ READY ──────────────────────────▶ NOTREADY
//	                                                    │ Remove
//	                                                    ▼
//	                                                 (gone)
//
// Remove of a READY sandbox stops it first. Stop and Remove are idempotent.
package sandbox

import (
	"encoding/json"
	"fmt"
	"github.com/podshim/podshim/cri/store"
	"os"
	"path/filepath"
	"sync"

	"github.com/containerd/containerd"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/cri/spec"
)

// Labels podshim puts on its containerd containers.
const (
	LabelKind      = "io.podshim.kind"
	LabelSandboxID = "io.podshim.sandbox-id"
	KindSandbox    = "sandbox"
	KindContainer  = "container"
)

// Metadata is what podshim persists of a sandbox (in <root>/sandboxes/<id>/
// sandbox.json). It does not change after Run, except NetworkDown.
type Metadata struct {
	ID             string                    `json:"id"`
	Name           string                    `json:"name"`
	Config         *runtime.PodSandboxConfig `json:"config"`
	RuntimeHandler string                    `json:"runtimeHandler"`
	Runtime        string                    `json:"runtime"`
	NetNSPath      string                    `json:"netnsPath,omitempty"`
	IPs            []string                  `json:"ips,omitempty"`
	CreatedAt      int64                     `json:"createdAt"`
	CgroupsPath    string                    `json:"cgroupsPath"`
	HostnamePath   string                    `json:"hostnamePath"`
	HostsPath      string                    `json:"hostsPath"`
	ResolvConfPath string                    `json:"resolvConfPath"`
	ShmPath        string                    `json:"shmPath,omitempty"`
	// UsernsPath pins the pod's user namespace while the pause is created
	// (pods with userns_options mode POD only).
	UsernsPath string `json:"usernsPath,omitempty"`
	// NetworkDown is set once CNI DEL succeeded, so later Stops skip it.
	NetworkDown bool `json:"networkDown,omitempty"`
	// NetworkDelFailed is set when a CNI DEL failed: DEL is retried in
	// the background until it succeeds, also after a restart (see
	// retryNetworkTeardown), so the pod's IP is never lost.
	NetworkDelFailed bool `json:"networkDelFailed,omitempty"`
	// Creating is set while Run is under way: a sandbox recovered with it
	// set was interrupted by a crash and is torn down.
	Creating bool `json:"creating,omitempty"`
	// Version is the record's format (RecordVersion; 0 in records written
	// before it was recorded, read as 1).
	Version int `json:"version,omitempty"`
	// ShimGroup is the shim group the pod's shim serves (density mode,
	// package shimgroup; "" otherwise).
	ShimGroup string `json:"shimGroup,omitempty"`
}

// Status is a sandbox's mutable state.
type Status struct {
	State runtime.PodSandboxState
	Pid   uint32 // pause process, while READY
}

// Sandbox is one pod sandbox.
type Sandbox struct {
	// opMu serializes Stop and Remove (and container creation checks) on
	// this sandbox; other sandboxes proceed in parallel.
	opMu sync.Mutex

	// pauseGone is closed once the pause task Stop killed is deleted; nil
	// when no deletion was started. Guarded by opMu.
	pauseGone chan struct{}

	// delRetrying is set while a background CNI DEL retry runs. Guarded
	// by mu.
	delRetrying bool

	mu        sync.RWMutex // guards meta.NetworkDown, meta.NetworkDelFailed and status
	meta      Metadata
	status    Status
	container containerd.Container
	metaPath  string

	// view is the sandbox's CRI objects as of one status, rebuilt when the
	// status differs (see criView).
	view store.Views[Status, *runtime.PodSandbox, *runtime.PodSandboxStatus]
}

// ID is the sandbox's ID.
func (sb *Sandbox) ID() string { return sb.meta.ID }

// Metadata returns a copy of the persisted metadata.
func (sb *Sandbox) Metadata() Metadata {
	sb.mu.RLock()
	defer sb.mu.RUnlock()
	return sb.meta
}

// Status returns a copy of the sandbox's status.
func (sb *Sandbox) Status() Status {
	sb.mu.RLock()
	defer sb.mu.RUnlock()
	return sb.status
}

func (sb *Sandbox) setStatus(st Status) {
	sb.mu.Lock()
	sb.status = st
	sb.mu.Unlock()
}

// Container is the pause container in containerd.
func (sb *Sandbox) Container() containerd.Container { return sb.container }

// Spec returns what the sandbox's containers need for their OCI specs.
func (sb *Sandbox) Spec() spec.Sandbox {
	sb.mu.RLock()
	defer sb.mu.RUnlock()
	return spec.Sandbox{
		ID:             sb.meta.ID,
		Config:         sb.meta.Config,
		Pid:            sb.status.Pid,
		NetNSPath:      sb.meta.NetNSPath,
		HostnamePath:   sb.meta.HostnamePath,
		HostsPath:      sb.meta.HostsPath,
		ResolvConfPath: sb.meta.ResolvConfPath,
		ShmPath:        sb.meta.ShmPath,
		UsernsPath:     sb.meta.UsernsPath,
	}
}

// Lock serializes an operation on the sandbox with Stop and Remove (the
// container service holds it while creating a container in the pod).
func (sb *Sandbox) Lock()   { sb.opMu.Lock() }
func (sb *Sandbox) Unlock() { sb.opMu.Unlock() }

// save writes the metadata atomically.
func (sb *Sandbox) save() error {
	sb.mu.RLock()
	meta := sb.meta
	meta.Version = RecordVersion
	data, err := json.Marshal(meta)
	sb.mu.RUnlock()
	if err != nil {
		return fmt.Errorf("encode sandbox %s metadata: %w", sb.meta.ID, err)
	}
	return writeFileAtomic(sb.metaPath, data)
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return nil
}

// sandboxDirs returns the persistent and volatile directories of a sandbox.
func (s *Service) sandboxDirs(id string) (root, state string) {
	return filepath.Join(s.opts.RootDir, "sandboxes", id), filepath.Join(s.opts.StateDir, "sandboxes", id)
}
