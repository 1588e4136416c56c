package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path"
	"runtime/debug"
	"time"

	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/log"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// unaryInterceptor gives every request its containerd namespace, a request
// ID and a logger carrying both, logs the call with its duration, turns a
// panic into an Internal error (the daemon keeps serving) and maps errors
// to gRPC codes.
func (s *Server) unaryInterceptor(ctx context.Context, req interface{}, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp interface{}, err error) {
	ctx, entry := s.requestContext(ctx, info.FullMethod)
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			entry.WithField("panic", p).Errorf("panic in handler:\n%s", debug.Stack())
			resp, err = nil, status.Error(codes.Internal, fmt.Sprintf("internal error: %v", p))
		}
		d := time.Since(start)
		if err != nil {
			entry.WithError(err).WithField("duration", d).Warn("request failed")
		} else if entry.Logger.IsLevelEnabled(log.TraceLevel) || !isPoll(info.FullMethod) {
			entry.WithField("duration", d).Debug("request done")
		}
	}()
	resp, err = handler(ctx, req)
	return resp, toGRPC(err)
}

// streamInterceptor does the same for streaming calls.
func (s *Server) streamInterceptor(srv interface{}, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	ctx, entry := s.requestContext(ss.Context(), info.FullMethod)
	defer func() {
		if p := recover(); p != nil {
			entry.WithField("panic", p).Errorf("panic in stream handler:\n%s", debug.Stack())
			err = status.Error(codes.Internal, fmt.Sprintf("internal error: %v", p))
		}
	}()
	return toGRPC(handler(srv, &ctxStream{ServerStream: ss, ctx: ctx}))
}

func (s *Server) requestContext(ctx context.Context, method string) (context.Context, *log.Entry) {
	var b [6]byte
	_, _ = rand.Read(b[:])
	entry := log.G(ctx).WithFields(log.Fields{"req": hex.EncodeToString(b[:]), "method": path.Base(method)})
	ctx = namespaces.WithNamespace(ctx, s.opts.Namespace)
	return log.WithLogger(ctx, entry), entry
}

// isPoll reports calls that kubelet makes every second; they are logged
// only at trace level so debug logs stay readable.
func isPoll(method string) bool {
	switch path.Base(method) {
	case "ListPodSandbox", "ListContainers", "PodSandboxStatus", "ContainerStatus", "Status", "Version",
		"ListContainerStats", "ListPodSandboxStats", "ImageStatus", "ListImages", "ImageFsInfo":
		return true
	}
	return false
}

type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (c *ctxStream) Context() context.Context { return c.ctx }
