// Package tracing is podshim's OpenTelemetry tracing, behind a few span
// helpers so that callers never touch the SDK: one span per CRI call
// (StartRequest, from the server's interceptor), joining the trace context
// kubelet sends in the gRPC metadata (W3C traceparent); child spans for
// podshim's own steps (Start: CNI ADD and DEL, image pulls) and for
// containerd calls (ContainerdDialOptions: otelgrpc on the containerd
// client). Spans go to an OTLP gRPC collector in batches.
//
// There is no global state: the tracer provider lives in a *Tracing the
// daemon owns, and Start finds it through the span in the context, so a
// request that is not traced (tracing off, or not sampled) costs a context
// lookup and nothing else.
package tracing

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	noopmetric "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// InstrumentationName names podshim's tracer.
const InstrumentationName = "github.com/podshim/podshim"

// Options configure tracing.
type Options struct {
	// Endpoint is the OTLP gRPC collector: "host:port" (TLS, as OTel's
	// default), "https://host:port" (TLS) or "http://host:port"
	// (plaintext). Empty: tracing is off.
	Endpoint string
	// SamplingRatio is the share of traces podshim starts that are
	// recorded, 0 to 1. A request carrying a parent trace context follows
	// the parent's sampling decision instead.
	SamplingRatio float64
	// ServiceName is the resource's service.name ("podshimd" when empty).
	ServiceName string
	// BatchTimeout is how long spans may wait before they are sent (5 s
	// when zero).
	BatchTimeout time.Duration
}

// Tracing is a daemon's tracer provider and propagator.
type Tracing struct {
	tp     *sdktrace.TracerProvider
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
}

// New sets up tracing to o.Endpoint; it returns nil (tracing off) when the
// endpoint is empty. The exporter connects lazily: a collector that is
// down loses spans, never requests. Call Shutdown to flush.
func New(ctx context.Context, o Options) (*Tracing, error) {
	if o.Endpoint == "" {
		return nil, nil
	}
	if o.SamplingRatio < 0 || o.SamplingRatio > 1 {
		return nil, fmt.Errorf("tracing sampling ratio %v: want 0 to 1", o.SamplingRatio)
	}
	if o.ServiceName == "" {
		o.ServiceName = "podshimd"
	}
	if o.BatchTimeout == 0 {
		o.BatchTimeout = 5 * time.Second
	}
	endpoint := otlptracegrpc.WithEndpoint(o.Endpoint)
	if strings.Contains(o.Endpoint, "://") {
		if !strings.HasPrefix(o.Endpoint, "http://") && !strings.HasPrefix(o.Endpoint, "https://") {
			return nil, fmt.Errorf("OTLP endpoint %q: want host:port, http://host:port or https://host:port", o.Endpoint)
		}
		endpoint = otlptracegrpc.WithEndpointURL(o.Endpoint)
	}
	exp, err := otlptracegrpc.New(ctx, endpoint)
	if err != nil {
		return nil, fmt.Errorf("OTLP exporter for %s: %w", o.Endpoint, err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(o.BatchTimeout)),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(o.SamplingRatio))),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", o.ServiceName))),
	)
	return &Tracing{
		tp:     tp,
		tracer: tp.Tracer(InstrumentationName),
		prop:   propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
	}, nil
}

// Shutdown sends the spans still buffered and stops the exporter. It does
// nothing on a nil *Tracing.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.tp.Shutdown(ctx)
}

// ContainerdDialOptions are the gRPC dial options that make every call on
// the containerd client a child span of the span in its context, and pass
// the trace context on to containerd. None when t is nil.
func (t *Tracing) ContainerdDialOptions() []grpc.DialOption {
	if t == nil {
		return nil
	}
	return []grpc.DialOption{grpc.WithStatsHandler(otelgrpc.NewClientHandler(
		otelgrpc.WithTracerProvider(t.tp),
		otelgrpc.WithPropagators(t.prop),
		otelgrpc.WithMeterProvider(noopmetric.NewMeterProvider()),
	))}
}

// StartRequest starts the server span of a CRI call (fullMethod is gRPC's
// "/runtime.v1.RuntimeService/RunPodSandbox"), as a child of the trace
// context in the request's metadata when there is one. With onlyIfParent,
// a call without a remote parent is not traced (kubelet's polls). The
// returned end must be called with the call's error. On a nil *Tracing it
// returns ctx and a no-op.
func (t *Tracing) StartRequest(ctx context.Context, fullMethod string, onlyIfParent bool) (context.Context, func(error)) {
	if t == nil {
		return ctx, noEnd
	}
	md, _ := metadata.FromIncomingContext(ctx)
	if onlyIfParent && len(md.Get("traceparent")) == 0 {
		return ctx, noEnd
	}
	ctx = t.prop.Extract(ctx, mdCarrier(md))
	service, method := splitMethod(fullMethod)
	ctx, span := t.tracer.Start(ctx, strings.TrimPrefix(fullMethod, "/"),
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(
			attribute.String("rpc.system", "grpc"),
			attribute.String("rpc.service", service),
			attribute.String("rpc.method", method),
		))
	return ctx, func(err error) {
		span.SetAttributes(attribute.Int("rpc.grpc.status_code", int(status.Code(err))))
		endSpan(span, err)
	}
}

// Start starts a child span of the span in ctx, named name (an operation
// of podshim's: "cni.add", "image.pull"). Without a recording span in ctx
// it does nothing and returns ctx. The returned end must be called with the
// operation's error.
func Start(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, func(error)) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, noEnd
	}
	ctx, span := parent.TracerProvider().Tracer(InstrumentationName).Start(ctx, name, trace.WithAttributes(attrs...))
	return ctx, func(err error) { endSpan(span, err) }
}

func endSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(otelcodes.Error, err.Error())
	}
	span.End()
}

func noEnd(error) {}

// splitMethod splits "/pkg.Service/Method" into "pkg.Service" and "Method".
func splitMethod(full string) (service, method string) {
	full = strings.TrimPrefix(full, "/")
	if i := strings.LastIndexByte(full, '/'); i >= 0 {
		return full[:i], full[i+1:]
	}
	return "", full
}

// mdCarrier reads the W3C headers from gRPC metadata.
type mdCarrier metadata.MD

func (c mdCarrier) Get(key string) string {
	if v := metadata.MD(c).Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

func (c mdCarrier) Set(key, value string) { metadata.MD(c).Set(key, value) }

func (c mdCarrier) Keys() []string {
	out := make([]string, 0, len(c))
	for k := range c {
		out = append(out, k)
	}
	return out
}
