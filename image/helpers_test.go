package image

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/namespaces"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/podshim/podshim/critest/testenv"
)

// testNamespace is the containerd namespace of these tests.
const testNamespace = "podshim-imgtest"

// env is a private containerd and a client of it, in testNamespace.
type env struct {
	ctrd   *testenv.Containerd
	client *containerd.Client
	ctx    context.Context
}

// newEnv starts a private containerd for t. Under -short it skips t: the
// unit run starts no daemons.
func newEnv(t testing.TB) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("starts containerd")
	}
	ctrd := testenv.ContainerdForTest(t)
	client, err := containerd.New(ctrd.Address, containerd.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatalf("containerd client: %v", err)
	}
	t.Cleanup(func() { client.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return &env{ctrd: ctrd, client: client, ctx: namespaces.WithNamespace(ctx, testNamespace)}
}

// service makes an image service on e, failing t on error.
func (e *env) service(t testing.TB, o Options) *Service {
	t.Helper()
	o.Client = e.client
	s, err := New(e.ctx, o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// containerdNames returns every image name containerd holds in the test
// namespace, with its labels.
func (e *env) containerdNames(t *testing.T) map[string]map[string]string {
	t.Helper()
	recs, err := e.client.ImageService().List(e.ctx)
	if err != nil {
		t.Fatalf("list containerd images: %v", err)
	}
	out := map[string]map[string]string{}
	for _, r := range recs {
		out[r.Name] = r.Labels
	}
	return out
}

// testRegistry is an in-process registry on 127.0.0.1, optionally behind
// a handler (auth), counting requests.
type testRegistry struct {
	srv      *httptest.Server
	host     string // 127.0.0.1:port
	requests atomic.Int64
}

func newRegistry(t *testing.T, wrap func(http.Handler) http.Handler) *testRegistry {
	t.Helper()
	var h http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}
	r := &testRegistry{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.requests.Add(1)
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(r.srv.Close)
	r.host = strings.TrimPrefix(r.srv.URL, "http://")
	return r
}

// push writes img to the registry as repo:tag ("foo:1"), with basic auth
// when user is set, and returns its manifest and config digests.
func (r *testRegistry) push(t *testing.T, repoTag string, img v1.Image, opts ...remote.Option) (manifest, config string) {
	t.Helper()
	ref, err := name.ParseReference(r.host+"/"+repoTag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, opts...); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	c, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return d.String(), c.String()
}

var busyboxLayer = sync.OnceValues(func() (v1.Layer, error) {
	bin, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdrs := []*tar.Header{
		{Typeflag: tar.TypeDir, Name: "bin/", Mode: 0o755},
		{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755, Size: int64(len(bin))},
		{Typeflag: tar.TypeLink, Name: "bin/sh", Linkname: "bin/busybox", Mode: 0o755},
	}
	for _, h := range hdrs {
		h.ModTime = time.Unix(1700000000, 0)
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(bin); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
})

// busyboxImage returns an OCI image of Debian's static busybox (~2 MB
// uncompressed, ~1 MB gzipped) with cfg as its config.
func busyboxImage(t *testing.T, cfg v1.Config) v1.Image {
	t.Helper()
	layer, err := busyboxLayer()
	if err != nil {
		t.Fatalf("busybox layer: %v", err)
	}
	return imageOf(t, cfg, layer)
}

// smallImage returns an image of one random 4 KiB layer with cfg.
func smallImage(t *testing.T, cfg v1.Config) v1.Image {
	t.Helper()
	layer, err := random.Layer(4096, types.OCILayer)
	if err != nil {
		t.Fatal(err)
	}
	return imageOf(t, cfg, layer)
}

func imageOf(t *testing.T, cfg v1.Config, layers ...v1.Layer) v1.Image {
	t.Helper()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err := mutate.AppendLayers(img, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtimeArch()
	cf.Config = cfg
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// writeHostsToml writes <dir>/<host>/hosts.toml.
func writeHostsToml(t *testing.T, dir, host, content string) {
	t.Helper()
	d := filepath.Join(dir, host)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, "hosts.toml"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// buildPause builds cmd/pause statically into a temporary directory.
func buildPause(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "pause")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, "./cmd/pause")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build pause: %v\n%s", err, b)
	}
	return out
}

func mustEqual[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

func mustEqualSlice(t *testing.T, what string, got, want []string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) || len(got) != len(want) {
		t.Fatalf("%s = %q, want %q", what, got, want)
	}
}

func runtimeArch() string { return goruntime.GOARCH }
