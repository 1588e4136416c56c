package checkpoint

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/mount"
	"golang.org/x/sys/unix"
)

// fsFile is a file of a generated directory tree.
type fsFile struct {
	path, content, link string
	dir                 bool
	mode                os.FileMode
}

func makeTree(t *testing.T, root string, files []fsFile) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(root, f.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		switch {
		case f.dir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case f.link != "":
			if err := os.Symlink(f.link, p); err != nil {
				t.Fatal(err)
			}
		default:
			mode := f.mode
			if mode == 0 {
				mode = 0o644
			}
			if err := os.WriteFile(p, []byte(f.content), mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, mode); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// whiteout makes an overlayfs whiteout (char device 0/0) at root/rel.
func whiteout(t *testing.T, root, rel string) {
	t.Helper()
	if err := unix.Mknod(filepath.Join(root, rel), unix.S_IFCHR|0o000, 0); err != nil {
		t.Fatalf("mknod whiteout (the test needs root): %v", err)
	}
}

func opaque(t *testing.T, dir string) {
	t.Helper()
	if err := unix.Setxattr(dir, "trusted.overlay.opaque", []byte("y"), 0); err != nil {
		t.Fatalf("set opaque xattr (the test needs root): %v", err)
	}
}

// diffFixture is an image (two lower layers) and a container's upper dir
// with every kind of change.
func diffFixture(t *testing.T) RootfsLayers {
	dir := t.TempDir()
	l1, l2, upper := filepath.Join(dir, "l1"), filepath.Join(dir, "l2"), filepath.Join(dir, "upper")
	makeTree(t, l2, []fsFile{
		{path: "etc/keep", content: "keep"},
		{path: "etc/gone", content: "gone"},
		{path: "data/old1", content: "1"},
		{path: "data/sub/old2", content: "2"},
		{path: "bin/tool", content: "tool", mode: 0o755},
	})
	makeTree(t, l1, []fsFile{
		{path: "data/old3", content: "3"},
		{path: "etc/changed", content: "before"},
	})
	makeTree(t, upper, []fsFile{
		{path: "etc/added", content: "added", mode: 0o640},
		{path: "etc/changed", content: "after"},
		{path: "etc/lnk", link: "../bin/tool"},
		{path: "etc/hosts", content: ""}, // runc's mount point: excluded
		{path: "dev/shm", dir: true},     // likewise
		{path: "data/new", content: "new"},
		{path: "newdir/deep/file", content: "deep"},
	})
	whiteout(t, upper, "etc/gone")
	opaque(t, filepath.Join(upper, "data"))
	return RootfsLayers{Upper: upper, Lowers: []string{l1, l2}}
}

var fixtureExclude = map[string]bool{"/etc/hosts": true, "/dev/shm": true, "/proc": true}

type tarEntry struct {
	typ     byte
	content string
	link    string
	mode    int64
}

func readTar(t *testing.T, r io.Reader) map[string]tarEntry {
	t.Helper()
	out := map[string]tarEntry{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[hdr.Name] = tarEntry{typ: hdr.Typeflag, content: string(data), link: hdr.Linkname, mode: hdr.Mode & 0o7777}
	}
}

func TestWriteRootfsDiff(t *testing.T) {
	l := diffFixture(t)
	var buf bytes.Buffer
	deleted, err := WriteRootfsDiff(&buf, l, fixtureExclude)
	if err != nil {
		t.Fatal(err)
	}
	wantDeleted := []string{"/data/old1", "/data/old3", "/data/sub", "/etc/gone"}
	if !reflect.DeepEqual(deleted, wantDeleted) {
		t.Errorf("deleted = %q, want %q", deleted, wantDeleted)
	}
	got := readTar(t, &buf)
	want := map[string]tarEntry{
		"data/":            {typ: tar.TypeDir, mode: 0o755},
		"data/new":         {typ: tar.TypeReg, content: "new", mode: 0o644},
		"dev/":             {typ: tar.TypeDir, mode: 0o755},
		"etc/":             {typ: tar.TypeDir, mode: 0o755},
		"etc/added":        {typ: tar.TypeReg, content: "added", mode: 0o640},
		"etc/changed":      {typ: tar.TypeReg, content: "after", mode: 0o644},
		"etc/lnk":          {typ: tar.TypeSymlink, link: "../bin/tool", mode: 0o777},
		"newdir/":          {typ: tar.TypeDir, mode: 0o755},
		"newdir/deep/":     {typ: tar.TypeDir, mode: 0o755},
		"newdir/deep/file": {typ: tar.TypeReg, content: "deep", mode: 0o644},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rootfs diff tar:\n got %v\nwant %v", got, want)
	}
}

// TestRootfsDiffRoundTrip applies a diff to a copy of the image and
// checks that the result is what the container saw: the merged view.
func TestRootfsDiffRoundTrip(t *testing.T) {
	l := diffFixture(t)
	var buf bytes.Buffer
	deleted, err := WriteRootfsDiff(&buf, l, fixtureExclude)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	// The new container's root: the image (lower layers, bottom first).
	makeTree(t, root, []fsFile{
		{path: "etc/keep", content: "keep"}, {path: "etc/gone", content: "gone"},
		{path: "data/old1", content: "1"}, {path: "data/sub/old2", content: "2"},
		{path: "bin/tool", content: "tool", mode: 0o755},
		{path: "data/old3", content: "3"}, {path: "etc/changed", content: "before"},
	})
	if err := ApplyRootfsDiff(context.Background(), root, &buf, deleted); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"bin/tool": "tool", "data/new": "new", "etc/added": "added", "etc/changed": "after",
		"etc/keep": "keep", "etc/lnk": "-> ../bin/tool", "newdir/deep/file": "deep",
	}
	got := map[string]string{}
	filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, p)
		switch {
		case info.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			got[rel] = "-> " + target
		case info.Mode().IsRegular():
			data, _ := os.ReadFile(p)
			got[rel] = string(data)
		}
		return nil
	})
	if !reflect.DeepEqual(got, want) {
		t.Errorf("restored root:\n got %v\nwant %v", got, want)
	}
	if info, err := os.Stat(filepath.Join(root, "etc/added")); err != nil || info.Mode().Perm() != 0o640 {
		t.Errorf("etc/added mode: %v %v, want 0640", info, err)
	}
}

func TestApplyRootfsDiffStaysInRoot(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	victim := filepath.Join(outside, "victim")
	if err := os.WriteFile(victim, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A symlink in the root pointing out, and deletions through it.
	if err := os.Symlink(outside, filepath.Join(root, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(root, "victimlink")); err != nil {
		t.Fatal(err)
	}
	if err := ApplyRootfsDiff(context.Background(), root, nil, []string{"/escape/victim", "/victimlink"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(victim); err != nil {
		t.Errorf("a deletion reached outside the root: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(root, "victimlink")); !os.IsNotExist(err) {
		t.Errorf("deleted symlink still there: %v", err)
	}
	for _, bad := range []string{"relative", "/a/../b", "/"} {
		err := ApplyRootfsDiff(context.Background(), root, nil, []string{bad})
		if !errdefs.IsInvalidArgument(err) {
			t.Errorf("deleted path %q: err %v, want InvalidArgument", bad, err)
		}
	}
}

func TestOverlayLayers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mounts []mount.Mount
		want   RootfsLayers
		check  func(error) bool
	}{
		{"overlay", []mount.Mount{{Type: "overlay", Source: "overlay", Options: []string{"index=off", "workdir=/s/2/work", "upperdir=/s/2/fs", "lowerdir=/s/1/fs:/s/0/fs"}}},
			RootfsLayers{Upper: "/s/2/fs", Lowers: []string{"/s/1/fs", "/s/0/fs"}}, nil},
		{"bind without parents", []mount.Mount{{Type: "bind", Source: "/s/3/fs", Options: []string{"rw", "rbind"}}},
			RootfsLayers{Upper: "/s/3/fs"}, nil},
		{"read-only view", []mount.Mount{{Type: "overlay", Options: []string{"lowerdir=/s/1/fs:/s/0/fs"}}}, RootfsLayers{}, errdefs.IsFailedPrecondition},
		{"read-only bind", []mount.Mount{{Type: "bind", Source: "/s/3/fs", Options: []string{"ro", "rbind"}}}, RootfsLayers{}, errdefs.IsFailedPrecondition},
		{"other snapshotter", []mount.Mount{{Type: "ext4", Source: "/dev/loop0"}}, RootfsLayers{}, errdefs.IsNotImplemented},
		{"no mounts", nil, RootfsLayers{}, errdefs.IsNotImplemented},
	} {
		got, err := OverlayLayers(tc.mounts)
		if tc.check != nil {
			if !tc.check(err) {
				t.Errorf("%s: err %v", tc.name, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}
