package integration

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/grpc/codes"
	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/metrics"
)

// families are the metric families of one scrape, by name.
type families map[string]*dto.MetricFamily

// scrape fetches /metrics over the unix socket and parses it with the
// Prometheus text parser.
func scrape(t *testing.T, sock string) families {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	resp, err := client.Get("http://podshim/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// find returns the series of family name whose labels include want, or nil.
func (f families) find(name string, want map[string]string) *dto.Metric {
	fam := f[name]
	if fam == nil {
		return nil
	}
next:
	for _, m := range fam.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		return m
	}
	return nil
}

// value is a counter's or gauge's value (-1 when the series is absent).
func (f families) value(name string, labels map[string]string) float64 {
	m := f.find(name, labels)
	switch {
	case m == nil:
		return -1
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return -1
}

// count is a histogram series' number of observations (-1 when absent).
func (f families) count(name string, labels map[string]string) int {
	m := f.find(name, labels)
	if m == nil || m.Histogram == nil {
		return -1
	}
	return int(m.Histogram.GetSampleCount())
}

// TestMetricsEndpoint runs a pod with a container on a podshimd of its own
// with --metrics-address, and checks what /metrics says about it.
func TestMetricsEndpoint(t *testing.T) {
	sock := filepath.Join(env.dir, "own-metrics", "metrics.sock")
	p := startOwnPodshimd(t, "metrics", "--metrics-address", "unix://"+sock)
	ctx, cancel := callCtx()
	defer cancel()

	before := scrape(t, sock)
	if v := before.value(metrics.RecoveredSandboxes.Name, nil); v != 0 {
		t.Errorf("recovered sandboxes on a fresh daemon = %v, want 0", v)
	}
	if before.value(metrics.RecoveryDuration.Name, nil) <= 0 {
		t.Errorf("recovery duration not recorded")
	}

	// This daemon's namespace has no busybox yet: it pulls it.
	pulled, err := p.Image.PullImage(ctx, &criapi.PullImageRequest{Image: &criapi.ImageSpec{Image: busyboxImage}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := p.Image.ImageStatus(ctx, &criapi.ImageStatusRequest{Image: &criapi.ImageSpec{Image: pulled.ImageRef}})
	if err != nil || st.Image == nil {
		t.Fatalf("ImageStatus: %v %v", st, err)
	}
	if _, err := p.Image.PullImage(ctx, &criapi.PullImageRequest{Image: &criapi.ImageSpec{Image: "docker.io/library/podshim-absent:1"}}); grpcCode(err) != codes.NotFound {
		t.Fatalf("pulling an absent image: %v, want NotFound", err)
	}
	if _, err := p.Runtime.ContainerStatus(ctx, &criapi.ContainerStatusRequest{ContainerId: "absent"}); grpcCode(err) != codes.NotFound {
		t.Fatalf("ContainerStatus of an unknown ID: %v, want NotFound", err)
	}

	pod := podConfig(t)
	run, err := p.Runtime.RunPodSandbox(ctx, &criapi.RunPodSandboxRequest{Config: pod})
	if err != nil {
		t.Fatal(err)
	}
	cfg := containerConfig(pod, "talker", "sh", "-c", "echo hello from the metrics test; exec sleep 3600")
	created, err := p.Runtime.CreateContainer(ctx, &criapi.CreateContainerRequest{PodSandboxId: run.PodSandboxId, Config: cfg, SandboxConfig: pod})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Runtime.StartContainer(ctx, &criapi.StartContainerRequest{ContainerId: created.ContainerId}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := p.Runtime.ListContainers(ctx, &criapi.ListContainersRequest{}); err != nil {
			t.Fatal(err)
		}
	}

	var after families
	waitFor(t, 10*time.Second, "the container's log line counted", func() (bool, string) {
		after = scrape(t, sock)
		v := after.value(metrics.LogBytesWritten.Name, nil)
		return v >= float64(len("hello from the metrics test")), fmt.Sprint("log bytes written ", v)
	})

	// Each phase of the pod's start once: the pause image is podshim's own
	// (imported at start-up), so sandbox_image is a lookup, still a phase.
	for _, phase := range []string{"sandbox_image", "netns", "cni_add", "pause_create", "pause_start", "container_create", "container_start"} {
		if n := after.count(metrics.PodStartPhaseDuration.Name, map[string]string{"phase": phase}); n != 1 {
			t.Errorf("phase %s observed %d times, want 1", phase, n)
		}
	}
	for _, tc := range []struct {
		method, code string
		want         int
	}{
		{"RunPodSandbox", "OK", 1},
		{"CreateContainer", "OK", 1},
		{"StartContainer", "OK", 1},
		{"PullImage", "OK", 1},
		{"PullImage", "NotFound", 1},
		{"ContainerStatus", "NotFound", 1},
		{"ListContainers", "OK", 3},
		{"ImageStatus", "OK", 1},
	} {
		if n := after.count(metrics.RequestDuration.Name, map[string]string{"method": tc.method, "code": tc.code}); n != tc.want {
			t.Errorf("%s %s: %d requests, want %d", tc.method, tc.code, n, tc.want)
		}
	}
	// Version calls of the start-up wait went through too.
	if n := after.count(metrics.RequestDuration.Name, map[string]string{"method": "Version", "code": "OK"}); n < 1 {
		t.Errorf("Version OK: %d requests", n)
	}
	if v := after.value(metrics.RequestsInFlight.Name, nil); v != 0 {
		t.Errorf("requests in flight between requests = %v", v)
	}
	for _, tc := range []struct {
		name, state string
		want        float64
	}{
		{metrics.Sandboxes.Name, "SANDBOX_READY", 1},
		{metrics.Sandboxes.Name, "SANDBOX_NOTREADY", 0},
		{metrics.Containers.Name, "CONTAINER_RUNNING", 1},
		{metrics.Containers.Name, "CONTAINER_CREATED", 0},
		{metrics.Containers.Name, "CONTAINER_EXITED", 0},
	} {
		if v := after.value(tc.name, map[string]string{"state": tc.state}); v != tc.want {
			t.Errorf("%s{state=%q} = %v, want %v", tc.name, tc.state, v, tc.want)
		}
	}
	if v := after.value(metrics.ImagePulls.Name, nil); v != 1 {
		t.Errorf("pulls = %v, want 1", v)
	}
	if v := after.value(metrics.ImagePullBytes.Name, nil); v != float64(st.Image.GetSize()) || v <= 0 {
		t.Errorf("pull bytes = %v, want the image's size %d", v, st.Image.GetSize())
	}
	if n := after.count(metrics.ImagePullDuration.Name, nil); n != 1 {
		t.Errorf("pull durations: %d, want 1", n)
	}
	if v := after.value(metrics.ImagePullFailures.Name, map[string]string{"reason": "not_found"}); v != 1 {
		t.Errorf("pull failures not_found = %v, want 1", v)
	}
	if v := after.value(metrics.CNIOperations.Name, map[string]string{"op": "add"}); v != 1 {
		t.Errorf("CNI ADDs = %v, want 1", v)
	}
	if v := after.value(metrics.CNIErrors.Name, map[string]string{"op": "add"}); v != 0 {
		t.Errorf("CNI ADD errors = %v, want 0", v)
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if after.value(name, nil) <= 0 {
			t.Errorf("%s missing", name)
		}
	}

	// Stopping the pod: its states change, CNI DEL is counted.
	if _, err := p.Runtime.StopPodSandbox(ctx, &criapi.StopPodSandboxRequest{PodSandboxId: run.PodSandboxId}); err != nil {
		t.Fatal(err)
	}
	stopped := scrape(t, sock)
	if v := stopped.value(metrics.Sandboxes.Name, map[string]string{"state": "SANDBOX_NOTREADY"}); v != 1 {
		t.Errorf("NOTREADY sandboxes after stop = %v, want 1", v)
	}
	if v := stopped.value(metrics.Containers.Name, map[string]string{"state": "CONTAINER_EXITED"}); v != 1 {
		t.Errorf("EXITED containers after stop = %v, want 1", v)
	}
	if v := stopped.value(metrics.CNIOperations.Name, map[string]string{"op": "del"}); v < 1 {
		t.Errorf("CNI DELs after stop = %v, want at least 1", v)
	}
	if !strings.Contains(p.LogTail(100000), "metrics server listening") {
		t.Error("the daemon did not log its metrics server")
	}
}
