package images

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/podshim/podshim/critest/catalog"
	"github.com/podshim/podshim/critest/testimage"
)

// fakeInputs makes the catalog's input directories: the host's busybox-static
// stands in for Debian's busybox, the libc files and helpers are placeholder
// files, and agnhost is a file with known bytes.
func fakeInputs(t *testing.T) (catalog.Inputs, string) {
	t.Helper()
	if runtime.GOARCH != "amd64" {
		t.Fatalf("this test knows only the amd64 library layout, not %s", runtime.GOARCH)
	}
	root := t.TempDir()
	in := catalog.Inputs{
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
	for _, h := range []string{"pgrep", "ipcs", "webserver", "pause", "nnp", "curl", "nc", "nmeter"} {
		write(filepath.Join(in.HelpersDir, h), []byte("helper "+h))
	}
	agnhost := filepath.Join(root, "agnhost")
	write(agnhost, []byte("agnhost binary"))
	write(filepath.Join(root, "agnhost-localhost.crt"), []byte("crt"))
	write(filepath.Join(root, "agnhost-localhost.key"), []byte("key"))
	return in, agnhost
}

// files returns the flattened file system of img: path to content, and the
// link target of symlinks.
func files(t *testing.T, img v1.Image) (map[string][]byte, map[string]string) {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	data, links := map[string][]byte{}, map[string]string{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return data, links
		}
		if err != nil {
			t.Fatal(err)
		}
		switch h.Typeflag {
		case tar.TypeSymlink:
			links[h.Name] = h.Linkname
		case tar.TypeReg:
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			data[h.Name] = b
		}
	}
}

func TestBuildServesEverySuiteImage(t *testing.T) {
	in, agnhostBin := fakeInputs(t)
	entries, err := Build(in, agnhostBin)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]v1.Image{}
	for _, e := range entries {
		for _, n := range e.Names {
			if _, dup := byName[n]; dup {
				t.Errorf("%s listed twice", n)
			}
			byName[n] = e.Image
		}
	}
	want := []string{Agnhost, BusyBox, Nginx, NginxNew, Httpd, HttpdNew, Nonewprivs, NonRoot, Pause}
	for _, n := range want {
		if byName[n] == nil {
			t.Errorf("no image for %s", n)
		}
	}
	if len(byName) != len(want) {
		t.Errorf("built %d names, want %d", len(byName), len(want))
	}
	for _, s := range Skipped() {
		if byName[s.Name] != nil {
			t.Errorf("%s is both built and skipped", s.Name)
		}
	}
	if !slices.Equal(catalog.Hosts(entries), []string{"registry.k8s.io"}) {
		t.Errorf("hosts: %v", catalog.Hosts(entries))
	}

	// agnhost: the given binary as /agnhost, /agnhost-2 linking to it, its
	// entrypoint and default command, and the user and group the image
	// defines for the security context specs.
	ag := byName[Agnhost]
	cf, err := ag.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cf.Config.Entrypoint, []string{"/agnhost"}) || !slices.Equal(cf.Config.Cmd, []string{"pause"}) {
		t.Errorf("agnhost entrypoint %v cmd %v", cf.Config.Entrypoint, cf.Config.Cmd)
	}
	data, links := files(t, ag)
	if !bytes.Equal(data["agnhost"], []byte("agnhost binary")) {
		t.Errorf("/agnhost is %q", data["agnhost"])
	}
	if links["agnhost-2"] != "agnhost" {
		t.Errorf("/agnhost-2 links to %q", links["agnhost-2"])
	}
	if !bytes.Contains(data["etc/group"], []byte("\ngroup-defined-in-image:x:50000:user-defined-in-image\n")) ||
		!bytes.Contains(data["etc/passwd"], []byte("\nuser-defined-in-image:x:1000:1000:")) {
		t.Errorf("agnhost /etc/passwd or /etc/group lacks the image's user and group")
	}
	if !bytes.Equal(data["localhost.crt"], []byte("crt")) || !bytes.Equal(data["localhost.key"], []byte("key")) {
		t.Errorf("agnhost lacks /localhost.crt or /localhost.key")
	}
	if !bytes.Equal(data["usr/bin/curl"], []byte("helper curl")) {
		t.Errorf("agnhost /usr/bin/curl is %q", data["usr/bin/curl"])
	}
	if !bytes.Equal(data["usr/bin/nc"], []byte("helper nc")) {
		t.Errorf("agnhost /usr/bin/nc is %q", data["usr/bin/nc"])
	}
	if _, ok := data["bin/busybox"]; !ok {
		t.Errorf("agnhost has no busybox shell")
	}

	// busybox: Debian's busybox plus /bin/nmeter.
	data, _ = files(t, byName[BusyBox])
	if !bytes.Equal(data["bin/nmeter"], []byte("helper nmeter")) {
		t.Errorf("busybox /bin/nmeter is %q", data["bin/nmeter"])
	}
	if _, ok := data["bin/busybox"]; !ok {
		t.Errorf("busybox has no /bin/busybox")
	}

	nr, err := byName[NonRoot].ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if nr.Config.User != "1234" {
		t.Errorf("nonroot user %q, want 1234", nr.Config.User)
	}
	pause, err := byName[Pause].ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pause.Config.Entrypoint, []string{"/pause"}) {
		t.Errorf("pause entrypoint %v", pause.Config.Entrypoint)
	}
}
