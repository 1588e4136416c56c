package cri

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/containerd/log"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/cri/stats"
	"github.com/podshim/podshim/sandbox"
)

// statsState remembers what stats need across calls: the previous CPU
// sample of each cgroup (UsageNanoCores is a rate between two samples) and
// each container's writable-layer directory.
type statsState struct {
	reader *stats.Reader
	mu     sync.Mutex
	prev   map[string]stats.Sample // cgroups path → last sample
	upper  map[string]string       // container ID → overlay upper dir
}

func newStatsState() *statsState {
	r, err := stats.NewReader()
	if err != nil {
		log.L.WithError(err).Warn("cgroup stats unavailable")
	}
	return &statsState{reader: r, prev: map[string]stats.Sample{}, upper: map[string]string{}}
}

// sample reads a cgroup and returns the sample with the CPU rate since the
// previous one (0 on the first).
func (st *statsState) sample(cgroupsPath string) (stats.Sample, uint64, error) {
	if st.reader == nil {
		return stats.Sample{}, 0, fmt.Errorf("cgroup stats unavailable")
	}
	s, err := st.reader.Read(cgroupsPath)
	if err != nil {
		return s, 0, err
	}
	st.mu.Lock()
	prev, ok := st.prev[cgroupsPath]
	st.prev[cgroupsPath] = s
	st.mu.Unlock()
	var nanoCores uint64
	if dt := s.Timestamp.Sub(prev.Timestamp); ok && dt > 0 && s.CPUUsageNanos >= prev.CPUUsageNanos {
		nanoCores = uint64(float64(s.CPUUsageNanos-prev.CPUUsageNanos) / dt.Seconds())
	}
	return s, nanoCores, nil
}

func (st *statsState) forget(cgroupsPath, containerID string) {
	st.mu.Lock()
	delete(st.prev, cgroupsPath)
	delete(st.upper, containerID)
	st.mu.Unlock()
}

// ContainerStats returns one container's stats.
func (s *Service) ContainerStats(ctx context.Context, id string) (*runtime.ContainerStats, error) {
	c, err := s.store.Get(id)
	if err != nil {
		return nil, err
	}
	return s.containerStats(ctx, c), nil
}

// ListContainerStats returns the stats of the containers that pass the
// filter, read now.
func (s *Service) ListContainerStats(ctx context.Context, f *runtime.ContainerStatsFilter) []*runtime.ContainerStats {
	var out []*runtime.ContainerStats
	for _, c := range s.store.List() {
		if !matchesStatsFilter(c, f) {
			continue
		}
		out = append(out, s.containerStats(ctx, c))
	}
	return out
}

func matchesStatsFilter(c *Container, f *runtime.ContainerStatsFilter) bool {
	if f == nil {
		return true
	}
	if id := f.GetId(); id != "" && !strings.HasPrefix(c.meta.ID, id) {
		return false
	}
	if sb := f.GetPodSandboxId(); sb != "" && !strings.HasPrefix(c.meta.SandboxID, sb) {
		return false
	}
	labels := c.meta.Config.GetLabels()
	for k, v := range f.GetLabelSelector() {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func (s *Service) containerStats(ctx context.Context, c *Container) *runtime.ContainerStats {
	m := c.meta
	out := &runtime.ContainerStats{
		Attributes: &runtime.ContainerAttributes{
			Id: m.ID, Metadata: m.Config.GetMetadata(), Labels: m.Config.GetLabels(), Annotations: m.Config.GetAnnotations(),
		},
	}
	now := time.Now().UnixNano()
	if layer := s.writableLayer(ctx, m.ID, now); layer != nil {
		out.WritableLayer = layer
	}
	if c.Status().State != runtime.ContainerState_CONTAINER_RUNNING {
		return out
	}
	sp, err := c.loadSpec(ctx)
	if err != nil || sp.Linux == nil {
		return out
	}
	sample, nanoCores, err := s.stats.sample(sp.Linux.CgroupsPath)
	if err != nil {
		log.G(ctx).WithError(err).WithField("container", m.ID).Debug("read container cgroup")
		return out
	}
	out.Cpu, out.Memory = cpuMemory(sample, nanoCores)
	return out
}

func cpuMemory(s stats.Sample, nanoCores uint64) (*runtime.CpuUsage, *runtime.MemoryUsage) {
	ts := s.Timestamp.UnixNano()
	mem := &runtime.MemoryUsage{
		Timestamp:       ts,
		WorkingSetBytes: &runtime.UInt64Value{Value: s.WorkingSet},
		UsageBytes:      &runtime.UInt64Value{Value: s.MemoryUsage},
		RssBytes:        &runtime.UInt64Value{Value: s.RSS},
		PageFaults:      &runtime.UInt64Value{Value: s.PageFaults},
		MajorPageFaults: &runtime.UInt64Value{Value: s.MajorPageFaults},
	}
	if s.MemoryLimit > 0 && s.MemoryLimit >= s.WorkingSet {
		mem.AvailableBytes = &runtime.UInt64Value{Value: s.MemoryLimit - s.WorkingSet}
	}
	return &runtime.CpuUsage{
		Timestamp:            ts,
		UsageCoreNanoSeconds: &runtime.UInt64Value{Value: s.CPUUsageNanos},
		UsageNanoCores:       &runtime.UInt64Value{Value: nanoCores},
	}, mem
}

// writableLayer measures the container's overlay upper dir.
func (s *Service) writableLayer(ctx context.Context, id string, now int64) *runtime.FilesystemUsage {
	s.stats.mu.Lock()
	upper, ok := s.stats.upper[id]
	s.stats.mu.Unlock()
	if !ok {
		mounts, err := s.opts.Client.SnapshotService(s.opts.Snapshotter).Mounts(ctx, id)
		if err != nil {
			return nil
		}
		for _, m := range mounts {
			for _, o := range m.Options {
				if strings.HasPrefix(o, "upperdir=") {
					upper = strings.TrimPrefix(o, "upperdir=")
				}
			}
		}
		s.stats.mu.Lock()
		s.stats.upper[id] = upper
		s.stats.mu.Unlock()
	}
	if upper == "" {
		return nil
	}
	bytes, inodes, err := stats.DirUsage(upper)
	if err != nil {
		return nil
	}
	mountpoint := upper
	if i := strings.Index(upper, "/snapshots/"); i > 0 {
		mountpoint = upper[:i]
	}
	return &runtime.FilesystemUsage{
		Timestamp:  now,
		FsId:       &runtime.FilesystemIdentifier{Mountpoint: mountpoint},
		UsedBytes:  &runtime.UInt64Value{Value: bytes},
		InodesUsed: &runtime.UInt64Value{Value: inodes},
	}
}

// PodSandboxStats returns a pod's stats: CPU and memory of the pause and
// all containers together, the pod's network counters, its process count,
// and each container's stats.
func (s *Service) PodSandboxStats(ctx context.Context, id string) (*runtime.PodSandboxStats, error) {
	sb, err := s.opts.Sandboxes.Get(id)
	if err != nil {
		return nil, err
	}
	return s.podStats(ctx, sb), nil
}

// ListPodSandboxStats returns the stats of the pods that pass the filter.
func (s *Service) ListPodSandboxStats(ctx context.Context, f *runtime.PodSandboxStatsFilter) []*runtime.PodSandboxStats {
	var out []*runtime.PodSandboxStats
	for _, sb := range s.opts.Sandboxes.List() {
		m := sb.Metadata()
		if id := f.GetId(); id != "" && !strings.HasPrefix(m.ID, id) {
			continue
		}
		if !labelsMatch(m.Config.GetLabels(), f.GetLabelSelector()) {
			continue
		}
		out = append(out, s.podStats(ctx, sb))
	}
	return out
}

func labelsMatch(labels, selector map[string]string) bool {
	for k, v := range selector {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func (s *Service) podStats(ctx context.Context, sb *sandbox.Sandbox) *runtime.PodSandboxStats {
	m, st := sb.Metadata(), sb.Status()
	out := &runtime.PodSandboxStats{
		Attributes: &runtime.PodSandboxAttributes{
			Id: m.ID, Metadata: m.Config.GetMetadata(), Labels: m.Config.GetLabels(), Annotations: m.Config.GetAnnotations(),
		},
		Linux: &runtime.LinuxPodSandboxStats{},
	}
	if st.State != runtime.PodSandboxState_SANDBOX_READY {
		return out
	}
	total, nanoCores, err := s.stats.sample(m.CgroupsPath)
	if err != nil {
		log.G(ctx).WithError(err).WithField("sandbox", m.ID).Debug("read pause cgroup")
	}
	for _, c := range s.inSandbox(m.ID) {
		cs := s.containerStats(ctx, c)
		out.Linux.Containers = append(out.Linux.Containers, cs)
		if cs.Cpu != nil {
			total.CPUUsageNanos += cs.Cpu.UsageCoreNanoSeconds.GetValue()
			nanoCores += cs.Cpu.UsageNanoCores.GetValue()
		}
		if cs.Memory != nil {
			total.MemoryUsage += cs.Memory.UsageBytes.GetValue()
			total.WorkingSet += cs.Memory.WorkingSetBytes.GetValue()
			total.RSS += cs.Memory.RssBytes.GetValue()
			total.PageFaults += cs.Memory.PageFaults.GetValue()
			total.MajorPageFaults += cs.Memory.MajorPageFaults.GetValue()
		}
	}
	if total.Timestamp.IsZero() {
		total.Timestamp = time.Now()
	}
	total.MemoryLimit = 0
	out.Linux.Cpu, out.Linux.Memory = cpuMemory(total, nanoCores)
	if procs, err := s.podProcessCount(ctx, sb); err == nil {
		out.Linux.Process = &runtime.ProcessUsage{Timestamp: total.Timestamp.UnixNano(), ProcessCount: &runtime.UInt64Value{Value: procs}}
	}
	if ifs, err := stats.NetDev(st.Pid); err == nil && m.NetNSPath != "" {
		net := &runtime.NetworkUsage{Timestamp: total.Timestamp.UnixNano()}
		for _, i := range ifs {
			if i.Name == "lo" {
				continue
			}
			u := &runtime.NetworkInterfaceUsage{
				Name:    i.Name,
				RxBytes: &runtime.UInt64Value{Value: i.RxBytes}, RxErrors: &runtime.UInt64Value{Value: i.RxErrors},
				TxBytes: &runtime.UInt64Value{Value: i.TxBytes}, TxErrors: &runtime.UInt64Value{Value: i.TxErrors},
			}
			if i.Name == "eth0" {
				net.DefaultInterface = u
			}
			net.Interfaces = append(net.Interfaces, u)
		}
		out.Linux.Network = net
	}
	return out
}

// podProcessCount counts the processes of the pause and the containers.
func (s *Service) podProcessCount(ctx context.Context, sb *sandbox.Sandbox) (uint64, error) {
	if s.stats.reader == nil {
		return 0, fmt.Errorf("cgroup stats unavailable")
	}
	sample, err := s.stats.reader.Read(sb.Metadata().CgroupsPath)
	if err != nil {
		return 0, err
	}
	n := sample.Pids
	for _, c := range s.inSandbox(sb.ID()) {
		if c.Status().State != runtime.ContainerState_CONTAINER_RUNNING {
			continue
		}
		if sp, err := c.loadSpec(ctx); err == nil && sp.Linux != nil {
			if cs, err := s.stats.reader.Read(sp.Linux.CgroupsPath); err == nil {
				n += cs.Pids
			}
		}
	}
	return n, nil
}
