package cri

import (
	"context"
	"fmt"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/containers"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/typeurl/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/cri/spec"
)

// UpdateResources changes a container's CPU and memory resources: in its
// stored spec (so they survive a restart of the task) and, when it runs, in
// its cgroup.
func (s *Service) UpdateResources(ctx context.Context, id string, r *runtime.LinuxContainerResources) error {
	c, err := s.store.Get(id)
	if err != nil {
		return err
	}
	c.opMu.Lock()
	defer c.opMu.Unlock()
	if st := c.Status(); st.State != runtime.ContainerState_CONTAINER_CREATED && st.State != runtime.ContainerState_CONTAINER_RUNNING {
		return fmt.Errorf("%w: container %s is %s", errdefs.ErrFailedPrecondition, c.meta.ID, stateName(st.State))
	}
	old, err := c.loadSpec(ctx)
	if err != nil {
		return err
	}
	updated, err := spec.UpdateResources(old, r)
	if err != nil {
		return err
	}
	anySpec, err := typeurl.MarshalAny(updated)
	if err != nil {
		return fmt.Errorf("encode spec: %w", err)
	}
	if err := storeSpec(ctx, c, anySpec); err != nil {
		return fmt.Errorf("store updated spec of container %s: %w", c.meta.ID, err)
	}
	c.mu.Lock()
	c.spec = updated
	task := c.task
	c.mu.Unlock()
	if task != nil {
		if err := task.Update(ctx, containerd.WithResources(updated.Linux.Resources)); err != nil && !errdefs.IsNotFound(err) {
			// The cgroup keeps the old values: so does the stored spec.
			if oldAny, merr := typeurl.MarshalAny(old); merr == nil {
				if rerr := storeSpec(context.WithoutCancel(ctx), c, oldAny); rerr == nil {
					c.mu.Lock()
					c.spec = old
					c.mu.Unlock()
				}
			}
			if status.Code(errdefs.ToGRPC(err)) == codes.Unknown {
				// containerd and the shim answered; runc or the kernel
				// refused the values for this container as it is now
				// (a memory limit below its usage is EBUSY).
				err = fmt.Errorf("%w: %w", errdefs.ErrFailedPrecondition, err)
			}
			return fmt.Errorf("update cgroup of container %s: %w", c.meta.ID, err)
		}
	}
	return c.update(func(st *Status) { st.Resources = r })
}

// storeSpec replaces the spec of c's containerd container.
func storeSpec(ctx context.Context, c *Container, spec typeurl.Any) error {
	return c.container.Update(ctx, func(ctx context.Context, _ *containerd.Client, cc *containers.Container) error {
		cc.Spec = spec
		return nil
	})
}
