package cri

import (
	"sync"

	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Broadcaster fans container lifecycle events out to GetContainerEvents
// streams. A slow subscriber loses events rather than blocking the runtime.
type Broadcaster struct {
	mu   sync.Mutex
	subs map[chan *runtime.ContainerEventResponse]struct{}
}

// NewBroadcaster returns a broadcaster with no subscribers.
func NewBroadcaster() *Broadcaster {
	return &Broadcaster{subs: map[chan *runtime.ContainerEventResponse]struct{}{}}
}

// Subscribe returns a channel of events and a function that ends the
// subscription.
func (b *Broadcaster) Subscribe() (<-chan *runtime.ContainerEventResponse, func()) {
	ch := make(chan *runtime.ContainerEventResponse, 1000)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		delete(b.subs, ch)
		b.mu.Unlock()
	}
}

// Publish sends an event to every subscriber that has room for it.
func (b *Broadcaster) Publish(e *runtime.ContainerEventResponse) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- e:
		default:
		}
	}
}
