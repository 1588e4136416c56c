package podmetrics

import (
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/cri/stats"
)

// Label keys, sorted as the CRI asks, named as cAdvisor names them so that
// kubelet's /metrics/cadvisor reads the same with PodAndContainerStatsFromCRI.
var (
	baseLabels = []string{"container", "id", "image", "name", "namespace", "pod"}
	netLabels  = []string{"container", "id", "image", "interface", "name", "namespace", "pod"}
	fsLabels   = []string{"container", "device", "id", "image", "name", "namespace", "pod"}
)

const (
	counter = runtime.MetricType_COUNTER
	gauge   = runtime.MetricType_GAUGE
)

// cgroupMetric is a metric read from a cgroup (stats.Detail).
type cgroupMetric struct {
	name, help string
	typ        runtime.MetricType
	value      func(*stats.Detail) uint64
}

const nanosPerSecond = 1_000_000_000

// The values are whole numbers (the CRI's Metric carries a uint64): CPU
// times are in whole seconds, as the names say.
var cgroupMetrics = []cgroupMetric{
	{"container_cpu_usage_seconds_total", "Cumulative cpu time consumed in seconds.", counter, func(d *stats.Detail) uint64 { return d.CPUUsageNanos / nanosPerSecond }},
	{"container_cpu_user_seconds_total", "Cumulative user cpu time consumed in seconds.", counter, func(d *stats.Detail) uint64 { return d.CPUUserNanos / nanosPerSecond }},
	{"container_cpu_system_seconds_total", "Cumulative system cpu time consumed in seconds.", counter, func(d *stats.Detail) uint64 { return d.CPUSystemNanos / nanosPerSecond }},
	{"container_cpu_cfs_periods_total", "Number of elapsed enforcement period intervals.", counter, func(d *stats.Detail) uint64 { return d.CFSPeriods }},
	{"container_cpu_cfs_throttled_periods_total", "Number of throttled period intervals.", counter, func(d *stats.Detail) uint64 { return d.CFSThrottled }},
	{"container_cpu_cfs_throttled_seconds_total", "Total time duration the container has been throttled.", counter, func(d *stats.Detail) uint64 { return d.CFSThrottledNanos / nanosPerSecond }},
	{"container_memory_usage_bytes", "Current memory usage in bytes, including all memory regardless of when it was accessed.", gauge, func(d *stats.Detail) uint64 { return d.MemoryUsage }},
	{"container_memory_working_set_bytes", "Current working set in bytes.", gauge, func(d *stats.Detail) uint64 { return d.WorkingSet }},
	{"container_memory_rss", "Size of RSS in bytes.", gauge, func(d *stats.Detail) uint64 { return d.RSS }},
	{"container_memory_cache", "Number of bytes of page cache memory.", gauge, func(d *stats.Detail) uint64 { return d.Cache }},
	{"container_memory_swap", "Container swap usage in bytes.", gauge, func(d *stats.Detail) uint64 { return d.Swap }},
	{"container_memory_mapped_file", "Size of memory mapped files in bytes.", gauge, func(d *stats.Detail) uint64 { return d.MappedFile }},
	{"container_memory_max_usage_bytes", "Maximum memory usage recorded in bytes.", gauge, func(d *stats.Detail) uint64 { return d.MaxUsage }},
	{"container_memory_failcnt", "Number of memory usage hits limits.", counter, func(d *stats.Detail) uint64 { return d.Failcnt }},
	{"container_oom_events_total", "Count of out of memory events observed for the container.", counter, func(d *stats.Detail) uint64 { return d.OOMKills }},
	{"container_spec_memory_limit_bytes", "Memory limit for the container.", gauge, func(d *stats.Detail) uint64 { return d.MemoryLimit }},
	{"container_processes", "Number of processes running inside the container.", gauge, func(d *stats.Detail) uint64 { return d.Processes }},
	{"container_threads", "Number of threads running inside the container.", gauge, func(d *stats.Detail) uint64 { return d.Threads }},
	{"container_threads_max", "Maximum number of threads allowed inside the container, infinity if value is zero.", gauge, func(d *stats.Detail) uint64 { return d.ThreadsMax }},
}

// netMetric is a counter of a pod's network interface.
type netMetric struct {
	name, help string
	value      func(*stats.Interface) uint64
}

var netMetrics = []netMetric{
	{"container_network_receive_bytes_total", "Cumulative count of bytes received.", func(i *stats.Interface) uint64 { return i.RxBytes }},
	{"container_network_receive_packets_total", "Cumulative count of packets received.", func(i *stats.Interface) uint64 { return i.RxPackets }},
	{"container_network_receive_packets_dropped_total", "Cumulative count of packets dropped while receiving.", func(i *stats.Interface) uint64 { return i.RxDropped }},
	{"container_network_receive_errors_total", "Cumulative count of errors encountered while receiving.", func(i *stats.Interface) uint64 { return i.RxErrors }},
	{"container_network_transmit_bytes_total", "Cumulative count of bytes transmitted.", func(i *stats.Interface) uint64 { return i.TxBytes }},
	{"container_network_transmit_packets_total", "Cumulative count of packets transmitted.", func(i *stats.Interface) uint64 { return i.TxPackets }},
	{"container_network_transmit_packets_dropped_total", "Cumulative count of packets dropped while transmitting.", func(i *stats.Interface) uint64 { return i.TxDropped }},
	{"container_network_transmit_errors_total", "Cumulative count of errors encountered while transmitting.", func(i *stats.Interface) uint64 { return i.TxErrors }},
}

// fsMetric is a gauge of a container's writable layer and its filesystem.
type fsMetric struct {
	name, help string
	value      func(*fsUsage) uint64
}

var fsMetrics = []fsMetric{
	{"container_fs_usage_bytes", "Number of bytes that are consumed by the container on this filesystem.", func(f *fsUsage) uint64 { return f.usedBytes }},
	{"container_fs_limit_bytes", "Number of bytes that can be consumed by the container on this filesystem.", func(f *fsUsage) uint64 { return f.limitBytes }},
	{"container_fs_inodes_total", "Number of Inodes.", func(f *fsUsage) uint64 { return f.inodesTotal }},
	{"container_fs_inodes_free", "Number of available Inodes.", func(f *fsUsage) uint64 { return f.inodesFree }},
}

// startTime is the gauge of a container's start.
const startTime = "container_start_time_seconds"

// Descriptors lists every metric podmetrics reports (ListMetricDescriptors).
// The list is fixed.
func Descriptors() []*runtime.MetricDescriptor {
	var out []*runtime.MetricDescriptor
	for _, m := range cgroupMetrics {
		out = append(out, &runtime.MetricDescriptor{Name: m.name, Help: m.help, LabelKeys: baseLabels})
	}
	out = append(out, &runtime.MetricDescriptor{Name: startTime, Help: "Start time of the container since unix epoch in seconds.", LabelKeys: baseLabels})
	for _, m := range netMetrics {
		out = append(out, &runtime.MetricDescriptor{Name: m.name, Help: m.help, LabelKeys: netLabels})
	}
	for _, m := range fsMetrics {
		out = append(out, &runtime.MetricDescriptor{Name: m.name, Help: m.help, LabelKeys: fsLabels})
	}
	return out
}
