package server

import (
	"context"

	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/version"
)

const runtimeName = "podshim"

// Version reports podshim's name and version and the CRI version it serves.
func (s *Server) Version(ctx context.Context, r *runtime.VersionRequest) (*runtime.VersionResponse, error) {
	return &runtime.VersionResponse{
		Version:           "0.1.0",
		RuntimeName:       runtimeName,
		RuntimeVersion:    version.Version,
		RuntimeApiVersion: "v1",
	}, nil
}

// Status reports whether the runtime (containerd) and the pod network
// (a loadable CNI config) are ready, and the features the stack supports
// (detected at start-up, see package features).
func (s *Server) Status(ctx context.Context, r *runtime.StatusRequest) (*runtime.StatusResponse, error) {
	runtimeCond := &runtime.RuntimeCondition{Type: runtime.RuntimeReady, Status: true}
	if serving, err := s.opts.Client.IsServing(ctx); err != nil || !serving {
		runtimeCond.Status, runtimeCond.Reason = false, "ContainerdNotServing"
		if err != nil {
			runtimeCond.Message = err.Error()
		}
	}
	netCond := &runtime.RuntimeCondition{Type: runtime.NetworkReady, Status: true}
	if err := s.opts.Network.Status(); err != nil {
		netCond.Status, netCond.Reason, netCond.Message = false, "NetworkPluginNotReady", err.Error()
	}
	resp := &runtime.StatusResponse{
		Status: &runtime.RuntimeStatus{Conditions: []*runtime.RuntimeCondition{runtimeCond, netCond}},
	}
	for _, h := range s.opts.Sandboxes.RuntimeHandlers() {
		f := s.opts.Features
		if hf, ok := s.opts.HandlerFeatures[h]; ok {
			f = hf
		}
		resp.RuntimeHandlers = append(resp.RuntimeHandlers, &runtime.RuntimeHandler{
			Name: h,
			Features: &runtime.RuntimeHandlerFeatures{
				RecursiveReadOnlyMounts: f.RecursiveReadOnlyMounts,
				UserNamespaces:          f.UserNamespaces,
			},
		})
	}
	resp.Features = &runtime.RuntimeFeatures{SupplementalGroupsPolicy: s.opts.Features.SupplementalGroupsPolicy}
	return resp, nil
}

// RuntimeConfig reports the cgroup driver, which kubelet must match.
func (s *Server) RuntimeConfig(ctx context.Context, r *runtime.RuntimeConfigRequest) (*runtime.RuntimeConfigResponse, error) {
	driver := runtime.CgroupDriver_CGROUPFS
	if s.opts.CgroupDriver == "systemd" {
		driver = runtime.CgroupDriver_SYSTEMD
	}
	return &runtime.RuntimeConfigResponse{Linux: &runtime.LinuxRuntimeConfiguration{CgroupDriver: driver}}, nil
}

// UpdateRuntimeConfig accepts kubelet's pod CIDR; podshim's CNI config
// owns address allocation, so there is nothing to change.
func (s *Server) UpdateRuntimeConfig(ctx context.Context, r *runtime.UpdateRuntimeConfigRequest) (*runtime.UpdateRuntimeConfigResponse, error) {
	return &runtime.UpdateRuntimeConfigResponse{}, nil
}
