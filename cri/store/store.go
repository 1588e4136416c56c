// Package store holds podshim's in-memory indexes of sandboxes and
// containers: objects by ID (with unique-prefix lookup, as crictl users
// type short IDs) and the names reserved for them. The stores are rebuilt
// from containerd and the root dir at start-up; they are never the only
// copy of anything.
package store

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/containerd/containerd/errdefs"
)

// Store maps IDs to objects. It is safe for concurrent use.
type Store[T any] struct {
	mu    sync.RWMutex
	items map[string]T
	// sorted is items ordered by ID, built by List on demand and dropped
	// by Add and Delete (kubelet lists every second; pods come and go far
	// less often). It is never modified in place.
	sorted   []T
	sortedOK bool
	kind     string // "sandbox" or "container", for error messages
}

// New returns an empty store of objects of the named kind.
func New[T any](kind string) *Store[T] {
	return &Store[T]{items: map[string]T{}, kind: kind}
}

// Add stores v under id, replacing any object with that ID.
func (s *Store[T]) Add(id string, v T) {
	s.mu.Lock()
	s.items[id] = v
	s.sorted, s.sortedOK = nil, false
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
	if _, ok := s.items[id]; ok {
		delete(s.items, id)
		s.sorted, s.sortedOK = nil, false
	}
	s.mu.Unlock()
}

// Lookup returns the object whose ID is exactly id.
func (s *Store[T]) Lookup(id string) (T, bool) {
	s.mu.RLock()
	v, ok := s.items[id]
	s.mu.RUnlock()
	return v, ok
}

// List returns all objects ordered by ID, in a slice of the caller's.
func (s *Store[T]) List() []T {
	s.mu.RLock()
	if s.sortedOK {
		out := slices.Clone(s.sorted)
		s.mu.RUnlock()
		return out
	}
	s.mu.RUnlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.sortedOK {
		ids := make([]string, 0, len(s.items))
		for id := range s.items {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		sorted := make([]T, 0, len(ids))
		for _, id := range ids {
			sorted = append(sorted, s.items[id])
		}
		s.sorted, s.sortedOK = sorted, true
	}
	return slices.Clone(s.sorted)
}

// Len is the number of objects.
func (s *Store[T]) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.items)
}
