package selfcheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/podshim/podshim/critest/testenv"
	"github.com/podshim/podshim/network"
)

// The tests below check real set-ups: a private containerd, Debian's CNI
// plugins, podshim's pause built from source. They run in `make
// integration`.

var cniBinDirs = []string{"/usr/lib/cni", "/opt/cni/bin"}

func needNode(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts containerd and runs CNI plugins; runs in make integration")
	}
}

// goodSetup returns options for a node where everything is in place: a
// private containerd, a conflist of its own, the pause binary.
func goodSetup(t *testing.T) (Options, *testenv.Containerd) {
	t.Helper()
	ctrd := testenv.ContainerdForTest(t)
	dir := t.TempDir()
	confDir := filepath.Join(dir, "net.d")
	if _, err := network.WriteBridgeConfig(confDir, "selfcheck-net", "selfchk0", "10.231.0.0/24"); err != nil {
		t.Fatal(err)
	}
	pause := filepath.Join(dir, "bin", "pause")
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", pause, "github.com/podshim/podshim/cmd/pause")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build pause: %v\n%s", err, out)
	}
	return Options{
		ContainerdAddress:   ctrd.Address,
		ContainerdNamespace: "podshim-selfcheck",
		Snapshotter:         "overlayfs",
		CNIConfDir:          confDir,
		CNIBinDirs:          cniBinDirs,
		CgroupDriver:        map[bool]string{true: "systemd", false: "cgroupfs"}[systemdIsInit()],
		NetNSDir:            filepath.Join(dir, "netns"),
		Root:                filepath.Join(dir, "root"),
		State:               filepath.Join(dir, "state"),
		RegistryConfigDir:   filepath.Join(dir, "certs.d"),
		PauseBinary:         pause,
	}, ctrd
}

func TestGoodSetupPasses(t *testing.T) {
	needNode(t)
	o, _ := goodSetup(t)
	fs := Run(t.Context(), o)
	if errs, _ := Count(fs); errs != 0 {
		t.Errorf("%d error(s) on a good set-up: %+v", errs, fs)
	}
	wantSeverity(t, only(t, fs, "containerd"), OK, o.ContainerdAddress)
	wantSeverity(t, only(t, fs, "snapshotter"), OK, "overlayfs")
	wantSeverity(t, only(t, fs, "oci runtime runc"), OK)
	wantSeverity(t, only(t, fs, "cni config"), OK, `"selfcheck-net"`)
	wantSeverity(t, only(t, fs, "cni plugins"), OK, "bridge", "host-local", "portmap")
	wantSeverity(t, only(t, fs, "pause image"), OK, o.PauseBinary)

	// An unknown snapshotter is an error, found over containerd's
	// introspection service.
	o.Snapshotter = "no-such-snapshotter"
	wantSeverity(t, only(t, Run(t.Context(), o), "snapshotter"), Error, "no-such-snapshotter")
	// A configured pause image that containerd does not have yet: a warning.
	o.Snapshotter, o.SandboxImage = "overlayfs", "registry.invalid/pause:3.10"
	wantSeverity(t, only(t, Run(t.Context(), o), "pause image"), Warning, "registry.invalid/pause:3.10", "pulled at the first pod")
}

func TestContainerdDown(t *testing.T) {
	needNode(t)
	o, ctrd := goodSetup(t)
	ctrd.Stop()
	fs := Run(t.Context(), o)
	wantSeverity(t, only(t, fs, "containerd"), Error, o.ContainerdAddress)
	if errs, _ := Count(fs); errs != 1 {
		t.Errorf("%d errors with containerd down, want 1 (containerd): %+v", errs, fs)
	}
}

func TestMissingCNIPlugin(t *testing.T) {
	needNode(t)
	o, _ := goodSetup(t)
	// A plugin dir with bridge and host-local, but no portmap.
	bin := filepath.Join(t.TempDir(), "cni-bin")
	os.Mkdir(bin, 0o755)
	for _, p := range []string{"bridge", "host-local"} {
		src, err := exec.LookPath(filepath.Join(cniBinDirs[0], p))
		if err != nil {
			t.Fatalf("CNI plugin %s: %v", p, err)
		}
		if err := os.Symlink(src, filepath.Join(bin, p)); err != nil {
			t.Fatal(err)
		}
	}
	o.CNIBinDirs = []string{bin}
	fs := Run(t.Context(), o)
	wantSeverity(t, only(t, fs, "cni plugins"), Error, "portmap", bin)
	if errs, _ := Count(fs); errs != 1 {
		t.Errorf("%d errors, want 1 (cni plugins): %+v", errs, fs)
	}

	// A missing IPAM plugin is found too.
	os.Remove(filepath.Join(bin, "host-local"))
	os.Symlink(filepath.Join(cniBinDirs[0], "portmap"), filepath.Join(bin, "portmap"))
	wantSeverity(t, only(t, Run(t.Context(), o), "cni plugins"), Error, "host-local")

	// And a plugin too old for the config's CNI version.
	old := filepath.Join(bin, "host-local")
	os.WriteFile(old, []byte("#!/bin/sh\necho '{\"cniVersion\":\"0.3.1\",\"supportedVersions\":[\"0.3.0\",\"0.3.1\"]}'\n"), 0o755)
	wantSeverity(t, only(t, Run(t.Context(), o), "cni plugins"), Error, "host-local", "not the config's 1.0.0")
}
