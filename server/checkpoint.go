package server

import (
	"context"
	"fmt"

	"github.com/containerd/containerd/errdefs"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// CheckpointContainer checkpoints a running container with CRIU into the
// archive at location, leaving it running.
func (s *Server) CheckpointContainer(ctx context.Context, r *runtime.CheckpointContainerRequest) (*runtime.CheckpointContainerResponse, error) {
	if s.opts.Checkpoints == nil {
		return nil, fmt.Errorf("%w: checkpoint", errdefs.ErrNotImplemented)
	}
	if err := s.opts.Checkpoints.Checkpoint(ctx, r.GetContainerId(), r.GetLocation(), r.GetTimeout()); err != nil {
		return nil, err
	}
	return &runtime.CheckpointContainerResponse{}, nil
}
