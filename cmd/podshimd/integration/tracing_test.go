package integration

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc/metadata"
	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/tracing/tracingtest"
)

// TestTracingRunPodSandbox sends one RunPodSandbox with a parent trace
// context in the metadata (as kubelet does) to a podshimd of its own that
// exports to an in-process OTLP receiver, and checks the span tree: the
// CRI call's span is a child of the given parent, and the CNI ADD and the
// containerd calls are below it.
func TestTracingRunPodSandbox(t *testing.T) {
	recv := tracingtest.Start(t)
	p := startOwnPodshimd(t, "tracing", "--otlp-endpoint", "http://"+recv.Addr, "--tracing-sampling-ratio", "1")
	traceID, parentID := randHex(16), randHex(8)
	ctx, cancel := callCtx()
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "traceparent", fmt.Sprintf("00-%s-%s-01", traceID, parentID))
	if _, err := p.Runtime.RunPodSandbox(ctx, &criapi.RunPodSandboxRequest{Config: podConfig(t)}); err != nil {
		t.Fatal(err)
	}

	const rootName = "runtime.v1.RuntimeService/RunPodSandbox"
	var tree tracingtest.Tree
	var root *tracepb.Span
	// The daemon sends spans in batches every 5 s.
	waitFor(t, 20*time.Second, "the RunPodSandbox trace", func() (bool, string) {
		tree = tracingtest.NewTree(recv.Trace(traceID))
		roots := tree.Named(rootName)
		if len(roots) != 1 || len(tree.Named("cni.add")) != 1 {
			return false, fmt.Sprintf("%d spans of the trace", len(tree))
		}
		root = roots[0]
		// The containerd calls end before the request does, so they are in
		// the same batch or an earlier one.
		return true, ""
	})
	if got := hex.EncodeToString(root.GetParentSpanId()); got != parentID {
		t.Errorf("RunPodSandbox span's parent %s, want the caller's %s", got, parentID)
	}
	if root.GetKind() != tracepb.Span_SPAN_KIND_SERVER {
		t.Errorf("RunPodSandbox span kind %v", root.GetKind())
	}
	if !tree.DescendsFrom(tree.Named("cni.add")[0], root) {
		t.Error("cni.add is not below the RunPodSandbox span")
	}
	containerdCalls := map[string]bool{}
	for _, s := range tree {
		if s == root {
			continue
		}
		if !tree.DescendsFrom(s, root) {
			t.Errorf("span %s of the trace is not below the RunPodSandbox span", s.GetName())
		}
		if strings.HasPrefix(s.GetName(), "containerd.services.") {
			if s.GetKind() != tracepb.Span_SPAN_KIND_CLIENT {
				t.Errorf("containerd call span %s has kind %v", s.GetName(), s.GetKind())
			}
			containerdCalls[s.GetName()] = true
		}
	}
	for _, want := range []string{
		"containerd.services.containers.v1.Containers/Create",
		"containerd.services.tasks.v1.Tasks/Create",
		"containerd.services.tasks.v1.Tasks/Start",
	} {
		if !containerdCalls[want] {
			t.Errorf("no span for the containerd call %s below RunPodSandbox; calls: %v", want, containerdCalls)
		}
	}
	// kubelet's polls without a trace context are not traced, whatever the
	// ratio (the start-up wait called Version).
	for _, s := range recv.Spans() {
		if strings.HasSuffix(s.GetName(), "/Version") && strings.HasPrefix(s.GetName(), "runtime.v1.") {
			t.Errorf("an untraced poll got a span: %s", s.GetName())
		}
	}
}
