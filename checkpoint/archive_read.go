package checkpoint

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/containerd/containerd/errdefs"
	"github.com/opencontainers/runtime-spec/specs-go"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Archive is a checkpoint archive unpacked and validated.
type Archive struct {
	Path    string // the archive
	Dir     string // where it is unpacked
	Config  ContainerConfig
	Spec    specs.Spec
	Status  *runtime.ContainerStatus // nil when the archive has no status.dump
	Deleted []string                 // deleted.files
	// HasRootfsDiff says whether the archive has a rootfs-diff.tar.
	HasRootfsDiff bool
}

// IsArchiveRef says whether a container's image names a checkpoint
// archive rather than an image: an absolute path, which no image reference
// can be.
func IsArchiveRef(image string) bool { return filepath.IsAbs(image) }

// Open unpacks the checkpoint archive at path into dir (created when
// missing; removed when Open fails after unpacking began) and validates it. A missing archive is NotFound;
// an archive that is not a tar, misses a required file or has one that does
// not decode is InvalidArgument, naming the file.
func Open(ctx context.Context, archivePath, dir string) (_ *Archive, retErr error) {
	info, err := os.Stat(archivePath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: checkpoint archive %s", errdefs.ErrNotFound, archivePath)
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint archive %s: %w", archivePath, err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: checkpoint archive %s is not a regular file", errdefs.ErrInvalidArgument, archivePath)
	}
	f, err := os.Open(archivePath)
	if err != nil {
		return nil, fmt.Errorf("checkpoint archive %s: %w", archivePath, err)
	}
	defer f.Close()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	defer func() {
		if retErr != nil {
			os.RemoveAll(dir)
		}
	}()
	if err := unpack(ctx, f, dir); err != nil {
		return nil, fmt.Errorf("checkpoint archive %s: %w", archivePath, err)
	}
	a := &Archive{Path: archivePath, Dir: dir}
	if err := a.load(); err != nil {
		return nil, fmt.Errorf("checkpoint archive %s: %w", archivePath, err)
	}
	return a, nil
}

// ImagesDir is the directory of the unpacked CRIU images.
func (a *Archive) ImagesDir() string { return filepath.Join(a.Dir, ImagesDir) }

// ApplyRootfs applies the archive's root filesystem changes to root.
func (a *Archive) ApplyRootfs(ctx context.Context, root string) error {
	var diff io.Reader
	if a.HasRootfsDiff {
		f, err := os.Open(filepath.Join(a.Dir, RootfsDiffFile))
		if err != nil {
			return err
		}
		defer f.Close()
		diff = f
	}
	return ApplyRootfsDiff(ctx, root, diff, a.Deleted)
}

// Close removes the unpacked archive.
func (a *Archive) Close() error { return os.RemoveAll(a.Dir) }

// unpack writes the archive's files that restore uses into dir; other
// entries (network.status, bind.mounts, logs of other tools) are skipped.
func unpack(ctx context.Context, r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: not a readable tar archive: %v", errdefs.ErrInvalidArgument, err)
		}
		name := strings.TrimPrefix(hdr.Name, "./")
		if name == "" || name == "." || name == "./" {
			continue
		}
		clean := path.Clean(name)
		if path.IsAbs(name) || clean == ".." || strings.HasPrefix(clean, "../") {
			return fmt.Errorf("%w: entry %q is outside the archive", errdefs.ErrInvalidArgument, hdr.Name)
		}
		top, rest, _ := strings.Cut(clean, "/")
		switch {
		case top == ImagesDir:
		case rest == "" && (top == ConfigDumpFile || top == SpecDumpFile || top == StatusDumpFile ||
			top == DeletedFilesFile || top == RootfsDiffFile):
		default:
			continue
		}
		target := filepath.Join(dir, filepath.FromSlash(clean))
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o700); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := writeEntry(target, tr); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%w: entry %q is not a regular file or directory", errdefs.ErrInvalidArgument, hdr.Name)
		}
	}
}

func writeEntry(target string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return fmt.Errorf("%w: read entry %s: %v", errdefs.ErrInvalidArgument, filepath.Base(target), err)
	}
	return f.Close()
}

// load reads and checks the unpacked metadata files.
func (a *Archive) load() error {
	if err := readJSON(a.Dir, ConfigDumpFile, &a.Config, true); err != nil {
		return err
	}
	switch {
	case a.Config.ID == "":
		return fmt.Errorf("%w: %s has no id", errdefs.ErrInvalidArgument, ConfigDumpFile)
	case a.Config.RootfsImageRef == "" && a.Config.RootfsImageName == "" && a.Config.RootfsImage == "":
		return fmt.Errorf("%w: %s names no base image (rootfsImageRef, rootfsImageName or rootfsImage)", errdefs.ErrInvalidArgument, ConfigDumpFile)
	}
	if err := readJSON(a.Dir, SpecDumpFile, &a.Spec, true); err != nil {
		return err
	}
	if a.Spec.Process == nil || len(a.Spec.Process.Args) == 0 {
		return fmt.Errorf("%w: %s has no process args", errdefs.ErrInvalidArgument, SpecDumpFile)
	}
	var st runtime.ContainerStatus
	if err := readJSON(a.Dir, StatusDumpFile, &st, false); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(a.Dir, StatusDumpFile)); err == nil {
		a.Status = &st
	}
	if err := readJSON(a.Dir, DeletedFilesFile, &a.Deleted, false); err != nil {
		return err
	}
	for _, d := range a.Deleted {
		if err := validDeletedPath(d); err != nil {
			return err
		}
	}
	if _, err := os.Stat(filepath.Join(a.Dir, RootfsDiffFile)); err == nil {
		a.HasRootfsDiff = true
	}
	if _, err := os.Stat(filepath.Join(a.Dir, ImagesDir, inventoryImage)); err != nil {
		return fmt.Errorf("%w: no CRIU images (%s/%s missing)", errdefs.ErrInvalidArgument, ImagesDir, inventoryImage)
	}
	return nil
}

// readJSON decodes dir/name into v; a missing file is an error when
// required.
func readJSON(dir, name string, v any, required bool) error {
	data, err := os.ReadFile(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		if required {
			return fmt.Errorf("%w: %s missing", errdefs.ErrInvalidArgument, name)
		}
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: %s: %v", errdefs.ErrInvalidArgument, name, err)
	}
	return nil
}
