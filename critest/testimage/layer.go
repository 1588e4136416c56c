package testimage

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// BuildTime is the fixed timestamp written into every tar header and image
// config this package produces, so that the same inputs always give the same
// digests.
var BuildTime = time.Date(2024, time.January, 1, 0, 0, 0, 0, time.UTC)

// entryKind tells what a layer entry is.
type entryKind int

const (
	kindDir entryKind = iota
	kindFile
	kindSymlink
	kindHardLink
)

// entry is one file system object of a layer.
type entry struct {
	kind   entryKind
	mode   int64
	uid    int
	gid    int
	data   []byte
	target string // symlink or hard link target
}

// Layer collects the files of one image layer and turns them into a
// reproducible tar layer: fixed timestamps, numeric root ownership unless
// told otherwise, no user or group names, and a fixed entry order
// (directories, then files, then symlinks, then hard links, each sorted by
// path, so a hard link always follows its target).
type Layer struct {
	entries map[string]*entry
}

// NewLayer returns an empty layer.
func NewLayer() *Layer {
	return &Layer{entries: map[string]*entry{}}
}

// clean makes p an absolute, clean path inside the image.
func clean(p string) string {
	return path.Clean("/" + p)
}

// Dir adds a directory with the given permission bits (parents are added with
// mode 0755).
func (l *Layer) Dir(p string, mode int64) {
	p = clean(p)
	if p == "/" {
		return
	}
	l.parents(p)
	l.entries[p] = &entry{kind: kindDir, mode: mode}
}

// File adds a regular file owned by root.
func (l *Layer) File(p string, mode int64, data []byte) {
	l.FileOwned(p, mode, 0, 0, data)
}

// FileOwned adds a regular file with an explicit owner.
func (l *Layer) FileOwned(p string, mode int64, uid, gid int, data []byte) {
	p = clean(p)
	l.parents(p)
	l.entries[p] = &entry{kind: kindFile, mode: mode, uid: uid, gid: gid, data: data}
}

// HostFile adds a regular file whose content is read from hostPath.
func (l *Layer) HostFile(p string, mode int64, hostPath string) error {
	data, err := os.ReadFile(hostPath)
	if err != nil {
		return fmt.Errorf("read %s for %s: %w", hostPath, p, err)
	}
	l.File(p, mode, data)
	return nil
}

// Symlink adds a symbolic link p pointing at target.
func (l *Layer) Symlink(p, target string) {
	p = clean(p)
	l.parents(p)
	l.entries[p] = &entry{kind: kindSymlink, mode: 0o777, target: target}
}

// HardLink adds p as a hard link to the regular file target, which must be
// added to the same layer.
func (l *Layer) HardLink(p, target string) {
	p = clean(p)
	l.parents(p)
	l.entries[p] = &entry{kind: kindHardLink, target: clean(target)}
}

// parents adds the missing parent directories of p.
func (l *Layer) parents(p string) {
	for dir := path.Dir(p); dir != "/"; dir = path.Dir(dir) {
		if _, ok := l.entries[dir]; !ok {
			l.entries[dir] = &entry{kind: kindDir, mode: 0o755}
		}
	}
}

// Tar writes the layer as an uncompressed tar stream.
func (l *Layer) Tar() ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, kind := range []entryKind{kindDir, kindFile, kindSymlink, kindHardLink} {
		for _, p := range l.sortedPaths(kind) {
			e := l.entries[p]
			if err := writeEntry(tw, p, e, l.entries); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("close layer tar: %w", err)
	}
	return buf.Bytes(), nil
}

// sortedPaths lists the paths of one kind in lexical order.
func (l *Layer) sortedPaths(kind entryKind) []string {
	var paths []string
	for p, e := range l.entries {
		if e.kind == kind {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	return paths
}

// writeEntry writes one tar header (and content for files).
func writeEntry(tw *tar.Writer, p string, e *entry, all map[string]*entry) error {
	name := strings.TrimPrefix(p, "/")
	hdr := &tar.Header{
		Name:    name,
		Mode:    e.mode,
		Uid:     e.uid,
		Gid:     e.gid,
		ModTime: BuildTime,
		Format:  tar.FormatPAX,
	}
	switch e.kind {
	case kindDir:
		hdr.Typeflag = tar.TypeDir
		hdr.Name += "/"
	case kindFile:
		hdr.Typeflag = tar.TypeReg
		hdr.Size = int64(len(e.data))
	case kindSymlink:
		hdr.Typeflag = tar.TypeSymlink
		hdr.Linkname = e.target
	case kindHardLink:
		t, ok := all[e.target]
		if !ok || t.kind != kindFile {
			return fmt.Errorf("hard link %s: target %s is not a regular file of this layer", p, e.target)
		}
		hdr.Typeflag = tar.TypeLink
		hdr.Linkname = strings.TrimPrefix(e.target, "/")
		hdr.Mode = t.mode
		hdr.Uid, hdr.Gid = t.uid, t.gid
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write tar header %s: %w", p, err)
	}
	if e.kind == kindFile {
		if _, err := tw.Write(e.data); err != nil {
			return fmt.Errorf("write tar content %s: %w", p, err)
		}
	}
	return nil
}

// V1Layer returns the layer as a gzip-compressed image layer.
func (l *Layer) V1Layer() (v1.Layer, error) {
	data, err := l.Tar()
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
	if err != nil {
		return nil, fmt.Errorf("make layer: %w", err)
	}
	return layer, nil
}
