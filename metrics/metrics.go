// Package metrics is podshim's Prometheus instrumentation: one registry per
// daemon (never the global default one) with the CRI request metrics, the
// phases of a pod start, image pulls, CNI operations, container log
// throughput, start-up recovery, the sandboxes and containers by state
// (read from the in-memory stores at scrape time) and the Go and process
// collectors.
//
// The domain packages do not import this package: each takes a small
// recorder interface in its Options (sandbox.PhaseRecorder,
// image.PullRecorder, network.Recorder, logs.Counter,
// server.RequestRecorder), which *Metrics implements. Every recording
// method is lock-free (atomic adds); the CRI request path resolves its
// label values without a map lock (see requests.go).
package metrics

import (
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds a daemon's registry and its metrics. Its methods are safe
// for concurrent use; a nil *Metrics is not (callers hold an interface that
// is nil when metrics are off).
type Metrics struct {
	reg *prometheus.Registry

	requestDuration  *prometheus.HistogramVec // method, code
	requestsInFlight prometheus.Gauge
	methods          map[string]*methodObservers // read-only after New

	phaseDuration *prometheus.HistogramVec // phase

	pulls            prometheus.Counter
	pullBytes        prometheus.Counter
	pullDuration     prometheus.Histogram
	pullFailures     *prometheus.CounterVec // reason
	cniOps           *prometheus.CounterVec // op
	cniErrors        *prometheus.CounterVec // op
	logBytesWritten  prometheus.Counter
	logBytesDropped  prometheus.Counter
	recoveredPods    prometheus.Gauge
	recoveredCtrs    prometheus.Gauge
	recoveryDuration prometheus.Gauge
}

// New returns the metrics of one daemon on a registry of their own, with
// the Go and process collectors. Register the state sources with
// WatchStates once the stores exist.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m.requestDuration = histogramVec(m.reg, RequestDuration)
	m.requestsInFlight = gauge(m.reg, RequestsInFlight)
	m.methods = newMethodObservers()
	m.phaseDuration = histogramVec(m.reg, PodStartPhaseDuration)
	m.pulls = counter(m.reg, ImagePulls)
	m.pullBytes = counter(m.reg, ImagePullBytes)
	m.pullDuration = histogram(m.reg, ImagePullDuration)
	m.pullFailures = counterVec(m.reg, ImagePullFailures)
	m.cniOps = counterVec(m.reg, CNIOperations)
	m.cniErrors = counterVec(m.reg, CNIErrors)
	m.logBytesWritten = counter(m.reg, LogBytesWritten)
	m.logBytesDropped = counter(m.reg, LogBytesDropped)
	m.recoveredPods = gauge(m.reg, RecoveredSandboxes)
	m.recoveredCtrs = gauge(m.reg, RecoveredContainers)
	m.recoveryDuration = gauge(m.reg, RecoveryDuration)
	// Both CNI operations show up from the first scrape, at 0.
	for _, op := range []string{CNIAdd, CNIDel} {
		m.cniOps.WithLabelValues(op)
		m.cniErrors.WithLabelValues(op)
	}
	return m
}

// Registry is the daemon's registry (for tests and extra collectors).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, ErrorHandling: promhttp.ContinueOnError})
}

// Names lists every metric family name a podshimd serves: podshim's own
// (histograms with their _bucket, _sum and _count series) and those of the
// Go and process collectors. The dashboard test checks its queries
// against it.
func Names() []string {
	var out []string
	for _, d := range Descriptors {
		if d.Type == Histogram {
			out = append(out, d.Name+"_bucket", d.Name+"_sum", d.Name+"_count")
			continue
		}
		out = append(out, d.Name)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	families, _ := reg.Gather()
	for _, f := range families {
		name := f.GetName()
		out = append(out, name)
		if strings.HasSuffix(name, "_seconds") && f.GetType().String() == "SUMMARY" {
			out = append(out, name+"_sum", name+"_count")
		}
	}
	return out
}
