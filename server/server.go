// Package server is podshim's gRPC front door: it serves the CRI v1
// RuntimeService and ImageService, validates requests, calls the domain
// packages (sandbox, cri, image, network) and maps their errors to gRPC
// codes in one place. It holds no state of its own.
package server

import (
	"github.com/containerd/containerd"
	"google.golang.org/grpc"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/cri"
	"github.com/podshim/podshim/image"
	"github.com/podshim/podshim/network"
	"github.com/podshim/podshim/sandbox"
	"github.com/podshim/podshim/validate"
)

// Version is podshim's version, reported by the Version call.
var Version = "0.1.0"

// Options are the services the server fronts.
type Options struct {
	Namespace    string // containerd namespace of every request
	Client       *containerd.Client
	Sandboxes    *sandbox.Service
	Containers   *cri.Service
	Images       *image.Service
	Network      *network.Manager
	CgroupDriver string
	Streaming    Streamer // may be nil until streaming is configured
	// Node is the machine's limits requests are checked against
	// (validate.ReadNode); the zero Node checks syntax and fixed ranges.
	Node validate.Node
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
