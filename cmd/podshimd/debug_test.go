package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseLocalAddress(t *testing.T) {
	for _, tc := range []struct {
		in, network, address string
	}{
		{"", "", ""},
		{"127.0.0.1:6060", "tcp", "127.0.0.1:6060"},
		{"127.0.0.2:0", "tcp", "127.0.0.2:0"},
		{"localhost:6060", "tcp", "127.0.0.1:6060"},
		{"[::1]:6060", "tcp", "[::1]:6060"},
		{"unix:///run/podshim/debug.sock", "unix", "/run/podshim/debug.sock"},
		{"/run/podshim//debug.sock", "unix", "/run/podshim/debug.sock"},
	} {
		network, address, err := parseLocalAddress(tc.in)
		if err != nil || network != tc.network || address != tc.address {
			t.Errorf("parseLocalAddress(%q) = %q, %q, %v; want %q, %q", tc.in, network, address, err, tc.network, tc.address)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"0.0.0.0:6060", "every interface"},
		{":6060", "every interface"},
		{"[::]:6060", "every interface"},
		{"10.1.2.3:6060", "not a loopback address"},
		{"[fe80::1]:6060", "not a loopback address"},
		{"example.com:6060", "not an IP address"},
		{"6060", "want a loopback host:port"},
		{"127.0.0.1:99999", "bad port"},
		{"127.0.0.1:http", "bad port"},
		{"tcp://127.0.0.1:6060", "want a loopback host:port"},
		{"unix://debug.sock", "absolute path"},
	} {
		_, _, err := parseLocalAddress(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseLocalAddress(%q) err = %v, want it to mention %q", tc.in, err, tc.want)
		}
	}
}

func TestLoadConfigDebugAddress(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte("debug_address = \"127.0.0.1:6060\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig([]string{"--config", path})
	if err != nil || cfg.DebugAddress != "127.0.0.1:6060" {
		t.Fatalf("from the file: DebugAddress = %q, err %v", cfg.DebugAddress, err)
	}
	cfg, err = loadConfig([]string{"--config", path, "--debug-address", "unix:///run/x.sock"})
	if err != nil || cfg.DebugAddress != "unix:///run/x.sock" {
		t.Fatalf("flag over file: DebugAddress = %q, err %v", cfg.DebugAddress, err)
	}
	if cfg, err := loadConfig([]string{"--config", "/dev/null"}); err != nil || cfg.DebugAddress != "" {
		t.Fatalf("default: DebugAddress = %q, err %v; want off", cfg.DebugAddress, err)
	}
	_, err = loadConfig([]string{"--config", "/dev/null", "--debug-address", "0.0.0.0:6060"})
	if err == nil || !strings.Contains(err.Error(), "debug_address") {
		t.Fatalf("a wildcard address: err = %v, want a debug_address error", err)
	}
}

// get fetches path from the debug server through client.
func get(t *testing.T, client *http.Client, path string) (int, string) {
	t.Helper()
	resp, err := client.Get("http://debug" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// checkServes checks that the server answers pprof and nothing else.
func checkServes(t *testing.T, client *http.Client) {
	t.Helper()
	if code, body := get(t, client, "/debug/pprof/goroutine?debug=1"); code != 200 || !strings.Contains(body, "goroutine profile: total") {
		t.Errorf("goroutine profile: %d %.100q", code, body)
	}
	if code, body := get(t, client, "/debug/pprof/heap"); code != 200 || len(body) == 0 {
		t.Errorf("heap profile: %d, %d bytes", code, len(body))
	}
	for _, p := range []string{"/", "/debug/vars", "/metrics"} {
		if code, _ := get(t, client, p); code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, code)
		}
	}
}

func TestDebugServerUnixSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "run", "debug.sock")
	d, err := startDebugServer(context.Background(), "unix://"+sock)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want a socket with 0600", fi.Mode())
	}
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	checkServes(t, client)
	d.Stop()
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket still there after Stop: %v", err)
	}
}

func TestDebugServerTCP(t *testing.T) {
	d, err := startDebugServer(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	addr := d.Addr()
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("Addr = %q", addr)
	}
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	}}}
	checkServes(t, client)
}

func TestDebugServerOffAndRefusals(t *testing.T) {
	d, err := startDebugServer(context.Background(), "")
	if d != nil || err != nil {
		t.Errorf("empty address: %v, %v; want off", d, err)
	}
	d.Stop() // a nil server stops quietly
	if _, err := startDebugServer(context.Background(), "0.0.0.0:0"); err == nil {
		t.Error("a wildcard address was accepted")
	}
	file := filepath.Join(t.TempDir(), "not-a-socket")
	if err := os.WriteFile(file, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := startDebugServer(context.Background(), file); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("a regular file at the socket path: err = %v", err)
	}
	if data, _ := os.ReadFile(file); string(data) != "keep me" {
		t.Error("the regular file was replaced")
	}
}
