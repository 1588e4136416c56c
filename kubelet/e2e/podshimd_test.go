//go:build kubelet_e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// podshimDaemon is podshimd under test, on the harness's containerd (whose
// CRI plugin is then disabled).
type podshimDaemon struct {
	socket string
	proc   *process
}

func startPodshimd(ctx context.Context, bin string, p paths, containerdAddress string) (*podshimDaemon, error) {
	dir := p.podshimDir
	for _, d := range []string{"root", "state"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o711); err != nil {
			return nil, fmt.Errorf("podshimd dirs: %w", err)
		}
	}
	d := &podshimDaemon{socket: filepath.Join(dir, "podshim.sock")}
	d.proc = newProcess("podshimd", bin, filepath.Join(dir, "podshimd.log"),
		"--listen", "unix://"+d.socket,
		"--containerd-address", containerdAddress,
		"--root", filepath.Join(dir, "root"),
		"--state", filepath.Join(dir, "state"),
		"--cni-conf-dir", p.cniConfDir,
		"--cni-bin-dir", cniBinDir,
		"--registry-config-dir", p.registryConfigDir,
		"--log-level", "debug",
	)
	if err := d.start(ctx); err != nil {
		d.stop()
		return nil, err
	}
	return d, nil
}

// start launches podshimd and waits until its CRI Version call answers.
func (d *podshimDaemon) start(ctx context.Context) error {
	if err := d.proc.start(); err != nil {
		return err
	}
	err := poll(ctx, 30*time.Second, func() error {
		if !d.proc.running() {
			return errStop
		}
		return criVersion(ctx, d.socket)
	})
	if err != nil {
		return fmt.Errorf("podshimd on %s: %w; log:\n%s", d.socket, err, d.proc.logTail(3000))
	}
	return nil
}

// restart stops podshimd with SIGTERM and starts it again; the pods'
// containers, which containerd's shims run, keep running meanwhile.
func (d *podshimDaemon) restart(ctx context.Context) error {
	d.proc.stop(20 * time.Second)
	return d.start(ctx)
}

func (d *podshimDaemon) stop() {
	if d != nil {
		d.proc.stop(20 * time.Second)
	}
}
