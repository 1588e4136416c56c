package spec

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/containerd/containerd/containers"
	"github.com/containerd/containerd/mount"
	"github.com/containerd/containerd/oci"
	"github.com/containerd/containerd/snapshots"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// bindSnapshotter serves one directory as every snapshot's rootfs (a read
// only bind mount) and counts Mounts calls.
type bindSnapshotter struct {
	snapshots.Snapshotter // only Mounts is called
	dir                   string
	mounts                atomic.Int32
}

func (b *bindSnapshotter) Mounts(context.Context, string) ([]mount.Mount, error) {
	b.mounts.Add(1)
	return []mount.Mount{{Type: "bind", Source: b.dir, Options: []string{"rbind", "ro"}}}, nil
}

type bindClient struct{ s *bindSnapshotter }

func (c bindClient) SnapshotService(string) snapshots.Snapshotter { return c.s }

// TestImageFilesResolveLikeARootfsMount checks that users and groups
// resolved through the cache are those containerd resolves on the image's
// rootfs, and that the rootfs is mounted once per image, not per create.
func TestImageFilesResolveLikeARootfsMount(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for the bind mount containerd's temp mount makes")
	}
	rootfs := t.TempDir()
	if err := os.MkdirAll(filepath.Join(rootfs, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\nbob:x:1001:1001::/:/bin/sh\n",
		"etc/group":  "root:x:0:\nalice:x:1000:\nbob:x:1001:\nwheel:x:10:alice,root\nstaff:x:50:alice\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(rootfs, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	snap := &bindSnapshotter{dir: rootfs}
	client := bindClient{snap}
	cache := NewImageFiles(t.TempDir())
	ctx := context.Background()

	cases := []struct {
		name string
		user userSpec
	}{
		{"by name", userSpec{user: "alice", field: "f", groupsOf: "alice"}},
		{"by uid", userSpec{user: "1000", field: "f", groupsOf: "1000"}},
		{"name and gid", userSpec{user: "bob:50", field: "f", groupsOf: "bob"}},
		{"root", userSpec{groupsOf: "0"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cached, err := userOpts(tc.user, []int64{7}, 0, "f", cache)
			if err != nil {
				t.Fatal(err)
			}
			direct, err := userOpts(tc.user, []int64{7}, 0, "f", nil)
			if err != nil {
				t.Fatal(err)
			}
			// The reference: containerd's options on the rootfs path.
			want := applyUser(t, ctx, client, &containers.Container{}, rootfs, direct)
			got := applyUser(t, ctx, client, &containers.Container{ID: "c", Image: "sha256:img1", Snapshotter: "overlayfs", SnapshotKey: "c"}, "", cached)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("user through the cache = %+v, on the rootfs = %+v", got, want)
			}
		})
	}
	if n := snap.mounts.Load(); n != 1 {
		t.Errorf("rootfs mounted %d times for %d creates of one image, want 1", n, len(cases))
	}

	// An unknown user is still an error naming the field.
	opts, _ := userOpts(userSpec{user: "nobody-here", field: "linux.security_context.run_as_username", groupsOf: "nobody-here"}, nil, 0, "f", cache)
	s := &oci.Spec{Process: &specs.Process{}, Root: &specs.Root{Path: "/keep"}, Linux: &specs.Linux{}}
	c := &containers.Container{ID: "d", Image: "sha256:img1", Snapshotter: "overlayfs", SnapshotKey: "d"}
	if err := opts[0](ctx, client, c, s); err == nil {
		t.Error("unknown user resolved through the cache")
	}
	if s.Root.Path != "/keep" {
		t.Errorf("spec root changed to %q", s.Root.Path)
	}

	// Once the image is gone its copies go; an image seen again is copied
	// again.
	if err := cache.Forget("sha256:img1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cache.dirOf("sha256:img1")); !os.IsNotExist(err) {
		t.Errorf("the copies of a forgotten image are still there (%v)", err)
	}
	cached, _ := userOpts(userSpec{user: "alice", field: "f", groupsOf: "alice"}, nil, 0, "f", cache)
	if got := applyUser(t, ctx, client, &containers.Container{ID: "e", Image: "sha256:img1", Snapshotter: "overlayfs", SnapshotKey: "e"}, "", cached); got.UID != 1000 {
		t.Errorf("user after Forget = %+v, want uid 1000", got)
	}
	if n := snap.mounts.Load(); n != 2 {
		t.Errorf("rootfs mounted %d times after Forget and one more create, want 2", n)
	}
}

// TestImageFilesPrune: the copies of images not kept go, those kept stay.
func TestImageFilesPrune(t *testing.T) {
	cache := NewImageFiles(t.TempDir())
	if err := cache.Prune(nil); err != nil {
		t.Fatalf("Prune before any copy: %v", err)
	}
	ids := []string{"sha256:aa", "sha256:bb", "sha256:cc"}
	for _, id := range ids {
		if err := os.MkdirAll(filepath.Join(cache.dirOf(id), "etc"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(cache.dir, ".tmp-123"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := cache.Prune([]string{"sha256:bb"}); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(cache.dir)
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if !reflect.DeepEqual(left, []string{filepath.Base(cache.dirOf("sha256:bb"))}) {
		t.Errorf("after Prune keeping sha256:bb: %v", left)
	}
}

func applyUser(t *testing.T, ctx context.Context, client oci.Client, c *containers.Container, root string, opts []oci.SpecOpts) specs.User {
	t.Helper()
	s := &oci.Spec{Process: &specs.Process{}, Root: &specs.Root{Path: root}, Linux: &specs.Linux{}}
	for _, o := range opts {
		if err := o(ctx, client, c, s); err != nil {
			t.Fatal(err)
		}
	}
	return s.Process.User
}

func TestWithoutIDMap(t *testing.T) {
	in := []mount.Mount{{Type: "overlay", Source: "overlay", Options: []string{"index=off", "uidmap=0:1000:10", "lowerdir=/a", "gidmap=0:1000:10"}}}
	got := withoutIDMap(in)
	if !equalStrings(got[0].Options, []string{"index=off", "lowerdir=/a"}) {
		t.Fatalf("options %q", got[0].Options)
	}
	if len(in[0].Options) != 4 {
		t.Fatalf("input changed: %q", in[0].Options)
	}
}
