package checkpoint

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/containerd/containerd/archive"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/mount"
	cfs "github.com/containerd/continuity/fs"
	"golang.org/x/sys/unix"
)

// RootfsLayers are the directories of a container's overlay root
// filesystem: Upper holds what the container changed, Lowers (top first)
// the image.
type RootfsLayers struct {
	Upper  string
	Lowers []string
}

// OverlayLayers finds the layers in an active snapshot's mounts: an
// overlay mount, or the bind mount the overlayfs snapshotter returns for a
// snapshot without parents. Other snapshotters are not supported.
func OverlayLayers(mounts []mount.Mount) (RootfsLayers, error) {
	if len(mounts) != 1 {
		return RootfsLayers{}, fmt.Errorf("%w: rootfs diff: want one overlay mount, got %d mounts", errdefs.ErrNotImplemented, len(mounts))
	}
	m := mounts[0]
	switch m.Type {
	case "overlay":
		var l RootfsLayers
		for _, o := range m.Options {
			switch {
			case strings.HasPrefix(o, "upperdir="):
				l.Upper = strings.TrimPrefix(o, "upperdir=")
			case strings.HasPrefix(o, "lowerdir="):
				l.Lowers = strings.Split(strings.TrimPrefix(o, "lowerdir="), ":")
			}
		}
		if l.Upper == "" {
			return RootfsLayers{}, fmt.Errorf("%w: rootfs diff: overlay mount has no upperdir (a read-only view?)", errdefs.ErrFailedPrecondition)
		}
		return l, nil
	case "bind":
		for _, o := range m.Options {
			if o == "ro" {
				return RootfsLayers{}, fmt.Errorf("%w: rootfs diff: read-only bind mount %s", errdefs.ErrFailedPrecondition, m.Source)
			}
		}
		return RootfsLayers{Upper: m.Source}, nil
	default:
		return RootfsLayers{}, fmt.Errorf("%w: rootfs diff: mount type %q (only the overlayfs snapshotter is supported)", errdefs.ErrNotImplemented, m.Type)
	}
}

// WriteRootfsDiff writes to w a tar of what the container added or
// changed (the upper dir's files, whiteouts left out) and returns the
// absolute paths of the image's files it deleted: its whiteouts, and the
// lower entries that an opaque directory hides. Paths in exclude (the
// spec's mount destinations, which runc creates as mount points) are left
// out of the tar, their contents are not.
func WriteRootfsDiff(w io.Writer, l RootfsLayers, exclude map[string]bool) ([]string, error) {
	var deleted []string
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(l.Upper, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(l.Upper, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		name := "/" + rel
		info, err := d.Info()
		if err != nil {
			return err
		}
		if isWhiteout(info) {
			deleted = append(deleted, name)
			return nil
		}
		if d.IsDir() && isOpaque(p) {
			hidden, err := hiddenByOpaque(l.Lowers, rel, p)
			if err != nil {
				return err
			}
			deleted = append(deleted, hidden...)
		}
		if exclude[name] {
			return nil
		}
		return addToTar(tw, p, rel, info)
	})
	if err != nil {
		return nil, fmt.Errorf("rootfs diff of %s: %w", l.Upper, err)
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("rootfs diff of %s: %w", l.Upper, err)
	}
	sort.Strings(deleted)
	return deleted, nil
}

// isWhiteout says whether an upper dir entry marks a deleted file: a
// character device 0/0.
func isWhiteout(info fs.FileInfo) bool {
	if info.Mode()&fs.ModeCharDevice == 0 {
		return false
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	return ok && st.Rdev == 0
}

// isOpaque says whether an upper dir directory hides the lower dirs'
// contents (overlayfs sets it on a directory recreated after deletion).
func isOpaque(dir string) bool {
	for _, attr := range []string{"trusted.overlay.opaque", "user.overlay.opaque"} {
		buf := make([]byte, 8)
		n, err := unix.Lgetxattr(dir, attr, buf)
		if err == nil && n == 1 && buf[0] == 'y' {
			return true
		}
	}
	return false
}

// hiddenByOpaque lists the entries of directory rel in the lower dirs that
// the opaque upper directory upperDir hides (those it does not have
// itself), as absolute paths.
func hiddenByOpaque(lowers []string, rel, upperDir string) ([]string, error) {
	seen := map[string]bool{}
	var hidden []string
	for _, lower := range lowers {
		dir := filepath.Join(lower, filepath.FromSlash(rel))
		entries, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if seen[e.Name()] {
				continue
			}
			seen[e.Name()] = true
			if info, err := e.Info(); err == nil && isWhiteout(info) {
				continue
			}
			if _, err := os.Lstat(filepath.Join(upperDir, e.Name())); err == nil {
				continue
			}
			hidden = append(hidden, "/"+path.Join(rel, e.Name()))
		}
		if isOpaque(dir) {
			break // deeper layers are hidden from this one on
		}
	}
	return hidden, nil
}

func addToTar(tw *tar.Writer, p, rel string, info fs.FileInfo) error {
	var link string
	if info.Mode()&fs.ModeSymlink != 0 {
		var err error
		if link, err = os.Readlink(p); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return err
	}
	hdr.Name = rel
	if info.IsDir() {
		hdr.Name += "/"
	}
	hdr.Uname, hdr.Gname = "", ""
	hdr.Format = tar.FormatPAX
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.CopyN(tw, f, hdr.Size)
	return err
}

// ApplyRootfsDiff applies a checkpoint's root filesystem changes to root,
// a container's mounted root filesystem: the rootfs diff tar (nil: none),
// then the deletions. Every path stays inside root.
func ApplyRootfsDiff(ctx context.Context, root string, diff io.Reader, deleted []string) error {
	if diff != nil {
		if _, err := archive.Apply(ctx, root, diff); err != nil {
			return fmt.Errorf("apply %s: %w", RootfsDiffFile, err)
		}
	}
	for _, d := range deleted {
		if err := validDeletedPath(d); err != nil {
			return err
		}
		// Resolve the parent only, so that a deleted symlink is removed
		// rather than its target.
		parent, err := cfs.RootPath(root, path.Dir(d))
		if err != nil {
			return fmt.Errorf("%s: %s: %w", DeletedFilesFile, d, err)
		}
		if err := os.RemoveAll(filepath.Join(parent, path.Base(d))); err != nil {
			return fmt.Errorf("%s: remove %s: %w", DeletedFilesFile, d, err)
		}
	}
	return nil
}

// validDeletedPath checks an entry of deleted.files: an absolute, clean
// path below /.
func validDeletedPath(p string) error {
	if !path.IsAbs(p) || path.Clean(p) != p || p == "/" {
		return fmt.Errorf("%w: %s: %q is not an absolute clean path below /", errdefs.ErrInvalidArgument, DeletedFilesFile, p)
	}
	return nil
}
