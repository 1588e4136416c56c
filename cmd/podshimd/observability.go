package main

import (
	"context"
	"net/http"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/pkg/dialer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/podshim/podshim/cri/logs"
	"github.com/podshim/podshim/image"
	"github.com/podshim/podshim/metrics"
	"github.com/podshim/podshim/network"
	"github.com/podshim/podshim/sandbox"
	"github.com/podshim/podshim/server"
	"github.com/podshim/podshim/tracing"
)

// observability is what the daemon hands its services to be measured: the
// recorders are nil interfaces (never typed nils) when metrics are off.
type observability struct {
	metrics *metrics.Metrics // nil: off
	server  *localServer
	tracing *tracing.Tracing // nil: off

	phases   sandbox.PhaseRecorder
	pulls    image.PullRecorder
	cni      network.Recorder
	logs     logs.Counter
	requests server.RequestRecorder
}

// startObservability sets up tracing to cfg.OTLPEndpoint and makes the
// daemon's metrics and serves them on cfg.MetricsAddress; with neither it
// returns recorders that are all nil. The caller must Stop it.
func startObservability(ctx context.Context, cfg Config) (*observability, error) {
	o := &observability{}
	tr, err := tracing.New(ctx, tracing.Options{Endpoint: cfg.OTLPEndpoint, SamplingRatio: cfg.TracingSamplingRatio})
	if err != nil {
		return nil, err
	}
	o.tracing = tr
	if cfg.MetricsAddress == "" {
		return o, nil
	}
	m := metrics.New()
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	srv, err := startLocalServer(ctx, "metrics", cfg.MetricsAddress, mux)
	if err != nil {
		o.Stop()
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

// containerdOptions are the containerd client options tracing needs:
// containerd's own default dial options plus otelgrpc's stats handler
// (containerd.WithDialOpts replaces the defaults). None when tracing is off.
func (o *observability) containerdOptions() []containerd.ClientOpt {
	extra := o.tracing.ContainerdDialOptions()
	if len(extra) == 0 {
		return nil
	}
	backoffConfig := backoff.DefaultConfig
	backoffConfig.MaxDelay = 3 * time.Second
	opts := []grpc.DialOption{
		grpc.WithBlock(), //nolint:staticcheck // containerd's own default
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.FailOnNonTempDialError(true), //nolint:staticcheck // containerd's own default
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoffConfig}),
		grpc.WithContextDialer(dialer.ContextDialer),
		grpc.WithReturnConnectionError(), //nolint:staticcheck // containerd's own default
	}
	return []containerd.ClientOpt{containerd.WithDialOpts(append(opts, extra...))}
}

// Stop stops the metrics server and sends the spans still buffered.
func (o *observability) Stop() {
	o.server.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = o.tracing.Shutdown(ctx)
}

// total adds up counts by state.
func total(byState map[string]int) int {
	n := 0
	for _, c := range byState {
		n += c
	}
	return n
}
