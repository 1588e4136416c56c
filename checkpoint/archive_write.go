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
	"path/filepath"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Contents is what a checkpoint archive is written from.
type Contents struct {
	Config ContainerConfig
	Spec   *specs.Spec
	Status *runtime.ContainerStatus // nil: no status.dump
	// ImagesDir holds CRIU's image files; they become checkpoint/.
	ImagesDir string
	// WorkDir is CRIU's work directory: its stats-dump and dump.log go
	// into the archive when they are there.
	WorkDir string
	// Rootfs are the container's root filesystem layers; Exclude the
	// paths left out of the rootfs diff.
	Rootfs  RootfsLayers
	Exclude map[string]bool
	// LogPath is the container's log file, "" for none.
	LogPath string
}

// Write writes the checkpoint archive to location, an uncompressed tar
// readable by its owner only. It is written to a temporary file beside
// location and renamed into place once complete: a failed Write leaves
// nothing at location and no temporary file.
func Write(ctx context.Context, location string, c Contents) (retErr error) {
	dir := filepath.Dir(location)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(location)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create checkpoint archive in %s: %w", dir, err)
	}
	defer func() {
		if retErr != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return err
	}
	if err := writeArchive(ctx, tmp, dir, c); err != nil {
		return fmt.Errorf("write checkpoint archive %s: %w", location, err)
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), location); err != nil {
		return fmt.Errorf("write checkpoint archive %s: %w", location, err)
	}
	return nil
}

func writeArchive(ctx context.Context, w io.Writer, tmpDir string, c Contents) error {
	if c.Spec == nil {
		return errors.New("no spec")
	}
	// The rootfs diff goes into a file first: its tar header needs its size.
	diff, err := os.CreateTemp(tmpDir, ".rootfs-diff.tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(diff.Name())
	defer diff.Close()
	deleted, err := WriteRootfsDiff(diff, c.Rootfs, c.Exclude)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	tw := tar.NewWriter(w)
	now := time.Now()
	if err := addJSON(tw, ConfigDumpFile, c.Config, now); err != nil {
		return err
	}
	if err := addJSON(tw, SpecDumpFile, c.Spec, now); err != nil {
		return err
	}
	if c.Status != nil {
		if err := addJSON(tw, StatusDumpFile, c.Status, now); err != nil {
			return err
		}
	}
	if len(deleted) > 0 {
		if err := addJSON(tw, DeletedFilesFile, deleted, now); err != nil {
			return err
		}
	}
	if err := addFile(tw, RootfsDiffFile, diff); err != nil {
		return err
	}
	if err := addImages(ctx, tw, c.ImagesDir); err != nil {
		return err
	}
	for _, name := range []string{StatsDumpFile, DumpLogFile} {
		if err := addOptionalFile(tw, name, filepath.Join(c.WorkDir, name), c.WorkDir == ""); err != nil {
			return err
		}
	}
	if err := addOptionalFile(tw, ContainerLogFile, c.LogPath, c.LogPath == ""); err != nil {
		return err
	}
	return tw.Close()
}

func addJSON(tw *tar.Writer, name string, v any, mtime time.Time) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", name, err)
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(data)), ModTime: mtime, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err = tw.Write(data)
	return err
}

// addFile adds the open file f, from its start, as name.
func addFile(tw *tar.Writer, name string, f *os.File) error {
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: info.Size(), ModTime: info.ModTime(), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := io.CopyN(tw, f, info.Size()); err != nil {
		return fmt.Errorf("add %s: %w", name, err)
	}
	return nil
}

// addOptionalFile adds the file at path as name when it exists.
func addOptionalFile(tw *tar.Writer, name, path string, skip bool) error {
	if skip {
		return nil
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	return addFile(tw, name, f)
}

// addImages adds CRIU's image files (a flat directory) under checkpoint/.
func addImages(ctx context.Context, tw *tar.Writer, dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("CRIU images: %w", err)
	}
	if err := tw.WriteHeader(&tar.Header{Name: ImagesDir + "/", Mode: 0o700, Typeflag: tar.TypeDir, ModTime: time.Now()}); err != nil {
		return err
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !e.Type().IsRegular() {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		err = addFile(tw, ImagesDir+"/"+e.Name(), f)
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
