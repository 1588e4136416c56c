package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// verifyUnit runs `systemd-analyze verify` on podshim.service in root and
// returns its complaints: nil when the unit is clean. Any output counts,
// since systemd-analyze only warns (and exits 0) about settings it ignores.
func verifyUnit(t *testing.T, root string) []string {
	t.Helper()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatalf("systemd-analyze not found (Debian package systemd; make deps installs it): %v", err)
	}
	out, err := exec.Command(analyze, "verify", "--root="+root, "--man=no", "podshim.service").CombinedOutput()
	var problems []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			problems = append(problems, l)
		}
	}
	if err != nil && len(problems) == 0 {
		problems = append(problems, err.Error())
	}
	return problems
}

// verifyRoot returns a root for systemd-analyze: the installed tree in
// destdir (hard-linked) plus the host's system units, containerd.service
// among them, which podshim.service requires.
func verifyRoot(t *testing.T, destdir string) string {
	t.Helper()
	root := t.TempDir()
	run(t, "cp", "-al", destdir+"/.", root)
	units := filepath.Join(root, "usr/lib/systemd/system")
	os.MkdirAll(units, 0o755)
	run(t, "cp", "-a", "/usr/lib/systemd/system/.", units)
	if _, err := os.Lstat(filepath.Join(root, "lib")); os.IsNotExist(err) {
		os.Symlink("usr/lib", filepath.Join(root, "lib"))
	}
	if _, err := os.Stat(filepath.Join(units, "containerd.service")); err != nil {
		t.Fatalf("the host has no containerd.service (Debian package containerd; make deps installs it): %v", err)
	}
	return root
}

func TestSystemdUnitVerifies(t *testing.T) {
	needInstall(t)
	d := t.TempDir()
	makeInstall(t, d)
	root := verifyRoot(t, d)
	if problems := verifyUnit(t, root); len(problems) > 0 {
		t.Fatalf("systemd-analyze verify podshim.service:\n%s", strings.Join(problems, "\n"))
	}

	// The check catches broken units: each of these must fail it.
	unitPath := filepath.Join(root, "usr/local/lib/systemd/system/podshim.service")
	good, _ := os.ReadFile(unitPath)
	os.Remove(unitPath) // a hard link to destdir's: edit a copy
	os.WriteFile(unitPath, good, 0o644)
	for name, breakIt := range map[string]func(){
		"misspelt value": func() {
			os.WriteFile(unitPath, []byte(strings.Replace(string(good), "Restart=always", "Restart=alwayz", 1)), 0o644)
		},
		"misspelt section": func() {
			os.WriteFile(unitPath, []byte(strings.Replace(string(good), "[Service]", "[Servce]", 1)), 0o644)
		},
		"podshimd not installed": func() {
			os.Rename(filepath.Join(root, "usr/local/bin/podshimd"), filepath.Join(root, "usr/local/bin/podshimd.away"))
		},
		"containerd.service missing": func() {
			os.Rename(filepath.Join(root, "usr/lib/systemd/system/containerd.service"), filepath.Join(root, "containerd.service.away"))
		},
	} {
		breakIt()
		if problems := verifyUnit(t, root); len(problems) == 0 {
			t.Errorf("%s: systemd-analyze verify found nothing wrong", name)
		} else {
			t.Logf("%s: %s", name, strings.Join(problems, "; "))
		}
		os.WriteFile(unitPath, good, 0o644)
		os.Rename(filepath.Join(root, "usr/local/bin/podshimd.away"), filepath.Join(root, "usr/local/bin/podshimd"))
		os.Rename(filepath.Join(root, "containerd.service.away"), filepath.Join(root, "usr/lib/systemd/system/containerd.service"))
		if problems := verifyUnit(t, root); len(problems) > 0 {
			t.Fatalf("after undoing %s: %v", name, problems)
		}
	}
}
