package cri

import (
	"context"
	"fmt"
	"time"

	"github.com/containerd/containerd/errdefs"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// List returns every container (for readers such as podmetrics that need
// more than the CRI list items).
func (s *Service) List() []*Container { return s.store.List() }

// CgroupsPath returns the OCI cgroups path of a container, from its spec.
func (s *Service) CgroupsPath(ctx context.Context, c *Container) (string, error) {
	sp, err := c.loadSpec(ctx)
	if err != nil {
		return "", err
	}
	if sp.Linux == nil || sp.Linux.CgroupsPath == "" {
		return "", fmt.Errorf("%w: container %s has no cgroups path", errdefs.ErrNotFound, c.meta.ID)
	}
	return sp.Linux.CgroupsPath, nil
}

// WritableLayer measures a container's writable layer (nil when it has
// none to measure), as ContainerStats reports it.
func (s *Service) WritableLayer(ctx context.Context, id string) *runtime.FilesystemUsage {
	return s.writableLayer(ctx, id, time.Now().UnixNano())
}
