package metrics

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc/codes"
)

type fakeStates map[string]int

func (f fakeStates) CountByState() map[string]int { return f }

func TestRecordersAndScrape(t *testing.T) {
	m := New()
	m.WatchStates(fakeStates{"SANDBOX_READY": 2, "SANDBOX_NOTREADY": 0}, fakeStates{"CONTAINER_RUNNING": 3})
	for i := 0; i < 3; i++ {
		m.RequestStarted("ListContainers")
		m.RequestDone("ListContainers", codes.OK, time.Millisecond)
	}
	m.RequestStarted("ContainerStatus")
	m.RequestDone("ContainerStatus", codes.NotFound, time.Millisecond)
	m.RequestStarted("Made/Up")
	m.RequestDone("Made/Up", codes.Internal, time.Millisecond)
	m.RequestStarted("RunPodSandbox") // still in flight
	m.ObservePhase("cni_add", 30*time.Millisecond)
	m.PullDone(1000, time.Second)
	m.PullFailed("not_found")
	m.CNIDone(CNIAdd, nil)
	m.CNIDone(CNIDel, errors.New("boom"))
	m.LogWritten(10)
	m.LogDropped(4)
	m.Recovered(1, 2, 3*time.Second)

	want := `
# HELP podshim_cri_requests_in_flight CRI requests being served.
# TYPE podshim_cri_requests_in_flight gauge
podshim_cri_requests_in_flight 1
# HELP podshim_sandboxes Pod sandboxes by CRI state.
# TYPE podshim_sandboxes gauge
podshim_sandboxes{state="SANDBOX_NOTREADY"} 0
podshim_sandboxes{state="SANDBOX_READY"} 2
# HELP podshim_containers Containers by CRI state.
# TYPE podshim_containers gauge
podshim_containers{state="CONTAINER_RUNNING"} 3
# HELP podshim_image_pulls_total Images pulled successfully.
# TYPE podshim_image_pulls_total counter
podshim_image_pulls_total 1
# HELP podshim_image_pull_bytes_total Size (manifest, config and compressed layers) of the images pulled successfully.
# TYPE podshim_image_pull_bytes_total counter
podshim_image_pull_bytes_total 1000
# HELP podshim_cni_errors_total Failed CNI ADD and DEL operations by op (add, del).
# TYPE podshim_cni_errors_total counter
podshim_cni_errors_total{op="add"} 0
podshim_cni_errors_total{op="del"} 1
# HELP podshim_container_log_bytes_dropped_total Bytes of container output that could not be written to its log file (closed or failing file).
# TYPE podshim_container_log_bytes_dropped_total counter
podshim_container_log_bytes_dropped_total 4
# HELP podshim_recovered_containers Containers recovered at start-up.
# TYPE podshim_recovered_containers gauge
podshim_recovered_containers 2
`
	names := []string{"podshim_cri_requests_in_flight", "podshim_sandboxes", "podshim_containers", "podshim_image_pulls_total",
		"podshim_image_pull_bytes_total", "podshim_cni_errors_total", "podshim_container_log_bytes_dropped_total", "podshim_recovered_containers"}
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	for _, tc := range []struct {
		method, code string
		want         float64
	}{{"ListContainers", "OK", 3}, {"ContainerStatus", "NotFound", 1}, {"Made/Up", "Internal", 1}} {
		if n := requestCount(t, m, tc.method, tc.code); n != tc.want {
			t.Errorf("%s %s: count %v, want %v", tc.method, tc.code, n, tc.want)
		}
	}
	// Every family registered is one of the descriptors or a Go/process
	// collector's, and Names knows them all.
	known := map[string]bool{}
	for _, n := range Names() {
		known[n] = true
	}
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if !known[f.GetName()] && !known[f.GetName()+"_count"] {
			t.Errorf("%s is served but not in Names()", f.GetName())
		}
	}
}

// requestCount is the number of observations of one request series.
func requestCount(t *testing.T, m *Metrics, method, code string) float64 {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != RequestDuration.Name {
			continue
		}
		for _, mt := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range mt.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["method"] == method && labels["code"] == code {
				return float64(mt.GetHistogram().GetSampleCount())
			}
		}
	}
	return 0
}

func TestRequestObserverIsCached(t *testing.T) {
	m := New()
	a := m.requestObserver("ListPodSandbox", codes.OK)
	b := m.requestObserver("ListPodSandbox", codes.OK)
	if a != b {
		t.Error("the series of a known method is looked up again")
	}
	if n := testing.AllocsPerRun(100, func() {
		m.RequestStarted("ListPodSandbox")
		m.RequestDone("ListPodSandbox", codes.OK, time.Microsecond)
	}); n != 0 {
		t.Errorf("a poll request's metrics allocate %v times", n)
	}
}
