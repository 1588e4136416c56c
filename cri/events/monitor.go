// Package events watches containerd for task exits and OOM kills and hands
// them to the sandbox and container services. One subscription serves all
// pods: no goroutine or stream per container.
package events

import (
	"context"
	"time"

	"github.com/containerd/containerd"
	eventtypes "github.com/containerd/containerd/api/events"
	"github.com/containerd/containerd/events"
	"github.com/containerd/log"
	"github.com/containerd/typeurl/v2"
)

// Handler receives task events of the monitored namespace. Handlers ignore
// IDs that are not theirs. Calls for one task come in order.
type Handler interface {
	// HandleExit is called when a task's process exits (e.ID ==
	// e.ContainerID for the init process, else an exec).
	HandleExit(ctx context.Context, e *eventtypes.TaskExit)
	// HandleOOM is called when the kernel OOM-killed a process of a task.
	HandleOOM(ctx context.Context, e *eventtypes.TaskOOM)
	// Resync is called after (re)subscribing: exits may have been missed
	// while no subscription was up, so running tasks must be checked.
	Resync(ctx context.Context)
}

// Monitor is a containerd event subscription feeding Handlers.
type Monitor struct {
	client    *containerd.Client
	namespace string
	handlers  []Handler
}

// NewMonitor returns a monitor for the namespace's task events.
func NewMonitor(client *containerd.Client, namespace string, handlers ...Handler) *Monitor {
	return &Monitor{client: client, namespace: namespace, handlers: handlers}
}

// Subscribe opens the subscription and returns once it is established, so
// that no exit of a task started afterwards can be missed. Events are then
// dispatched in the background until ctx ends; a broken subscription is
// re-established, followed by a Resync.
func (m *Monitor) Subscribe(ctx context.Context) {
	evCh, errCh := m.subscribe(ctx)
	go m.loop(ctx, evCh, errCh)
}

func (m *Monitor) subscribe(ctx context.Context) (<-chan *events.Envelope, <-chan error) {
	return m.client.Subscribe(ctx,
		`namespace==`+m.namespace+`,topic=="/tasks/exit"`,
		`namespace==`+m.namespace+`,topic=="/tasks/oom"`)
}

func (m *Monitor) loop(ctx context.Context, evCh <-chan *events.Envelope, errCh <-chan error) {
	for {
		select {
		case <-ctx.Done():
			return
		case err := <-errCh:
			if ctx.Err() != nil {
				return
			}
			log.G(ctx).WithError(err).Warn("containerd event subscription broken; resubscribing")
			time.Sleep(time.Second)
			evCh, errCh = m.subscribe(ctx)
			for _, h := range m.handlers {
				h.Resync(ctx)
			}
		case env := <-evCh:
			m.dispatch(ctx, env)
		}
	}
}

func (m *Monitor) dispatch(ctx context.Context, env *events.Envelope) {
	if env == nil || env.Event == nil {
		return
	}
	v, err := typeurl.UnmarshalAny(env.Event)
	if err != nil {
		log.G(ctx).WithError(err).Warn("decode containerd event")
		return
	}
	switch e := v.(type) {
	case *eventtypes.TaskExit:
		for _, h := range m.handlers {
			h.HandleExit(ctx, e)
		}
	case *eventtypes.TaskOOM:
		for _, h := range m.handlers {
			h.HandleOOM(ctx, e)
		}
	}
}
