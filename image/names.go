package image

import (
	"context"
	"fmt"

	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/images"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// setName makes containerd image name point at target with labels, as
// containerd's CRI createImageReference does: create it, or re-point an
// existing name and add the managed and pinned labels it lacks (a pinned
// label is never taken away here). The caller holds s.namesMu.
func (s *Service) setName(ctx context.Context, name string, target ocispec.Descriptor, labels map[string]string) error {
	is := s.client.ImageService()
	rec := images.Image{Name: name, Target: target, Labels: labels}
	_, err := is.Create(ctx, rec)
	if err == nil {
		return nil
	}
	if !errdefs.IsAlreadyExists(err) {
		return fmt.Errorf("create image name %q: %w", name, err)
	}
	old, err := is.Get(ctx, name)
	if err != nil {
		return fmt.Errorf("get image name %q: %w", name, err)
	}
	fields := []string{"target"}
	if old.Labels[LabelManaged] != labels[LabelManaged] {
		fields = append(fields, "labels."+LabelManaged)
	}
	if labels[LabelPinned] == LabelPinnedValue && old.Labels[LabelPinned] != LabelPinnedValue {
		fields = append(fields, "labels."+LabelPinned)
	}
	if old.Target.Digest == target.Digest && len(fields) == 1 {
		return nil
	}
	if _, err := is.Update(ctx, rec, fields...); err != nil {
		return fmt.Errorf("update image name %q: %w", name, err)
	}
	return nil
}

// nameImage gives img, whose data imageInfo read, the names of a pulled or
// imported image (its ID, the tag ref and the repo@digest ref; empty ones
// are skipped) in containerd and in the index, and returns the indexed
// image.
func (s *Service) nameImage(ctx context.Context, img Image, names []string, labels map[string]string) (Image, error) {
	s.namesMu.Lock()
	defer s.namesMu.Unlock()
	pinned := labels[LabelPinned] == LabelPinnedValue
	for _, name := range names {
		if name == "" {
			continue
		}
		if err := s.setName(ctx, name, img.Target, labels); err != nil {
			return Image{}, err
		}
		s.dropped(s.store.set(name, img, pinned))
	}
	got, ok := s.store.byID(img.ID)
	if !ok {
		return Image{}, fmt.Errorf("image %q has no name: %w", img.ID, errdefs.ErrNotFound)
	}
	return got, nil
}
