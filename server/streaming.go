package server

import (
	"context"

	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Streamer hands out URLs of the streaming server for exec, attach and
// port-forward.
type Streamer interface {
	GetExec(*runtime.ExecRequest) (*runtime.ExecResponse, error)
	GetAttach(*runtime.AttachRequest) (*runtime.AttachResponse, error)
	GetPortForward(*runtime.PortForwardRequest) (*runtime.PortForwardResponse, error)
}

// Exec returns the URL of an exec session in a running container (unknown
// containers are NotFound, others FailedPrecondition: no URL for a session
// that cannot start).
func (s *Server) Exec(ctx context.Context, r *runtime.ExecRequest) (*runtime.ExecResponse, error) {
	if s.opts.Streaming == nil {
		return s.UnimplementedRuntimeServiceServer.Exec(ctx, r)
	}
	if err := s.opts.Containers.CheckRunning(r.GetContainerId()); err != nil {
		return nil, err
	}
	return s.opts.Streaming.GetExec(r)
}

// Attach returns the URL of an attach session to a running container.
func (s *Server) Attach(ctx context.Context, r *runtime.AttachRequest) (*runtime.AttachResponse, error) {
	if s.opts.Streaming == nil {
		return s.UnimplementedRuntimeServiceServer.Attach(ctx, r)
	}
	if err := s.opts.Containers.CheckRunning(r.GetContainerId()); err != nil {
		return nil, err
	}
	return s.opts.Streaming.GetAttach(r)
}

// PortForward returns the URL of a port-forward session into a ready pod.
func (s *Server) PortForward(ctx context.Context, r *runtime.PortForwardRequest) (*runtime.PortForwardResponse, error) {
	if s.opts.Streaming == nil {
		return s.UnimplementedRuntimeServiceServer.PortForward(ctx, r)
	}
	if err := s.opts.Sandboxes.CheckReady(r.GetPodSandboxId()); err != nil {
		return nil, err
	}
	return s.opts.Streaming.GetPortForward(r)
}
