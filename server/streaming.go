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

// Exec returns the URL of an exec session.
func (s *Server) Exec(ctx context.Context, r *runtime.ExecRequest) (*runtime.ExecResponse, error) {
	if s.opts.Streaming == nil {
		return s.UnimplementedRuntimeServiceServer.Exec(ctx, r)
	}
	return s.opts.Streaming.GetExec(r)
}

// Attach returns the URL of an attach session.
func (s *Server) Attach(ctx context.Context, r *runtime.AttachRequest) (*runtime.AttachResponse, error) {
	if s.opts.Streaming == nil {
		return s.UnimplementedRuntimeServiceServer.Attach(ctx, r)
	}
	return s.opts.Streaming.GetAttach(r)
}

// PortForward returns the URL of a port-forward session.
func (s *Server) PortForward(ctx context.Context, r *runtime.PortForwardRequest) (*runtime.PortForwardResponse, error) {
	if s.opts.Streaming == nil {
		return s.UnimplementedRuntimeServiceServer.PortForward(ctx, r)
	}
	return s.opts.Streaming.GetPortForward(r)
}
