package podmetrics

import (
	"context"
	"fmt"
	"os"
	"sort"
	"testing"

	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/cri/stats"
	"github.com/podshim/podshim/critest/testenv"
)

func TestDescriptors(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range Descriptors() {
		if seen[d.Name] {
			t.Errorf("%s described twice", d.Name)
		}
		seen[d.Name] = true
		if !sort.StringsAreSorted(d.LabelKeys) || len(d.LabelKeys) < 6 || d.Help == "" {
			t.Errorf("%s: label keys %v (want sorted, cAdvisor's), help %q", d.Name, d.LabelKeys, d.Help)
		}
	}
	for _, name := range []string{
		"container_cpu_usage_seconds_total", "container_cpu_user_seconds_total", "container_cpu_system_seconds_total",
		"container_memory_usage_bytes", "container_memory_working_set_bytes", "container_memory_rss", "container_memory_cache",
		"container_network_receive_bytes_total", "container_network_transmit_bytes_total",
		"container_network_receive_packets_total", "container_network_receive_errors_total", "container_network_receive_packets_dropped_total",
		"container_fs_usage_bytes", "container_processes", "container_threads",
	} {
		if !seen[name] {
			t.Errorf("%s is not described", name)
		}
	}
}

// busyCgroup makes a cgroup holding a process that uses some CPU and
// memory, in the hierarchies r reads, and returns its path.
func busyCgroup(t *testing.T, r *stats.Reader) string {
	rel := fmt.Sprintf("/podshim-podmetrics-test-%d", os.Getpid())
	var dirs []string
	for _, c := range []string{"cpu", "cpuacct", "memory", "pids"} {
		if d := r.ControllerDir(c, rel); d != "" && !contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	testenv.RunInCgroups(t, dirs, `i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done; exec sleep 30`)
	return rel
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestReadPodLeavesOutWhatIsGone reads a pod with one live and one gone
// container cgroup: the live one is reported with its labels, the gone one
// is left out with an error, the pod's own metrics are there.
func TestReadPodLeavesOutWhatIsGone(t *testing.T) {
	r, err := stats.NewReader()
	if err != nil {
		t.Skipf("no cgroups: %v", err)
	}
	rel := busyCgroup(t, r)
	tg := target{
		id: "pod1", name: "web", namespace: "ns", cgroupsPath: rel, pid: uint32(os.Getpid()),
		containers: []containerTarget{
			{id: "c-live", name: "app", image: "busybox", cgroupsPath: rel, startedAt: 2e9},
			{id: "c-gone", name: "side", image: "busybox", cgroupsPath: rel + "-gone"},
			{id: "c-none", name: "init", image: "busybox"},
		},
	}
	m, errs := readPod(context.Background(), r, tg, 42)
	if len(errs) != 2 {
		t.Fatalf("errors %v, want one for c-gone and one for c-none", errs)
	}
	if len(m.ContainerMetrics) != 1 || m.ContainerMetrics[0].ContainerId != "c-live" {
		t.Fatalf("container metrics %v, want c-live's alone", m.ContainerMetrics)
	}
	names := map[string]*runtime.Metric{}
	for _, x := range m.ContainerMetrics[0].Metrics {
		names[x.Name] = x
	}
	for _, x := range m.Metrics {
		if x.LabelValues[0] != "POD" {
			t.Errorf("pod metric %s has container label %q, want POD", x.Name, x.LabelValues[0])
		}
	}
	desc := map[string]*runtime.MetricDescriptor{}
	for _, d := range Descriptors() {
		desc[d.Name] = d
	}
	for _, x := range append(m.Metrics, m.ContainerMetrics[0].Metrics...) {
		d, ok := desc[x.Name]
		if !ok || len(d.LabelKeys) != len(x.LabelValues) || x.Timestamp != 42 {
			t.Fatalf("metric %s: labels %v against descriptor %v, timestamp %d", x.Name, x.LabelValues, d, x.Timestamp)
		}
	}
	if p := names["container_processes"]; p == nil || p.Value.Value == 0 || p.MetricType != runtime.MetricType_GAUGE {
		t.Errorf("container_processes = %v", p)
	}
	if c := names["container_cpu_usage_seconds_total"]; c == nil || c.MetricType != runtime.MetricType_COUNTER {
		t.Errorf("container_cpu_usage_seconds_total = %v", c)
	}
	// Memory is charged where it was allocated (before the move): only
	// thread counts are sure to be non-zero.
	if th := names["container_threads"]; th == nil || th.Value.Value < names["container_processes"].Value.Value {
		t.Errorf("container_threads = %v", th)
	}
	if s := names[startTime]; s == nil || s.Value.Value != 2 {
		t.Errorf("%s = %v, want 2", startTime, s)
	}
	want := []string{"app", "c-live", "busybox", "c-live", "ns", "web"}
	if got := names["container_memory_rss"].LabelValues; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("labels %v, want %v", got, want)
	}
	net := 0
	for _, x := range m.Metrics {
		if x.Name == "container_network_receive_bytes_total" {
			net++
		}
	}
	if net == 0 {
		t.Errorf("no network metrics for the host's interfaces")
	}
}
