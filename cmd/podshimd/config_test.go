package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLoadConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	os.WriteFile(path, []byte(`
listen = "unix:///tmp/from-file.sock"
root = "/var/lib/from-file"
cni_bin_dir = ["/a", "/b"]
cgroup_driver = "systemd"
`), 0o644)
	cfg, err := loadConfig([]string{"--config", path, "--root", "/from-flag", "--log-level", "debug"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "unix:///tmp/from-file.sock" {
		t.Errorf("Listen = %q, want the file's", cfg.Listen)
	}
	if cfg.Root != "/from-flag" {
		t.Errorf("Root = %q, want the flag's", cfg.Root)
	}
	if !reflect.DeepEqual(cfg.CNIBinDirs, []string{"/a", "/b"}) || cfg.CgroupDriver != "systemd" || cfg.LogLevel != "debug" {
		t.Errorf("cfg = %+v", cfg)
	}
	if cfg.State != DefaultConfig().State {
		t.Errorf("State = %q, want the default", cfg.State)
	}
	if socketPath(cfg.Listen) != "/tmp/from-file.sock" {
		t.Errorf("socketPath = %q", socketPath(cfg.Listen))
	}
}

func TestLoadConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("listen = [unterminated"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--config", filepath.Join(dir, "missing.toml")}, "read config"},
		{[]string{"--config", bad}, "parse config"},
		{[]string{"--config", filepath.Join(dir, "none"), "--cgroup-driver", "x"}, "read config"},
		{[]string{"--cgroup-driver", "magic", "--config", "/dev/null"}, "cgroup_driver"},
		{[]string{"--containerd-namespace", "k8s.io", "--config", "/dev/null"}, "k8s.io"},
		{[]string{"--log-format", "xml", "--config", "/dev/null"}, "log_format"},
	} {
		_, err := loadConfig(tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("loadConfig(%v) err = %v, want it to mention %q", tc.args, err, tc.want)
		}
	}
}

func TestDefaultConfigFileIsOptional(t *testing.T) {
	if _, err := os.Stat(DefaultConfigPath); err == nil {
		t.Skipf("%s exists on this machine", DefaultConfigPath)
	}
	cfg, err := loadConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, DefaultConfig()) {
		t.Errorf("cfg = %+v, want defaults", cfg)
	}
}

func TestKeepLayerBlobs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	os.WriteFile(path, []byte("keep_layer_blobs = true\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"--config", filepath.Join(t.TempDir(), "empty.toml")}, false},
		{[]string{"--config", path}, true},
		{[]string{"--config", path, "--keep-layer-blobs=false"}, false},
	} {
		if strings.HasSuffix(tc.args[1], "empty.toml") {
			os.WriteFile(tc.args[1], nil, 0o644)
		}
		cfg, err := loadConfig(tc.args)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.KeepLayerBlobs != tc.want {
			t.Errorf("%v: KeepLayerBlobs = %v, want %v", tc.args, cfg.KeepLayerBlobs, tc.want)
		}
	}
}
