package selfcheck

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// only returns the findings of check, failing when there is none.
func only(t *testing.T, fs []Finding, check string) Finding {
	t.Helper()
	for _, f := range fs {
		if f.Check == check {
			return f
		}
	}
	t.Fatalf("no finding %q in %+v", check, fs)
	return Finding{}
}

func wantSeverity(t *testing.T, f Finding, sev Severity, mention ...string) {
	t.Helper()
	if f.Severity != sev {
		t.Errorf("%s: severity %v, want %v (%s)", f.Check, f.Severity, sev, f.Detail)
	}
	if sev != OK && f.Fix == "" && sev == Error {
		t.Errorf("%s: an error without a fix: %s", f.Check, f.Detail)
	}
	for _, m := range mention {
		if !strings.Contains(f.Detail, m) {
			t.Errorf("%s: %q does not mention %q", f.Check, f.Detail, m)
		}
	}
}

func TestNoCNIConfig(t *testing.T) {
	dir := t.TempDir()
	f := only(t, checkCNI(t.Context(), Options{CNIConfDir: dir, CNIBinDirs: []string{"/usr/lib/cni"}}), "cni config")
	wantSeverity(t, f, Error, "no CNI network config found in "+dir)

	// A config that does not load is named.
	bad := filepath.Join(dir, "10-broken.conflist")
	os.WriteFile(bad, []byte(`{"cniVersion": "1.0.0", "name": "x", "plugins": [`), 0o644)
	f = only(t, checkCNI(t.Context(), Options{CNIConfDir: dir, CNIBinDirs: []string{"/usr/lib/cni"}}), "cni config")
	wantSeverity(t, f, Error, bad)

	// So is a missing dir.
	f = only(t, checkCNI(t.Context(), Options{CNIConfDir: filepath.Join(dir, "none")}), "cni config")
	wantSeverity(t, f, Error, filepath.Join(dir, "none"))
}

func TestDirs(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	existing := filepath.Join(dir, "existing")
	os.Mkdir(existing, 0o755)
	fs := checkDirs(Options{Root: file, State: filepath.Join(dir, "missing", "state"), NetNSDir: existing})
	wantSeverity(t, only(t, fs, "root"), Error, file, "not a directory")
	wantSeverity(t, only(t, fs, "state"), OK, "creates it")
	wantSeverity(t, only(t, fs, "netns_dir"), OK, existing+" is writable")
	// Below a file nothing can be created.
	fs = checkDirs(Options{Root: filepath.Join(file, "root"), State: existing, NetNSDir: existing})
	wantSeverity(t, only(t, fs, "root"), Error, "cannot be used", "not a directory")
	// The check leaves nothing behind.
	entries, _ := os.ReadDir(existing)
	if len(entries) != 0 {
		t.Errorf("check left %v in %s", entries, existing)
	}
	if _, err := os.Stat(filepath.Join(dir, "missing")); !os.IsNotExist(err) {
		t.Errorf("check created the missing state dir's parent: %v", err)
	}
}

func TestRegistryConfig(t *testing.T) {
	dir := t.TempDir()
	wantSeverity(t, checkRegistryConfig(Options{RegistryConfigDir: filepath.Join(dir, "none")})[0], OK, "does not exist")
	os.MkdirAll(filepath.Join(dir, "mirror.local:5000"), 0o755)
	os.WriteFile(filepath.Join(dir, "mirror.local:5000", "hosts.toml"), []byte("server = \"http://mirror.local:5000\"\n"), 0o644)
	wantSeverity(t, checkRegistryConfig(Options{RegistryConfigDir: dir})[0], OK, "mirror.local:5000")
	badPath := filepath.Join(dir, "docker.io", "hosts.toml")
	os.MkdirAll(filepath.Dir(badPath), 0o755)
	os.WriteFile(badPath, []byte("server = [\n"), 0o644)
	wantSeverity(t, checkRegistryConfig(Options{RegistryConfigDir: dir})[0], Error, badPath)
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	wantSeverity(t, checkRegistryConfig(Options{RegistryConfigDir: file})[0], Error, "cannot read "+file)
}

func TestPauseBinary(t *testing.T) {
	dir := t.TempDir()
	pause := filepath.Join(dir, "pause")
	wantSeverity(t, checkSandboxImage(t.Context(), Options{PauseBinary: pause}, false), Error, pause)
	os.WriteFile(pause, []byte("#!/bin/sh\n"), 0o644)
	wantSeverity(t, checkSandboxImage(t.Context(), Options{PauseBinary: pause}, false), Error, "not an executable")
	os.Chmod(pause, 0o755)
	wantSeverity(t, checkSandboxImage(t.Context(), Options{PauseBinary: pause}, false), OK, pause)
	// A configured image is not looked up without containerd.
	wantSeverity(t, checkSandboxImage(t.Context(), Options{SandboxImage: "registry.local/pause:3.10"}, false), Warning, "registry.local/pause:3.10")
}

func TestCgroupDriver(t *testing.T) {
	mode := DetectCgroupMode()
	if mode == CgroupUnknown {
		t.Fatal("no cgroup filesystem found at /sys/fs/cgroup")
	}
	fs := checkCgroups(Options{CgroupDriver: "systemd"})
	if !strings.Contains(only(t, fs, "cgroups").Detail, string(mode)) {
		t.Errorf("cgroups finding %q does not name mode %s", only(t, fs, "cgroups").Detail, mode)
	}
	if systemdIsInit() {
		wantSeverity(t, only(t, fs, "cgroup driver"), OK, "systemd")
		wantSeverity(t, only(t, checkCgroups(Options{CgroupDriver: "cgroupfs"}), "cgroup driver"), Warning)
	} else {
		wantSeverity(t, only(t, fs, "cgroup driver"), Error, "not this node's init system")
		wantSeverity(t, only(t, checkCgroups(Options{CgroupDriver: "cgroupfs"}), "cgroup driver"), OK, "cgroupfs")
	}
}

func TestWrite(t *testing.T) {
	for _, tc := range []struct {
		fs   []Finding
		want string
	}{
		{[]Finding{{Check: "a", Detail: "fine"}}, "all good"},
		{[]Finding{{Check: "a", Detail: "fine"}, {Check: "b", Severity: Warning, Detail: "meh", Fix: "do x"}}, "1 warning(s): podshim can run pods"},
		{[]Finding{{Check: "a", Severity: Error, Detail: "broken", Fix: "do y\nand z"}}, "1 error(s), 0 warning(s): podshim could not run pods"},
	} {
		var b bytes.Buffer
		if err := Write(&b, tc.fs); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), tc.want) {
			t.Errorf("output lacks %q:\n%s", tc.want, b.String())
		}
		for _, f := range tc.fs {
			if f.Fix != "" && !strings.Contains(b.String(), "fix: "+strings.Split(f.Fix, "\n")[0]) {
				t.Errorf("output lacks the fix %q:\n%s", f.Fix, b.String())
			}
		}
	}
}
