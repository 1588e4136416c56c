package catalog

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/podshim/podshim/critest/testimage"
)

// fakeInputs makes input directories: the host's busybox-static stands in
// for Debian's busybox package (only its applet list and bytes matter here),
// and the libc files and helpers are small placeholder files.
func fakeInputs(t *testing.T) Inputs {
	t.Helper()
	if runtime.GOARCH != "amd64" {
		t.Fatalf("this test knows only the amd64 library layout, not %s", runtime.GOARCH)
	}
	root := t.TempDir()
	in := Inputs{
		BusyboxDir: filepath.Join(root, "busybox"),
		LibcDir:    filepath.Join(root, "libc6"),
		HelpersDir: filepath.Join(root, "helpers"),
	}
	bb, err := os.ReadFile(testimage.StaticBusyboxPath)
	if err != nil {
		t.Fatalf("busybox-static must be installed: %v", err)
	}
	write := func(path string, data []byte) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(in.BusyboxDir, "bin", "busybox"), bb)
	for _, lib := range []string{"ld-linux-x86-64.so.2", "libc.so.6", "libresolv.so.2"} {
		write(filepath.Join(in.LibcDir, "lib", "x86_64-linux-gnu", lib), []byte("lib "+lib))
	}
	for _, h := range []string{"pgrep", "ipcs", "webserver", "pause", "nnp"} {
		write(filepath.Join(in.HelpersDir, h), []byte("helper "+h))
	}
	return in
}

// critestNames are the Linux image references cri-tools v1.36.0 uses
// (pkg/framework/util.go, pkg/validate/*.go), minus the digest-pinned one.
var critestNames = []string{
	"registry.k8s.io/e2e-test-images/busybox:1.29-2",
	"registry.k8s.io/e2e-test-images/nginx:1.14-2",
	"registry.k8s.io/e2e-test-images/httpd:2.4.39-4",
	"registry.k8s.io/e2e-test-images/nonewprivs:1.3",
	"gcr.io/k8s-staging-cri-tools/hostnet-nginx-" + runtime.GOARCH + ":latest",
	"gcr.io/k8s-staging-cri-tools/test-image-user-uid:latest",
	"gcr.io/k8s-staging-cri-tools/test-image-user-username:latest",
	"gcr.io/k8s-staging-cri-tools/test-image-user-uid-group:latest",
	"gcr.io/k8s-staging-cri-tools/test-image-user-username-group:latest",
	"gcr.io/k8s-staging-cri-tools/test-image-predefined-group:latest",
	"gcr.io/k8s-staging-cri-tools/test-image-latest:latest",
	"gcr.io/k8s-staging-cri-tools/test-image-1:latest",
	"gcr.io/k8s-staging-cri-tools/test-image-2:latest",
	"gcr.io/k8s-staging-cri-tools/test-image-3:latest",
	"gcr.io/k8s-staging-cri-tools/test-image-tags:1",
	"gcr.io/k8s-staging-cri-tools/test-image-tags:2",
	"gcr.io/k8s-staging-cri-tools/test-image-tags:3",
	"gcr.io/k8s-staging-cri-tools/test-image-tag:test",
	"gcr.io/k8s-staging-cri-tools/test-image-tag:all",
	"registry.k8s.io/pause:3.9",
	"k8s.gcr.io/pause:3.9",
}

// index maps every name to its image digest and image.
func index(t *testing.T, entries []Entry) (map[string]string, map[string]v1.Image) {
	t.Helper()
	digests := map[string]string{}
	images := map[string]v1.Image{}
	for _, e := range entries {
		d, err := e.Image.Digest()
		if err != nil {
			t.Fatalf("digest of %s: %v", e.Names[0], err)
		}
		for _, n := range e.Names {
			if _, dup := digests[n]; dup {
				t.Errorf("%s listed twice", n)
			}
			digests[n] = d.String()
			images[n] = e.Image
		}
	}
	return digests, images
}

// topLayerFiles returns the regular files and their modes of an image's top
// layer.
func topLayerFiles(t *testing.T, img v1.Image) (map[string]string, map[string]int64) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := layers[len(layers)-1].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	files, modes := map[string]string{}, map[string]int64{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, modes
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files["/"+h.Name] = string(data)
		modes["/"+h.Name] = h.Mode
	}
}

func config(t *testing.T, img v1.Image) v1.Config {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return cf.Config
}

func TestBuildCoversCritestAndIsReproducible(t *testing.T) {
	in := fakeInputs(t)
	entries, err := Build(in)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	digests, images := index(t, entries)
	for _, n := range critestNames {
		if _, ok := digests[n]; !ok {
			t.Errorf("critest image %s is not built", n)
		}
	}
	if _, ok := digests[SandboxImage]; !ok {
		t.Errorf("sandbox image %s is not built", SandboxImage)
	}

	again, err := Build(in)
	if err != nil {
		t.Fatalf("second Build: %v", err)
	}
	digests2, _ := index(t, again)
	for n, d := range digests {
		if digests2[n] != d {
			t.Errorf("%s: digest %s then %s", n, d, digests2[n])
		}
	}

	const s = "gcr.io/k8s-staging-cri-tools/"
	same := func(a, b string) {
		t.Helper()
		if digests[a] != digests[b] {
			t.Errorf("%s and %s must be one image", a, b)
		}
	}
	same(s+"test-image-tags:1", s+"test-image-tags:2")
	same(s+"test-image-tags:1", s+"test-image-tags:3")
	same("registry.k8s.io/pause:3.9", "k8s.gcr.io/pause:3.9")
	distinct := []string{s + "test-image-1:latest", s + "test-image-2:latest", s + "test-image-3:latest",
		s + "test-image-latest:latest", s + "test-image-tag:test", s + "test-image-tag:all", s + "test-image-tags:1",
		"registry.k8s.io/pause:3.9", "registry.k8s.io/pause:3.6", SandboxImage}
	seen := map[string]string{}
	for _, n := range distinct {
		if prev, ok := seen[digests[n]]; ok {
			t.Errorf("%s and %s must be different images", prev, n)
		}
		seen[digests[n]] = n
	}

	// One registry serves every host: a repository path must not stand for
	// two different images.
	byPath := map[string]string{}
	for n, d := range digests {
		p := RepoPath(n)
		if prev, ok := byPath[p]; ok && prev != d {
			t.Errorf("repository path %s holds two images", p)
		}
		byPath[p] = d
	}

	users := map[string]string{
		s + "test-image-user-uid:latest":            "1002",
		s + "test-image-user-username:latest":       "www-data",
		s + "test-image-user-uid-group:latest":      "1003:1004",
		s + "test-image-user-username-group:latest": "www-data:1004",
		s + "test-image-predefined-group:latest":    "1000",
		"registry.k8s.io/pause:3.9":                 "65535:65535",
	}
	for n, want := range users {
		if got := config(t, images[n]).User; got != want {
			t.Errorf("%s: User %q, want %q", n, got, want)
		}
	}

	files, _ := topLayerFiles(t, images[s+"test-image-predefined-group:latest"])
	if !strings.Contains(files["/etc/group"], "\ngroup-defined-in-image:x:50000:default-user\n") ||
		!strings.Contains(files["/etc/passwd"], "\ndefault-user:x:1000:1000:") {
		t.Errorf("predefined-group passwd/group:\n%s\n%s", files["/etc/passwd"], files["/etc/group"])
	}

	files, modes := topLayerFiles(t, images["registry.k8s.io/e2e-test-images/nonewprivs:1.3"])
	if modes["/usr/local/bin/nnp"]&0o4000 == 0 || files["/usr/local/bin/nnp"] != "helper nnp" {
		t.Errorf("nnp mode %o content %q, want setuid helper", modes["/usr/local/bin/nnp"], files["/usr/local/bin/nnp"])
	}

	for n, port := range map[string]string{
		"registry.k8s.io/e2e-test-images/nginx:1.14-2":                             "80",
		"gcr.io/k8s-staging-cri-tools/hostnet-nginx-" + runtime.GOARCH + ":latest": "12003",
	} {
		files, _ := topLayerFiles(t, images[n])
		if !strings.Contains(files["/etc/nginx/conf.d/default.conf"], "listen       "+port+";") {
			t.Errorf("%s: default.conf does not listen on %s:\n%s", n, port, files["/etc/nginx/conf.d/default.conf"])
		}
		if files["/usr/sbin/nginx"] != "helper webserver" {
			t.Errorf("%s: /usr/sbin/nginx is not the webserver helper", n)
		}
		if cmd := config(t, images[n]).Cmd; !slices.Equal(cmd, []string{"nginx", "-g", "daemon off;"}) {
			t.Errorf("%s: Cmd %q", n, cmd)
		}
	}

	files, _ = topLayerFiles(t, images["registry.k8s.io/e2e-test-images/busybox:1.29-2"])
	for _, p := range []string{"/usr/bin/pgrep", "/usr/bin/ipcs", "/lib/x86_64-linux-gnu/libc.so.6"} {
		if _, ok := files[p]; !ok {
			t.Errorf("busybox image lacks %s", p)
		}
	}
}

func TestHostsAndRepoPath(t *testing.T) {
	entries := []Entry{{Names: []string{"registry.k8s.io/pause:3.9", "k8s.gcr.io/pause:3.9"}},
		{Names: []string{"gcr.io/k8s-staging-cri-tools/test-image-1:latest"}}}
	if got, want := Hosts(entries), []string{"gcr.io", "k8s.gcr.io", "registry.k8s.io"}; !slices.Equal(got, want) {
		t.Errorf("Hosts = %q, want %q", got, want)
	}
	if got := RepoPath("registry.k8s.io/e2e-test-images/busybox:1.29-2"); got != "e2e-test-images/busybox:1.29-2" {
		t.Errorf("RepoPath = %q", got)
	}
}

func TestSkippedImagesHaveReasons(t *testing.T) {
	skipped := SkippedImages()
	if len(skipped) != 1 || !strings.Contains(skipped[0].Name, "test-image-digest@sha256:") || skipped[0].Reason == "" {
		t.Errorf("skipped images: %+v", skipped)
	}
}
