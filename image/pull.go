package image

import (
	"context"
	"fmt"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/content"
	"github.com/containerd/containerd/images"
	"github.com/containerd/containerd/platforms"
	"github.com/containerd/containerd/remotes"
	"github.com/containerd/containerd/remotes/docker"
	"github.com/distribution/reference"
	"github.com/sirupsen/logrus"
	"go.opentelemetry.io/otel/attribute"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/faultpoint"
	"github.com/podshim/podshim/tracing"
)

// Pull pulls ref (normalized the docker way) with the registry host config
// of the service and the request's credentials, unpacks it into the
// snapshotter and names it in containerd under its tag ref (if any), its
// repo@digest ref and its ID, like containerd's CRI. A tag that pointed at
// another image moves to the new one. Pulls of the same ref run one after
// the other; the second finds the content already there.
//
// Containerd's client sends every layer through containerd's content API
// (gRPC messages that containerd hashes as they come) and, only once a
// layer is all in, has containerd read it back to unpack it. Unless the
// service keeps layer blobs, Pull instead unpacks each layer here as it
// streams in from the registry, checking its digest and diff ID on the way
// (see pullStreaming), which takes a fraction of the time.
func (s *Service) Pull(ctx context.Context, ref string, auth *runtime.AuthConfig) (_ Image, retErr error) {
	start := time.Now()
	ctx, end := tracing.Start(ctx, "image.pull", attribute.String("image.ref", ref))
	defer func() {
		if retErr != nil {
			s.pulls.PullFailed(pullFailureReason(retErr))
		}
		end(retErr)
	}()
	named, err := parseRef(ref)
	if err != nil {
		return Image{}, err
	}
	name := named.String()
	if err := s.refLocks.Lock(ctx, name); err != nil {
		return Image{}, fmt.Errorf("pull %q: %w", name, err)
	}
	defer s.refLocks.Unlock(name)

	resolver := docker.NewResolver(docker.ResolverOptions{Hosts: s.registryHosts(ctx, auth)})
	pull := s.pullStreaming
	if s.keepBlobs {
		pull = s.pullWithClient
	}
	img, err := pull(ctx, named, resolver)
	if err != nil {
		return Image{}, fmt.Errorf("pull %q: %w", name, err)
	}
	repoDigest, _ := repoDigestAndTag(named, img.Target.Digest)
	logrus.WithFields(logrus.Fields{
		"ref":      ref,
		"image":    name,
		"id":       img.ID,
		"digest":   repoDigest,
		"size":     img.Size,
		"duration": time.Since(start),
	}).Info("pulled image")
	s.pulls.PullDone(img.Size, time.Since(start))
	return img, nil
}

// pullStreaming fetches and unpacks named (see unpackLayers) under a lease
// and names the image before the lease goes, so that containerd's garbage
// collector never sees its content or snapshots unreferenced.
func (s *Service) pullStreaming(ctx context.Context, named reference.Named, resolver remotes.Resolver) (_ Image, retErr error) {
	name := named.String()
	ctx, done, err := s.WithWorkLease(ctx)
	if err != nil {
		return Image{}, fmt.Errorf("create lease: %w", err)
	}
	defer func() {
		if err := done(context.WithoutCancel(ctx)); err != nil && retErr == nil {
			retErr = fmt.Errorf("release lease: %w", err)
		}
	}()

	resolved, target, err := resolver.Resolve(ctx, name)
	if err != nil {
		return Image{}, fmt.Errorf("resolve: %w", err)
	}
	fetcher, err := resolver.Fetcher(ctx, resolved)
	if err != nil {
		return Image{}, fmt.Errorf("fetcher for %q: %w", resolved, err)
	}
	cs := s.client.ContentStore()
	platform := platforms.Default()
	target, manifest, config, err := fetchMetadata(ctx, cs, fetcher, resolved, target, platform)
	if err != nil {
		return Image{}, err
	}
	distSource, err := docker.AppendDistributionSourceLabel(cs, resolved)
	if err != nil {
		return Image{}, fmt.Errorf("distribution source of %q: %w", resolved, err)
	}
	chainID, err := s.unpackLayers(ctx, cs, fetcher, manifest.Layers, config.RootFS.DiffIDs, distSource)
	if err != nil {
		return Image{}, fmt.Errorf("unpack: %w", err)
	}
	if chainID != "" {
		// The config keeps the snapshots from the garbage collector.
		gcLabel := "containerd.io/gc.ref.snapshot." + s.snapshotter
		info := content.Info{Digest: manifest.Config.Digest, Labels: map[string]string{gcLabel: chainID}}
		if _, err := cs.Update(ctx, info, "labels."+gcLabel); err != nil {
			return Image{}, fmt.Errorf("label image config: %w", err)
		}
	}

	info, err := imageInfo(ctx, containerd.NewImageWithPlatform(s.client, images.Image{Name: name, Target: target}, platform))
	if err != nil {
		return Image{}, err
	}
	repoDigest, repoTag := repoDigestAndTag(named, target.Digest)
	s.faults.Hit(faultpoint.PullImageBeforeTag)
	return s.nameImage(ctx, info, []string{info.ID, repoTag, repoDigest}, s.labelsFor(name))
}

// pullWithClient pulls named with containerd's client, which keeps the
// layer blobs in the content store, and names the image. The client's
// pull runs under podshim's work lease (it takes no lease of its own when
// ctx has one), so that what a crash leaves in the middle (content
// ingests, blobs, unpack snapshots) is freed at the next start-up rather
// than held by an unlabelled lease for a day.
func (s *Service) pullWithClient(ctx context.Context, named reference.Named, resolver remotes.Resolver) (_ Image, retErr error) {
	name := named.String()
	labels := s.labelsFor(name)
	ctx, done, err := s.WithWorkLease(ctx)
	if err != nil {
		return Image{}, fmt.Errorf("create lease: %w", err)
	}
	defer func() {
		if err := done(context.WithoutCancel(ctx)); err != nil && retErr == nil {
			retErr = fmt.Errorf("release lease: %w", err)
		}
	}()
	pulled, err := s.client.Pull(ctx, name,
		containerd.WithResolver(s.keptBlobsResolver(resolver)),
		containerd.WithPullUnpack,
		containerd.WithPullSnapshotter(s.snapshotter),
		containerd.WithPullLabels(labels),
		containerd.WithMaxConcurrentDownloads(maxConcurrentDownloads),
		containerd.WithUnpackOpts([]containerd.UnpackOpt{
			containerd.WithUnpackDuplicationSuppressor(s.unpackLocks),
		}),
	)
	if err != nil {
		return Image{}, fmt.Errorf("pull and unpack: %w", err)
	}
	info, err := imageInfo(ctx, pulled)
	if err != nil {
		return Image{}, err
	}
	repoDigest, repoTag := repoDigestAndTag(named, pulled.Target().Digest)
	s.faults.Hit(faultpoint.PullImageKeptBlobsBeforeTag)
	return s.nameImage(ctx, info, []string{info.ID, repoTag, repoDigest}, labels)
}
