package integration

import (
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestPodSandboxMetrics reads the cAdvisor metrics of a pod whose
// container burns CPU: every metric is described, with as many label
// values as keys, and the values are those of the pod.
func TestPodSandboxMetrics(t *testing.T) {
	pullImage(t, busyboxImage)
	ctx, cancel := context.WithTimeout(context.Background(), 2*callTimeout)
	defer cancel()
	dresp, err := rt().ListMetricDescriptors(ctx, &criapi.ListMetricDescriptorsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	desc := map[string]*criapi.MetricDescriptor{}
	for _, d := range dresp.Descriptors {
		desc[d.Name] = d
	}
	for _, name := range []string{
		"container_cpu_usage_seconds_total", "container_cpu_user_seconds_total", "container_cpu_system_seconds_total",
		"container_memory_usage_bytes", "container_memory_working_set_bytes", "container_memory_rss", "container_memory_cache",
		"container_network_receive_bytes_total", "container_network_transmit_bytes_total", "container_network_receive_packets_total",
		"container_network_transmit_packets_dropped_total", "container_network_receive_errors_total",
		"container_fs_usage_bytes", "container_processes", "container_threads",
	} {
		if desc[name] == nil {
			t.Errorf("ListMetricDescriptors lacks %s", name)
		}
	}

	cfg := podConfig(t)
	pod := runPod(t, cfg)
	ctr := runContainer(t, pod, cfg, containerConfig(cfg, "burn", "sh", "-c",
		`i=0; while [ $i -lt 3000000 ]; do i=$((i+1)); done; echo done > /tmp/done; sleep 3600`))
	waitForOutput(t, ctr, 3*time.Minute, "done", "cat", "/tmp/done")

	var pm *criapi.PodSandboxMetrics
	waitFor(t, 60*time.Second, "a collection with the pod after its CPU burn", func() (bool, string) {
		resp, err := rt().ListPodSandboxMetrics(ctx, &criapi.ListPodSandboxMetricsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range resp.PodMetrics {
			if p.PodSandboxId != pod {
				continue
			}
			for _, c := range p.ContainerMetrics {
				for _, m := range c.Metrics {
					if m.Name == "container_cpu_usage_seconds_total" && m.Value.GetValue() >= 1 {
						pm = p
						return true, ""
					}
				}
			}
		}
		return false, "no container_cpu_usage_seconds_total >= 1 yet"
	})

	values := map[string]*criapi.Metric{}
	check := func(ms []*criapi.Metric) {
		for _, m := range ms {
			d := desc[m.Name]
			if d == nil {
				t.Fatalf("metric %s is not described", m.Name)
			}
			if len(m.LabelValues) != len(d.LabelKeys) || m.Timestamp == 0 {
				t.Fatalf("metric %s: label values %v for keys %v, timestamp %d", m.Name, m.LabelValues, d.LabelKeys, m.Timestamp)
			}
			labels := map[string]string{}
			for i, k := range d.LabelKeys {
				labels[k] = m.LabelValues[i]
			}
			if labels["pod"] != cfg.Metadata.Name || labels["namespace"] != cfg.Metadata.Namespace {
				t.Fatalf("metric %s labels %v, want pod %s namespace %s", m.Name, labels, cfg.Metadata.Name, cfg.Metadata.Namespace)
			}
			values[labels["container"]+"/"+labels["interface"]+"/"+m.Name] = m
		}
	}
	check(pm.Metrics)
	if len(pm.ContainerMetrics) != 1 || pm.ContainerMetrics[0].ContainerId != ctr {
		t.Fatalf("container metrics of %v, want %s's", pm.ContainerMetrics, ctr)
	}
	check(pm.ContainerMetrics[0].Metrics)
	for key, ok := range map[string]func(v uint64) bool{
		"burn//container_cpu_usage_seconds_total":           func(v uint64) bool { return v >= 1 },
		"burn//container_cpu_user_seconds_total":            func(v uint64) bool { return v >= 1 },
		"burn//container_memory_working_set_bytes":          func(v uint64) bool { return v > 0 },
		"burn//container_memory_usage_bytes":                func(v uint64) bool { return v > 0 },
		"burn//container_processes":                         func(v uint64) bool { return v >= 1 },
		"burn//container_threads":                           func(v uint64) bool { return v >= 1 },
		"burn//container_fs_usage_bytes":                    func(v uint64) bool { return v > 0 },
		"burn//container_start_time_seconds":                func(v uint64) bool { return v > uint64(time.Now().Add(-time.Hour).Unix()) },
		"POD//container_processes":                          func(v uint64) bool { return v == 1 },
		"POD/eth0/container_network_receive_bytes_total":    func(v uint64) bool { return true },
		"POD/eth0/container_network_transmit_packets_total": func(v uint64) bool { return true },
	} {
		m := values[key]
		if m == nil || !ok(m.Value.GetValue()) {
			t.Errorf("%s = %v", key, m)
		}
	}
	if m := values["burn//container_cpu_usage_seconds_total"]; m != nil && m.MetricType != criapi.MetricType_COUNTER {
		t.Errorf("container_cpu_usage_seconds_total is a %v, want COUNTER", m.MetricType)
	}
	if m := values["burn//container_memory_working_set_bytes"]; m != nil && m.MetricType != criapi.MetricType_GAUGE {
		t.Errorf("container_memory_working_set_bytes is a %v, want GAUGE", m.MetricType)
	}

	// The stream answers with the list's collection (retry across a
	// refresh between the two calls).
	for i := 0; ; i++ {
		list, err := rt().ListPodSandboxMetrics(ctx, &criapi.ListPodSandboxMetricsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		st, err := rt().StreamPodSandboxMetrics(ctx, &criapi.StreamPodSandboxMetricsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		got := drain(t, "StreamPodSandboxMetrics", st.Recv, (*criapi.StreamPodSandboxMetricsResponse).GetPodSandboxMetrics)
		same := len(got) == len(list.PodMetrics)
		for j := 0; same && j < len(got); j++ {
			same = proto.Equal(got[j], list.PodMetrics[j])
		}
		if same {
			break
		}
		if i == 5 {
			t.Fatalf("StreamPodSandboxMetrics never matched ListPodSandboxMetrics")
		}
		time.Sleep(200 * time.Millisecond)
	}
}
