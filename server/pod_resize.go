package server

import (
	"context"
	"fmt"

	"github.com/containerd/containerd/errdefs"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// UpdatePodSandboxResources resizes a pod in place: its pod-level cgroup
// and its recorded config (see podresources).
func (s *Server) UpdatePodSandboxResources(ctx context.Context, r *runtime.UpdatePodSandboxResourcesRequest) (*runtime.UpdatePodSandboxResourcesResponse, error) {
	if s.opts.PodResources == nil {
		return nil, fmt.Errorf("%w: pod resizing is not configured", errdefs.ErrNotImplemented)
	}
	if err := s.opts.PodResources.Update(ctx, r.GetPodSandboxId(), r.GetOverhead(), r.GetResources()); err != nil {
		return nil, err
	}
	return &runtime.UpdatePodSandboxResourcesResponse{}, nil
}
