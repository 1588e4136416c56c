package sandbox

import (
	"fmt"

	"google.golang.org/protobuf/proto"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// SetResources records a resized pod's overhead and resources in its
// config (linux.overhead, linux.resources) and persists it; a nil value
// leaves that field as it was. The caller holds the sandbox's Lock.
func (s *Service) SetResources(id string, overhead, resources *runtime.LinuxContainerResources) error {
	sb, err := s.store.Get(id)
	if err != nil {
		return err
	}
	sb.mu.Lock()
	// The config is shared with views and responses: change a copy.
	cfg := &runtime.PodSandboxConfig{}
	if sb.meta.Config != nil {
		cfg = proto.Clone(sb.meta.Config).(*runtime.PodSandboxConfig)
	}
	if cfg.Linux == nil {
		cfg.Linux = &runtime.LinuxPodSandboxConfig{}
	}
	if overhead != nil {
		cfg.Linux.Overhead = overhead
	}
	if resources != nil {
		cfg.Linux.Resources = resources
	}
	sb.meta.Config = cfg
	sb.mu.Unlock()
	if sb.metaPath == "" {
		return nil // a sandbox added for tests has no files
	}
	if err := sb.save(); err != nil {
		return fmt.Errorf("save sandbox %s resources: %w", id, err)
	}
	return nil
}
