package main

import (
	"context"
	"net/http"
	"time"

	"github.com/podshim/podshim/cri/logs"
	"github.com/podshim/podshim/image"
	"github.com/podshim/podshim/metrics"
	"github.com/podshim/podshim/network"
	"github.com/podshim/podshim/sandbox"
	"github.com/podshim/podshim/server"
)

// observability is what the daemon hands its services to be measured: the
// recorders are nil interfaces (never typed nils) when metrics are off.
type observability struct {
	metrics *metrics.Metrics // nil: off
	server  *localServer

	phases   sandbox.PhaseRecorder
	pulls    image.PullRecorder
	cni      network.Recorder
	logs     logs.Counter
	requests server.RequestRecorder
}

// startObservability makes the daemon's metrics and serves them on
// cfg.MetricsAddress; with no address it returns recorders that are all
// nil. The caller must Stop it.
func startObservability(ctx context.Context, cfg Config) (*observability, error) {
	o := &observability{}
	if cfg.MetricsAddress == "" {
		return o, nil
	}
	m := metrics.New()
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	srv, err := startLocalServer(ctx, "metrics", cfg.MetricsAddress, mux)
	if err != nil {
		return nil, err
	}
	o.metrics, o.server = m, srv
	o.phases, o.pulls, o.cni, o.logs, o.requests = m, m, m, m, m
	return o, nil
}

// watch makes the metrics read the sandboxes and containers by state.
func (o *observability) watch(sandboxes, containers metrics.StateCounter) {
	if o.metrics != nil {
		o.metrics.WatchStates(sandboxes, containers)
	}
}

// recovered records the start-up recovery.
func (o *observability) recovered(sandboxes, containers int, d time.Duration) {
	if o.metrics != nil {
		o.metrics.Recovered(sandboxes, containers, d)
	}
}

// Stop stops the metrics server.
func (o *observability) Stop() {
	o.server.Stop()
}

// total adds up counts by state.
func total(byState map[string]int) int {
	n := 0
	for _, c := range byState {
		n += c
	}
	return n
}
