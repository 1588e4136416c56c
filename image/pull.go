package image

import (
	"context"
	"fmt"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/remotes/docker"
	"github.com/sirupsen/logrus"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// maxConcurrentDownloads bounds the layers one pull fetches at once.
const maxConcurrentDownloads = 3

// Pull pulls ref (normalized the docker way) with the registry host config
// of the service and the request's credentials, unpacks it into the
// snapshotter and names it in containerd under its tag ref (if any), its
// repo@digest ref and its ID, like containerd's CRI. A tag that pointed at
// another image moves to the new one. Pulls of the same ref run one after
// the other; the second finds the content already there.
func (s *Service) Pull(ctx context.Context, ref string, auth *runtime.AuthConfig) (Image, error) {
	named, err := parseRef(ref)
	if err != nil {
		return Image{}, err
	}
	name := named.String()
	if err := s.refLocks.Lock(ctx, name); err != nil {
		return Image{}, fmt.Errorf("pull %q: %w", name, err)
	}
	defer s.refLocks.Unlock(name)

	start := time.Now()
	labels := s.labelsFor(name)
	resolver := docker.NewResolver(docker.ResolverOptions{Hosts: s.registryHosts(ctx, auth)})
	pulled, err := s.client.Pull(ctx, name,
		containerd.WithResolver(resolver),
		containerd.WithPullUnpack,
		containerd.WithPullSnapshotter(s.snapshotter),
		containerd.WithPullLabels(labels),
		containerd.WithMaxConcurrentDownloads(maxConcurrentDownloads),
		containerd.WithUnpackOpts([]containerd.UnpackOpt{
			containerd.WithUnpackDuplicationSuppressor(s.unpackLocks),
		}),
	)
	if err != nil {
		return Image{}, fmt.Errorf("pull and unpack %q: %w", name, err)
	}
	info, err := imageInfo(ctx, pulled)
	if err != nil {
		return Image{}, fmt.Errorf("pull %q: %w", name, err)
	}
	repoDigest, repoTag := repoDigestAndTag(named, pulled.Target().Digest)
	img, err := s.nameImage(ctx, info, []string{info.ID, repoTag, repoDigest}, labels)
	if err != nil {
		return Image{}, fmt.Errorf("pull %q: %w", name, err)
	}
	logrus.WithFields(logrus.Fields{
		"ref":      ref,
		"image":    name,
		"id":       img.ID,
		"digest":   repoDigest,
		"size":     img.Size,
		"duration": time.Since(start),
	}).Info("pulled image")
	return img, nil
}
