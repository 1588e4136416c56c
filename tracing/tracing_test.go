package tracing

import (
	"context"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc/metadata"

	"github.com/podshim/podshim/tracing/tracingtest"
)

const (
	parentTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	parentSpan  = "00f067aa0ba902b7"
)

func incoming(traceparent string) context.Context {
	md := metadata.MD{}
	if traceparent != "" {
		md.Set("traceparent", traceparent)
	}
	return metadata.NewIncomingContext(context.Background(), md)
}

func TestRequestSpansJoinTheCallersTrace(t *testing.T) {
	recv := tracingtest.Start(t)
	// Ratio 0: only calls with a sampled parent are recorded.
	tr, err := New(context.Background(), Options{Endpoint: "http://" + recv.Addr, SamplingRatio: 0, BatchTimeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, end := tr.StartRequest(incoming("00-"+parentTrace+"-"+parentSpan+"-01"), "/runtime.v1.RuntimeService/RunPodSandbox", false)
	cctx, endChild := Start(ctx, "cni.add")
	_, endGrandChild := Start(cctx, "inner")
	endGrandChild(nil)
	endChild(errors.New("plugin failed"))
	end(nil)
	// Not recorded: no parent at ratio 0; a poll without a parent.
	_, end = tr.StartRequest(incoming(""), "/runtime.v1.RuntimeService/RunPodSandbox", false)
	end(nil)
	pctx, end := tr.StartRequest(incoming(""), "/runtime.v1.RuntimeService/ListContainers", true)
	if _, endChild := Start(pctx, "child of nothing"); endChild == nil {
		t.Fatal("nil end")
	}
	end(nil)
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	spans := recv.Spans()
	if len(spans) != 3 {
		t.Fatalf("%d spans exported, want 3: %v", len(spans), names(spans))
	}
	tree := tracingtest.NewTree(spans)
	root := one(t, tree, "runtime.v1.RuntimeService/RunPodSandbox")
	if hex.EncodeToString(root.GetTraceId()) != parentTrace || hex.EncodeToString(root.GetParentSpanId()) != parentSpan {
		t.Errorf("root span: trace %x parent %x; want the caller's %s / %s", root.GetTraceId(), root.GetParentSpanId(), parentTrace, parentSpan)
	}
	if root.GetKind() != tracepb.Span_SPAN_KIND_SERVER {
		t.Errorf("root span kind %v", root.GetKind())
	}
	cni := one(t, tree, "cni.add")
	inner := one(t, tree, "inner")
	if !tree.DescendsFrom(cni, root) || !tree.DescendsFrom(inner, root) || !tree.DescendsFrom(inner, cni) {
		t.Error("child spans are not below the request span")
	}
	if cni.GetStatus().GetCode() != tracepb.Status_STATUS_CODE_ERROR || cni.GetStatus().GetMessage() != "plugin failed" {
		t.Errorf("failed child's status: %v", cni.GetStatus())
	}
}

func TestOff(t *testing.T) {
	tr, err := New(context.Background(), Options{})
	if tr != nil || err != nil {
		t.Fatalf("no endpoint: %v, %v", tr, err)
	}
	ctx := incoming("00-" + parentTrace + "-" + parentSpan + "-01")
	got, end := tr.StartRequest(ctx, "/runtime.v1.RuntimeService/Version", false)
	end(nil)
	if got != ctx || tr.ContainerdDialOptions() != nil || tr.Shutdown(ctx) != nil {
		t.Error("a nil Tracing did something")
	}
	if got, _ := Start(ctx, "x"); got != ctx {
		t.Error("Start without a recording span changed the context")
	}
	for _, o := range []Options{{Endpoint: "127.0.0.1:4317", SamplingRatio: 2}, {Endpoint: "grpc://127.0.0.1:4317"}} {
		if _, err := New(context.Background(), o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

func one(t *testing.T, tree tracingtest.Tree, name string) *tracepb.Span {
	t.Helper()
	s := tree.Named(name)
	if len(s) != 1 {
		t.Fatalf("%d spans named %s", len(s), name)
	}
	return s[0]
}

func names(spans []*tracepb.Span) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.GetName())
	}
	return out
}
