package image

import (
	"context"
	"fmt"

	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/images"
	"github.com/sirupsen/logrus"

	"github.com/podshim/podshim/faultpoint"
)

// Remove deletes the image ref names (ID, short ID, tag or digest ref)
// with every name it has, the ID name last and synchronously, so that
// containerd's garbage collector frees its content and snapshots before
// Remove returns. Removing an absent image succeeds: CRI's RemoveImage
// "must not return an error if the image has already been removed".
func (s *Service) Remove(ctx context.Context, ref string) error {
	s.namesMu.Lock()
	defer s.namesMu.Unlock()
	img, err := s.Get(ctx, ref)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove image %q: %w", ref, err)
	}
	names := s.store.namesOf(img.ID)
	is := s.client.ImageService()
	for i, name := range names {
		var opts []images.DeleteOpt
		if i == len(names)-1 {
			opts = append(opts, images.SynchronousDelete())
		}
		if err := is.Delete(ctx, name, opts...); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("remove image %q: delete name %q: %w", ref, name, err)
		}
		s.dropped(s.store.remove(name))
		if i < len(names)-1 {
			s.faults.Hit(faultpoint.RemoveImageBetweenNames)
		}
	}
	logrus.WithFields(logrus.Fields{"ref": ref, "id": img.ID, "names": names}).Info("removed image")
	return nil
}
