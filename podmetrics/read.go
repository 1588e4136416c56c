package podmetrics

import (
	"context"
	"fmt"

	"golang.org/x/sys/unix"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/cri/stats"
)

// target is what is read of one pod: its pause cgroup, its network (through
// the pause's pid) and its running containers.
type target struct {
	id, name, namespace string
	cgroupsPath         string
	pid                 uint32
	containers          []containerTarget
}

type containerTarget struct {
	id, name, image string
	cgroupsPath     string // "" when it could not be found
	startedAt       int64  // ns since the epoch
	layer           func() *runtime.FilesystemUsage
}

// fsUsage is a container's writable layer and the filesystem it is on.
type fsUsage struct {
	device                  string
	usedBytes, limitBytes   uint64
	inodesTotal, inodesFree uint64
}

// readPod reads one pod's metrics at ts. What cannot be read (a cgroup
// that is gone, a container without one) is left out and returned as
// errors; the rest is reported.
func readPod(ctx context.Context, r *stats.Reader, t target, ts int64) (*runtime.PodSandboxMetrics, []error) {
	var errs []error
	out := &runtime.PodSandboxMetrics{PodSandboxId: t.id}
	pod := []string{"POD", t.id, "", t.id, t.namespace, t.name}
	if d, err := r.ReadDetail(t.cgroupsPath); err == nil {
		out.Metrics = append(out.Metrics, cgroupValues(&d, pod, ts)...)
	} else {
		errs = append(errs, fmt.Errorf("pod %s cgroup %s: %w", t.id, t.cgroupsPath, err))
	}
	if ifs, err := stats.NetDev(t.pid); err == nil {
		for i := range ifs {
			if ifs[i].Name == "lo" {
				continue
			}
			labels := []string{"POD", t.id, "", ifs[i].Name, t.id, t.namespace, t.name}
			for _, m := range netMetrics {
				out.Metrics = append(out.Metrics, metric(m.name, counter, labels, m.value(&ifs[i]), ts))
			}
		}
	} else {
		errs = append(errs, fmt.Errorf("pod %s network: %w", t.id, err))
	}
	for _, c := range t.containers {
		cm := &runtime.ContainerMetrics{ContainerId: c.id}
		labels := []string{c.name, c.id, c.image, c.id, t.namespace, t.name}
		if c.cgroupsPath == "" {
			errs = append(errs, fmt.Errorf("container %s has no cgroup", c.id))
		} else if d, err := r.ReadDetail(c.cgroupsPath); err == nil {
			cm.Metrics = append(cm.Metrics, cgroupValues(&d, labels, ts)...)
		} else {
			errs = append(errs, fmt.Errorf("container %s cgroup %s: %w", c.id, c.cgroupsPath, err))
		}
		if c.startedAt > 0 {
			cm.Metrics = append(cm.Metrics, metric(startTime, gauge, labels, uint64(c.startedAt/nanosPerSecond), ts))
		}
		if fs := layerUsage(c.layer); fs != nil {
			fsl := []string{c.name, fs.device, c.id, c.image, c.id, t.namespace, t.name}
			for _, m := range fsMetrics {
				cm.Metrics = append(cm.Metrics, metric(m.name, gauge, fsl, m.value(fs), ts))
			}
		}
		if len(cm.Metrics) > 0 {
			out.ContainerMetrics = append(out.ContainerMetrics, cm)
		}
	}
	return out, errs
}

func cgroupValues(d *stats.Detail, labels []string, ts int64) []*runtime.Metric {
	out := make([]*runtime.Metric, 0, len(cgroupMetrics))
	for _, m := range cgroupMetrics {
		out = append(out, metric(m.name, m.typ, labels, m.value(d), ts))
	}
	return out
}

func metric(name string, typ runtime.MetricType, labels []string, v uint64, ts int64) *runtime.Metric {
	return &runtime.Metric{Name: name, Timestamp: ts, MetricType: typ, LabelValues: labels, Value: &runtime.UInt64Value{Value: v}}
}

// layerUsage measures a writable layer and statfs's its filesystem.
func layerUsage(layer func() *runtime.FilesystemUsage) *fsUsage {
	if layer == nil {
		return nil
	}
	l := layer()
	if l == nil {
		return nil
	}
	fs := &fsUsage{device: l.GetFsId().GetMountpoint(), usedBytes: l.GetUsedBytes().GetValue()}
	var st unix.Statfs_t
	if fs.device != "" && unix.Statfs(fs.device, &st) == nil {
		fs.limitBytes = st.Blocks * uint64(st.Bsize)
		fs.inodesTotal, fs.inodesFree = st.Files, st.Ffree
	}
	return fs
}
