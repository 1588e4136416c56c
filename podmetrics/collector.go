// Package podmetrics answers ListMetricDescriptors, ListPodSandboxMetrics
// and StreamPodSandboxMetrics: the cAdvisor metrics (container_cpu_*,
// container_memory_*, container_network_*, container_fs_*,
// container_processes, ...) that kubelet serves on /metrics/cadvisor when
// it takes pod metrics from the runtime (PodAndContainerStatsFromCRI).
//
// Calls never read cgroups: they get the last collection, and a collection
// older than MaxAge starts a new one in the background, which the next
// call gets. Each pod is read on its own, under ReadTimeout: a pod whose
// cgroups are slow or gone keeps its last metrics (or none) while the
// others are fresh. Nothing is read while nobody asks.
package podmetrics

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containerd/log"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/cri"
	"github.com/podshim/podshim/cri/stats"
	"github.com/podshim/podshim/sandbox"
)

// Options configure a Collector.
type Options struct {
	Sandboxes   *sandbox.Service
	Containers  *cri.Service
	Cgroups     *stats.Reader // nil: no metrics
	MaxAge      time.Duration // a collection older than this is refreshed; default 5s
	ReadTimeout time.Duration // one pod's reading; default 2s
}

// Collector keeps the last collection of pod metrics.
type Collector struct {
	ctx        context.Context // bounds background collections
	opts       Options
	read       func(context.Context, target, int64) (*runtime.PodSandboxMetrics, []error)
	last       atomic.Pointer[collection]
	collecting atomic.Bool

	mu      sync.Mutex
	byPod   map[string]*runtime.PodSandboxMetrics // each pod's last reading
	reading map[string]bool                       // pods whose reading is under way
	failing map[string]bool                       // pods whose last reading had errors
}

type collection struct {
	at   time.Time
	pods []*runtime.PodSandboxMetrics
}

// New returns a Collector; background collections stop when ctx ends.
func New(ctx context.Context, o Options) *Collector {
	if o.MaxAge <= 0 {
		o.MaxAge = 5 * time.Second
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 2 * time.Second
	}
	c := &Collector{ctx: ctx, opts: o, byPod: map[string]*runtime.PodSandboxMetrics{}, reading: map[string]bool{}, failing: map[string]bool{}}
	c.read = func(ctx context.Context, t target, ts int64) (*runtime.PodSandboxMetrics, []error) {
		return readPod(ctx, o.Cgroups, t, ts)
	}
	return c
}

// List returns the last collection's metrics of every ready pod, at once,
// and starts a new collection when that one is older than MaxAge. The
// first call returns none. The items are shared and must not be changed.
func (c *Collector) List() []*runtime.PodSandboxMetrics {
	last := c.last.Load()
	if (last == nil || time.Since(last.at) > c.opts.MaxAge) && c.collecting.CompareAndSwap(false, true) {
		go func() {
			defer c.collecting.Store(false)
			c.Collect(c.ctx)
		}()
	}
	if last == nil {
		return nil
	}
	return last.pods
}

// Collect reads every ready pod now and makes the result the last
// collection. A pod whose reading takes longer than ReadTimeout is given
// its previous reading (with that reading's timestamps), and is not read
// again until the reading under way ends.
func (c *Collector) Collect(ctx context.Context) {
	if c.opts.Cgroups == nil {
		c.last.Store(&collection{at: time.Now()})
		return
	}
	targets := c.targets(ctx)
	ts := time.Now().UnixNano()
	var pods []*runtime.PodSandboxMetrics
	live := map[string]bool{}
	for _, t := range targets {
		live[t.id] = true
		if m := c.readWithTimeout(ctx, t, ts); m != nil {
			pods = append(pods, m)
		}
	}
	c.mu.Lock()
	for id := range c.byPod {
		if !live[id] {
			delete(c.byPod, id)
			delete(c.failing, id)
		}
	}
	c.mu.Unlock()
	c.last.Store(&collection{at: time.Now(), pods: pods})
}

func (c *Collector) readWithTimeout(ctx context.Context, t target, ts int64) *runtime.PodSandboxMetrics {
	c.mu.Lock()
	if c.reading[t.id] {
		prev := c.byPod[t.id]
		c.mu.Unlock()
		return prev
	}
	c.reading[t.id] = true
	c.mu.Unlock()
	done := make(chan *runtime.PodSandboxMetrics, 1)
	go func() {
		m, errs := c.read(ctx, t, ts)
		c.mu.Lock()
		c.byPod[t.id] = m
		delete(c.reading, t.id)
		wasFailing := c.failing[t.id]
		c.failing[t.id] = len(errs) > 0
		c.mu.Unlock()
		for _, err := range errs {
			// Warn once when a pod starts failing, then quietly.
			if wasFailing {
				log.G(ctx).WithError(err).Debug("pod metrics: left out what cannot be read")
			} else {
				log.G(ctx).WithError(err).Warn("pod metrics: left out what cannot be read")
			}
		}
		done <- m
	}()
	select {
	case m := <-done:
		return m
	case <-time.After(c.opts.ReadTimeout):
		log.G(ctx).WithField("sandbox", t.id).Warn("pod metrics: reading is slow, reporting the previous reading")
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.byPod[t.id]
	}
}

// targets lists the ready pods and their running containers.
func (c *Collector) targets(ctx context.Context) []target {
	byPod := map[string][]containerTarget{}
	for _, ctr := range c.opts.Containers.List() {
		st := ctr.Status()
		if st.State != runtime.ContainerState_CONTAINER_RUNNING {
			continue
		}
		m := ctr.Metadata()
		ct := containerTarget{id: m.ID, name: m.Config.GetMetadata().GetName(), image: m.ImageName, startedAt: st.StartedAt}
		if p, err := c.opts.Containers.CgroupsPath(ctx, ctr); err == nil {
			ct.cgroupsPath = p
		}
		id := m.ID
		ct.layer = func() *runtime.FilesystemUsage { return c.opts.Containers.WritableLayer(ctx, id) }
		byPod[m.SandboxID] = append(byPod[m.SandboxID], ct)
	}
	var out []target
	for _, sb := range c.opts.Sandboxes.List() {
		st := sb.Status()
		if st.State != runtime.PodSandboxState_SANDBOX_READY {
			continue
		}
		m := sb.Metadata()
		out = append(out, target{
			id: m.ID, name: m.Config.GetMetadata().GetName(), namespace: m.Config.GetMetadata().GetNamespace(),
			cgroupsPath: m.CgroupsPath, pid: st.Pid, containers: byPod[m.ID],
		})
	}
	return out
}
