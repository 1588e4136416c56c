package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"

	"github.com/podshim/podshim/version"
)

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = dispatch(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// configKeys returns Config's TOML keys in field order.
func configKeys() []string {
	var keys []string
	typ := reflect.TypeOf(Config{})
	for i := 0; i < typ.NumField(); i++ {
		key, _, _ := strings.Cut(typ.Field(i).Tag.Get("toml"), ",")
		keys = append(keys, key)
	}
	return keys
}

func TestConfigDefaultLoadsBack(t *testing.T) {
	code, out, errOut := runCmd(t, "config", "default")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// Every key is there, once, with a comment right above it.
	var parsed map[string]any
	if err := toml.Unmarshal([]byte(out), &parsed); err != nil {
		t.Fatalf("not valid TOML: %v\n%s", err, out)
	}
	lines := strings.Split(out, "\n")
	for _, key := range configKeys() {
		if _, ok := parsed[key]; !ok {
			t.Errorf("key %s missing from config default", key)
		}
		found := false
		for i, l := range lines {
			if strings.HasPrefix(l, key+" = ") || l == "["+key+"]" { // a plain key or a table (runtimes)
				found = true
				if i == 0 || !strings.HasPrefix(lines[i-1], "# ") {
					t.Errorf("key %s has no comment above it", key)
				}
			}
		}
		if !found {
			t.Errorf("no line %q in config default", key+" = ")
		}
	}
	if len(parsed) != len(configKeys()) {
		t.Errorf("config default has %d keys, Config has %d", len(parsed), len(configKeys()))
	}
	path := filepath.Join(t.TempDir(), "config.toml")
	os.WriteFile(path, []byte(out), 0o644)
	cfg, err := loadConfig([]string{"--config", path})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, DefaultConfig()) {
		t.Errorf("config default loads back as %+v, want %+v", cfg, DefaultConfig())
	}
}

func TestConfigDumpIsEffectiveConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	os.WriteFile(path, []byte("root = \"/var/lib/from-file\"\ncni_bin_dir = [\"/a\"]\nkeep_layer_blobs = true\n"), 0o644)
	args := []string{"--config", path, "--state", "/run/from-flag", "--cgroup-driver", "systemd"}
	code, out, errOut := runCmd(t, append([]string{"config", "dump"}, args...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want, err := loadConfig(args)
	if err != nil {
		t.Fatal(err)
	}
	if want.Root != "/var/lib/from-file" || want.State != "/run/from-flag" || !want.KeepLayerBlobs {
		t.Fatalf("loadConfig = %+v", want)
	}
	dumped := filepath.Join(t.TempDir(), "dumped.toml")
	os.WriteFile(dumped, []byte(out), 0o644)
	got, err := loadConfig([]string{"--config", dumped})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("config dump loads back as %+v, want %+v\n%s", got, want, out)
	}
}

func TestUnknownArgumentsAreRefused(t *testing.T) {
	for _, args := range [][]string{
		{"config"},
		{"config", "bogus"},
		{"config", "default", "extra"},
		{"config", "dump", "extra"},
		{"config", "dump", "--no-such-flag"},
		{"bogus"},
		{"start"},
		{"--config", "/dev/null", "config", "default"}, // flags go after the command
		{"--config", "/dev/null", "extra"},
		{"--no-such-flag"},
		{"check", "extra"},
		{"version", "extra"},
	} {
		code, out, errOut := runCmd(t, args...)
		if code != 2 {
			t.Errorf("%q: exit %d, want 2 (stdout %q, stderr %q)", args, code, out, errOut)
		}
		if !strings.Contains(errOut, "usage") && !strings.Contains(errOut, "Usage") {
			t.Errorf("%q: stderr has no usage: %q", args, errOut)
		}
	}
}

func TestConfigErrorsExit2(t *testing.T) {
	code, _, errOut := runCmd(t, "config", "dump", "--config", "/dev/null", "--cgroup-driver", "magic")
	if code != 2 || !strings.Contains(errOut, "cgroup_driver") {
		t.Errorf("exit %d, stderr %q; want 2 naming cgroup_driver", code, errOut)
	}
}

func TestVersionWithoutContainerd(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	for _, args := range [][]string{
		{"--version", "--config", "/dev/null", "--containerd-address", sock},
		{"version", "--config", "/dev/null", "--containerd-address", sock},
	} {
		code, out, errOut := runCmd(t, args...)
		if code != 0 {
			t.Fatalf("%q: exit %d: %s", args, code, errOut)
		}
		for _, want := range []string{
			"podshimd " + version.Version + "\n",
			"commit: " + version.Commit + "\n",
			"containerd: ",
			"nothing answers at " + sock,
			"runc: ",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("%q: output lacks %q:\n%s", args, want, out)
			}
		}
	}
}
