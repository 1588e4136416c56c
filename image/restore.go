package image

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/images"
	"github.com/containerd/containerd/platforms"
	"github.com/opencontainers/go-digest"
	"github.com/sirupsen/logrus"
)

// loadParallelism bounds how many images load at once at start-up.
const loadParallelism = 4

// load rebuilds the index from containerd's image records, the way
// containerd's CRI recovers: each image whose content is complete is read
// once per manifest, unpacked if its snapshots are gone, and indexed under
// all its names. Names podshim did not make get the managed label, and an
// image without its ID name gets one.
func (s *Service) load(ctx context.Context) error {
	start := time.Now()
	records, err := s.client.ImageService().List(ctx)
	if err != nil {
		return fmt.Errorf("list containerd images: %w", err)
	}
	byTarget := map[digest.Digest][]images.Image{}
	for _, r := range records {
		byTarget[r.Target.Digest] = append(byTarget[r.Target.Digest], r)
	}

	type loaded struct {
		info    Image
		records []images.Image
	}
	var (
		mu   sync.Mutex
		out  []loaded
		wg   sync.WaitGroup
		sema = make(chan struct{}, loadParallelism)
	)
	for _, recs := range byTarget {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sema <- struct{}{}
			defer func() { <-sema }()
			info, err := s.loadOne(ctx, recs[0])
			if err != nil {
				logrus.WithError(err).WithField("image", recs[0].Name).Warn("skipping image that cannot be loaded")
				return
			}
			mu.Lock()
			out = append(out, loaded{info: info, records: recs})
			mu.Unlock()
		}()
	}
	wg.Wait()

	named := map[string]bool{}
	for _, r := range records {
		named[r.Name] = true
	}
	s.namesMu.Lock()
	defer s.namesMu.Unlock()
	for _, l := range out {
		pinned := false
		for _, r := range l.records {
			namePinned := r.Labels[LabelPinned] == LabelPinnedValue
			if r.Labels[LabelManaged] != LabelManagedValue {
				labels := s.labelsFor(r.Name)
				if namePinned {
					labels[LabelPinned] = LabelPinnedValue
				}
				if err := s.setName(ctx, r.Name, r.Target, labels); err != nil {
					return fmt.Errorf("adopt image %q: %w", r.Name, err)
				}
				namePinned = labels[LabelPinned] == LabelPinnedValue
			}
			pinned = pinned || namePinned
			s.store.set(r.Name, l.info, namePinned)
		}
		if named[l.info.ID] {
			continue
		}
		labels := map[string]string{LabelManaged: LabelManagedValue}
		if pinned {
			labels[LabelPinned] = LabelPinnedValue
		}
		if err := s.setName(ctx, l.info.ID, l.info.Target, labels); err != nil {
			return fmt.Errorf("name image %q by its ID: %w", l.records[0].Name, err)
		}
		named[l.info.ID] = true
		s.store.set(l.info.ID, l.info, pinned)
	}
	logrus.WithFields(logrus.Fields{
		"images":   len(s.store.list()),
		"records":  len(records),
		"duration": time.Since(start),
	}).Info("loaded images from containerd")
	return nil
}

// loadOne checks that an image's manifest and config are there, unpacks it
// when its snapshots are missing, and reads its data.
func (s *Service) loadOne(ctx context.Context, rec images.Image) (Image, error) {
	ok, required, _, missing, err := images.Check(ctx, s.client.ContentStore(), rec.Target, platforms.Default())
	if err != nil {
		return Image{}, fmt.Errorf("check content: %w", err)
	}
	if !ok {
		return Image{}, fmt.Errorf("manifest %s missing", rec.Target.Digest)
	}
	// Layer blobs may be gone legitimately once unpacked (containerd's
	// discard_unpacked_layers); without them, only an unpacked image works.
	if len(missing) > 0 && len(required) > 0 && missing[0].Digest == required[0].Digest {
		return Image{}, fmt.Errorf("config %s missing", missing[0].Digest)
	}
	i := containerd.NewImage(s.client, rec)
	unpacked, err := i.IsUnpacked(ctx, s.snapshotter)
	if err != nil {
		return Image{}, fmt.Errorf("check unpacked: %w", err)
	}
	if !unpacked {
		logrus.WithField("image", rec.Name).Info("unpacking image whose snapshots are missing")
		if err := i.Unpack(ctx, s.snapshotter, containerd.WithUnpackDuplicationSuppressor(s.unpackLocks)); err != nil {
			return Image{}, fmt.Errorf("unpack: %w", err)
		}
	}
	return imageInfo(ctx, i)
}
