package image

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"time"

	"github.com/containerd/containerd/content"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/images"
	"github.com/containerd/containerd/labels"
	"github.com/containerd/containerd/leases"
	"github.com/containerd/containerd/remotes"
	"github.com/containerd/containerd/snapshots"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/identity"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sirupsen/logrus"
)

// labelSnapshotRef names, on a snapshot being unpacked, the snapshot it
// will be committed as (containerd's unpacker sets it too).
const labelSnapshotRef = "containerd.io/snapshot.ref"

// unpackLayers unpacks the layers of an image, bottom first, into the
// service's snapshotter, each in one pass over the registry's response
// where it can (see fetchLayer), the downloads of the next layers running
// ahead meanwhile (see readAhead). Layers whose snapshot exists are neither
// fetched nor unpacked again, as with containerd's unpacker. It returns the
// chain ID of the top layer ("" for an image without layers).
func (s *Service) unpackLayers(ctx context.Context, cs content.Store, fetcher remotes.Fetcher, layers []ocispec.Descriptor, diffIDs []digest.Digest, distSource images.HandlerFunc) (string, error) {
	if len(layers) != len(diffIDs) {
		return "", fmt.Errorf("manifest has %d layers, image config %d diff IDs: %w", len(layers), len(diffIDs), errdefs.ErrInvalidArgument)
	}
	s.chunks.begin()
	defer s.chunks.end()
	ahead := newReadAhead(ctx, s.chunks, fetcher, layers)
	defer ahead.close()
	var chain []digest.Digest
	for i, desc := range layers {
		parent := identity.ChainID(chain).String()
		chain = append(chain, diffIDs[i])
		download := func() io.ReadCloser { return ahead.take(i) }
		if err := s.unpackLayer(ctx, cs, fetcher, download, desc, diffIDs[i], parent, identity.ChainID(chain).String(), distSource); err != nil {
			return "", fmt.Errorf("layer %d (%s): %w", i, desc.Digest, err)
		}
	}
	return identity.ChainID(chain).String(), nil
}

// unpackLayer makes the committed snapshot chainID of layer desc on parent,
// unless it exists. One unpack per chain ID runs at a time (the lock is
// shared with the key containerd's unpacker uses).
func (s *Service) unpackLayer(ctx context.Context, cs content.Store, fetcher remotes.Fetcher, download func() io.ReadCloser, desc ocispec.Descriptor, diffID digest.Digest, parent, chainID string, distSource images.HandlerFunc) error {
	lockKey := fmt.Sprintf("sn://%s/%s", s.snapshotter, chainID)
	if err := s.unpackLocks.Lock(ctx, lockKey); err != nil {
		return fmt.Errorf("wait for unpack of %s: %w", chainID, err)
	}
	defer s.unpackLocks.Unlock(lockKey)

	// An existing snapshot is leased, so that it stays while the layers
	// above are prepared on it, even if nothing else references it.
	sn := s.client.SnapshotService(s.snapshotter)
	exists := func() (bool, error) {
		ok, err := s.existsLeased(ctx, leases.Resource{ID: chainID, Type: "snapshots/" + s.snapshotter}, func() error {
			_, err := sn.Stat(ctx, chainID)
			return err
		})
		if err != nil {
			return false, fmt.Errorf("snapshot %s: %w", chainID, err)
		}
		return ok, nil
	}
	if ok, err := exists(); ok || err != nil {
		return err
	}
	snLabels := snapshots.FilterInheritedLabels(desc.Annotations)
	if snLabels == nil {
		snLabels = map[string]string{}
	}
	snLabels[labelSnapshotRef] = chainID
	withLabels := snapshots.WithLabels(snLabels)
	key := fmt.Sprintf(snapshots.UnpackKeyFormat, uniquePart(), chainID)
	mounts, err := sn.Prepare(ctx, key, parent, withLabels)
	if errdefs.IsAlreadyExists(err) {
		if ok, _ := exists(); ok {
			return nil // committed meanwhile, by someone else
		}
	}
	if err != nil {
		return fmt.Errorf("prepare snapshot %q: %w", key, err)
	}
	committed := false
	defer func() {
		if committed {
			return
		}
		if err := sn.Remove(context.WithoutCancel(ctx), key); err != nil && !errdefs.IsNotFound(err) {
			logrus.WithError(err).WithField("key", key).Warn("failed to remove unpack snapshot")
		}
	}()

	start := time.Now()
	got, stored, err := s.fetchLayer(ctx, cs, fetcher, download, desc, mounts)
	if err != nil {
		return err
	}
	if got != diffID {
		return fmt.Errorf("unpacked layer has diff ID %s, the image config says %s: %w", got, diffID, errdefs.ErrFailedPrecondition)
	}
	if err := sn.Commit(ctx, chainID, key, withLabels); err != nil {
		if errdefs.IsAlreadyExists(err) {
			if ok, _ := exists(); ok {
				return nil // committed meanwhile; ours is removed
			}
		}
		return fmt.Errorf("commit snapshot %s: %w", chainID, err)
	}
	committed = true
	logrus.WithFields(logrus.Fields{
		"layer": desc.Digest, "size": desc.Size, "blob stored": stored, "duration": time.Since(start),
	}).Debug("layer unpacked")
	if !stored {
		return nil // nothing to label
	}

	info := content.Info{Digest: desc.Digest, Labels: map[string]string{labels.LabelUncompressed: diffID.String()}}
	if _, err := cs.Update(ctx, info, "labels."+labels.LabelUncompressed); err != nil {
		return fmt.Errorf("label layer content: %w", err)
	}
	if _, err := distSource(ctx, desc); err != nil {
		return fmt.Errorf("label layer content: %w", err)
	}
	return nil
}

// existsLeased tells whether stat finds resource r and, if so, adds r to
// ctx's lease, so that containerd's garbage collector leaves it alone while
// the pull needs it: stat looks again once r is leased, as the collector
// may have taken it in between.
func (s *Service) existsLeased(ctx context.Context, r leases.Resource, stat func() error) (bool, error) {
	if err := stat(); errdefs.IsNotFound(err) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if lease, ok := leases.FromContext(ctx); ok {
		if err := s.client.LeasesService().AddResource(ctx, leases.Lease{ID: lease}, r); err != nil {
			return false, fmt.Errorf("lease %s %s: %w", r.Type, r.ID, err)
		}
	}
	if err := stat(); errdefs.IsNotFound(err) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return true, nil
}

// uniquePart makes unpack snapshot keys unique, as containerd's unpacker does.
func uniquePart() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%d-%s", time.Now().Nanosecond(), base64.URLEncoding.EncodeToString(b[:]))
}
