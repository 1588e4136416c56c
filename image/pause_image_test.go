package image

import (
	"archive/tar"
	"bytes"
	"io"
	"testing"
)

func TestBuildPauseImage(t *testing.T) {
	bin := []byte("\x7fELF not really a binary")
	a, err := buildPauseImage(bin, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	b, err := buildPauseImage(bin, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	da, _ := a.Digest()
	db, _ := b.Digest()
	ca, _ := a.ConfigName()
	cb, _ := b.ConfigName()
	if da != db || ca != cb {
		t.Fatalf("two builds differ: %s/%s vs %s/%s", da, ca, db, cb)
	}
	other, _ := buildPauseImage([]byte("another binary"), "amd64")
	if co, _ := other.ConfigName(); co == ca {
		t.Fatal("a different binary gave the same ID")
	}

	cfg, err := a.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	mustEqualSlice(t, "Entrypoint", cfg.Config.Entrypoint, []string{"/pause"})
	mustEqual(t, "User", cfg.Config.User, "65535:65535")
	mustEqual(t, "OS/arch", cfg.OS+"/"+cfg.Architecture, "linux/amd64")
	mustEqual(t, "diff IDs", len(cfg.RootFS.DiffIDs), 1)
	mt, _ := a.MediaType()
	mustEqual(t, "manifest media type", string(mt), "application/vnd.oci.image.manifest.v1+json")

	layers, _ := a.Layers()
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	found := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == "pause" {
			found = true
			content, _ := io.ReadAll(tr)
			if h.Mode != 0o755 || h.Uid != 0 || !bytes.Equal(content, bin) || !h.ModTime.Equal(pauseImageTime) {
				t.Fatalf("pause entry: mode %o uid %d time %s, content equal %v", h.Mode, h.Uid, h.ModTime, bytes.Equal(content, bin))
			}
		}
	}
	if !found {
		t.Fatal("no pause in the layer")
	}
}
