package image

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/containerd/containerd/mount"
	"github.com/containerd/containerd/namespaces"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestPauseImport imports podshim's pause image from the pause binary,
// checks its config and unpacked /pause file, and that re-importing it
// (after removal, and in another namespace) gives the same ID.
func TestPauseImport(t *testing.T) {
	e := newEnv(t)
	pause := buildPause(t)
	binary, err := os.ReadFile(pause)
	if err != nil {
		t.Fatal(err)
	}
	s := e.service(t, Options{PauseBinary: pause})

	start := time.Now()
	img, err := s.EnsureSandboxImage(e.ctx)
	if err != nil {
		t.Fatalf("EnsureSandboxImage: %v", err)
	}
	t.Logf("pause import (%d byte binary): %s", len(binary), time.Since(start))
	mustEqualSlice(t, "RepoTags", img.RepoTags, []string{DefaultSandboxImage})
	mustEqualSlice(t, "RepoDigests", img.RepoDigests, []string{"localhost/podshim/pause@" + img.Target.Digest.String()})
	mustEqualSlice(t, "Entrypoint", img.Config.Entrypoint, []string{"/pause"})
	mustEqual(t, "User", img.Config.User, "65535:65535")
	mustEqual(t, "Pinned", img.Pinned, true)
	if cri := ToCRI(img); !cri.Pinned || cri.Uid == nil || cri.Uid.Value != 65535 {
		t.Fatalf("ToCRI = %+v", cri)
	}
	names := e.containerdNames(t)
	mustEqual(t, "containerd names", len(names), 3)
	for n, labels := range names {
		if labels[LabelManaged] != LabelManagedValue || labels[LabelPinned] != LabelPinnedValue {
			t.Fatalf("name %q labels %v", n, labels)
		}
	}
	checkPauseFile(t, e, img, binary)

	again, err := s.EnsureSandboxImage(e.ctx)
	if err != nil || again.ID != img.ID {
		t.Fatalf("second EnsureSandboxImage = %q, %v", again.ID, err)
	}

	// Determinism: remove (GC frees everything) and import again.
	if err := s.Remove(e.ctx, DefaultSandboxImage); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(e.ctx, img.ID); err == nil {
		t.Fatal("pause image still there after Remove")
	}
	start = time.Now()
	re, err := s.EnsureSandboxImage(e.ctx)
	if err != nil {
		t.Fatalf("re-import: %v", err)
	}
	t.Logf("pause re-import: %s", time.Since(start))
	mustEqual(t, "re-imported ID", re.ID, img.ID)
	mustEqual(t, "re-imported manifest", re.Target.Digest, img.Target.Digest)

	other := namespaces.WithNamespace(e.ctx, testNamespace+"-2")
	s2, err := New(other, Options{Client: e.client, PauseBinary: pause})
	if err != nil {
		t.Fatal(err)
	}
	img2, err := s2.EnsureSandboxImage(other)
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "ID in another namespace", img2.ID, img.ID)
	if err := s2.Remove(other, img2.ID); err != nil {
		t.Fatal(err)
	}
}

// checkPauseFile mounts a view of the image's top snapshot and compares
// /pause with the binary.
func checkPauseFile(t *testing.T, e *env, img Image, binary []byte) {
	t.Helper()
	sn := e.client.SnapshotService("overlayfs")
	mounts, err := sn.View(e.ctx, "pause-check", img.ChainID)
	if err != nil {
		t.Fatalf("view snapshot %s: %v", img.ChainID, err)
	}
	defer sn.Remove(e.ctx, "pause-check")
	dir := t.TempDir()
	if err := mount.All(mounts, dir); err != nil {
		t.Fatalf("mount view: %v", err)
	}
	defer mount.UnmountAll(dir, 0)
	fi, err := os.Stat(filepath.Join(dir, "pause"))
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "/pause mode", fi.Mode().Perm(), os.FileMode(0o755))
	got, err := os.ReadFile(filepath.Join(dir, "pause"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, binary) {
		t.Fatal("/pause differs from the pause binary")
	}
}

// TestCustomSandboxImage pulls and pins a sandbox image named in the
// configuration instead of importing podshim's.
func TestCustomSandboxImage(t *testing.T) {
	e := newEnv(t)
	reg := newRegistry(t, nil)
	_, id := reg.push(t, "my/pause:3.9", smallImage(t, v1.Config{Entrypoint: []string{"/pause"}}))
	s := e.service(t, Options{SandboxImage: reg.host + "/my/pause:3.9"})
	img, err := s.EnsureSandboxImage(e.ctx)
	if err != nil {
		t.Fatalf("EnsureSandboxImage: %v", err)
	}
	mustEqual(t, "ID", img.ID, id)
	mustEqual(t, "Pinned", img.Pinned, true)

	// An image pulled before it became the sandbox image gets pinned.
	if err := s.Remove(e.ctx, id); err != nil {
		t.Fatal(err)
	}
	other := e.service(t, Options{}) // default sandbox image: this pull is not pinned
	if img, err := other.Pull(e.ctx, reg.host+"/my/pause:3.9", nil); err != nil || img.Pinned {
		t.Fatalf("Pull = %+v, %v", img, err)
	}
	s = e.service(t, Options{SandboxImage: reg.host + "/my/pause:3.9"})
	if img, _ := s.Get(e.ctx, id); img.Pinned {
		t.Fatal("pinned before EnsureSandboxImage")
	}
	reqs := reg.requests.Load()
	img, err = s.EnsureSandboxImage(e.ctx)
	if err != nil || !img.Pinned {
		t.Fatalf("EnsureSandboxImage = %+v, %v", img, err)
	}
	mustEqual(t, "registry requests for a present sandbox image", reg.requests.Load(), reqs)
	for n, labels := range e.containerdNames(t) {
		if labels[LabelPinned] != LabelPinnedValue {
			t.Fatalf("name %q not pinned: %v", n, labels)
		}
	}
}
