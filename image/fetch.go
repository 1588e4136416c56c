package image

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/containerd/containerd/content"
	"github.com/containerd/containerd/images"
	"github.com/containerd/containerd/platforms"
	"github.com/containerd/containerd/remotes"
	"github.com/containerd/containerd/remotes/docker"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// fetchMetadata fetches the part of an image a pull needs before its
// layers into the content store: the index (if any), this platform's
// manifest and the image config, with the GC and distribution-source labels
// containerd's client gives them. The layers are left to unpackLayers. It
// returns the (possibly converted) target, its manifest and config.
func fetchMetadata(ctx context.Context, cs content.Store, fetcher remotes.Fetcher, name string, target ocispec.Descriptor, platform platforms.MatchComparer) (ocispec.Descriptor, ocispec.Manifest, ocispec.Image, error) {
	distSource, err := docker.AppendDistributionSourceLabel(cs, name)
	if err != nil {
		return target, ocispec.Manifest{}, ocispec.Image{}, fmt.Errorf("distribution source of %q: %w", name, err)
	}
	children := images.SetChildrenMappedLabels(cs, images.ChildrenHandler(cs), nil)
	children = images.LimitManifests(images.FilterPlatforms(children, platform), platform, 1)
	fetch := images.Handlers(remotes.FetchHandler(cs, fetcher), children, distSource)
	withoutLayers := images.HandlerFunc(func(ctx context.Context, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
		descs, err := fetch.Handle(ctx, desc)
		return slices.DeleteFunc(descs, func(d ocispec.Descriptor) bool { return images.IsLayerType(d.MediaType) }), err
	})
	if err := images.Dispatch(ctx, withoutLayers, nil, target); err != nil {
		return target, ocispec.Manifest{}, ocispec.Image{}, fmt.Errorf("fetch manifest and config: %w", err)
	}

	manifest, err := images.Manifest(ctx, cs, target, platform)
	if err != nil {
		return target, ocispec.Manifest{}, ocispec.Image{}, fmt.Errorf("read manifest: %w", err)
	}
	if manifest.Config.MediaType == docker.LegacyConfigMediaType {
		// As containerd's client does for pre-OCI images.
		if target, err = docker.ConvertManifest(ctx, cs, target); err != nil {
			return target, ocispec.Manifest{}, ocispec.Image{}, fmt.Errorf("convert legacy manifest: %w", err)
		}
		if manifest, err = images.Manifest(ctx, cs, target, platform); err != nil {
			return target, ocispec.Manifest{}, ocispec.Image{}, fmt.Errorf("read converted manifest: %w", err)
		}
	}
	blob, err := content.ReadBlob(ctx, cs, manifest.Config)
	if err != nil {
		return target, ocispec.Manifest{}, ocispec.Image{}, fmt.Errorf("read image config: %w", err)
	}
	var config ocispec.Image
	if err := json.Unmarshal(blob, &config); err != nil {
		return target, ocispec.Manifest{}, ocispec.Image{}, fmt.Errorf("parse image config %s: %w", manifest.Config.Digest, err)
	}
	return target, manifest, config, nil
}
