package image

import (
	"context"
	"fmt"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/containers"
	"github.com/containerd/containerd/images"
	"github.com/containerd/containerd/snapshots"
)

// WithNewSnapshot is containerd.WithNewSnapshot for an indexed image: the
// snapshot's parent is the chain ID the index already holds, so creating a
// container reads neither manifest nor config from containerd's content
// store (four round trips to containerd saved on every pod and container
// start). The container's snapshotter must be set by an earlier option;
// opts (labels: an idmapped rootfs) go to the snapshotter.
func (s *Service) WithNewSnapshot(id string, img Image, opts ...snapshots.Opt) containerd.NewContainerOpts {
	if img.ChainID == "" {
		return containerd.WithNewSnapshot(id, containerd.NewImage(s.client, images.Image{Name: img.ID, Target: img.Target}), opts...)
	}
	return func(ctx context.Context, client *containerd.Client, c *containers.Container) error {
		if c.Snapshotter == "" {
			return fmt.Errorf("snapshot of %s: no snapshotter set", id)
		}
		if _, err := client.SnapshotService(c.Snapshotter).Prepare(ctx, id, img.ChainID, opts...); err != nil {
			return fmt.Errorf("prepare snapshot %s on %s: %w", id, img.ChainID, err)
		}
		c.SnapshotKey = id
		c.Image = img.ID
		return nil
	}
}
