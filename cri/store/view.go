package store

import (
	"sync/atomic"

	"google.golang.org/protobuf/proto"
)

// View is what the CRI reports of one object as of one status value: its
// list item, the item's wire form (see WireForm) and its status reply.
// A view is never modified once built, so responses and events share it
// and gRPC encodes it concurrently.
type View[S comparable, I proto.Message, R any] struct {
	From    S // the status the view was built from
	Item    I
	Status  R
	wire    I
	hasWire bool
}

// Views caches an object's current View: kubelet asks every second, an
// object's status changes a few times in its life. The zero value is
// ready to use.
type Views[S comparable, I proto.Message, R any] struct {
	current atomic.Pointer[View[S, I, R]]
}

// Get returns the view of status st, building a new one with build when
// the cached view was built from another status.
func (vs *Views[S, I, R]) Get(st S, build func() (I, R)) *View[S, I, R] {
	if v := vs.current.Load(); v != nil && v.From == st {
		return v
	}
	v := &View[S, I, R]{From: st}
	v.Item, v.Status = build()
	v.wire, v.hasWire = WireForm(v.Item)
	vs.current.Store(v)
	return v
}

// Wire returns item's wire form when item is the current view's item (it
// is what a List returned and the status has not changed since), else the
// zero I and false.
func (vs *Views[S, I, R]) Wire(item I) (I, bool) {
	if v := vs.current.Load(); v != nil && v.hasWire && any(v.Item) == any(item) {
		return v.wire, true
	}
	var zero I
	return zero, false
}
