package server

import (
	"context"
	"testing"

	"google.golang.org/grpc"

	"github.com/podshim/podshim/metrics"
)

// BenchmarkInterceptorPoll is the interceptor's own cost on a poll call
// answered from memory (the handler does nothing), without and with the
// request metrics:
//
//	go test -short -run '^$' -bench InterceptorPoll -benchmem ./server/
func BenchmarkInterceptorPoll(b *testing.B) {
	info := &grpc.UnaryServerInfo{FullMethod: "/runtime.v1.RuntimeService/ListContainers"}
	handler := func(ctx context.Context, req interface{}) (interface{}, error) { return req, nil }
	for _, tc := range []struct {
		name     string
		requests RequestRecorder
	}{{"off", nil}, {"metrics", metrics.New()}} {
		s := New(Options{Namespace: "podshim", Requests: tc.requests})
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := s.unaryInterceptor(ctx, nil, info, handler); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
