// Package server is podshim's gRPC front door: it serves the CRI v1
// RuntimeService and ImageService, validates requests, calls the domain
// packages (sandbox, cri, image, network) and maps their errors to gRPC
// codes in one place. It holds no state of its own.
package server

import (
	"time"

	"github.com/containerd/containerd"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/checkpoint"
	"github.com/podshim/podshim/cri"
	"github.com/podshim/podshim/features"
	"github.com/podshim/podshim/image"
	"github.com/podshim/podshim/network"
	"github.com/podshim/podshim/podmetrics"
	"github.com/podshim/podshim/podresources"
	"github.com/podshim/podshim/sandbox"
	"github.com/podshim/podshim/tracing"
	"github.com/podshim/podshim/validate"
)

// Options are the services the server fronts.
type Options struct {
	Namespace    string // containerd namespace of every request
	Client       *containerd.Client
	Sandboxes    *sandbox.Service
	Containers   *cri.Service
	Images       *image.Service
	Network      *network.Manager
	CgroupDriver string
	Streaming    Streamer              // may be nil until streaming is configured
	Requests     RequestRecorder       // CRI request metrics; nil: off
	Tracing      *tracing.Tracing      // a span per CRI call; nil: off
	Features     features.Set          // what the stack supports (Status)
	Checkpoints  *checkpoint.Service   // nil: checkpoint and restore are Unimplemented
	PodResources *podresources.Updater // UpdatePodSandboxResources
	PodMetrics   *podmetrics.Collector // ListPodSandboxMetrics
	// StreamPageBytes bounds the encoded size of one page of a Stream*
	// call's answer; 0 is listpage.DefaultLimit.
	StreamPageBytes int
	// HandlerFeatures are the features of runtime handlers whose OCI
	// runtime is not runc (Status); the others have Features.
	HandlerFeatures map[string]features.Set
	// Node is the machine's limits requests are checked against
	// (validate.ReadNode); the zero Node checks syntax and fixed ranges.
	Node validate.Node
}

// RequestRecorder records CRI requests (metrics.Metrics implements it).
// method is the bare method name ("RunPodSandbox"); RequestDone follows
// every RequestStarted. Both are called on every request, polls too: they
// must be cheap and must not block.
type RequestRecorder interface {
	RequestStarted(method string)
	RequestDone(method string, code codes.Code, d time.Duration)
}

// Server implements runtime.RuntimeServiceServer and
// runtime.ImageServiceServer.
type Server struct {
	runtime.UnimplementedRuntimeServiceServer
	runtime.UnimplementedImageServiceServer
	opts Options
}

// New returns a server for the given services.
func New(o Options) *Server { return &Server{opts: o} }

// GRPCServer returns a gRPC server with both CRI services registered and
// podshim's interceptors installed.
func (s *Server) GRPCServer() *grpc.Server {
	g := grpc.NewServer(
		grpc.UnaryInterceptor(s.unaryInterceptor),
		grpc.StreamInterceptor(s.streamInterceptor),
		grpc.MaxRecvMsgSize(16<<20),
		grpc.MaxSendMsgSize(16<<20),
	)
	runtime.RegisterRuntimeServiceServer(g, s)
	runtime.RegisterImageServiceServer(g, s)
	return g
}
