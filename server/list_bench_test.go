package server

import (
	"context"
	"sort"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// The calls kubelet makes every second (PLEG relist, status sync), at 200
// running pods of 2 containers, as a CRI client sees them: gRPC over a unix
// socket, client and server in this process. Besides ns/op each benchmark
// reports the p50 and p99 latency of a single call.
//
//	go test -short -run '^$' -bench Poll -benchmem ./server/
const (
	benchPods       = 200
	benchCtrsPerPod = 2
)

func BenchmarkPollListPodSandbox(b *testing.B) {
	f := newPollFixture(b, benchPods, benchCtrsPerPod)
	benchLatency(b, func(ctx context.Context, i int) error {
		r, err := f.client.ListPodSandbox(ctx, &runtime.ListPodSandboxRequest{})
		if err == nil && len(r.Items) != benchPods {
			b.Fatalf("%d sandboxes", len(r.Items))
		}
		return err
	})
}

func BenchmarkPollListContainers(b *testing.B) {
	f := newPollFixture(b, benchPods, benchCtrsPerPod)
	benchLatency(b, func(ctx context.Context, i int) error {
		r, err := f.client.ListContainers(ctx, &runtime.ListContainersRequest{})
		if err == nil && len(r.Containers) != benchPods*benchCtrsPerPod {
			b.Fatalf("%d containers", len(r.Containers))
		}
		return err
	})
}

// BenchmarkPollListContainersRunning is kubelet's other ListContainers: the
// running ones only.
func BenchmarkPollListContainersRunning(b *testing.B) {
	f := newPollFixture(b, benchPods, benchCtrsPerPod)
	req := &runtime.ListContainersRequest{Filter: &runtime.ContainerFilter{
		State: &runtime.ContainerStateValue{State: runtime.ContainerState_CONTAINER_RUNNING},
	}}
	benchLatency(b, func(ctx context.Context, i int) error {
		_, err := f.client.ListContainers(ctx, req)
		return err
	})
}

func BenchmarkPollPodSandboxStatus(b *testing.B) {
	f := newPollFixture(b, benchPods, benchCtrsPerPod)
	benchLatency(b, func(ctx context.Context, i int) error {
		_, err := f.client.PodSandboxStatus(ctx, &runtime.PodSandboxStatusRequest{PodSandboxId: f.sandboxIDs[i%len(f.sandboxIDs)]})
		return err
	})
}

func BenchmarkPollContainerStatus(b *testing.B) {
	f := newPollFixture(b, benchPods, benchCtrsPerPod)
	benchLatency(b, func(ctx context.Context, i int) error {
		_, err := f.client.ContainerStatus(ctx, &runtime.ContainerStatusRequest{ContainerId: f.ctrIDs[i%len(f.ctrIDs)]})
		return err
	})
}

// BenchmarkPollParts splits the calls into what the server's handler costs
// (no gRPC), what encoding its response costs the server (as sent: see
// wireForm) and what decoding it costs the client; the rest of a
// BenchmarkPoll* figure is gRPC, the interceptor, the socket and the
// scheduler.
func BenchmarkPollParts(b *testing.B) {
	f := newPollFixture(b, benchPods, benchCtrsPerPod)
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		handler func() (proto.Message, error)
		empty   func() proto.Message
	}{
		{"ListPodSandbox", func() (proto.Message, error) {
			return f.srv.ListPodSandbox(ctx, &runtime.ListPodSandboxRequest{})
		}, func() proto.Message { return &runtime.ListPodSandboxResponse{} }},
		{"ListContainers", func() (proto.Message, error) {
			return f.srv.ListContainers(ctx, &runtime.ListContainersRequest{})
		}, func() proto.Message { return &runtime.ListContainersResponse{} }},
		{"PodSandboxStatus", func() (proto.Message, error) {
			return f.srv.PodSandboxStatus(ctx, &runtime.PodSandboxStatusRequest{PodSandboxId: f.sandboxIDs[0]})
		}, func() proto.Message { return &runtime.PodSandboxStatusResponse{} }},
		{"ContainerStatus", func() (proto.Message, error) {
			return f.srv.ContainerStatus(ctx, &runtime.ContainerStatusRequest{ContainerId: f.ctrIDs[0]})
		}, func() proto.Message { return &runtime.ContainerStatusResponse{} }},
	} {
		resp, err := tc.handler()
		if err != nil {
			b.Fatal(err)
		}
		sent := f.srv.wireForm(resp).(proto.Message)
		data, err := proto.Marshal(sent)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name+"/handler", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := tc.handler(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name+"/marshal", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				resp, _ := tc.handler()
				if _, err := proto.Marshal(f.srv.wireForm(resp).(proto.Message)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name+"/unmarshal", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				if err := proto.Unmarshal(data, tc.empty()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchLatency runs call b.N times and reports, besides ns/op, the p50 and
// p99 of the single calls in milliseconds.
func benchLatency(b *testing.B, call func(ctx context.Context, i int) error) {
	b.Helper()
	ctx := context.Background()
	durs := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if err := call(ctx, i); err != nil {
			b.Fatal(err)
		}
		durs = append(durs, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(durs, func(i, j int) bool { return durs[i] < durs[j] })
	pct := func(p float64) float64 {
		return float64(durs[int(p*float64(len(durs)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
