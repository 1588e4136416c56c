//go:build kubelet_e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/containerd/containerd"

	"github.com/podshim/podshim/critest/containerdconf"
	"github.com/podshim/podshim/critest/testenv"
)

// containerdDaemon is the harness's private containerd: its own root, state,
// socket and config below dir. With cri set, containerd's built-in CRI plugin
// serves kubelet directly; otherwise the plugin is disabled and podshimd
// talks to this containerd.
type containerdDaemon struct {
	dir     string
	address string
	proc    *process
}

// sandboxImage is the pause image name the runtimes are configured with; the
// hosts.toml mirror for registry.k8s.io serves it from the test registry.
const sandboxImage = "registry.k8s.io/pause:3.10"

func startContainerd(ctx context.Context, dir string, cri bool, p paths) (*containerdDaemon, error) {
	c := &containerdDaemon{dir: dir, address: filepath.Join(dir, "containerd.sock")}
	for _, d := range []string{"root", "state", "opt"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o711); err != nil {
			return nil, fmt.Errorf("containerd dirs: %w", err)
		}
	}
	cfgPath := filepath.Join(dir, "config.toml")
	cfg := containerdconf.Config{Dir: dir, Address: c.address}
	if cri {
		// The hosts.toml files send docker.io and registry.k8s.io to the
		// in-process test registry.
		cfg.CRI = &containerdconf.CRI{SandboxImage: sandboxImage, CNIBinDir: cniBinDir, CNIConfDir: p.cniConfDir, HostsDir: p.registryConfigDir}
	}
	if err := os.WriteFile(cfgPath, []byte(cfg.TOML()), 0o644); err != nil {
		return nil, fmt.Errorf("containerd config: %w", err)
	}
	c.proc = newProcess("containerd", "containerd", filepath.Join(dir, "containerd.log"), "--config", cfgPath, "--log-level", "info")
	if err := c.start(ctx); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// start launches containerd and waits until it serves.
func (c *containerdDaemon) start(ctx context.Context) error {
	_ = os.Remove(c.address)
	if err := c.proc.start(); err != nil {
		return err
	}
	err := poll(ctx, 30*time.Second, func() error {
		if !c.proc.running() {
			return errStop
		}
		client, err := containerd.New(c.address, containerd.WithTimeout(2*time.Second))
		if err != nil {
			return err
		}
		defer client.Close()
		serving, err := client.IsServing(ctx)
		if err != nil || !serving {
			return fmt.Errorf("not serving: %v", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("containerd at %s: %w; log:\n%s", c.address, err, c.proc.logTail(3000))
	}
	return nil
}

// restart stops containerd the way an operator would (SIGTERM; the shims and
// the containers keep running) and starts it again.
func (c *containerdDaemon) restart(ctx context.Context) error {
	c.proc.stop(20 * time.Second)
	return c.start(ctx)
}

// stop ends containerd and then the shims it started, which outlive it.
func (c *containerdDaemon) stop() {
	if c == nil {
		return
	}
	c.proc.stop(20 * time.Second)
	testenv.KillShims(c.address)
}
