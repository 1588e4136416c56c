package testimage

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/remotes/docker"
	"github.com/containerd/containerd/remotes/docker/config"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// tarEntries reads every header (and regular file content) of an image's
// single layer.
func tarEntries(t *testing.T, img v1.Image) ([]*tar.Header, map[string][]byte) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatalf("layers: %v", err)
	}
	if len(layers) != 1 {
		t.Fatalf("got %d layers, want 1", len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatalf("uncompressed layer: %v", err)
	}
	defer rc.Close()
	var hdrs []*tar.Header
	content := map[string][]byte{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read layer tar: %v", err)
		}
		hdrs = append(hdrs, hdr)
		if hdr.Typeflag == tar.TypeReg {
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatalf("read %s: %v", hdr.Name, err)
			}
			content[hdr.Name] = data
		}
	}
	return hdrs, content
}

func digestOf(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatalf("digest: %v", err)
	}
	return d
}

func TestBusyboxIsDeterministicWithHardLinkedApplets(t *testing.T) {
	if _, err := os.Stat(StaticBusyboxPath); err != nil {
		t.Fatalf("busybox-static must be installed (apt-get install busybox-static): %v", err)
	}
	img1, err := Busybox()
	if err != nil {
		t.Fatalf("Busybox: %v", err)
	}
	img2, err := Busybox()
	if err != nil {
		t.Fatalf("Busybox again: %v", err)
	}
	d1, d2 := digestOf(t, img1), digestOf(t, img2)
	if d1 != d2 {
		t.Fatalf("two builds differ: %s vs %s", d1, d2)
	}

	cf, err := img1.ConfigFile()
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	if !slices.Equal(cf.Config.Cmd, []string{"sh"}) {
		t.Errorf("Cmd = %q, want [sh]", cf.Config.Cmd)
	}
	if !slices.Contains(cf.Config.Env, "PATH="+DefaultPath) {
		t.Errorf("Env = %q, want PATH=%s", cf.Config.Env, DefaultPath)
	}
	if !cf.Created.Time.Equal(BuildTime) {
		t.Errorf("Created = %s, want %s", cf.Created.Time, BuildTime)
	}

	hdrs, content := tarEntries(t, img1)
	byName := map[string]*tar.Header{}
	seenBusybox := false
	for _, h := range hdrs {
		byName[h.Name] = h
		if !h.ModTime.Equal(BuildTime) {
			t.Errorf("%s: mtime %s, want %s", h.Name, h.ModTime, BuildTime)
		}
		if h.Typeflag == tar.TypeSymlink && strings.HasPrefix(h.Name, "bin/") {
			t.Errorf("%s is a symlink; applets must be hard links", h.Name)
		}
		if h.Name == "bin/busybox" {
			seenBusybox = true
		}
		if h.Typeflag == tar.TypeLink && !seenBusybox {
			t.Errorf("hard link %s comes before its target", h.Name)
		}
	}
	for _, applet := range []string{"sh", "ls", "id", "sleep", "top"} {
		h := byName["bin/"+applet]
		if h == nil {
			t.Errorf("applet %s missing", applet)
			continue
		}
		if h.Typeflag != tar.TypeLink || h.Linkname != "bin/busybox" {
			t.Errorf("bin/%s: type %c link %q, want hard link to bin/busybox", applet, h.Typeflag, h.Linkname)
		}
	}
	want, err := os.ReadFile(StaticBusyboxPath)
	if err != nil {
		t.Fatal(err)
	}
	if string(content["bin/busybox"]) != string(want) {
		t.Errorf("bin/busybox differs from %s", StaticBusyboxPath)
	}
	if !strings.Contains(string(content["etc/passwd"]), "nobody:x:65534:65534:") {
		t.Errorf("/etc/passwd lacks nobody: %q", content["etc/passwd"])
	}
	if h := byName["tmp/"]; h == nil || h.Mode != 0o1777 {
		t.Errorf("/tmp missing or not 1777: %+v", h)
	}
}

func TestFromBinary(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "pause")
	if err := os.WriteFile(bin, []byte("\x7fELF not really"), 0o755); err != nil {
		t.Fatal(err)
	}
	img, err := FromBinary(bin, "/pause", "65535:65535")
	if err != nil {
		t.Fatalf("FromBinary: %v", err)
	}
	again, err := FromBinary(bin, "/pause", "65535:65535")
	if err != nil {
		t.Fatalf("FromBinary again: %v", err)
	}
	if digestOf(t, img) != digestOf(t, again) {
		t.Errorf("two builds differ")
	}
	other, err := FromBinary(bin, "/pause", "")
	if err != nil {
		t.Fatalf("FromBinary as root: %v", err)
	}
	if digestOf(t, img) == digestOf(t, other) {
		t.Errorf("images with different users have the same digest")
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cf.Config.Entrypoint, []string{"/pause"}) || cf.Config.User != "65535:65535" {
		t.Errorf("config entrypoint %q user %q", cf.Config.Entrypoint, cf.Config.User)
	}
	if cf.OS != "linux" || cf.Architecture == "" {
		t.Errorf("platform %s/%s", cf.OS, cf.Architecture)
	}
	hdrs, content := tarEntries(t, img)
	if string(content["pause"]) != "\x7fELF not really" {
		t.Errorf("/pause content %q", content["pause"])
	}
	for _, h := range hdrs {
		if h.Name == "pause" && h.Mode != 0o755 {
			t.Errorf("/pause mode %o", h.Mode)
		}
	}
}

func TestLayerRejectsDanglingHardLink(t *testing.T) {
	l := NewLayer()
	l.HardLink("/bin/ls", "/bin/busybox")
	if _, err := l.Tar(); err == nil {
		t.Fatal("hard link to a missing file was accepted")
	}
}

func TestRegistryPushPullAndRequestLog(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	reg, err := StartRegistry(ctx)
	if err != nil {
		t.Fatalf("StartRegistry: %v", err)
	}
	defer reg.Close()
	if !strings.HasPrefix(reg.Addr(), "127.0.0.1:") {
		t.Fatalf("Addr = %q", reg.Addr())
	}

	l := NewLayer()
	l.File("/hello", 0o644, []byte("hello"))
	img, err := NewImage(v1.Config{Cmd: []string{"/hello"}}, "test", l)
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Push("library/hello:1.0", img); err != nil {
		t.Fatalf("Push: %v", err)
	}
	if !slices.Contains(reg.Requests(), "PUT /v2/library/hello/manifests/1.0") {
		t.Errorf("manifest PUT not logged: %q", reg.Requests())
	}
	reg.ResetRequests()

	ref, err := name.ParseReference(reg.Addr()+"/library/hello:1.0", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	pulled, err := remote.Image(ref, remote.WithContext(ctx))
	if err != nil {
		t.Fatalf("pull back: %v", err)
	}
	if digestOf(t, pulled) != digestOf(t, img) {
		t.Errorf("pulled digest %s, pushed %s", digestOf(t, pulled), digestOf(t, img))
	}
	if !slices.Contains(reg.Requests(), "GET /v2/library/hello/manifests/1.0") {
		t.Errorf("manifest GET not logged: %q", reg.Requests())
	}

	if err := reg.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := remote.Image(ref, remote.WithContext(ctx)); err == nil {
		t.Errorf("registry still serving after Close")
	}
}

func TestStartRegistryRefusesNonLoopback(t *testing.T) {
	if _, err := StartRegistryAt(context.Background(), "0.0.0.0:0"); err == nil {
		t.Fatal("a registry on 0.0.0.0 was started")
	}
}

func TestWriteHostsTOMLParsedByContainerd(t *testing.T) {
	dir := t.TempDir()
	const mirror = "127.0.0.1:5123"
	if err := WriteHostsTOML(dir, "registry.k8s.io", mirror); err != nil {
		t.Fatalf("WriteHostsTOML: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "registry.k8s.io", "hosts.toml")); err != nil {
		t.Fatalf("hosts.toml not at <dir>/<host>/hosts.toml: %v", err)
	}
	hosts := config.ConfigureHosts(context.Background(), config.HostOptions{HostDir: config.HostDirFromRoot(dir)})
	got, err := hosts("registry.k8s.io")
	if err != nil {
		t.Fatalf("containerd ConfigureHosts: %v", err)
	}
	if len(got) == 0 {
		t.Fatal("no hosts configured")
	}
	for _, h := range got {
		if h.Host != mirror || h.Scheme != "http" || h.Path != "/v2" {
			t.Errorf("host %s://%s%s, want only http://%s/v2 (never the upstream)", h.Scheme, h.Host, h.Path, mirror)
		}
	}
	first := got[0]
	if first.Capabilities&docker.HostCapabilityPull == 0 || first.Capabilities&docker.HostCapabilityResolve == 0 {
		t.Errorf("mirror capabilities %b lack pull or resolve", first.Capabilities)
	}
	if first.Capabilities&docker.HostCapabilityPush != 0 {
		t.Errorf("mirror host has push capability")
	}

	if err := WriteHostsTOML(dir, "../evil", mirror); err == nil {
		t.Errorf("path-like upstream host accepted")
	}
	if err := WriteHostsTOML(dir, "gcr.io", "no-port"); err == nil {
		t.Errorf("mirror address without port accepted")
	}
}

func TestMirrorResolvesUpstreamNameThroughLocalRegistry(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	reg, err := StartRegistry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	l := NewLayer()
	l.File("/pause", 0o755, []byte("pause"))
	img, err := NewImage(v1.Config{Entrypoint: []string{"/pause"}}, "test", l)
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Push("pause:3.9", img); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := WriteHostsTOML(dir, "registry.k8s.io", reg.Addr()); err != nil {
		t.Fatal(err)
	}
	reg.ResetRequests()
	resolver := docker.NewResolver(docker.ResolverOptions{
		Hosts: config.ConfigureHosts(ctx, config.HostOptions{HostDir: config.HostDirFromRoot(dir)}),
	})
	resolvedName, desc, err := resolver.Resolve(ctx, "registry.k8s.io/pause:3.9")
	if err != nil {
		t.Fatalf("containerd resolver: %v", err)
	}
	if resolvedName != "registry.k8s.io/pause:3.9" {
		t.Errorf("resolved name %q", resolvedName)
	}
	if desc.Digest.String() != digestOf(t, img).String() {
		t.Errorf("resolved digest %s, pushed %s", desc.Digest, digestOf(t, img))
	}
	if !slices.Contains(reg.Requests(), "HEAD /v2/pause/manifests/3.9") {
		t.Errorf("mirror did not see the resolve: %q", reg.Requests())
	}
}
