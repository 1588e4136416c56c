package instance

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestClaimSocket(t *testing.T) {
	dir := t.TempDir()

	t.Run("missing", func(t *testing.T) {
		if err := ClaimSocket(filepath.Join(dir, "none.sock")); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("answering socket is kept", func(t *testing.T) {
		path := filepath.Join(dir, "live.sock")
		l, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		err = ClaimSocket(path)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "in use") {
			t.Fatalf("ClaimSocket(live) = %v, want an error naming %s as in use", err, path)
		}
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("the live socket was removed: %v", err)
		}
		conn, err := net.Dial("unix", path)
		if err != nil {
			t.Fatalf("the live socket no longer answers: %v", err)
		}
		conn.Close()
	})

	t.Run("stale socket is replaced", func(t *testing.T) {
		path := filepath.Join(dir, "stale.sock")
		l, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		l.(*net.UnixListener).SetUnlinkOnClose(false)
		l.Close()
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("test set-up: stale socket missing: %v", err)
		}
		if err := ClaimSocket(path); err != nil {
			t.Fatalf("ClaimSocket(stale) = %v", err)
		}
		if _, err := os.Lstat(path); !os.IsNotExist(err) {
			t.Fatalf("stale socket still there: %v", err)
		}
		l, err = net.Listen("unix", path)
		if err != nil {
			t.Fatalf("listen after claim: %v", err)
		}
		l.Close()
	})

	t.Run("not a socket", func(t *testing.T) {
		path := filepath.Join(dir, "file")
		os.WriteFile(path, []byte("keep me"), 0o644)
		if err := ClaimSocket(path); err == nil || !strings.Contains(err.Error(), "not a socket") {
			t.Fatalf("ClaimSocket(file) = %v, want not a socket", err)
		}
		if data, _ := os.ReadFile(path); string(data) != "keep me" {
			t.Fatal("the file was touched")
		}
	})
}
