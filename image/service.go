// Package image is podshim's image domain, behind CRI's ImageService: it
// pulls images into containerd (registry host config, credentials, each
// layer unpacked into the snapshotter as it streams in), names them the
// way containerd's CRI plugin does (tag ref, repo@digest ref and the ID
// "sha256:<config digest>", all labelled as managed), keeps an in-memory
// index of them so that lookups never call containerd, removes them,
// reports the image filesystem, and provides the sandbox (pause) image,
// importing podshim's own when the default one is configured.
//
// Every method expects ctx to carry the containerd namespace
// (namespaces.WithNamespace).
package image

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/images"
	"github.com/containerd/containerd/pkg/kmutex"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/identity"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/podshim/podshim/faultpoint"
)

// DefaultSandboxImage names podshim's own pause image, which podshim
// builds from its pause binary and imports instead of pulling.
const DefaultSandboxImage = "localhost/podshim/pause:1.0"

// Labels podshim puts on containerd image records, the same as containerd's
// CRI plugin uses.
const (
	LabelManaged       = "io.cri-containerd.image"
	LabelManagedValue  = "managed"
	LabelPinned        = "io.cri-containerd.pinned"
	LabelPinnedValue   = "pinned"
	defaultSnapshotter = "overlayfs"
)

// Options configure the image service.
type Options struct {
	Client            *containerd.Client
	Snapshotter       string // "overlayfs" when empty
	RegistryConfigDir string // containerd hosts.toml layout: <dir>/<host[:port]>/hosts.toml ("" = defaults)
	SandboxImage      string // the configured pause image reference (DefaultSandboxImage when empty)
	PauseBinary       string // path to podshim's static pause binary, used when SandboxImage == DefaultSandboxImage
	// KeepLayerBlobs keeps the compressed layers of pulled images in
	// containerd's content store besides their snapshots, as containerd
	// does by default, and pulls with containerd's client. Without it,
	// podshim keeps manifests, configs and snapshots only, like CRI-O and
	// containerd's discard_unpacked_layers: half the disk for images, and
	// a pull unpacks each layer as it comes instead of pushing it through
	// containerd's content API first (see Service.Pull), about 3 times as
	// fast. An image whose snapshots are lost then cannot be unpacked
	// again; it is pulled again.
	KeepLayerBlobs bool
	// Removed, when set, is called with the ID of an image podshim no
	// longer has, after RemoveImage or a pull that moved its last tag, so
	// that what was kept per image (cri/spec.ImageFiles) can go.
	Removed func(id string)
	// Pulls records pulls (count, bytes, duration, failures); nil: not
	// recorded.
	Pulls PullRecorder
	// Faults are the crash points (tests only; nil arms none).
	Faults *faultpoint.Set
}

// Image is what the runtime needs of a local image. Treat its slices and
// maps as read-only: they are shared with the service's index.
type Image struct {
	ID          string              // "sha256:<config digest>"
	RepoTags    []string            // normalized "docker.io/library/busybox:1.36"
	RepoDigests []string            // "docker.io/library/busybox@sha256:<manifest digest>"
	Size        uint64              // compressed size: manifest, config and layers
	Config      ocispec.ImageConfig // Entrypoint, Cmd, Env, User, WorkingDir, StopSignal...
	Pinned      bool                // the sandbox image; kubelet's GC leaves it alone
	Target      ocispec.Descriptor  // for containerd.NewImage / WithNewSnapshot
	ChainID     string              // for snapshots
	Spec        *ocispec.Image      // the whole image config (verbose ImageStatus); shared, read-only
}

// Service manages the images of one containerd namespace.
type Service struct {
	client      *containerd.Client
	snapshotter string
	hostsDir    string
	sandboxRef  string // normalized SandboxImage
	pauseBinary string
	keepBlobs   bool // Options.KeepLayerBlobs
	store       *store
	refLocks    kmutex.KeyedLocker // one pull or import per normalized ref at a time
	unpackLocks kmutex.KeyedLocker // one unpack per layer chain at a time
	namesMu     sync.Mutex         // orders changes of containerd names and their index updates
	chunks      *chunkPool         // download chunks of streaming pulls
	removed     func(id string)    // Options.Removed
	pulls       PullRecorder       // Options.Pulls
	fs          fsCache
	faults      *faultpoint.Set
}

// New makes the image service and rebuilds its index from the images
// containerd holds in ctx's namespace.
func New(ctx context.Context, o Options) (*Service, error) {
	if o.Client == nil {
		return nil, fmt.Errorf("image service: no containerd client: %w", errdefs.ErrInvalidArgument)
	}
	if o.Snapshotter == "" {
		o.Snapshotter = defaultSnapshotter
	}
	if o.SandboxImage == "" {
		o.SandboxImage = DefaultSandboxImage
	}
	sandboxRef, err := Normalize(o.SandboxImage)
	if err != nil {
		return nil, fmt.Errorf("sandbox image: %w", err)
	}
	s := &Service{
		client:      o.Client,
		snapshotter: o.Snapshotter,
		hostsDir:    o.RegistryConfigDir,
		sandboxRef:  sandboxRef,
		pauseBinary: o.PauseBinary,
		keepBlobs:   o.KeepLayerBlobs,
		store:       newStore(),
		refLocks:    kmutex.New(),
		unpackLocks: kmutex.New(),
		chunks:      newChunkPool(),
		removed:     o.Removed,
		pulls:       o.Pulls,
		faults:      o.Faults,
	}
	if s.pulls == nil {
		s.pulls = noPulls{}
	}
	s.fs.mountpoint = snapshotterRoot(ctx, o.Client, o.Snapshotter)
	if err := s.releaseStaleLeases(ctx); err != nil {
		return nil, err
	}
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Get returns the local image ref names: a full ID, a unique prefix of an
// ID's hex (with or without "sha256:"), a tag ref or a digest ref, short or
// normalized. It returns errdefs.ErrNotFound when there is no such image.
// It never calls containerd.
func (s *Service) Get(ctx context.Context, ref string) (Image, error) {
	if ref == "" {
		return Image{}, fmt.Errorf("empty image reference: %w", errdefs.ErrInvalidArgument)
	}
	if strings.HasPrefix(ref, idPrefix) && len(ref) == len(idPrefix)+64 {
		if img, ok := s.store.byID(ref); ok {
			return img, nil
		}
		if _, err := digest.Parse(ref); err == nil {
			return Image{}, fmt.Errorf("image %q: %w", ref, errdefs.ErrNotFound)
		}
	}
	name, parseErr := Normalize(ref)
	if parseErr == nil {
		if img, ok := s.store.byName(name); ok {
			return img, nil
		}
	}
	if prefix, ok := idPrefixOf(ref); ok {
		img, err := s.store.byPrefix(prefix)
		if err == nil {
			return img, nil
		}
		if !errdefs.IsNotFound(err) {
			return Image{}, err
		}
	} else if parseErr != nil {
		return Image{}, parseErr
	}
	return Image{}, fmt.Errorf("image %q: %w", ref, errdefs.ErrNotFound)
}

// List returns every local image, ordered by ID. It never calls containerd.
func (s *Service) List(ctx context.Context) []Image {
	return s.store.list()
}

// ContainerdImage returns the containerd handle of img, for
// containerd.WithNewSnapshot and containerd.WithImageConfig.
func (s *Service) ContainerdImage(ctx context.Context, img Image) containerd.Image {
	return containerd.NewImage(s.client, images.Image{Name: img.ID, Target: img.Target})
}

// SandboxRef returns the normalized reference of the configured sandbox image.
func (s *Service) SandboxRef() string {
	return s.sandboxRef
}

// labelsFor returns the labels of containerd names given to the image
// pulled or imported as name: managed, and pinned for the sandbox image.
func (s *Service) labelsFor(name string) map[string]string {
	labels := map[string]string{LabelManaged: LabelManagedValue}
	if name == s.sandboxRef {
		labels[LabelPinned] = LabelPinnedValue
	}
	return labels
}

// imageInfo reads what the index keeps of a containerd image.
func imageInfo(ctx context.Context, i containerd.Image) (Image, error) {
	configDesc, err := i.Config(ctx)
	if err != nil {
		return Image{}, fmt.Errorf("image %q config descriptor: %w", i.Name(), err)
	}
	spec, err := i.Spec(ctx)
	if err != nil {
		return Image{}, fmt.Errorf("image %q config: %w", i.Name(), err)
	}
	diffIDs, err := i.RootFS(ctx)
	if err != nil {
		return Image{}, fmt.Errorf("image %q layers: %w", i.Name(), err)
	}
	size, err := i.Size(ctx)
	if err != nil {
		return Image{}, fmt.Errorf("image %q size: %w", i.Name(), err)
	}
	return Image{
		ID:      configDesc.Digest.String(),
		Size:    uint64(size),
		Config:  spec.Config,
		Target:  i.Target(),
		ChainID: identity.ChainID(diffIDs).String(),
		Spec:    &spec,
	}, nil
}

// dropped tells Options.Removed that image id is gone ("" is nothing).
func (s *Service) dropped(id string) {
	if id != "" && s.removed != nil {
		s.removed(id)
	}
}
