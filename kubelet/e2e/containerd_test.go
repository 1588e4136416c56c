//go:build kubelet_e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/containerd/containerd"

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
	if err := os.WriteFile(cfgPath, []byte(c.config(cri, p)), 0o644); err != nil {
		return nil, fmt.Errorf("containerd config: %w", err)
	}
	c.proc = newProcess("containerd", "containerd", filepath.Join(dir, "containerd.log"), "--config", cfgPath)
	if err := c.start(ctx); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// config renders containerd 1.6's version 2 config.
func (c *containerdDaemon) config(cri bool, p paths) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version = 2\nroot = %q\nstate = %q\n", filepath.Join(c.dir, "root"), filepath.Join(c.dir, "state"))
	fmt.Fprintf(&b, "[grpc]\n  address = %q\n[ttrpc]\n  address = %q\n", c.address, c.address+".ttrpc")
	fmt.Fprintf(&b, "[debug]\n  level = \"info\"\n")
	fmt.Fprintf(&b, "[plugins.\"io.containerd.internal.v1.opt\"]\n  path = %q\n", filepath.Join(c.dir, "opt"))
	if !cri {
		b.WriteString("disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n")
		return b.String()
	}
	// restrict_oom_score_adj: this machine lacks CAP_SYS_RESOURCE, and runc
	// fails when a spec asks for an oom_score_adj below containerd's own
	// (kubelet asks -998 for the sandbox and -997 for Guaranteed pods).
	// config_path: registry hosts.toml files, which send docker.io and
	// registry.k8s.io to the in-process test registry.
	fmt.Fprintf(&b, `[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %q
    conf_dir = %q
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = %q
`, sandboxImage, cniBinDir, p.cniConfDir, p.registryConfigDir)
	return b.String()
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
