package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/containerd/containerd/content"
	"github.com/containerd/containerd/diff/apply"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/images"
	"github.com/containerd/containerd/leases"
	"github.com/containerd/containerd/mount"
	"github.com/containerd/containerd/remotes"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// fetchLayer applies layer desc to mounts, the snapshot prepared for it,
// and returns the digest of the uncompressed layer (its diff ID) and
// whether the content store holds the layer's blob.
//
// When podshim sees the snapshot's directory (overlayfs and native
// snapshotters on this host) and the content store lacks the blob, the
// layer streams from the registry (download, see readAhead) and is applied
// here as the bytes come, in one pass; the blob is not stored. Otherwise
// containerd applies the layer from its content store, fetching it there
// first with fetcher if need be.
func (s *Service) fetchLayer(ctx context.Context, cs content.Store, fetcher remotes.Fetcher, download func() io.ReadCloser, desc ocispec.Descriptor, mounts []mount.Mount) (diffID digest.Digest, stored bool, err error) {
	if appliesLocally(desc.MediaType, mounts) {
		stored, err := s.existsLeased(ctx, leases.Resource{ID: desc.Digest.String(), Type: "content"}, func() error {
			_, err := cs.Info(ctx, desc.Digest)
			return err
		})
		if err != nil {
			return "", false, fmt.Errorf("layer blob: %w", err)
		}
		if !stored {
			rc := download()
			defer rc.Close()
			diffID, err := streamLayer(ctx, s.chunks, s.crashMidLayer(rc, desc.Size), desc, mounts)
			return diffID, false, err
		}
	} else if err := remotes.Fetch(ctx, cs, fetcher, desc); err != nil && !errdefs.IsAlreadyExists(err) {
		return "", false, fmt.Errorf("fetch: %w", err)
	}
	applied, err := s.client.DiffService().Apply(ctx, desc, mounts)
	if err != nil {
		return "", true, fmt.Errorf("apply: %w", err)
	}
	return applied.Digest, true, nil
}

// streamLayer reads layer desc from the registry's response rc and hands
// every chunk, at once, to a digest check and to an applier that unpacks
// into mounts as the bytes come (containerd's own file system applier:
// decompression, overlay whiteouts, diff ID). It returns only when the
// applier is done and the bytes matched desc's digest, so that the caller
// commits the snapshot of verified content only: the digest vouches for
// the compressed bytes, the diff ID the caller checks against the image
// config for what was unpacked.
func streamLayer(ctx context.Context, chunks *chunkPool, rc io.Reader, desc ocispec.Descriptor, mounts []mount.Mount) (digest.Digest, error) {
	if desc.Size <= 0 {
		return "", fmt.Errorf("layer %s has size %d: %w", desc.Digest, desc.Size, errdefs.ErrInvalidArgument)
	}
	if err := desc.Digest.Validate(); err != nil {
		return "", fmt.Errorf("layer digest: %w: %w", errdefs.ErrInvalidArgument, err)
	}
	verifier := desc.Digest.Verifier()
	pr, pw := io.Pipe()
	type result struct {
		diffID digest.Digest
		err    error
	}
	applied := make(chan result, 1)
	go func() {
		d, err := apply.NewFileSystemApplier(&layerStream{desc: desc, r: pr}).Apply(ctx, desc, mounts)
		if err == nil {
			// Whatever the applier left unread still goes to the digest check.
			_, err = io.Copy(io.Discard, pr)
		}
		pr.CloseWithError(err)
		applied <- result{d.Digest, err}
	}()
	n, copyErr := fanOut(chunks, io.LimitReader(rc, desc.Size), verifier, pw)
	pw.CloseWithError(copyErr)
	res := <-applied

	switch {
	case res.err != nil && (copyErr == nil || errors.Is(copyErr, res.err)):
		return "", fmt.Errorf("apply: %w", res.err)
	case copyErr != nil:
		return "", fmt.Errorf("fetch: %w", copyErr)
	case n != desc.Size:
		return "", fmt.Errorf("fetch: got %d of %d bytes: %w", n, desc.Size, io.ErrUnexpectedEOF)
	case !verifier.Verified():
		return "", fmt.Errorf("fetched layer does not match its digest %s: %w", desc.Digest, errdefs.ErrFailedPrecondition)
	}
	return res.diffID, nil
}

// layerStream is a content.Provider of one layer while it streams in: its
// ReaderAt serves reads in order only, which is how the file system
// applier reads a layer.
type layerStream struct {
	desc ocispec.Descriptor
	r    io.Reader
	off  int64
}

func (l *layerStream) ReaderAt(ctx context.Context, desc ocispec.Descriptor) (content.ReaderAt, error) {
	if desc.Digest != l.desc.Digest {
		return nil, fmt.Errorf("streamed layer is %s, not %s: %w", l.desc.Digest, desc.Digest, errdefs.ErrNotFound)
	}
	return l, nil
}

func (l *layerStream) ReadAt(p []byte, off int64) (int, error) {
	if off != l.off {
		return 0, fmt.Errorf("streamed layer read at offset %d, not %d: %w", off, l.off, errdefs.ErrNotImplemented)
	}
	n, err := l.r.Read(p)
	l.off += int64(n)
	return n, err
}

func (l *layerStream) Size() int64  { return l.desc.Size }
func (l *layerStream) Close() error { return nil }

// appliesLocally tells whether podshim can apply a layer of mediaType to
// mounts itself: a plain (uncompressed, gzip or zstd) tar layer, and a
// single overlay mount whose upper directory it sees or a bind mount of a
// directory it sees, which is what the overlayfs and native snapshotters of
// a containerd on this host give. Other layers (encrypted ones, say) are
// for containerd's differ and its stream processors.
func appliesLocally(mediaType string, mounts []mount.Mount) bool {
	switch mediaType {
	case images.MediaTypeDockerSchema2Layer, images.MediaTypeDockerSchema2LayerGzip,
		ocispec.MediaTypeImageLayer, ocispec.MediaTypeImageLayerGzip, ocispec.MediaTypeImageLayerZstd:
	default:
		return false
	}
	if len(mounts) != 1 {
		return false
	}
	var dir string
	switch m := mounts[0]; m.Type {
	case "bind":
		dir = m.Source
	case "overlay":
		for _, o := range m.Options {
			if v, ok := strings.CutPrefix(o, "upperdir="); ok {
				dir = v
			}
		}
	}
	if dir == "" {
		return false
	}
	fi, err := os.Stat(dir)
	return err == nil && fi.IsDir()
}
