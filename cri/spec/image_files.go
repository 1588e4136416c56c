package spec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/containerd/containerd/containers"
	"github.com/containerd/containerd/mount"
	"github.com/containerd/containerd/oci"
	"github.com/containerd/continuity/fs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ImageFiles keeps a copy of each image's /etc/passwd and /etc/group on
// disk, read once per image, so that resolving a container's user and
// supplementary groups does not mount the container's rootfs on every
// create (containerd's oci.WithUser and oci.WithAdditionalGIDs do: a
// snapshot Mounts call, an overlay mount and an unmount each time). The
// copies are keyed by image ID, a content digest: an image's files never
// change under it. Safe for concurrent use.
type ImageFiles struct {
	dir   string
	mu    sync.Mutex
	ready map[string]*imageFilesEntry
}

type imageFilesEntry struct {
	once sync.Once
	root string
	err  error
}

// imageEtcFiles are the files user and group resolution reads.
var imageEtcFiles = []string{"/etc/passwd", "/etc/group"}

// NewImageFiles keeps its copies below dir (a volatile state dir is right:
// a copy is made again when missing).
func NewImageFiles(dir string) *ImageFiles {
	return &ImageFiles{dir: dir, ready: map[string]*imageFilesEntry{}}
}

// dirOf is the directory holding the copies of image id's files.
func (f *ImageFiles) dirOf(id string) string {
	return filepath.Join(f.dir, strings.ReplaceAll(id, ":", "-"))
}

// Forget removes the copies of image id's files: the image is gone.
func (f *ImageFiles) Forget(id string) error {
	f.mu.Lock()
	delete(f.ready, id)
	f.mu.Unlock()
	if err := os.RemoveAll(f.dirOf(id)); err != nil {
		return fmt.Errorf("remove image files of %s: %w", id, err)
	}
	return nil
}

// Prune removes the copies of every image not in keep (image IDs), and
// unfinished copies, as left by images removed while podshim was down.
func (f *ImageFiles) Prune(keep []string) error {
	entries, err := os.ReadDir(f.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read image files dir: %w", err)
	}
	kept := map[string]bool{}
	for _, id := range keep {
		kept[filepath.Base(f.dirOf(id))] = true
	}
	var errs []error
	for _, e := range entries {
		if !kept[e.Name()] {
			errs = append(errs, os.RemoveAll(filepath.Join(f.dir, e.Name())))
		}
	}
	return errors.Join(errs...)
}

// root returns a directory holding the etc files of c's image, copying
// them from c's rootfs snapshot the first time this image is seen.
func (f *ImageFiles) root(ctx context.Context, client oci.Client, c *containers.Container) (string, error) {
	f.mu.Lock()
	e, ok := f.ready[c.Image]
	if !ok {
		e = &imageFilesEntry{}
		f.ready[c.Image] = e
	}
	f.mu.Unlock()
	e.once.Do(func() { e.root, e.err = f.copyFrom(ctx, client, c) })
	if e.err != nil {
		f.mu.Lock()
		delete(f.ready, c.Image) // try again next time
		f.mu.Unlock()
	}
	return e.root, e.err
}

// copyFrom mounts c's snapshot once and copies the etc files out.
func (f *ImageFiles) copyFrom(ctx context.Context, client oci.Client, c *containers.Container) (string, error) {
	root := f.dirOf(c.Image)
	if _, err := os.Stat(filepath.Join(root, ".complete")); err == nil {
		return root, nil
	}
	mounts, err := client.SnapshotService(c.Snapshotter).Mounts(ctx, c.SnapshotKey)
	if err != nil {
		return "", fmt.Errorf("mounts of snapshot %s: %w", c.SnapshotKey, err)
	}
	mounts = withoutIDMap(mounts)
	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		return "", fmt.Errorf("image files dir: %w", err)
	}
	tmp, err := os.MkdirTemp(f.dir, ".tmp-")
	if err != nil {
		return "", fmt.Errorf("image files dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	err = mount.WithReadonlyTempMount(ctx, mounts, func(rootfs string) error {
		for _, name := range imageEtcFiles {
			if err := copyImageFile(rootfs, name, tmp); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("copy /etc/passwd and /etc/group of image %s: %w", c.Image, err)
	}
	if err := os.WriteFile(filepath.Join(tmp, ".complete"), nil, 0o600); err != nil {
		return "", err
	}
	if err := os.RemoveAll(root); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, root); err != nil {
		return "", fmt.Errorf("image files dir: %w", err)
	}
	return root, nil
}

// copyImageFile copies name (resolved inside rootfs, symlinks included) to
// the same path below dst. A file the image lacks is not copied, so that
// lookups fail the way they would in the image.
func copyImageFile(rootfs, name, dst string) error {
	src, err := fs.RootPath(rootfs, name)
	if err != nil {
		return err
	}
	in, err := os.Open(src)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer in.Close()
	target := filepath.Join(dst, name)
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// withImageFiles runs opt (a containerd option that reads the image's
// users and groups) against the cached copy of the image's etc files
// instead of a fresh mount of the container's rootfs. Without a cache it
// runs opt as it is.
func withImageFiles(f *ImageFiles, opt oci.SpecOpts) oci.SpecOpts {
	if f == nil {
		return opt
	}
	return func(ctx context.Context, client oci.Client, c *containers.Container, s *oci.Spec) error {
		if c.Image == "" || c.Snapshotter == "" || c.SnapshotKey == "" {
			return opt(ctx, client, c, s) // a rootfs path: nothing to mount
		}
		root, err := f.root(ctx, client, c)
		if err != nil {
			return err
		}
		// With no snapshot named, containerd's options read below
		// s.Root.Path.
		saved := s.Root
		s.Root = &specs.Root{Path: root}
		defer func() { s.Root = saved }()
		return opt(ctx, client, &containers.Container{ID: c.ID}, s)
	}
}

// withoutIDMap drops the uidmap= and gidmap= options an idmapped snapshot
// (a pod with a user namespace) carries: they are for the shim's mount,
// this package's mount only reads files, and containerd 1.7's mount package
// would hand them to the kernel.
func withoutIDMap(mounts []mount.Mount) []mount.Mount {
	out := make([]mount.Mount, 0, len(mounts))
	for _, m := range mounts {
		opts := make([]string, 0, len(m.Options))
		for _, o := range m.Options {
			if !strings.HasPrefix(o, "uidmap=") && !strings.HasPrefix(o, "gidmap=") {
				opts = append(opts, o)
			}
		}
		m.Options = opts
		out = append(out, m)
	}
	return out
}
