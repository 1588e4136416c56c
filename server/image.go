package server

import (
	"context"

	"github.com/containerd/containerd/errdefs"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/image"
)

// PullImage pulls an image and returns its ID.
func (s *Server) PullImage(ctx context.Context, r *runtime.PullImageRequest) (*runtime.PullImageResponse, error) {
	img, err := s.opts.Images.Pull(ctx, r.GetImage().GetImage(), r.GetAuth())
	if err != nil {
		return nil, err
	}
	return &runtime.PullImageResponse{ImageRef: img.ID}, nil
}

// ImageStatus reports a local image. An absent image is an OK response
// without image: kubelet's IfNotPresent and Never policies rely on that.
func (s *Server) ImageStatus(ctx context.Context, r *runtime.ImageStatusRequest) (*runtime.ImageStatusResponse, error) {
	img, err := s.opts.Images.Get(ctx, r.GetImage().GetImage())
	if errdefs.IsNotFound(err) {
		return &runtime.ImageStatusResponse{}, nil
	}
	if err != nil {
		return nil, err
	}
	resp := &runtime.ImageStatusResponse{Image: image.ToCRI(img)}
	if r.GetVerbose() {
		resp.Info = image.VerboseInfo(img)
	}
	return resp, nil
}

// ListImages lists local images, filtered by image reference.
func (s *Server) ListImages(ctx context.Context, r *runtime.ListImagesRequest) (*runtime.ListImagesResponse, error) {
	images, err := s.opts.Images.ListCRI(ctx, r.GetFilter())
	if err != nil {
		return nil, err
	}
	return &runtime.ListImagesResponse{Images: images}, nil
}

// RemoveImage removes an image by ID, tag or digest; unknown images
// succeed.
func (s *Server) RemoveImage(ctx context.Context, r *runtime.RemoveImageRequest) (*runtime.RemoveImageResponse, error) {
	if err := s.opts.Images.Remove(ctx, r.GetImage().GetImage()); err != nil {
		return nil, err
	}
	return &runtime.RemoveImageResponse{}, nil
}

// ImageFsInfo reports the image filesystem's usage.
func (s *Server) ImageFsInfo(ctx context.Context, r *runtime.ImageFsInfoRequest) (*runtime.ImageFsInfoResponse, error) {
	fs, err := s.opts.Images.FsInfo(ctx)
	if err != nil {
		return nil, err
	}
	return &runtime.ImageFsInfoResponse{ImageFilesystems: fs}, nil
}
