// Package store holds podshim's in-memory indexes of sandboxes and
// containers: objects by ID (with unique-prefix lookup, as crictl users
// type short IDs) and the names reserved for them. The stores are rebuilt
// from containerd and the root dir at start-up; they are never the only
// copy of anything.
package store

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/containerd/containerd/errdefs"
)

// Store maps IDs to objects. It is safe for concurrent use.
type Store[T any] struct {
	mu    sync.RWMutex
	items map[string]T
	kind  string // "sandbox" or "container", for error messages
}

// New returns an empty store of objects of the named kind.
func New[T any](kind string) *Store[T] {
	return &Store[T]{items: map[string]T{}, kind: kind}
}

// Add stores v under id, replacing any object with that ID.
func (s *Store[T]) Add(id string, v T) {
	s.mu.Lock()
	s.items[id] = v
	s.mu.Unlock()
}

// Get returns the object whose ID is id or starts with id (when exactly
// one does). Unknown IDs wrap errdefs.ErrNotFound.
func (s *Store[T]) Get(id string) (T, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var zero T
	if id == "" {
		return zero, fmt.Errorf("%w: empty %s ID", errdefs.ErrInvalidArgument, s.kind)
	}
	if v, ok := s.items[id]; ok {
		return v, nil
	}
	var found []string
	for k := range s.items {
		if strings.HasPrefix(k, id) {
			found = append(found, k)
			if len(found) > 1 {
				return zero, fmt.Errorf("%w: %s ID prefix %q is ambiguous", errdefs.ErrInvalidArgument, s.kind, id)
			}
		}
	}
	if len(found) == 1 {
		return s.items[found[0]], nil
	}
	return zero, fmt.Errorf("%w: %s %q", errdefs.ErrNotFound, s.kind, id)
}

// Delete removes id; removing an unknown ID does nothing.
func (s *Store[T]) Delete(id string) {
	s.mu.Lock()
	delete(s.items, id)
	s.mu.Unlock()
}

// List returns all objects ordered by ID.
func (s *Store[T]) List() []T {
	s.mu.RLock()
	ids := make([]string, 0, len(s.items))
	for id := range s.items {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]T, 0, len(ids))
	for _, id := range ids {
		out = append(out, s.items[id])
	}
	s.mu.RUnlock()
	return out
}

// Len is the number of objects.
func (s *Store[T]) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.items)
}
