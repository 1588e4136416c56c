// Package cri runs the containers of pod sandboxes: create, start, stop,
// remove, status, exec and logs, on containerd.
//
// A container's state machine:
//
//	         Create             Start              exit / Stop
//	(none) ────────▶ CREATED ─────────▶ RUNNING ────────────────▶ EXITED
//	                    │                                           │
//	                    └──────────────── Remove ◀──────────────────┘
//
// A failed Start leaves the container EXITED with reason StartError.
// Remove of a RUNNING container kills it first. Stop and Remove are
// idempotent.
package cri

import (
	"encoding/json"
	"fmt"
	"github.com/podshim/podshim/cri/store"
	"os"
	"path/filepath"
	"sync"

	"github.com/containerd/containerd"
	"github.com/opencontainers/runtime-spec/specs-go"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Metadata is what podshim persists of a container
// (<root>/containers/<id>/container.json). It does not change after Create.
type Metadata struct {
	ID         string                   `json:"id"`
	Name       string                   `json:"name"`
	SandboxID  string                   `json:"sandboxID"`
	Config     *runtime.ContainerConfig `json:"config"`
	ImageID    string                   `json:"imageID"`    // sha256:<config digest>
	ImageName  string                   `json:"imageName"`  // as the user asked for it
	ImageRef   string                   `json:"imageRef"`   // repo digest (or ID)
	LogPath    string                   `json:"logPath"`    // "" when the pod has no log directory
	StopSignal string                   `json:"stopSignal"` // from the image's STOPSIGNAL
	CreatedAt  int64                    `json:"createdAt"`
	// User is the process user of the spec (ContainerStatus.user); nil for
	// containers created before podshim recorded it.
	User *specs.User `json:"user,omitempty"`
	// RestoreImages is the directory of the CRIU images that Start
	// restores, for a container created from a checkpoint.
	RestoreImages string `json:"restoreImages,omitempty"`
	// Version is the record's format (RecordVersion; 0 in records written
	// before it was recorded, read as 1).
	Version int `json:"version,omitempty"`
}

// Status is a container's mutable state, persisted in status.json.
type Status struct {
	State      runtime.ContainerState `json:"state"`
	Pid        uint32                 `json:"pid,omitempty"`
	StartedAt  int64                  `json:"startedAt,omitempty"`
	FinishedAt int64                  `json:"finishedAt,omitempty"`
	ExitCode   int32                  `json:"exitCode"`
	Reason     string                 `json:"reason,omitempty"`
	Message    string                 `json:"message,omitempty"`
	OOMKilled  bool                   `json:"oomKilled,omitempty"`
	// Resources are the last UpdateContainerResources values (nil: the
	// config's).
	Resources *runtime.LinuxContainerResources `json:"resources,omitempty"`
	// Removing is set while Remove runs, so a concurrent Start fails.
	Removing bool `json:"-"`
}

// Container is one CRI container.
type Container struct {
	// opMu serializes Start, Stop and Remove of this container.
	opMu sync.Mutex

	meta      Metadata
	dir       string
	container containerd.Container

	fileMu sync.Mutex   // serializes writes of status.json
	mu     sync.RWMutex // guards status, task, io, exited, taskGone, spec
	status Status
	task   containerd.Task
	io     *containerIO
	exited chan struct{} // closed once the running task's exit is recorded
	// taskGone is closed once the exited task is deleted from containerd,
	// which happens after the exit is recorded: Remove waits for it.
	taskGone chan struct{}
	spec     *specs.Spec // loaded lazily for exec

	// view is the container's CRI objects as of one status, rebuilt when
	// the status differs (see criView).
	view store.Views[Status, *runtime.Container, *runtime.ContainerStatus]
}

// ID is the container's ID.
func (c *Container) ID() string { return c.meta.ID }

// Metadata returns the container's metadata (immutable).
func (c *Container) Metadata() Metadata { return c.meta }

// Status returns a copy of the container's status.
func (c *Container) Status() Status {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.status
}

// update changes the status under the lock and persists it.
func (c *Container) update(fn func(*Status)) error {
	// Writes follow the order of the changes: an exit recorded while Start
	// records the start must not be overwritten by the older status.
	c.fileMu.Lock()
	defer c.fileMu.Unlock()
	c.mu.Lock()
	fn(&c.status)
	data, err := json.Marshal(c.status)
	c.mu.Unlock()
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(c.dir, "status.json"), data)
}

func (c *Container) saveMetadata() error {
	meta := c.meta
	meta.Version = RecordVersion
	data, err := json.Marshal(meta)
	if err != nil {
		return fmt.Errorf("encode container %s metadata: %w", c.meta.ID, err)
	}
	return writeFileAtomic(filepath.Join(c.dir, "container.json"), data)
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
