package server

import (
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/listpage"
)

// The Stream* calls (CRI feature gate CRIListStreaming) answer with the
// same items as their List* twins, from the same domain calls and filters,
// sent in pages that stay far below the message ceiling (see listpage).

// StreamPodSandboxes streams what ListPodSandbox lists.
func (s *Server) StreamPodSandboxes(r *runtime.StreamPodSandboxesRequest, ss runtime.RuntimeService_StreamPodSandboxesServer) error {
	items := s.opts.Sandboxes.ListCRI(r.GetFilter())
	swapWire(items, s.opts.Sandboxes.WireListItem)
	return listpage.Send(items, s.opts.StreamPageBytes, func(p []*runtime.PodSandbox) error {
		return ss.Send(&runtime.StreamPodSandboxesResponse{PodSandboxes: p})
	})
}

// StreamContainers streams what ListContainers lists.
func (s *Server) StreamContainers(r *runtime.StreamContainersRequest, ss runtime.RuntimeService_StreamContainersServer) error {
	items := s.opts.Containers.ListCRI(r.GetFilter())
	swapWire(items, s.opts.Containers.WireListItem)
	return listpage.Send(items, s.opts.StreamPageBytes, func(p []*runtime.Container) error {
		return ss.Send(&runtime.StreamContainersResponse{Containers: p})
	})
}

// StreamContainerStats streams what ListContainerStats reports.
func (s *Server) StreamContainerStats(r *runtime.StreamContainerStatsRequest, ss runtime.RuntimeService_StreamContainerStatsServer) error {
	items := s.opts.Containers.ListContainerStats(ss.Context(), r.GetFilter())
	return listpage.Send(items, s.opts.StreamPageBytes, func(p []*runtime.ContainerStats) error {
		return ss.Send(&runtime.StreamContainerStatsResponse{ContainerStats: p})
	})
}

// StreamPodSandboxStats streams what ListPodSandboxStats reports.
func (s *Server) StreamPodSandboxStats(r *runtime.StreamPodSandboxStatsRequest, ss runtime.RuntimeService_StreamPodSandboxStatsServer) error {
	items := s.opts.Containers.ListPodSandboxStats(ss.Context(), r.GetFilter())
	return listpage.Send(items, s.opts.StreamPageBytes, func(p []*runtime.PodSandboxStats) error {
		return ss.Send(&runtime.StreamPodSandboxStatsResponse{PodSandboxStats: p})
	})
}

// StreamImages streams what ListImages lists.
func (s *Server) StreamImages(r *runtime.StreamImagesRequest, ss runtime.ImageService_StreamImagesServer) error {
	items, err := s.opts.Images.ListCRI(ss.Context(), r.GetFilter())
	if err != nil {
		return err
	}
	return listpage.Send(items, s.opts.StreamPageBytes, func(p []*runtime.Image) error {
		return ss.Send(&runtime.StreamImagesResponse{Images: p})
	})
}
