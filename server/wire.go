package server

import (
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// wireForm prepares a handler's response for sending: the items of the
// list responses kubelet asks for every second are swapped for their wire
// forms (see cri.Service.WireListItem), which gRPC's protobuf codec sends by
// copying bytes encoded once. Encoding 400 containers with their label and
// annotation maps through reflection takes over a millisecond, more than
// the rest of a ListContainers together.
//
// The swap happens here, at the edge, so that the handlers' responses stay
// plain messages for their Go callers. It changes the response in place:
// handlers build a new one, with a new slice, on every call.
func (s *Server) wireForm(resp interface{}) interface{} {
	switch r := resp.(type) {
	case *runtime.ListContainersResponse:
		if s.opts.Containers != nil {
			swapWire(r.Containers, s.opts.Containers.WireListItem)
		}
	case *runtime.ListPodSandboxResponse:
		if s.opts.Sandboxes != nil {
			swapWire(r.Items, s.opts.Sandboxes.WireListItem)
		}
	}
	return resp
}

// swapWire replaces each item that has a wire form with it.
func swapWire[T comparable](items []T, wire func(T) T) {
	var none T
	for i, item := range items {
		if w := wire(item); w != none {
			items[i] = w
		}
	}
}
