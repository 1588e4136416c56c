package catalog

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sirupsen/logrus"

	"github.com/podshim/podshim/critest/testimage"
)

// smallImage is a one-file image whose content is text.
func smallImage(t *testing.T, text string) v1.Image {
	t.Helper()
	l := testimage.NewLayer()
	l.File("/text", 0o644, []byte(text))
	img, err := testimage.NewImage(v1.Config{Cmd: []string{"/text"}}, "serve test", l)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestServe serves two images under three names, checks each name's
// manifest answers at the address written to the address file, and that
// every image host and extra host got a hosts.toml pointing there.
func TestServe(t *testing.T) {
	dir := t.TempDir()
	o := ServeOptions{
		Name:       "serve-test",
		Listen:     "127.0.0.1:0",
		HostsDir:   filepath.Join(dir, "hosts"),
		AddrFile:   filepath.Join(dir, "addr"),
		RequestLog: filepath.Join(dir, "requests"),
		ExtraHosts: []string{" docker.io", "", "registry.k8s.io"},
	}
	entries := []Entry{
		{Names: []string{"registry.k8s.io/aa:1", "gcr.io/x/aa:2"}, Image: smallImage(t, "a")},
		{Names: []string{"registry.k8s.io/bb:1"}, Image: smallImage(t, "b")},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, entries, o, logrus.NewEntry(logrus.New())) }()

	var addr string
	for deadline := time.Now().Add(30 * time.Second); addr == ""; {
		select {
		case err := <-done:
			t.Fatalf("Serve returned before serving: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		if data, err := os.ReadFile(o.AddrFile); err == nil {
			addr = strings.TrimSpace(string(data))
		} else if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no address file after 30 s: %v", err)
		}
	}
	for _, path := range []string{"aa/manifests/1", "x/aa/manifests/2", "bb/manifests/1"} {
		resp, err := http.Head("http://" + addr + "/v2/" + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %s", path, resp.Status)
		}
	}
	want := []string{"docker.io", "gcr.io", "registry.k8s.io"}
	if got := MirroredHosts(entries, o.ExtraHosts); !slices.Equal(got, want) {
		t.Errorf("mirrored hosts %v, want %v", got, want)
	}
	for _, h := range want {
		data, err := os.ReadFile(filepath.Join(o.HostsDir, h, "hosts.toml"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), `"http://`+addr+`"`) {
			t.Errorf("%s/hosts.toml does not point at %s:\n%s", h, addr, data)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	reqs, err := os.ReadFile(o.RequestLog)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(reqs), "/v2/bb/manifests/1") {
		t.Errorf("request log lacks the manifest request:\n%s", reqs)
	}
}

// TestServeRefusesTwoImagesOnOnePath: the mirror serves every host from one
// namespace, so two different images named host1/p and host2/p collide.
func TestServeRefusesTwoImagesOnOnePath(t *testing.T) {
	dir := t.TempDir()
	entries := []Entry{
		{Names: []string{"registry.k8s.io/pp:1"}, Image: smallImage(t, "one")},
		{Names: []string{"docker.io/pp:1"}, Image: smallImage(t, "two")},
	}
	err := Serve(context.Background(), entries, ServeOptions{Name: "t", Listen: "127.0.0.1:0",
		HostsDir: filepath.Join(dir, "hosts")}, logrus.NewEntry(logrus.New()))
	if err == nil || !strings.Contains(err.Error(), "two different images") {
		t.Fatalf("Serve with colliding paths: %v", err)
	}
}
