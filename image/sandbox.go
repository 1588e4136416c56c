package image

import (
	"bytes"
	"context"
	"fmt"
	"os"
	goruntime "runtime"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/content"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/images"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sirupsen/logrus"
)

// EnsureSandboxImage returns the configured sandbox image, making sure it
// is present and pinned: podshim's own pause image is built from the pause
// binary and imported when absent (no registry needed), any other sandbox
// image is pulled when absent, without credentials.
func (s *Service) EnsureSandboxImage(ctx context.Context) (Image, error) {
	img, err := s.Get(ctx, s.sandboxRef)
	if err == nil {
		if img.Pinned {
			return img, nil
		}
		return s.pin(ctx, img)
	}
	if !errdefs.IsNotFound(err) {
		return Image{}, fmt.Errorf("sandbox image %q: %w", s.sandboxRef, err)
	}
	if s.sandboxRef == DefaultSandboxImage { // already normalized, see TestDefaultSandboxImageIsNormalized
		return s.importPause(ctx)
	}
	img, err = s.Pull(ctx, s.sandboxRef, nil)
	if err != nil {
		return Image{}, fmt.Errorf("sandbox image: %w", err)
	}
	return img, nil
}

// pin adds the pinned label to every name of img.
func (s *Service) pin(ctx context.Context, img Image) (Image, error) {
	labels := map[string]string{LabelManaged: LabelManagedValue, LabelPinned: LabelPinnedValue}
	s.namesMu.Lock()
	names := s.store.namesOf(img.ID)
	s.namesMu.Unlock()
	return s.nameImage(ctx, img, names, labels)
}

// importPause builds podshim's pause image from the pause binary, writes
// it into containerd's content store, unpacks it and names it (tag ref,
// repo@digest ref, ID), pinned. All of it happens under a lease, so that
// nothing is collected before the names hold it.
func (s *Service) importPause(ctx context.Context) (Image, error) {
	if err := s.refLocks.Lock(ctx, s.sandboxRef); err != nil {
		return Image{}, fmt.Errorf("import pause image: %w", err)
	}
	defer s.refLocks.Unlock(s.sandboxRef)
	if img, err := s.Get(ctx, s.sandboxRef); err == nil {
		return img, nil // imported meanwhile
	}
	if s.pauseBinary == "" {
		return Image{}, fmt.Errorf("import pause image %q: no pause binary configured: %w", s.sandboxRef, errdefs.ErrFailedPrecondition)
	}
	start := time.Now()
	binary, err := os.ReadFile(s.pauseBinary)
	if err != nil {
		return Image{}, fmt.Errorf("import pause image: read pause binary: %w", err)
	}
	built, err := buildPauseImage(binary, goruntime.GOARCH)
	if err != nil {
		return Image{}, fmt.Errorf("import pause image: %w", err)
	}

	ctx, done, err := s.WithWorkLease(ctx)
	if err != nil {
		return Image{}, fmt.Errorf("import pause image: lease: %w", err)
	}
	defer func() {
		if err := done(context.WithoutCancel(ctx)); err != nil {
			logrus.WithError(err).Warn("release pause image import lease")
		}
	}()
	target, err := s.writeImage(ctx, built)
	if err != nil {
		return Image{}, fmt.Errorf("import pause image: %w", err)
	}
	ci := containerd.NewImage(s.client, images.Image{Name: s.sandboxRef, Target: target})
	if err := ci.Unpack(ctx, s.snapshotter, containerd.WithUnpackDuplicationSuppressor(s.unpackLocks)); err != nil {
		return Image{}, fmt.Errorf("import pause image: unpack: %w", err)
	}
	info, err := imageInfo(ctx, ci)
	if err != nil {
		return Image{}, fmt.Errorf("import pause image: %w", err)
	}
	named, err := parseRef(s.sandboxRef)
	if err != nil {
		return Image{}, err
	}
	repoDigest, repoTag := repoDigestAndTag(named, target.Digest)
	img, err := s.nameImage(ctx, info, []string{info.ID, repoTag, repoDigest}, s.labelsFor(s.sandboxRef))
	if err != nil {
		return Image{}, fmt.Errorf("import pause image: %w", err)
	}
	logrus.WithFields(logrus.Fields{
		"image":    s.sandboxRef,
		"id":       img.ID,
		"size":     img.Size,
		"duration": time.Since(start),
	}).Info("imported podshim pause image")
	return img, nil
}

// writeImage writes a single-platform image's layers, config and manifest
// into the content store, the manifest labelled with the references that
// keep the others from garbage collection, and returns the manifest's
// descriptor.
func (s *Service) writeImage(ctx context.Context, img v1.Image) (ocispec.Descriptor, error) {
	cs := s.client.ContentStore()
	gcRefs := map[string]string{}
	layers, err := img.Layers()
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("layers: %w", err)
	}
	for i, layer := range layers {
		mt, err := layer.MediaType()
		if err != nil {
			return ocispec.Descriptor{}, err
		}
		rc, err := layer.Compressed()
		if err != nil {
			return ocispec.Descriptor{}, err
		}
		var buf bytes.Buffer
		_, err = buf.ReadFrom(rc)
		rc.Close()
		if err != nil {
			return ocispec.Descriptor{}, err
		}
		desc, err := writeBlob(ctx, cs, string(mt), buf.Bytes(), nil)
		if err != nil {
			return ocispec.Descriptor{}, fmt.Errorf("layer %d: %w", i, err)
		}
		gcRefs[fmt.Sprintf("containerd.io/gc.ref.content.l.%d", i)] = desc.Digest.String()
	}
	rawConfig, err := img.RawConfigFile()
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("config: %w", err)
	}
	configDesc, err := writeBlob(ctx, cs, ocispec.MediaTypeImageConfig, rawConfig, nil)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("config: %w", err)
	}
	gcRefs["containerd.io/gc.ref.content.config"] = configDesc.Digest.String()
	rawManifest, err := img.RawManifest()
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("manifest: %w", err)
	}
	manifestDesc, err := writeBlob(ctx, cs, ocispec.MediaTypeImageManifest, rawManifest, gcRefs)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("manifest: %w", err)
	}
	return manifestDesc, nil
}

// writeBlob stores data in the content store (a no-op when it is there)
// and sets labels on it, also when it was there already.
func writeBlob(ctx context.Context, cs content.Store, mediaType string, data []byte, labels map[string]string) (ocispec.Descriptor, error) {
	desc := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}
	if err := content.WriteBlob(ctx, cs, "podshim-import-"+desc.Digest.String(), bytes.NewReader(data), desc, content.WithLabels(labels)); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("write blob %s: %w", desc.Digest, err)
	}
	if len(labels) > 0 {
		info := content.Info{Digest: desc.Digest, Labels: labels}
		var fields []string
		for k := range labels {
			fields = append(fields, "labels."+k)
		}
		if _, err := cs.Update(ctx, info, fields...); err != nil {
			return ocispec.Descriptor{}, fmt.Errorf("label blob %s: %w", desc.Digest, err)
		}
	}
	return desc, nil
}
