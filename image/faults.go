package image

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/containerd/containerd/images"
	"github.com/containerd/containerd/leases"
	"github.com/containerd/containerd/remotes"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sirupsen/logrus"

	"github.com/podshim/podshim/faultpoint"
)

// labelWorkLease marks the leases podshim takes for a pull or an import.
// None outlives the call that took it, unless podshimd died during the
// call: New releases those (see releaseStaleLeases).
const labelWorkLease = "podshim.io/work-lease"

// WithWorkLease is client.WithLease with podshim's label on the lease: a
// lease a crash leaves is released at the next start-up. Callers that
// make containerd objects across several calls (containerd.NewContainer
// prepares the snapshot, then writes the record) take one, as the client
// would take an unlabelled one otherwise.
func (s *Service) WithWorkLease(ctx context.Context) (context.Context, func(context.Context) error, error) {
	return s.client.WithLease(ctx, leases.WithRandomID(), leases.WithExpiration(24*time.Hour),
		leases.WithLabels(map[string]string{labelWorkLease: "1"}))
}

// releaseStaleLeases deletes the work leases a crashed podshimd left
// (no pull runs before New returns), so that containerd's garbage
// collector frees the half-pulled content and unpack snapshots they hold.
func (s *Service) releaseStaleLeases(ctx context.Context) error {
	ls := s.client.LeasesService()
	stale, err := ls.List(ctx, fmt.Sprintf(`labels."%s"`, labelWorkLease))
	if err != nil {
		return fmt.Errorf("list leases: %w", err)
	}
	for i, l := range stale {
		var opts []leases.DeleteOpt
		if i == len(stale)-1 {
			opts = append(opts, leases.SynchronousDelete)
		}
		if err := ls.Delete(ctx, l, opts...); err != nil {
			return fmt.Errorf("delete stale lease %s: %w", l.ID, err)
		}
		logrus.WithField("lease", l.ID).Info("released the lease of an interrupted pull")
	}
	return nil
}

// crashMidLayer returns r, or, when faultpoint.PullImageMidLayer is armed,
// r wrapped to hit it once half of a layer of size bytes was read.
func (s *Service) crashMidLayer(r io.Reader, size int64) io.Reader {
	return crashMidLayerAt(s.faults, faultpoint.PullImageMidLayer, r, size)
}

func crashMidLayerAt(faults *faultpoint.Set, p faultpoint.Point, r io.Reader, size int64) io.Reader {
	if !faults.Armed(p) {
		return r
	}
	return &midLayerReader{r: r, left: size / 2, faults: faults, point: p}
}

type midLayerReader struct {
	r      io.Reader
	left   int64
	faults *faultpoint.Set
	point  faultpoint.Point
}

func (m *midLayerReader) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	m.left -= int64(n)
	if m.left <= 0 {
		m.faults.Hit(m.point)
	}
	return n, err
}

// crashingResolver is a resolver whose fetchers read layers through
// crashMidLayerAt(faultpoint.PullImageKeptBlobsMidLayer): containerd's
// client pull (--keep-layer-blobs) writes them to a content ingest as
// they come.
type crashingResolver struct {
	remotes.Resolver
	faults *faultpoint.Set
}

// keptBlobsResolver returns r, or r wrapped to crash half way into a layer
// when faultpoint.PullImageKeptBlobsMidLayer is armed.
func (s *Service) keptBlobsResolver(r remotes.Resolver) remotes.Resolver {
	if !s.faults.Armed(faultpoint.PullImageKeptBlobsMidLayer) {
		return r
	}
	return crashingResolver{Resolver: r, faults: s.faults}
}

func (c crashingResolver) Fetcher(ctx context.Context, ref string) (remotes.Fetcher, error) {
	f, err := c.Resolver.Fetcher(ctx, ref)
	if err != nil {
		return nil, err
	}
	return remotes.FetcherFunc(func(ctx context.Context, desc ocispec.Descriptor) (io.ReadCloser, error) {
		rc, err := f.Fetch(ctx, desc)
		if err != nil || !images.IsLayerType(desc.MediaType) {
			return rc, err
		}
		return struct {
			io.Reader
			io.Closer
		}{crashMidLayerAt(c.faults, faultpoint.PullImageKeptBlobsMidLayer, rc, desc.Size), rc}, nil
	}), nil
}
