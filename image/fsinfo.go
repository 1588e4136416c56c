package image

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/plugin"
	"github.com/containerd/containerd/snapshots"
	"github.com/sirupsen/logrus"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// fsInfoTTL is how long a measured image filesystem usage is reused.
// kubelet asks every few seconds (its housekeeping and every summary API
// call), and the measurement asks containerd about every snapshot.
const fsInfoTTL = 5 * time.Second

// fsCache holds the last image filesystem measurement.
type fsCache struct {
	mountpoint string
	mu         sync.Mutex
	at         time.Time
	usedBytes  uint64
	inodesUsed uint64
}

// FsInfo reports the image filesystem: the snapshotter's root directory as
// mountpoint, and the bytes and inodes used by the snapshots of ctx's
// namespace (image layers and container writable layers), summed from the
// snapshotter's own usage accounting, as containerd's CRI does. Committed
// snapshots have their usage recorded at commit, so only active ones cost
// a directory walk in containerd. A measurement is reused for fsInfoTTL;
// the timestamp is when it was taken. Capacity and free space are not part
// of the CRI answer: kubelet takes them from statfs of the mountpoint.
func (s *Service) FsInfo(ctx context.Context) ([]*runtime.FilesystemUsage, error) {
	s.fs.mu.Lock()
	defer s.fs.mu.Unlock()
	if s.fs.at.IsZero() || time.Since(s.fs.at) > fsInfoTTL {
		used, inodes, err := s.snapshotUsage(ctx)
		if err != nil {
			return nil, fmt.Errorf("image filesystem usage: %w", err)
		}
		s.fs.at, s.fs.usedBytes, s.fs.inodesUsed = time.Now(), used, inodes
	}
	return []*runtime.FilesystemUsage{{
		Timestamp:  s.fs.at.UnixNano(),
		FsId:       &runtime.FilesystemIdentifier{Mountpoint: s.fs.mountpoint},
		UsedBytes:  &runtime.UInt64Value{Value: s.fs.usedBytes},
		InodesUsed: &runtime.UInt64Value{Value: s.fs.inodesUsed},
	}}, nil
}

// snapshotUsage sums the usage of every snapshot in the namespace.
func (s *Service) snapshotUsage(ctx context.Context) (bytes, inodes uint64, err error) {
	sn := s.client.SnapshotService(s.snapshotter)
	var keys []string
	if err := sn.Walk(ctx, func(_ context.Context, info snapshots.Info) error {
		keys = append(keys, info.Name)
		return nil
	}); err != nil {
		return 0, 0, fmt.Errorf("walk snapshots: %w", err)
	}
	for _, key := range keys {
		u, err := sn.Usage(ctx, key)
		if errdefs.IsNotFound(err) {
			continue // removed meanwhile
		}
		if err != nil {
			return 0, 0, fmt.Errorf("usage of snapshot %q: %w", key, err)
		}
		bytes += uint64(u.Size)
		inodes += uint64(u.Inodes)
	}
	return bytes, inodes, nil
}

// snapshotterRoot returns the snapshotter's root directory, which the
// snapshotter plugin exports through containerd's introspection service,
// or containerd's default location when it does not.
func snapshotterRoot(ctx context.Context, client *containerd.Client, snapshotter string) string {
	filter := fmt.Sprintf("type==%s, id==%s", plugin.SnapshotPlugin, snapshotter)
	resp, err := client.IntrospectionService().Plugins(ctx, []string{filter})
	if err == nil && len(resp.Plugins) > 0 {
		if root, ok := resp.Plugins[0].Exports[plugin.SnapshotterRootDir]; ok && root != "" {
			return root
		}
	}
	root := filepath.Join("/var/lib/containerd", plugin.SnapshotPlugin.String()+"."+snapshotter)
	logrus.WithError(err).WithFields(logrus.Fields{"snapshotter": snapshotter, "assumed": root}).
		Warn("snapshotter does not export its root directory")
	return root
}
