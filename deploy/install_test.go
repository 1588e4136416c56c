package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot is where the Makefile is.
const repoRoot = ".."

func needInstall(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs make install (builds podshimd); runs in make integration")
	}
}

// makeInstall runs `make install DESTDIR=destdir` and returns its output.
func makeInstall(t *testing.T, destdir string, vars ...string) string {
	t.Helper()
	cmd := exec.Command("make", append([]string{"-C", repoRoot, "--no-print-directory", "install", "DESTDIR=" + destdir}, vars...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make install DESTDIR=%s: %v\n%s", destdir, err, out)
	}
	return string(out)
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestInstallLayout(t *testing.T) {
	needInstall(t)
	d := t.TempDir()
	makeInstall(t, d)
	bin := filepath.Join(d, "usr/local/bin")
	for _, f := range []struct {
		path string
		mode os.FileMode
	}{
		{filepath.Join(bin, "podshimd"), 0o755},
		{filepath.Join(bin, "pause"), 0o755},
		{filepath.Join(bin, "crictl"), 0o755},
		{filepath.Join(d, "usr/local/lib/systemd/system/podshim.service"), 0o644},
		{filepath.Join(d, "etc/podshim/config.toml"), 0o644},
		{filepath.Join(d, "etc/crictl.yaml"), 0o644},
	} {
		st, err := os.Stat(f.path)
		if err != nil {
			t.Errorf("not installed: %v", err)
			continue
		}
		if st.Mode().Perm() != f.mode {
			t.Errorf("%s: mode %v, want %v", f.path, st.Mode().Perm(), f.mode)
		}
	}
	podshimd := filepath.Join(bin, "podshimd")
	// The config is podshimd's defaults, with their comments.
	cfg := filepath.Join(d, "etc/podshim/config.toml")
	data, _ := os.ReadFile(cfg)
	if def := run(t, podshimd, "config", "default"); string(data) != def {
		t.Errorf("installed config differs from podshimd config default:\n%s", data)
	}
	if dump := run(t, podshimd, "config", "dump", "--config", cfg); dump != string(data) {
		t.Errorf("the installed config does not load back to the defaults:\n%s", dump)
	}
	yaml, _ := os.ReadFile(filepath.Join(d, "etc/crictl.yaml"))
	want := "runtime-endpoint: unix:///run/podshim/podshim.sock\nimage-endpoint: unix:///run/podshim/podshim.sock\n"
	if !strings.HasPrefix(string(yaml), want) {
		t.Errorf("crictl.yaml:\n%s\nwant it to start with\n%s", yaml, want)
	}
	// The unit starts the installed podshimd with the installed config,
	// after containerd, which it requires.
	unit, _ := os.ReadFile(filepath.Join(d, "usr/local/lib/systemd/system/podshim.service"))
	for _, line := range []string{
		"ExecStart=/usr/local/bin/podshimd --config /etc/podshim/config.toml",
		"Requires=containerd.service",
	} {
		if !hasLine(unit, line) {
			t.Errorf("unit lacks %q:\n%s", line, unit)
		}
	}
	if !hasLinePrefixWith(unit, "After=", "containerd.service") {
		t.Errorf("unit is not After=containerd.service:\n%s", unit)
	}
	// podshimd reports the commit make stamped into it.
	head := strings.TrimSpace(run(t, "git", "-C", repoRoot, "rev-parse", "--short=12", "HEAD"))
	if v := run(t, podshimd, "--version", "--config", "/dev/null"); !strings.Contains(v, "commit: "+head) {
		t.Errorf("podshimd --version does not name commit %s:\n%s", head, v)
	}
	// The crictl installed is the pinned cri-tools' build, and runs.
	pinned, err := os.ReadFile(filepath.Join(repoRoot, "critest/_tools", criToolsVersion(t), "crictl"))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(bin, "crictl")); !bytes.Equal(got, pinned) {
		t.Errorf("installed crictl is not critest/_tools/%s/crictl", criToolsVersion(t))
	}
	if v := run(t, filepath.Join(bin, "crictl"), "--version"); !strings.HasPrefix(v, "crictl version") {
		t.Errorf("crictl --version: %s", v)
	}
}

func TestInstallKeepsConfigAndHonoursPaths(t *testing.T) {
	needInstall(t)
	d := t.TempDir()
	// An admin's config: kept as it is, and crictl.yaml follows its socket.
	cfg := filepath.Join(d, "opt/etc/podshim/config.toml")
	os.MkdirAll(filepath.Dir(cfg), 0o755)
	mine := "# mine\nlisten = \"/run/elsewhere/cri.sock\"\n"
	os.WriteFile(cfg, []byte(mine), 0o600)
	out := makeInstall(t, d, "PREFIX=/opt/podshim", "SYSCONFDIR=/opt/etc")
	if !strings.Contains(out, "kept "+cfg) {
		t.Errorf("make install did not say it kept %s:\n%s", cfg, out)
	}
	if data, _ := os.ReadFile(cfg); string(data) != mine {
		t.Errorf("config overwritten:\n%s", data)
	}
	yamlPath := filepath.Join(d, "opt/etc/crictl.yaml")
	yaml, _ := os.ReadFile(yamlPath)
	if !bytes.Contains(yaml, []byte("runtime-endpoint: unix:///run/elsewhere/cri.sock\n")) {
		t.Errorf("crictl.yaml does not follow the config's listen:\n%s", yaml)
	}
	unit, _ := os.ReadFile(filepath.Join(d, "opt/podshim/lib/systemd/system/podshim.service"))
	if !hasLine(unit, "ExecStart=/opt/podshim/bin/podshimd --config /opt/etc/podshim/config.toml") {
		t.Errorf("unit does not use PREFIX and SYSCONFDIR:\n%s", unit)
	}
	for _, b := range []string{"podshimd", "pause", "crictl"} {
		if _, err := os.Stat(filepath.Join(d, "opt/podshim/bin", b)); err != nil {
			t.Errorf("%s not in PREFIX/bin: %v", b, err)
		}
	}
	// A second install keeps an existing crictl.yaml too.
	os.WriteFile(yamlPath, []byte("runtime-endpoint: unix:///mine.sock\n"), 0o644)
	makeInstall(t, d, "PREFIX=/opt/podshim", "SYSCONFDIR=/opt/etc")
	if yaml, _ := os.ReadFile(yamlPath); string(yaml) != "runtime-endpoint: unix:///mine.sock\n" {
		t.Errorf("crictl.yaml overwritten:\n%s", yaml)
	}
}

// criToolsVersion is the cri-tools version critest/tools/go.mod pins.
func criToolsVersion(t *testing.T) string {
	data, err := os.ReadFile(filepath.Join(repoRoot, "critest/tools/go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "require" && f[1] == "sigs.k8s.io/cri-tools" {
			return f[2]
		}
	}
	t.Fatal("no cri-tools in critest/tools/go.mod")
	return ""
}

func hasLine(text []byte, line string) bool {
	for _, l := range strings.Split(string(text), "\n") {
		if strings.TrimSpace(l) == line {
			return true
		}
	}
	return false
}

func hasLinePrefixWith(text []byte, prefix, word string) bool {
	for _, l := range strings.Split(string(text), "\n") {
		if strings.HasPrefix(l, prefix) && strings.Contains(" "+l[len(prefix):]+" ", " "+word+" ") {
			return true
		}
	}
	return false
}
