package server

import (
	"context"
	"fmt"
	"time"

	"github.com/containerd/containerd/errdefs"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/checkpoint"
)

// CreateContainer creates a container in a sandbox.
// An image that is an absolute path names a checkpoint archive to restore.
func (s *Server) CreateContainer(ctx context.Context, r *runtime.CreateContainerRequest) (*runtime.CreateContainerResponse, error) {
	create := s.opts.Containers.Create
	if checkpoint.IsArchiveRef(r.GetConfig().GetImage().GetImage()) {
		if s.opts.Checkpoints == nil {
			return nil, fmt.Errorf("%w: restore from a checkpoint archive", errdefs.ErrNotImplemented)
		}
		create = s.opts.Checkpoints.Restore
	}
	id, err := create(ctx, r.GetPodSandboxId(), r.GetConfig())
	if err != nil {
		return nil, err
	}
	return &runtime.CreateContainerResponse{ContainerId: id}, nil
}

// StartContainer starts a created container.
func (s *Server) StartContainer(ctx context.Context, r *runtime.StartContainerRequest) (*runtime.StartContainerResponse, error) {
	if err := s.opts.Containers.Start(ctx, r.GetContainerId()); err != nil {
		return nil, err
	}
	return &runtime.StartContainerResponse{}, nil
}

// StopContainer stops a container with a grace period; unknown IDs
// succeed.
func (s *Server) StopContainer(ctx context.Context, r *runtime.StopContainerRequest) (*runtime.StopContainerResponse, error) {
	if err := s.opts.Containers.Stop(ctx, r.GetContainerId(), r.GetTimeout()); err != nil {
		return nil, err
	}
	return &runtime.StopContainerResponse{}, nil
}

// RemoveContainer removes a container; unknown IDs succeed.
func (s *Server) RemoveContainer(ctx context.Context, r *runtime.RemoveContainerRequest) (*runtime.RemoveContainerResponse, error) {
	if err := s.opts.Containers.Remove(ctx, r.GetContainerId()); err != nil {
		return nil, err
	}
	return &runtime.RemoveContainerResponse{}, nil
}

// ListContainers lists containers, filtered.
func (s *Server) ListContainers(ctx context.Context, r *runtime.ListContainersRequest) (*runtime.ListContainersResponse, error) {
	return &runtime.ListContainersResponse{Containers: s.opts.Containers.ListCRI(r.GetFilter())}, nil
}

// ContainerStatus reports a container's state; unknown IDs are NotFound.
func (s *Server) ContainerStatus(ctx context.Context, r *runtime.ContainerStatusRequest) (*runtime.ContainerStatusResponse, error) {
	c, err := s.opts.Containers.Get(r.GetContainerId())
	if err != nil {
		return nil, err
	}
	resp := &runtime.ContainerStatusResponse{Status: c.ToCRIStatus()}
	if r.GetVerbose() {
		// The interceptor leaves the namespace out of this call (see
		// fromMemory); the verbose info reads the spec from containerd.
		resp.Info = s.opts.Containers.Info(ctx, c)
	}
	return resp, nil
}

// ReopenContainerLog reopens a running container's log file.
func (s *Server) ReopenContainerLog(ctx context.Context, r *runtime.ReopenContainerLogRequest) (*runtime.ReopenContainerLogResponse, error) {
	if err := s.opts.Containers.ReopenLog(ctx, r.GetContainerId()); err != nil {
		return nil, err
	}
	return &runtime.ReopenContainerLogResponse{}, nil
}

// ExecSync runs a command in a container and returns its output.
func (s *Server) ExecSync(ctx context.Context, r *runtime.ExecSyncRequest) (*runtime.ExecSyncResponse, error) {
	res, err := s.opts.Containers.ExecSync(ctx, r.GetContainerId(), r.GetCmd(), time.Duration(r.GetTimeout())*time.Second)
	if err != nil {
		return nil, err
	}
	return &runtime.ExecSyncResponse{Stdout: res.Stdout, Stderr: res.Stderr, ExitCode: res.ExitCode}, nil
}

// GetContainerEvents streams container lifecycle events until the client
// goes away.
func (s *Server) GetContainerEvents(r *runtime.GetEventsRequest, stream runtime.RuntimeService_GetContainerEventsServer) error {
	ch, cancel := s.opts.Containers.Events().Subscribe()
	defer cancel()
	for {
		select {
		case <-stream.Context().Done():
			return nil
		case e := <-ch:
			if err := stream.Send(e); err != nil {
				return err
			}
		}
	}
}

// ContainerStats reports one container's resource usage.
func (s *Server) ContainerStats(ctx context.Context, r *runtime.ContainerStatsRequest) (*runtime.ContainerStatsResponse, error) {
	st, err := s.opts.Containers.ContainerStats(ctx, r.GetContainerId())
	if err != nil {
		return nil, err
	}
	return &runtime.ContainerStatsResponse{Stats: st}, nil
}

// ListContainerStats reports resource usage of containers, filtered.
func (s *Server) ListContainerStats(ctx context.Context, r *runtime.ListContainerStatsRequest) (*runtime.ListContainerStatsResponse, error) {
	return &runtime.ListContainerStatsResponse{Stats: s.opts.Containers.ListContainerStats(ctx, r.GetFilter())}, nil
}

// UpdateContainerResources changes a container's CPU and memory resources.
func (s *Server) UpdateContainerResources(ctx context.Context, r *runtime.UpdateContainerResourcesRequest) (*runtime.UpdateContainerResourcesResponse, error) {
	if err := s.opts.Containers.UpdateResources(ctx, r.GetContainerId(), r.GetLinux()); err != nil {
		return nil, err
	}
	return &runtime.UpdateContainerResourcesResponse{}, nil
}
