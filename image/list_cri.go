package image

import (
	"context"

	"github.com/containerd/containerd/errdefs"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ListCRI returns the local images as ListImages and StreamImages report
// them, filtered by image reference: with a reference, only the image it
// names (none when it names no local image).
func (s *Service) ListCRI(ctx context.Context, f *runtime.ImageFilter) ([]*runtime.Image, error) {
	if ref := f.GetImage().GetImage(); ref != "" {
		img, err := s.Get(ctx, ref)
		if errdefs.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return []*runtime.Image{ToCRI(img)}, nil
	}
	var out []*runtime.Image
	for _, img := range s.List(ctx) {
		out = append(out, ToCRI(img))
	}
	return out, nil
}
