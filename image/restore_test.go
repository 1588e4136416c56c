package image

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/containerd/containerd/images"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/opencontainers/go-digest"
)

// TestRestore rebuilds the index in a second service from containerd,
// adopting a name podshim did not make.
func TestRestore(t *testing.T) {
	e := newEnv(t)
	reg := newRegistry(t, nil)
	reg.push(t, "aa:1", smallImage(t, v1.Config{User: "1:2"}))
	reg.push(t, "bb:1", smallImage(t, v1.Config{}))
	pause := buildPause(t)
	// Layer blobs kept: they are what unpacks an image whose snapshots went
	// (without them such an image is skipped, see TestPullUnpacksLikeContainerd).
	s := e.service(t, Options{PauseBinary: pause, KeepLayerBlobs: true})
	for _, ref := range []string{reg.host + "/aa:1", reg.host + "/bb:1"} {
		if _, err := s.Pull(e.ctx, ref, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.EnsureSandboxImage(e.ctx); err != nil {
		t.Fatal(err)
	}
	// A name made behind podshim's back (as by `ctr image tag`).
	b, err := s.Get(e.ctx, reg.host+"/bb:1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.ImageService().Create(e.ctx, images.Image{Name: "docker.io/library/adopted:7", Target: b.Target}); err != nil {
		t.Fatal(err)
	}

	// An image whose snapshots were removed is unpacked again on load.
	aa, err := s.Get(e.ctx, reg.host+"/aa:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.client.SnapshotService("overlayfs").Remove(e.ctx, aa.ChainID); err != nil {
		t.Fatalf("remove snapshot of aa: %v", err)
	}
	// An image whose config is gone is skipped, without failing New.
	reg.push(t, "cc:1", smallImage(t, v1.Config{}))
	cc, err := s.Pull(e.ctx, reg.host+"/cc:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.client.ContentStore().Delete(e.ctx, digest.Digest(cc.ID)); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	s2 := e.service(t, Options{PauseBinary: pause, KeepLayerBlobs: true})
	t.Logf("rebuilding the index of %d images: %s", len(s2.List(e.ctx)), time.Since(start))
	got, want := s2.List(e.ctx), s.List(e.ctx)
	want = slices.DeleteFunc(want, func(i Image) bool { return i.ID == cc.ID })
	mustEqual(t, "images", len(got), 3)
	for i := range want {
		w := want[i]
		if w.ID == b.ID {
			w.RepoTags = append([]string{"docker.io/library/adopted:7"}, w.RepoTags...)
			sort.Strings(w.RepoTags)
		}
		g := got[i]
		if g.ID != w.ID || fmt.Sprint(g.RepoTags, g.RepoDigests, g.Pinned, g.Size, g.ChainID, g.Target.Digest, g.Config.User) !=
			fmt.Sprint(w.RepoTags, w.RepoDigests, w.Pinned, w.Size, w.ChainID, w.Target.Digest, w.Config.User) {
			t.Fatalf("restored image %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
	if unpacked, err := s2.ContainerdImage(e.ctx, aa).IsUnpacked(e.ctx, "overlayfs"); err != nil || !unpacked {
		t.Fatalf("aa unpacked after load = %v, %v", unpacked, err)
	}
	if _, err := s2.Get(e.ctx, cc.ID); err == nil {
		t.Fatal("image with missing content was loaded")
	}
	if img, err := s2.Get(e.ctx, "adopted:7"); err != nil || img.ID != b.ID {
		t.Fatalf("Get(adopted:7) = %q, %v", img.ID, err)
	}
	if labels := e.containerdNames(t)["docker.io/library/adopted:7"]; labels[LabelManaged] != LabelManagedValue {
		t.Fatalf("adopted name labels = %v", labels)
	}
	if img, err := s2.EnsureSandboxImage(e.ctx); err != nil || !img.Pinned {
		t.Fatalf("restored sandbox image = %+v, %v", img, err)
	}
}

// TestFsInfo reports the snapshotter's directory and non-zero usage once
// an image is unpacked.
func TestFsInfo(t *testing.T) {
	e := newEnv(t)
	reg := newRegistry(t, nil)
	reg.push(t, "bb:1", busyboxImage(t, v1.Config{}))
	s := e.service(t, Options{})
	if _, err := s.Pull(e.ctx, reg.host+"/bb:1", nil); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	fs, err := s.FsInfo(e.ctx)
	if err != nil {
		t.Fatalf("FsInfo: %v", err)
	}
	mustEqual(t, "filesystems", len(fs), 1)
	mustEqual(t, "mountpoint", fs[0].FsId.Mountpoint, filepath.Join(e.ctrd.Root, "io.containerd.snapshotter.v1.overlayfs"))
	if fs[0].UsedBytes.Value < 1_900_000 || fs[0].InodesUsed.Value < 2 {
		t.Fatalf("usage %d bytes, %d inodes; want at least busybox's", fs[0].UsedBytes.Value, fs[0].InodesUsed.Value)
	}
	if ts := time.Unix(0, fs[0].Timestamp); ts.Before(before.Add(-time.Second)) || ts.After(time.Now()) {
		t.Fatalf("timestamp %s", ts)
	}
	t.Logf("FsInfo: %d bytes, %d inodes at %s", fs[0].UsedBytes.Value, fs[0].InodesUsed.Value, fs[0].FsId.Mountpoint)
}
