package metrics

import "github.com/prometheus/client_golang/prometheus"

// Type is a metric's kind.
type Type string

// The kinds of podshim's metrics.
const (
	Counter   Type = "counter"
	Gauge     Type = "gauge"
	Histogram Type = "histogram"
)

// Descriptor describes one of podshim's metrics; the collectors are built
// from these, and the README and the dashboard test read them.
type Descriptor struct {
	Name    string
	Help    string
	Type    Type
	Labels  []string
	Buckets []float64 // histograms only
}

// Label values of the CNI metrics.
const (
	CNIAdd = "add"
	CNIDel = "del"
)

// Request and phase buckets: a poll answered from memory takes tens of
// microseconds, a pod start a few hundred milliseconds, a stop up to its
// grace period.
var (
	requestBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
	phaseBuckets   = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
	pullBuckets    = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}
)

// podshim's metrics.
var (
	RequestDuration = Descriptor{Name: "podshim_cri_request_duration_seconds", Type: Histogram,
		Help:   "Duration of CRI requests by method and gRPC status code.",
		Labels: []string{"method", "code"}, Buckets: requestBuckets}
	RequestsInFlight = Descriptor{Name: "podshim_cri_requests_in_flight", Type: Gauge,
		Help: "CRI requests being served."}
	PodStartPhaseDuration = Descriptor{Name: "podshim_pod_start_phase_duration_seconds", Type: Histogram,
		Help:   "Duration of the steps of starting a pod: sandbox_image, netns, cni_add, pause_create, pause_start, container_create, container_start.",
		Labels: []string{"phase"}, Buckets: phaseBuckets}
	Sandboxes = Descriptor{Name: "podshim_sandboxes", Type: Gauge,
		Help: "Pod sandboxes by CRI state.", Labels: []string{"state"}}
	Containers = Descriptor{Name: "podshim_containers", Type: Gauge,
		Help: "Containers by CRI state.", Labels: []string{"state"}}
	ImagePulls = Descriptor{Name: "podshim_image_pulls_total", Type: Counter,
		Help: "Images pulled successfully."}
	ImagePullBytes = Descriptor{Name: "podshim_image_pull_bytes_total", Type: Counter,
		Help: "Size (manifest, config and compressed layers) of the images pulled successfully."}
	ImagePullDuration = Descriptor{Name: "podshim_image_pull_duration_seconds", Type: Histogram,
		Help: "Duration of successful image pulls.", Buckets: pullBuckets}
	ImagePullFailures = Descriptor{Name: "podshim_image_pull_failures_total", Type: Counter,
		Help: "Failed image pulls by reason (not_found, unauthorized, invalid_reference, canceled, timeout, other).", Labels: []string{"reason"}}
	CNIOperations = Descriptor{Name: "podshim_cni_operations_total", Type: Counter,
		Help: "CNI ADD and DEL operations by op (add, del).", Labels: []string{"op"}}
	CNIErrors = Descriptor{Name: "podshim_cni_errors_total", Type: Counter,
		Help: "Failed CNI ADD and DEL operations by op (add, del).", Labels: []string{"op"}}
	LogBytesWritten = Descriptor{Name: "podshim_container_log_bytes_written_total", Type: Counter,
		Help: "Bytes of CRI log records written to container log files."}
	LogBytesDropped = Descriptor{Name: "podshim_container_log_bytes_dropped_total", Type: Counter,
		Help: "Bytes of container output that could not be written to its log file (closed or failing file)."}
	RecoveredSandboxes = Descriptor{Name: "podshim_recovered_sandboxes", Type: Gauge,
		Help: "Pod sandboxes recovered at start-up."}
	RecoveredContainers = Descriptor{Name: "podshim_recovered_containers", Type: Gauge,
		Help: "Containers recovered at start-up."}
	RecoveryDuration = Descriptor{Name: "podshim_recovery_duration_seconds", Type: Gauge,
		Help: "How long the state recovery at start-up took."}
)

// Descriptors lists all of podshim's own metrics.
var Descriptors = []Descriptor{
	RequestDuration, RequestsInFlight, PodStartPhaseDuration, Sandboxes, Containers,
	ImagePulls, ImagePullBytes, ImagePullDuration, ImagePullFailures,
	CNIOperations, CNIErrors, LogBytesWritten, LogBytesDropped,
	RecoveredSandboxes, RecoveredContainers, RecoveryDuration,
}

func counter(reg prometheus.Registerer, d Descriptor) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: d.Name, Help: d.Help})
	reg.MustRegister(c)
	return c
}

func counterVec(reg prometheus.Registerer, d Descriptor) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: d.Name, Help: d.Help}, d.Labels)
	reg.MustRegister(c)
	return c
}

func gauge(reg prometheus.Registerer, d Descriptor) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: d.Name, Help: d.Help})
	reg.MustRegister(g)
	return g
}

func histogram(reg prometheus.Registerer, d Descriptor) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: d.Name, Help: d.Help, Buckets: d.Buckets})
	reg.MustRegister(h)
	return h
}

func histogramVec(reg prometheus.Registerer, d Descriptor) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: d.Name, Help: d.Help, Buckets: d.Buckets}, d.Labels)
	reg.MustRegister(h)
	return h
}
