package image

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/content"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/images"
	"github.com/containerd/containerd/labels"
	"github.com/containerd/containerd/leases"
	"github.com/containerd/containerd/mount"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/containerd/platforms"
	"github.com/containerd/containerd/remotes/docker"
	"github.com/containerd/containerd/snapshots"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/podshim/podshim/critest/testimage"
)

// layeredImage returns an image whose upper layers delete files and
// directories of the lower ones (whiteouts, an opaque directory), replace
// a file by a directory, and carry symlinks, hard links, owners and modes.
func layeredImage(t *testing.T) v1.Image {
	t.Helper()
	base := testimage.NewLayer()
	base.File("/a/keep", 0o644, []byte("keep"))
	base.File("/a/gone", 0o600, []byte("gone"))
	base.File("/dir/old", 0o644, []byte("old"))
	base.File("/dir/sub/older", 0o644, []byte("older"))
	base.File("/becomes-dir", 0o644, []byte("file"))
	base.FileOwned("/owned", 0o4755, 1000, 2000, []byte("setuid"))
	base.Dir("/empty", 0o700)

	upper := testimage.NewLayer()
	upper.File("/a/.wh.gone", 0o644, nil)
	upper.File("/dir/.wh..wh..opq", 0o644, nil)
	upper.File("/dir/new", 0o640, []byte("new"))
	upper.File("/becomes-dir/inside", 0o644, []byte("inside"))
	upper.Symlink("/link", "a/keep")
	upper.File("/hard/one", 0o644, []byte("linked"))
	upper.HardLink("/hard/two", "/hard/one")

	top := testimage.NewLayer()
	top.File("/.wh.empty", 0o644, nil)
	top.File("/a/keep", 0o644, []byte("kept, changed"))

	img, err := testimage.NewImage(v1.Config{Cmd: []string{"/bin/true"}}, "layered", base, upper, top)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestPullUnpacksLikeContainerd pulls an image with whiteouts, opaque
// directories and links through podshim, which unpacks the layers itself,
// and through containerd's client, which has containerd unpack them, and
// compares the two root file systems. Without KeepLayerBlobs the layer
// blobs are not kept, the image survives garbage collection and a restart.
func TestPullUnpacksLikeContainerd(t *testing.T) {
	e := newEnv(t)
	reg := newRegistry(t, nil)
	_, id := reg.push(t, "layered:1", layeredImage(t))
	ref := reg.host + "/layered:1"
	s := e.service(t, Options{})

	img, err := s.Pull(e.ctx, ref, nil)
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	collectGarbage(t, e)

	// The reference: containerd's own pull and unpack, in another namespace.
	refCtx := namespaces.WithNamespace(e.ctx, testNamespace+"-ref")
	hosts := s.registryHosts(refCtx, nil)
	refImg, err := e.client.Pull(refCtx, ref, containerd.WithPullUnpack,
		containerd.WithResolver(docker.NewResolver(docker.ResolverOptions{Hosts: hosts})))
	if err != nil {
		t.Fatalf("containerd pull: %v", err)
	}
	refInfo, err := imageInfo(refCtx, refImg)
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "ID", img.ID, id)
	mustEqual(t, "ChainID", img.ChainID, refInfo.ChainID)
	mustEqual(t, "Size", img.Size, refInfo.Size)

	got := snapshotTree(t, e.ctx, e.client, img.ChainID)
	want := snapshotTree(t, refCtx, e.client, refInfo.ChainID)
	t.Logf("unpacked:\n  %s", strings.Join(got, "\n  "))
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("podshim unpacked\n  %s\ncontainerd unpacked\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	for _, f := range []string{"/a/gone", "/dir/old", "/dir/sub", "/empty"} {
		if slices.ContainsFunc(got, func(l string) bool { return strings.HasPrefix(l, f+" ") }) {
			t.Fatalf("%s not deleted: %q", f, got)
		}
	}

	// Manifest and config are kept, the layer blobs are not.
	manifest, err := fetchedManifest(e.ctx, e.client.ContentStore(), img.Target)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range manifest.Layers {
		if _, err := e.client.ContentStore().Info(e.ctx, l.Digest); !errdefs.IsNotFound(err) {
			t.Fatalf("layer blob %s kept: %v", l.Digest, err)
		}
	}
	unpacked, err := s.ContainerdImage(e.ctx, img).IsUnpacked(e.ctx, "overlayfs")
	if err != nil || !unpacked {
		t.Fatalf("IsUnpacked after GC = %v, %v", unpacked, err)
	}

	// A restarted service finds the image as it was.
	again := e.service(t, Options{})
	reloaded, err := again.Get(e.ctx, ref)
	if err != nil {
		t.Fatalf("after restart: %v", err)
	}
	mustEqual(t, "reloaded ChainID", reloaded.ChainID, img.ChainID)
	mustEqual(t, "reloaded Size", reloaded.Size, img.Size)

	// Without its snapshots and layer blobs, the image cannot be unpacked
	// again: a restart skips it, and pulling it again brings it back.
	if err := e.client.SnapshotService("overlayfs").Remove(e.ctx, img.ChainID); err != nil {
		t.Fatal(err)
	}
	third := e.service(t, Options{})
	if _, err := third.Get(e.ctx, ref); !errdefs.IsNotFound(err) {
		t.Fatalf("image without snapshots nor blobs after restart: %v", err)
	}
	repulled, err := third.Pull(e.ctx, ref, nil)
	if err != nil {
		t.Fatalf("pull again: %v", err)
	}
	mustEqualSlice(t, "files pulled again", snapshotTree(t, e.ctx, e.client, repulled.ChainID), got)
}

// TestPullKeepLayerBlobs keeps the layer blobs in the content store, with
// the labels containerd's unpacker gives them.
func TestPullKeepLayerBlobs(t *testing.T) {
	e := newEnv(t)
	reg := newRegistry(t, nil)
	reg.push(t, "layered:1", layeredImage(t))
	s := e.service(t, Options{KeepLayerBlobs: true})
	img, err := s.Pull(e.ctx, reg.host+"/layered:1", nil)
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	collectGarbage(t, e)
	cs := e.client.ContentStore()
	manifest, err := fetchedManifest(e.ctx, cs, img.Target)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range manifest.Layers {
		info, err := cs.Info(e.ctx, l.Digest)
		if err != nil {
			t.Fatalf("layer blob %s: %v", l.Digest, err)
		}
		if info.Labels[labels.LabelUncompressed] == "" || info.Labels["containerd.io/distribution.source."+strings.Split(reg.host, ":")[0]] == "" {
			t.Fatalf("layer blob %s labels: %v", l.Digest, info.Labels)
		}
		if got, err := digest.FromReader(content.NewReader(mustReaderAt(t, e.ctx, cs, l))); err != nil || got != l.Digest {
			t.Fatalf("layer blob %s reads as %s, %v", l.Digest, got, err)
		}
	}
	unpacked, err := s.ContainerdImage(e.ctx, img).IsUnpacked(e.ctx, "overlayfs")
	if err != nil || !unpacked {
		t.Fatalf("IsUnpacked = %v, %v", unpacked, err)
	}
	// Removal frees everything.
	if err := s.Remove(e.ctx, img.ID); err != nil {
		t.Fatal(err)
	}
	var blobs int
	if err := cs.Walk(e.ctx, func(content.Info) error { blobs++; return nil }); err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "blobs left after removal", blobs, 0)
}

// TestPullSharedLayers pulls an image whose lower layers another image
// unpacked already: only the new layer is downloaded. Then it pulls, at
// once, two images that share a lower layer nobody has yet.
func TestPullSharedLayers(t *testing.T) {
	e := newEnv(t)
	reg, blobGets := newCountingRegistry(t)
	layer := func(name string) *testimage.Layer {
		l := testimage.NewLayer()
		l.File("/"+name, 0o644, []byte(name))
		return l
	}
	push := func(tag string, layers ...*testimage.Layer) v1.Image {
		img, err := testimage.NewImage(v1.Config{Env: []string{"TAG=" + tag}}, tag, layers...)
		if err != nil {
			t.Fatal(err)
		}
		reg.push(t, tag, img)
		return img
	}
	base, mid := layer("base"), layer("mid")
	push("small:1", base, mid)
	bigImg := push("big:1", base, mid, layer("top"))
	s := e.service(t, Options{})
	if _, err := s.Pull(e.ctx, reg.host+"/small:1", nil); err != nil {
		t.Fatal(err)
	}
	blobGets.reset()
	big, err := s.Pull(e.ctx, reg.host+"/big:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := bigImg.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range m.Layers {
		want := 0
		if i == 2 {
			want = 1
		}
		mustEqual(t, fmt.Sprintf("downloads of layer %d", i), blobGets.of(l.Digest.String()), want)
	}
	tree := snapshotTree(t, e.ctx, e.client, big.ChainID)
	mustEqual(t, "files of big", strings.Join(tree, ","), "/base -rw-r--r-- 4 "+sha("base")+",/mid -rw-r--r-- 3 "+sha("mid")+",/top -rw-r--r-- 3 "+sha("top"))

	shared := layer("shared")
	push("one:1", shared, layer("one"))
	push("two:1", shared, layer("two"))
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, tag := range []string{"one:1", "two:1"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.Pull(e.ctx, reg.host+"/"+tag, nil)
		}()
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("concurrent pulls: %v", errs)
	}
	for _, tag := range []string{"one:1", "two:1"} {
		img, err := s.Get(e.ctx, reg.host+"/"+tag)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(tag, ":1")
		want := []string{"/" + name + " -rw-r--r-- 3 " + sha(name), "/shared -rw-r--r-- 6 " + sha("shared")}
		slices.Sort(want)
		mustEqualSlice(t, "files of "+tag, snapshotTree(t, e.ctx, e.client, img.ChainID), want)
	}
}

// TestPullAppliesStoredBlobs pulls an image whose layer blobs the content
// store holds already: containerd applies them, none is downloaded.
func TestPullAppliesStoredBlobs(t *testing.T) {
	e := newEnv(t)
	reg, blobGets := newCountingRegistry(t)
	reg.push(t, "layered:1", layeredImage(t))
	ref := reg.host + "/layered:1"
	s := e.service(t, Options{})
	resolver := docker.NewResolver(docker.ResolverOptions{Hosts: s.registryHosts(e.ctx, nil)})
	fetched, err := e.client.Fetch(e.ctx, ref, containerd.WithResolver(resolver))
	if err != nil {
		t.Fatal(err)
	}
	fetched.Name = "fetched"
	if _, err := e.client.ImageService().Create(e.ctx, fetched); err != nil {
		t.Fatal(err)
	}
	blobGets.reset()
	img, err := s.Pull(e.ctx, ref, nil)
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	if n := blobGets.total(); n != 0 {
		t.Fatalf("%d blobs downloaded", n)
	}
	if err := e.client.ImageService().Delete(e.ctx, "fetched", images.SynchronousDelete()); err != nil {
		t.Fatal(err)
	}
	if tree := snapshotTree(t, e.ctx, e.client, img.ChainID); !slices.Contains(tree, "/hard/two -rw-r--r-- 6 "+sha("linked")+" links=2") {
		t.Fatalf("unpacked: %q", tree)
	}
}

// blobCounter counts the blob downloads a registry served, by digest.
type blobCounter struct {
	mu   sync.Mutex
	gets map[string]int
}

func (c *blobCounter) of(digest string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gets[digest]
}

func (c *blobCounter) total() (n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, g := range c.gets {
		n += g
	}
	return n
}

func (c *blobCounter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.gets)
}

// newCountingRegistry is a test registry counting its blob downloads.
func newCountingRegistry(t *testing.T) (*testRegistry, *blobCounter) {
	c := &blobCounter{gets: map[string]int{}}
	reg := newRegistry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
				c.mu.Lock()
				c.gets[r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]]++
				c.mu.Unlock()
			}
			h.ServeHTTP(w, r)
		})
	})
	return reg, c
}

// TestPullCorruptLayer serves a layer whose bytes do not match its
// digest: the pull fails and leaves no image and no snapshot behind.
func TestPullCorruptLayer(t *testing.T) {
	e := newEnv(t)
	var corrupt string
	reg := newRegistry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if corrupt == "" || !strings.HasSuffix(r.URL.Path, "/blobs/"+corrupt) {
				h.ServeHTTP(w, r)
				return
			}
			h.ServeHTTP(&flippingWriter{ResponseWriter: w, at: 1000}, r)
		})
	})
	// An uncompressed layer of one file: with a byte of the file's content
	// flipped, the applier takes it, only the digest check can tell.
	l := testimage.NewLayer()
	l.File("/data", 0o644, make([]byte, 4096))
	tarball, err := l.Tar()
	if err != nil {
		t.Fatal(err)
	}
	img := imageOf(t, v1.Config{}, static.NewLayer(tarball, types.OCIUncompressedLayer))
	reg.push(t, "corrupt:1", img)
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	corrupt = m.Layers[0].Digest.String()

	s := e.service(t, Options{})
	_, err = s.Pull(e.ctx, reg.host+"/corrupt:1", nil)
	if err == nil || !strings.Contains(err.Error(), "does not match its digest") {
		t.Fatalf("Pull of a corrupt layer = %v", err)
	}
	if names := e.containerdNames(t); len(names) != 0 {
		t.Fatalf("containerd names after failed pull: %v", names)
	}
	var left []string
	if err := e.client.SnapshotService("overlayfs").Walk(e.ctx, func(_ context.Context, info snapshots.Info) error {
		if info.Kind == snapshots.KindActive {
			left = append(left, info.Name)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Fatalf("active snapshots left: %v", left)
	}
}

// flippingWriter inverts the response byte at offset at.
type flippingWriter struct {
	http.ResponseWriter
	at, off int
}

func (w *flippingWriter) Write(p []byte) (int, error) {
	q := slices.Clone(p)
	if i := w.at - w.off; i >= 0 && i < len(q) {
		q[i] ^= 0xff
	}
	w.off += len(p)
	return w.ResponseWriter.Write(q)
}

// snapshotTree lists the files of committed snapshot chainID, one line per
// file: path, mode, owner when not root, size and content digest or link
// target, and link count of regular files when not 1.
func snapshotTree(t *testing.T, ctx context.Context, client *containerd.Client, chainID string) []string {
	t.Helper()
	ctx, done, err := client.WithLease(ctx) // or the garbage collector may take the view
	if err != nil {
		t.Fatal(err)
	}
	defer done(ctx)
	sn := client.SnapshotService("overlayfs")
	key := "view-" + uniquePart()
	mounts, err := sn.View(ctx, key, chainID)
	if err != nil {
		t.Fatalf("view %s: %v", chainID, err)
	}
	defer func() {
		if err := sn.Remove(ctx, key); err != nil {
			t.Errorf("remove view %s: %v", key, err)
		}
	}()
	var lines []string
	err = mount.WithReadonlyTempMount(ctx, mounts, func(root string) error {
		return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || p == root {
				return err
			}
			fi, err := os.Lstat(p)
			if err != nil {
				return err
			}
			st := fi.Sys().(*syscall.Stat_t)
			line := fmt.Sprintf("/%s %s", strings.TrimPrefix(p, root+"/"), fi.Mode())
			if st.Uid != 0 || st.Gid != 0 {
				line += fmt.Sprintf(" %d:%d", st.Uid, st.Gid)
			}
			switch {
			case fi.Mode().IsRegular():
				data, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				line += fmt.Sprintf(" %d %s", len(data), sha(string(data)))
				if st.Nlink != 1 {
					line += fmt.Sprintf(" links=%d", st.Nlink)
				}
			case fi.Mode()&fs.ModeSymlink != 0:
				target, err := os.Readlink(p)
				if err != nil {
					return err
				}
				line += " -> " + target
			}
			lines = append(lines, line)
			return nil
		})
	})
	if err != nil {
		t.Fatalf("walk snapshot %s: %v", chainID, err)
	}
	return lines
}

func sha(s string) string {
	return fmt.Sprintf("%x", sha256.Sum256([]byte(s)))[:12]
}

// collectGarbage runs containerd's garbage collector to the end, by
// deleting a lease synchronously.
func collectGarbage(t *testing.T, e *env) {
	t.Helper()
	ls := e.client.LeasesService()
	l, err := ls.Create(e.ctx, leases.WithRandomID())
	if err != nil {
		t.Fatal(err)
	}
	if err := ls.Delete(e.ctx, l, leases.SynchronousDelete); err != nil {
		t.Fatal(err)
	}
}

// fetchedManifest reads the platform manifest of target from cs.
func fetchedManifest(ctx context.Context, cs content.Store, target ocispec.Descriptor) (ocispec.Manifest, error) {
	return images.Manifest(ctx, cs, target, platforms.Default())
}

func mustReaderAt(t *testing.T, ctx context.Context, cs content.Store, desc ocispec.Descriptor) content.ReaderAt {
	t.Helper()
	ra, err := cs.ReaderAt(ctx, desc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ra.Close() })
	return ra
}
