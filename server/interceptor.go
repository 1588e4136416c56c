package server

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/log"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/podshim/podshim/validate"
)

// unaryInterceptor gives every request its containerd namespace, a request
// ID and a logger carrying both, checks the request (validate.Request:
// bad input is InvalidArgument before any handler runs), logs the call
// with its duration, turns a
// panic into an Internal error (the daemon keeps serving) and maps errors
// to gRPC codes.
//
// The calls kubelet makes every second that are answered from memory (see
// fromMemory) skip the logger: it costs more than the handler. Their
// request ID and log entry are made only when there is something to log.
// Every handler gets the namespace, so any of them may call containerd.
func (s *Server) unaryInterceptor(ctx context.Context, req interface{}, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp interface{}, err error) {
	method := path.Base(info.FullMethod)
	if t := s.opts.Tracing; t != nil {
		var end func(error)
		ctx, end = t.StartRequest(ctx, info.FullMethod, isPoll(method))
		defer func() { end(err) }()
	}
	var entry *log.Entry
	if fromMemory(method) {
		ctx = namespaces.WithNamespace(ctx, s.opts.Namespace)
	} else {
		ctx, entry = s.requestContext(ctx, method)
	}
	start := time.Now()
	if r := s.opts.Requests; r != nil {
		r.RequestStarted(method)
		// Deferred first, so it runs last: it sees a panic's Internal.
		defer func() { r.RequestDone(method, status.Code(err), time.Since(start)) }()
	}
	defer func() {
		p := recover()
		if p == nil && err == nil && isPoll(method) && !log.G(ctx).Logger.IsLevelEnabled(log.TraceLevel) {
			return
		}
		if entry == nil {
			entry = requestEntry(ctx, method)
		}
		if p != nil {
			entry.WithField("panic", p).Errorf("panic in handler:\n%s", debug.Stack())
			resp, err = nil, status.Error(codes.Internal, fmt.Sprintf("internal error: %v", p))
		}
		d := time.Since(start)
		if err != nil {
			entry.WithError(err).WithField("duration", d).Warn("request failed")
		} else {
			entry.WithField("duration", d).Debug("request done")
		}
	}()
	if err = validate.Request(req, s.opts.Node); err != nil {
		return nil, toGRPC(err)
	}
	resp, err = handler(ctx, req)
	if err != nil {
		return nil, toGRPC(err)
	}
	return s.wireForm(resp), nil
}

// streamInterceptor does the same for streaming calls.
func (s *Server) streamInterceptor(srv interface{}, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	ctx, entry := s.requestContext(ss.Context(), path.Base(info.FullMethod))
	defer func() {
		if p := recover(); p != nil {
			entry.WithField("panic", p).Errorf("panic in stream handler:\n%s", debug.Stack())
			err = status.Error(codes.Internal, fmt.Sprintf("internal error: %v", p))
		}
	}()
	return toGRPC(handler(srv, &ctxStream{ServerStream: ss, ctx: ctx}))
}

// requestContext returns ctx with the containerd namespace and a logger
// for the request, and that logger.
func (s *Server) requestContext(ctx context.Context, method string) (context.Context, *log.Entry) {
	entry := requestEntry(ctx, method)
	ctx = namespaces.WithNamespace(ctx, s.opts.Namespace)
	return log.WithLogger(ctx, entry), entry
}

// requestEntry is the log entry of a request: a new request ID (random,
// only to tell requests apart in the log) and the method.
func requestEntry(ctx context.Context, method string) *log.Entry {
	id := strconv.FormatUint(rand.Uint64()>>16|1<<48, 16)[1:] // 12 hex digits
	return log.G(ctx).WithFields(log.Fields{"req": id, "method": method})
}

// isPoll reports calls that kubelet makes every second; they are logged
// only at trace level so debug logs stay readable.
func isPoll(method string) bool {
	switch method {
	case "ListPodSandbox", "ListContainers", "PodSandboxStatus", "ContainerStatus", "Status", "Version",
		"ListContainerStats", "ListPodSandboxStats", "ImageStatus", "ListImages", "ImageFsInfo",
		"ListPodSandboxMetrics", "ListMetricDescriptors":
		return true
	}
	return false
}

// fromMemory reports the poll calls whose handlers answer from the
// in-memory stores: they neither call containerd (except verbose
// ContainerStatus, which sets the namespace itself) nor log.
func fromMemory(method string) bool {
	switch method {
	case "ListPodSandbox", "ListContainers", "PodSandboxStatus", "ContainerStatus":
		return true
	}
	return false
}

type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (c *ctxStream) Context() context.Context { return c.ctx }
