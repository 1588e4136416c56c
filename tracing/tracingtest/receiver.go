// Package tracingtest is an in-process OTLP gRPC trace receiver for tests:
// it implements the collector's TraceService and keeps every span it is
// sent, so a test can check the span tree podshim exports.
package tracingtest

import (
	"context"
	"encoding/hex"
	"net"
	"sync"
	"testing"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
)

// Receiver is a running OTLP gRPC trace receiver.
type Receiver struct {
	collectortrace.UnimplementedTraceServiceServer
	// Addr is its loopback host:port.
	Addr string

	mu    sync.Mutex
	spans []*tracepb.Span
}

// Start starts a receiver on a free loopback port; it stops when t ends.
func Start(t testing.TB) *Receiver {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &Receiver{Addr: l.Addr().String()}
	srv := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(srv, r)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	return r
}

// Export keeps the spans of a request.
func (r *Receiver) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			r.spans = append(r.spans, ss.GetSpans()...)
		}
	}
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

// Spans returns the spans received so far.
func (r *Receiver) Spans() []*tracepb.Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*tracepb.Span(nil), r.spans...)
}

// Trace returns the spans received so far of the trace with that ID (hex).
func (r *Receiver) Trace(traceID string) []*tracepb.Span {
	var out []*tracepb.Span
	for _, s := range r.Spans() {
		if hex.EncodeToString(s.GetTraceId()) == traceID {
			out = append(out, s)
		}
	}
	return out
}

// Tree indexes spans by span ID, to walk from a span up to its ancestors.
type Tree map[string]*tracepb.Span

// NewTree indexes spans.
func NewTree(spans []*tracepb.Span) Tree {
	t := Tree{}
	for _, s := range spans {
		t[hex.EncodeToString(s.GetSpanId())] = s
	}
	return t
}

// Named returns the spans called name.
func (t Tree) Named(name string) []*tracepb.Span {
	var out []*tracepb.Span
	for _, s := range t {
		if s.GetName() == name {
			out = append(out, s)
		}
	}
	return out
}

// DescendsFrom reports whether s is a (transitive) child of ancestor.
func (t Tree) DescendsFrom(s, ancestor *tracepb.Span) bool {
	want := hex.EncodeToString(ancestor.GetSpanId())
	for seen := 0; s != nil && seen < len(t)+1; seen++ {
		parent := hex.EncodeToString(s.GetParentSpanId())
		if parent == want {
			return true
		}
		s = t[parent]
	}
	return false
}
