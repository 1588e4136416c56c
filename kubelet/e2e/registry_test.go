//go:build kubelet_e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Image names the tests use. hosts.toml files send docker.io and
// registry.k8s.io to the test registry, so they are pulled under these
// realistic names; each pull-policy case has a repository of its own so
// that its registry requests can be counted apart.
const (
	busyboxImage     = "docker.io/library/busybox:1.36"
	ifNotPresentRepo = "podshim/ifnotpresent"
	alwaysRepo       = "podshim/always"
	noPolicyRepo     = "podshim/nopolicy"
	neverRepo        = "podshim/never" // never pushed nor pulled
)

// testRegistry is an in-process OCI registry on 127.0.0.1 that records every
// request it serves.
type testRegistry struct {
	host   string // 127.0.0.1:port
	server *http.Server

	mu       sync.Mutex
	requests []registryRequest
}

// registryRequest is one request the registry served.
type registryRequest struct {
	Method string
	Path   string
	Time   time.Time
}

func startRegistry() (*testRegistry, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("registry listen: %w", err)
	}
	r := &testRegistry{host: ln.Addr().String()}
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	r.server = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.requests = append(r.requests, registryRequest{Method: req.Method, Path: req.URL.Path, Time: time.Now()})
		r.mu.Unlock()
		inner.ServeHTTP(w, req)
	})}
	go func() { _ = r.server.Serve(ln) }()
	return r, nil
}

func (r *testRegistry) stop() {
	if r != nil {
		_ = r.server.Close()
	}
}

// manifestRequests counts the manifest requests (GET or HEAD, by tag or by
// digest) for repo since t: one per resolve of an image reference.
func (r *testRegistry) manifestRequests(repo string, since time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, q := range r.requests {
		if q.Time.Before(since) {
			continue
		}
		if strings.HasPrefix(q.Path, "/v2/"+repo+"/manifests/") {
			n++
		}
	}
	return n
}

// requestsFor lists every request for repo since t, for failure messages.
func (r *testRegistry) requestsFor(repo string, since time.Time) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, q := range r.requests {
		if !q.Time.Before(since) && strings.HasPrefix(q.Path, "/v2/"+repo+"/") {
			out = append(out, fmt.Sprintf("%s %s %s", q.Time.Format("15:04:05.000"), q.Method, q.Path))
		}
	}
	return out
}

// push uploads img as repo:tag.
func (r *testRegistry) push(ctx context.Context, repo, tag string, img v1.Image) error {
	ref, err := name.ParseReference(fmt.Sprintf("%s/%s:%s", r.host, repo, tag), name.Insecure)
	if err != nil {
		return fmt.Errorf("push %s:%s: %w", repo, tag, err)
	}
	if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	return nil
}

// pushTestImages builds the busybox and pause images and pushes them under
// every name the tests use.
func (r *testRegistry) pushTestImages(ctx context.Context, pauseBin string) error {
	busybox, err := busyboxImageFromHost()
	if err != nil {
		return err
	}
	pause, err := pauseImage(pauseBin)
	if err != nil {
		return err
	}
	pushes := []struct {
		repo, tag string
		img       v1.Image
	}{
		{"library/busybox", "1.36", busybox},
		{ifNotPresentRepo, "1.0", busybox},
		{alwaysRepo, "1.0", busybox},
		{noPolicyRepo, "latest", busybox},
		{"pause", "3.10", pause},
	}
	for _, p := range pushes {
		if err := r.push(ctx, p.repo, p.tag, p.img); err != nil {
			return err
		}
	}
	return nil
}

// writeHostsTOML writes containerd hosts.toml files (the layout both
// containerd's CRI and podshimd read) sending docker.io and registry.k8s.io
// to the test registry over plain http. server is the test registry itself,
// not the real upstream, so a failed pull never falls back to the internet.
func (r *testRegistry) writeHostsTOML(dir string) error {
	for _, host := range []string{"docker.io", "registry.k8s.io"} {
		d := filepath.Join(dir, host)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("hosts.toml dir: %w", err)
		}
		content := fmt.Sprintf("server = \"http://%s\"\n\n[host.\"http://%s\"]\n  capabilities = [\"pull\", \"resolve\"]\n", r.host, r.host)
		if err := os.WriteFile(filepath.Join(d, "hosts.toml"), []byte(content), 0o644); err != nil {
			return fmt.Errorf("hosts.toml for %s: %w", host, err)
		}
	}
	return nil
}

// busyboxImageFromHost builds a one-layer image from Debian's busybox-static:
// /bin/busybox with every applet as a hard link to it, and /bin/sh as the
// default command.
func busyboxImageFromHost() (v1.Image, error) {
	bin, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return nil, fmt.Errorf("busybox image (install busybox-static): %w", err)
	}
	out, err := exec.Command("/bin/busybox", "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("busybox --list: %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range []struct {
		name string
		mode int64
	}{{"bin/", 0o755}, {"etc/", 0o755}, {"root/", 0o700}, {"tmp/", 0o1777}, {"var/", 0o755}, {"proc/", 0o555}, {"sys/", 0o555}, {"dev/", 0o755}} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d.name, Mode: d.mode}); err != nil {
			return nil, err
		}
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
		"etc/group":  "root:x:0:\nnogroup:x:65534:\n",
	}
	for n, c := range files {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: n, Mode: 0o644, Size: int64(len(c))}); err != nil {
			return nil, err
		}
		if _, err := tw.Write([]byte(c)); err != nil {
			return nil, err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755, Size: int64(len(bin))}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(bin); err != nil {
		return nil, err
	}
	for _, applet := range strings.Fields(string(out)) {
		if applet == "busybox" {
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeLink, Name: "bin/" + applet, Linkname: "bin/busybox", Mode: 0o755}); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return imageFromTar(buf.Bytes(), v1.Config{
		Env: []string{"PATH=/bin"},
		Cmd: []string{"sh"},
	})
}

// pauseImage builds the sandbox image from podshim's cmd/pause binary.
func pauseImage(pauseBin string) (v1.Image, error) {
	bin, err := os.ReadFile(pauseBin)
	if err != nil {
		return nil, fmt.Errorf("pause image: %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "pause", Mode: 0o755, Size: int64(len(bin))}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(bin); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return imageFromTar(buf.Bytes(), v1.Config{Entrypoint: []string{"/pause"}})
}

func imageFromTar(layerTar []byte, cfg v1.Config) (v1.Image, error) {
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	})
	if err != nil {
		return nil, fmt.Errorf("image layer: %w", err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, fmt.Errorf("image layers: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config = cfg
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	return img, nil
}
