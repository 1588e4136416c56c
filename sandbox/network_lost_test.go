package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// A record that cannot be written is reported, so that the retry loop
// writes it again; once written, recoverLostNetworks finds the pod.
func TestRecordLostNetwork(t *testing.T) {
	ctx := context.Background()
	s := &Service{opts: Options{RootDir: t.TempDir()}}
	id := "0123abcd"
	// A file where the record dir belongs: MkdirAll fails.
	if err := os.WriteFile(s.lostNetworksDir(), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if s.recordLostNetwork(ctx, id) {
		t.Fatal("recordLostNetwork reported a record it could not write")
	}
	if err := os.Remove(s.lostNetworksDir()); err != nil {
		t.Fatal(err)
	}
	if !s.recordLostNetwork(ctx, id) {
		t.Fatal("recordLostNetwork failed on a writable root")
	}
	if _, err := os.Stat(filepath.Join(s.opts.RootDir, "lost-networks", id)); err != nil {
		t.Fatalf("no record for the pod: %v", err)
	}
}
