package server

import (
	"context"
	"fmt"

	"github.com/containerd/containerd/errdefs"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/listpage"
	"github.com/podshim/podshim/podmetrics"
)

// ListMetricDescriptors describes the metrics ListPodSandboxMetrics
// reports: cAdvisor's, as kubelet exposes them.
func (s *Server) ListMetricDescriptors(ctx context.Context, r *runtime.ListMetricDescriptorsRequest) (*runtime.ListMetricDescriptorsResponse, error) {
	return &runtime.ListMetricDescriptorsResponse{Descriptors: podmetrics.Descriptors()}, nil
}

// ListPodSandboxMetrics reports the ready pods' metrics from the last
// collection (see podmetrics); it never waits for cgroups.
func (s *Server) ListPodSandboxMetrics(ctx context.Context, r *runtime.ListPodSandboxMetricsRequest) (*runtime.ListPodSandboxMetricsResponse, error) {
	if s.opts.PodMetrics == nil {
		return nil, fmt.Errorf("%w: pod metrics are not configured", errdefs.ErrNotImplemented)
	}
	return &runtime.ListPodSandboxMetricsResponse{PodMetrics: s.opts.PodMetrics.List()}, nil
}

// StreamPodSandboxMetrics streams what ListPodSandboxMetrics reports.
func (s *Server) StreamPodSandboxMetrics(r *runtime.StreamPodSandboxMetricsRequest, ss runtime.RuntimeService_StreamPodSandboxMetricsServer) error {
	if s.opts.PodMetrics == nil {
		return fmt.Errorf("%w: pod metrics are not configured", errdefs.ErrNotImplemented)
	}
	return listpage.Send(s.opts.PodMetrics.List(), s.opts.StreamPageBytes, func(p []*runtime.PodSandboxMetrics) error {
		return ss.Send(&runtime.StreamPodSandboxMetricsResponse{PodSandboxMetrics: p})
	})
}
