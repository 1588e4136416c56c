package server

import (
	"context"

	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// RunPodSandbox creates and starts a pod sandbox.
func (s *Server) RunPodSandbox(ctx context.Context, r *runtime.RunPodSandboxRequest) (*runtime.RunPodSandboxResponse, error) {
	id, err := s.opts.Sandboxes.Run(ctx, r.GetConfig(), r.GetRuntimeHandler())
	if err != nil {
		return nil, err
	}
	return &runtime.RunPodSandboxResponse{PodSandboxId: id}, nil
}

// StopPodSandbox stops a sandbox and its containers; unknown IDs succeed.
func (s *Server) StopPodSandbox(ctx context.Context, r *runtime.StopPodSandboxRequest) (*runtime.StopPodSandboxResponse, error) {
	if err := s.opts.Sandboxes.Stop(ctx, r.GetPodSandboxId()); err != nil {
		return nil, err
	}
	return &runtime.StopPodSandboxResponse{}, nil
}

// RemovePodSandbox removes a sandbox and its containers; unknown IDs
// succeed.
func (s *Server) RemovePodSandbox(ctx context.Context, r *runtime.RemovePodSandboxRequest) (*runtime.RemovePodSandboxResponse, error) {
	if err := s.opts.Sandboxes.Remove(ctx, r.GetPodSandboxId()); err != nil {
		return nil, err
	}
	return &runtime.RemovePodSandboxResponse{}, nil
}

// PodSandboxStatus reports a sandbox's state and IPs; unknown IDs are
// NotFound.
func (s *Server) PodSandboxStatus(ctx context.Context, r *runtime.PodSandboxStatusRequest) (*runtime.PodSandboxStatusResponse, error) {
	sb, err := s.opts.Sandboxes.Get(r.GetPodSandboxId())
	if err != nil {
		return nil, err
	}
	resp := &runtime.PodSandboxStatusResponse{Status: sb.ToCRI()}
	if r.GetVerbose() {
		resp.Info = sb.Info()
	}
	return resp, nil
}

// ListPodSandbox lists sandboxes, filtered.
func (s *Server) ListPodSandbox(ctx context.Context, r *runtime.ListPodSandboxRequest) (*runtime.ListPodSandboxResponse, error) {
	return &runtime.ListPodSandboxResponse{Items: s.opts.Sandboxes.ListCRI(r.GetFilter())}, nil
}

// PodSandboxStats reports one pod's resource usage.
func (s *Server) PodSandboxStats(ctx context.Context, r *runtime.PodSandboxStatsRequest) (*runtime.PodSandboxStatsResponse, error) {
	st, err := s.opts.Containers.PodSandboxStats(ctx, r.GetPodSandboxId())
	if err != nil {
		return nil, err
	}
	return &runtime.PodSandboxStatsResponse{Stats: st}, nil
}

// ListPodSandboxStats reports resource usage of pods, filtered.
func (s *Server) ListPodSandboxStats(ctx context.Context, r *runtime.ListPodSandboxStatsRequest) (*runtime.ListPodSandboxStatsResponse, error) {
	return &runtime.ListPodSandboxStatsResponse{Stats: s.opts.Containers.ListPodSandboxStats(ctx, r.GetFilter())}, nil
}
