package store

import (
	"fmt"
	"sync"

	"github.com/containerd/containerd/errdefs"
)

// Names reserves unique names for IDs, the way kubelet relies on: creating
// a second sandbox or container with the same metadata fails until the
// first is removed. Reserving the same name for the same ID again is fine.
type Names struct {
	mu     sync.Mutex
	byName map[string]string
	byID   map[string]string
}

// NewNames returns an empty registrar.
func NewNames() *Names {
	return &Names{byName: map[string]string{}, byID: map[string]string{}}
}

// Reserve claims name for id. A name held by another ID wraps
// errdefs.ErrAlreadyExists and names the holder.
func (n *Names) Reserve(name, id string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if holder, ok := n.byName[name]; ok {
		if holder == id {
			return nil
		}
		return fmt.Errorf("%w: name %q is reserved for %q", errdefs.ErrAlreadyExists, name, holder)
	}
	n.byName[name] = id
	n.byID[id] = name
	return nil
}

// ReleaseID frees the name held by id, if any.
func (n *Names) ReleaseID(id string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if name, ok := n.byID[id]; ok {
		delete(n.byName, name)
		delete(n.byID, id)
	}
}
