package image

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/containerd/content"
	"github.com/containerd/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestPullThroughMirror pulls a name whose registry does not exist,
// configured only by a hosts.toml mirror pointing at the local plain-http
// registry; the fallback server is a sentinel that must never be hit.
func TestPullThroughMirror(t *testing.T) {
	e := newEnv(t)
	reg := newRegistry(t, nil)
	sentinel := newRegistry(t, nil)
	cfg := v1.Config{
		Entrypoint: []string{"/bin/busybox"},
		Cmd:        []string{"sh", "-c", "echo hi"},
		Env:        []string{"PATH=/bin", "FOO=bar"},
		User:       "1000:1000",
		WorkingDir: "/tmp",
		StopSignal: "SIGQUIT",
	}
	manifest, config := reg.push(t, "foo:1", busyboxImage(t, cfg))

	hostsDir := t.TempDir()
	writeHostsToml(t, hostsDir, "registry.example.test", fmt.Sprintf(`
server = "http://%s"
[host."http://%s"]
  capabilities = ["pull", "resolve"]
`, sentinel.host, reg.host))
	s := e.service(t, Options{RegistryConfigDir: hostsDir})

	start := time.Now()
	img, err := s.Pull(e.ctx, "registry.example.test/foo:1", nil)
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	t.Logf("pull of busybox image (%d bytes compressed) through mirror: %s", img.Size, time.Since(start))
	mustEqual(t, "sentinel requests", sentinel.requests.Load(), 0)
	mustEqual(t, "ID", img.ID, config)
	mustEqualSlice(t, "RepoTags", img.RepoTags, []string{"registry.example.test/foo:1"})
	mustEqualSlice(t, "RepoDigests", img.RepoDigests, []string{"registry.example.test/foo@" + manifest})
	mustEqualSlice(t, "Entrypoint", img.Config.Entrypoint, cfg.Entrypoint)
	mustEqualSlice(t, "Cmd", img.Config.Cmd, cfg.Cmd)
	mustEqualSlice(t, "Env", img.Config.Env, cfg.Env)
	mustEqual(t, "User", img.Config.User, "1000:1000")
	mustEqual(t, "WorkingDir", img.Config.WorkingDir, "/tmp")
	mustEqual(t, "StopSignal", img.Config.StopSignal, "SIGQUIT")
	mustEqual(t, "Target.Digest", img.Target.Digest.String(), manifest)
	if img.Size < 500_000 || img.Pinned || !strings.HasPrefix(img.ChainID, "sha256:") {
		t.Fatalf("Size %d, Pinned %v, ChainID %q", img.Size, img.Pinned, img.ChainID)
	}

	// containerd holds the three names, managed, and the image unpacked.
	names := e.containerdNames(t)
	for _, n := range []string{config, "registry.example.test/foo:1", "registry.example.test/foo@" + manifest} {
		if names[n][LabelManaged] != LabelManagedValue {
			t.Fatalf("containerd name %q: labels %v (all: %v)", n, names[n], names)
		}
	}
	mustEqual(t, "containerd names", len(names), 3)
	unpacked, err := s.ContainerdImage(e.ctx, img).IsUnpacked(e.ctx, "overlayfs")
	if err != nil || !unpacked {
		t.Fatalf("IsUnpacked = %v, %v", unpacked, err)
	}

	// CRI form: uid from USER.
	cri := ToCRI(img)
	if cri.Uid == nil || cri.Uid.Value != 1000 || cri.Username != "" || cri.Id != config || cri.Size != img.Size {
		t.Fatalf("ToCRI = %+v", cri)
	}
}

// TestLookupAndRemove looks an image up by every kind of reference and
// removes it by each, checking containerd lets go of all its names.
func TestLookupAndRemove(t *testing.T) {
	e := newEnv(t)
	reg := newRegistry(t, nil)
	manifest, id := reg.push(t, "lib/tool:2.0", smallImage(t, v1.Config{User: "nobody"}))
	s := e.service(t, Options{})
	tagRef := reg.host + "/lib/tool:2.0"
	digestRef := reg.host + "/lib/tool@" + manifest
	hex := strings.TrimPrefix(id, "sha256:")

	refs := map[string]string{
		"tag":                      tagRef,
		"digest":                   digestRef,
		"id":                       id,
		"hex id":                   hex,
		"short id":                 hex[:12],
		"short sha256 id":          "sha256:" + hex[:8],
		"tag@digest (tag dropped)": reg.host + "/lib/tool:other@" + manifest,
	}
	pull := func() Image {
		t.Helper()
		img, err := s.Pull(e.ctx, tagRef, nil)
		if err != nil {
			t.Fatalf("Pull: %v", err)
		}
		return img
	}
	img := pull()
	for kind, ref := range refs {
		got, err := s.Get(e.ctx, ref)
		if err != nil || got.ID != id {
			t.Fatalf("Get by %s %q = %q, %v", kind, ref, got.ID, err)
		}
	}
	if cri := ToCRI(img); cri.Uid != nil || cri.Username != "nobody" {
		t.Fatalf("ToCRI user = %v %q", cri.Uid, cri.Username)
	}
	if list := s.List(e.ctx); len(list) != 1 || list[0].ID != id {
		t.Fatalf("List = %+v", list)
	}

	// Absent and malformed references.
	for _, ref := range []string{reg.host + "/lib/tool:3.0", "busybox", "sha256:" + strings.Repeat("0", 64), "0123456789ab"} {
		if _, err := s.Get(e.ctx, ref); !errdefs.IsNotFound(err) {
			t.Fatalf("Get(%q) = %v, want not found", ref, err)
		}
	}
	for _, ref := range []string{"", "UPPER", "a b", "foo:bad:tag"} {
		if _, err := s.Get(e.ctx, ref); !errdefs.IsInvalidArgument(err) {
			t.Fatalf("Get(%q) = %v, want invalid argument", ref, err)
		}
	}
	if _, err := s.Pull(e.ctx, "UPPER", nil); !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "UPPER") {
		t.Fatalf("Pull malformed = %v", err)
	}

	for _, kind := range []string{"tag", "digest", "id", "short id"} {
		if kind != "tag" {
			pull()
		}
		if err := s.Remove(e.ctx, refs[kind]); err != nil {
			t.Fatalf("Remove by %s: %v", kind, err)
		}
		if _, err := s.Get(e.ctx, id); !errdefs.IsNotFound(err) {
			t.Fatalf("after Remove by %s, Get(id) = %v", kind, err)
		}
		if names := e.containerdNames(t); len(names) != 0 {
			t.Fatalf("after Remove by %s containerd still has %v", kind, names)
		}
		if len(s.List(e.ctx)) != 0 {
			t.Fatalf("after Remove by %s List = %v", kind, s.List(e.ctx))
		}
		// Idempotent.
		if err := s.Remove(e.ctx, refs[kind]); err != nil {
			t.Fatalf("second Remove by %s: %v", kind, err)
		}
	}
	// Synchronous GC freed the content.
	var blobs int
	if err := e.client.ContentStore().Walk(e.ctx, func(content.Info) error { blobs++; return nil }); err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "blobs left after removal", blobs, 0)
}

// TestTagMoves re-pulls a tag after it moved to another image: the tag
// goes to the new image, the old one keeps its digest and ID names. It
// also pulls one ref concurrently.
func TestTagMoves(t *testing.T) {
	e := newEnv(t)
	reg := newRegistry(t, nil)
	s := e.service(t, Options{})
	ref := reg.host + "/app:latest"
	manifestA, idA := reg.push(t, "app:latest", smallImage(t, v1.Config{Env: []string{"V=a"}}))

	var wg sync.WaitGroup
	errs := make([]error, 4)
	ids := make([]string, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			img, err := s.Pull(e.ctx, reg.host+"/app", nil) // ":latest" by normalization
			errs[i], ids[i] = err, img.ID
		}()
	}
	wg.Wait()
	for i := range errs {
		if errs[i] != nil || ids[i] != idA {
			t.Fatalf("concurrent pull %d: %q, %v", i, ids[i], errs[i])
		}
	}

	_, idB := reg.push(t, "app:latest", smallImage(t, v1.Config{Env: []string{"V=b"}}))
	imgB, err := s.Pull(e.ctx, ref, nil)
	if err != nil {
		t.Fatalf("Pull moved tag: %v", err)
	}
	mustEqual(t, "new ID", imgB.ID, idB)
	mustEqualSlice(t, "new RepoTags", imgB.RepoTags, []string{ref})
	byTag, err := s.Get(e.ctx, ref)
	if err != nil || byTag.ID != idB {
		t.Fatalf("Get(tag) = %q, %v", byTag.ID, err)
	}
	imgA, err := s.Get(e.ctx, idA)
	if err != nil {
		t.Fatalf("old image gone: %v", err)
	}
	mustEqualSlice(t, "old RepoTags", imgA.RepoTags, nil)
	mustEqualSlice(t, "old RepoDigests", imgA.RepoDigests, []string{reg.host + "/app@" + manifestA})
	mustEqual(t, "images", len(s.List(e.ctx)), 2)

	// Removing the old image leaves the tag on the new one.
	if err := s.Remove(e.ctx, idA); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(e.ctx, ref); err != nil || got.ID != idB {
		t.Fatalf("after removing old image Get(tag) = %q, %v", got.ID, err)
	}
	if _, ok := e.containerdNames(t)[ref]; !ok {
		t.Fatal("tag name lost in containerd")
	}
}
