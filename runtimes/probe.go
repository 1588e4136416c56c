package runtimes

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Probe checks, once at start-up, that handler h's OCI runtime can make a
// container on this host: it creates (never starts) a container with its
// own namespaces and cgroup in a scratch bundle and deletes it. A runtime
// that cannot, such as crun 1.8 on a cgroup v1 host whose cgroup2
// hierarchy has controllers ("cgroups in hybrid mode not supported, drop
// all controllers from cgroupv2"), fails here with its own words instead
// of on every pod.
func Probe(ctx context.Context, h Handler) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	dir, err := os.MkdirTemp("", "podshim-runtime-probe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	rootfs := filepath.Join(dir, "bundle", "rootfs")
	for _, d := range []string{"proc", "dev"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			return err
		}
	}
	// Never run: create stops before exec, but runtimes look the
	// program up first.
	if err := os.WriteFile(filepath.Join(rootfs, "probe"), nil, 0o755); err != nil {
		return err
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	id := "podshim-probe-" + hex.EncodeToString(b[:])
	cgroupsPath := "/" + id
	if h.Options.SystemdCgroup {
		cgroupsPath = "system.slice:podshim:" + id
	}
	spec := specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{Args: []string{"/probe"}, Cwd: "/", Env: []string{"PATH=/"}},
		Root:    &specs.Root{Path: "rootfs", Readonly: true},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "mode=755"}},
		},
		Linux: &specs.Linux{
			CgroupsPath: cgroupsPath,
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.MountNamespace}, {Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace}, {Type: specs.NetworkNamespace},
			},
		},
	}
	data, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bundle", "config.json"), data, 0o600); err != nil {
		return err
	}
	global := []string{"--root", filepath.Join(dir, "state")}
	if h.Options.SystemdCgroup {
		global = append(global, "--systemd-cgroup")
	}
	// Output goes to a file, not a pipe: the created container's init
	// process inherits it and lives until delete, so a pipe would never
	// reach EOF.
	run := func(args ...string) (string, error) {
		out, err := os.CreateTemp(dir, "out-")
		if err != nil {
			return "", err
		}
		defer out.Close()
		cmd := exec.CommandContext(ctx, h.Binary(), append(global, args...)...)
		cmd.Stdout, cmd.Stderr = out, out
		cmd.WaitDelay = time.Second
		err = cmd.Run()
		data, _ := os.ReadFile(out.Name())
		return strings.TrimSpace(string(data)), err
	}
	out, createErr := run("create", "--bundle", filepath.Join(dir, "bundle"), id)
	// Whatever create did, delete undoes (its cgroup, its state).
	if dout, err := run("delete", "--force", id); err != nil && createErr == nil {
		return fmt.Errorf("%s delete of its probe container: %w: %s", h.Binary(), err, dout)
	}
	if createErr != nil {
		return fmt.Errorf("%s cannot create a container on this host: %w: %s", h.Binary(), createErr, out)
	}
	return nil
}
