// Package containerdconf writes the config file of a private containerd,
// the one every test, benchmark and harness of podshim starts: its root,
// state and opt dirs below one dir, its own sockets, and containerd's own
// CRI plugin either off (podshim is the runtime under test) or on with the
// run's sandbox image, runc root, CNI network and registry mirrors.
// critest/cmd/containerd-config prints it for the bash harnesses.
package containerdconf

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Config is a private containerd's configuration (containerd 1.6's and
// 2.x's version 2 format, which 2.x migrates on load).
type Config struct {
	Dir          string // root, state and opt live below Dir
	Address      string // gRPC socket; the ttrpc one is Address+".ttrpc"
	DebugAddress string // [debug] address (pprof); "" for none
	CRI          *CRI   // nil: containerd's CRI plugin off
}

// CRI configures containerd's own CRI plugin (docs/cri/config.md keys).
type CRI struct {
	SandboxImage string // "" keeps containerd's default
	// RuncRoot is runc's --root for the runc handler; "" keeps the
	// shim's default.
	RuncRoot   string
	CNIBinDir  string // "" is /usr/lib/cni
	CNIConfDir string
	// HostsDir is the registry config_path: hosts.toml files that send
	// the upstream registries to the run's local one.
	HostsDir string
	// StreamPort is the streaming server's port on 127.0.0.1; "" is "0",
	// any free port.
	StreamPort string
	// NetNSUnderState pins pod netns below containerd's state dir instead
	// of the host's /var/run/netns.
	NetNSUnderState bool
	// Extra lines of the plugin's table, such as
	// "  max_container_log_line_size = 16384".
	Extra []string
}

// TOML renders the config file.
func (c Config) TOML() string {
	var b strings.Builder
	fmt.Fprintf(&b, "version = 2\nroot = %q\nstate = %q\n", filepath.Join(c.Dir, "root"), filepath.Join(c.Dir, "state"))
	if c.CRI == nil {
		// A top-level key: it must come before the first [table].
		b.WriteString("disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n")
	}
	fmt.Fprintf(&b, "\n[grpc]\n  address = %q\n\n[ttrpc]\n  address = %q\n", c.Address, c.Address+".ttrpc")
	fmt.Fprintf(&b, "\n[debug]\n  address = %q\n", c.DebugAddress)
	fmt.Fprintf(&b, "\n[plugins.\"io.containerd.internal.v1.opt\"]\n  path = %q\n", filepath.Join(c.Dir, "opt"))
	if c.CRI != nil {
		b.WriteString("\n")
		b.WriteString(c.CRI.toml())
	}
	return b.String()
}

// toml renders the [plugins."io.containerd.grpc.v1.cri"] tables.
// restrict_oom_score_adj: runc fails when a spec asks for an oom_score_adj
// below the daemon's own and the process lacks CAP_SYS_RESOURCE (kubelet
// asks -998 for a sandbox).
func (c CRI) toml() string {
	const p = `[plugins."io.containerd.grpc.v1.cri"`
	binDir, port := c.CNIBinDir, c.StreamPort
	if binDir == "" {
		binDir = "/usr/lib/cni"
	}
	if port == "" {
		port = "0"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s]\n  restrict_oom_score_adj = true\n", p)
	if c.SandboxImage != "" {
		fmt.Fprintf(&b, "  sandbox_image = %q\n", c.SandboxImage)
	}
	if c.NetNSUnderState {
		b.WriteString("  netns_mounts_under_state_dir = true\n")
	}
	fmt.Fprintf(&b, "  stream_server_address = \"127.0.0.1\"\n  stream_server_port = %q\n  enable_selinux = false\n", port)
	for _, l := range c.Extra {
		b.WriteString(l + "\n")
	}
	fmt.Fprintf(&b, "  %s.containerd]\n    snapshotter = \"overlayfs\"\n    default_runtime_name = \"runc\"\n", p)
	fmt.Fprintf(&b, "    %s.containerd.runtimes.runc]\n      runtime_type = \"io.containerd.runc.v2\"\n", p)
	if c.RuncRoot != "" {
		fmt.Fprintf(&b, "      %s.containerd.runtimes.runc.options]\n        Root = %q\n", p, c.RuncRoot)
	}
	fmt.Fprintf(&b, "  %s.cni]\n    bin_dir = %q\n    conf_dir = %q\n    max_conf_num = 1\n", p, binDir, c.CNIConfDir)
	fmt.Fprintf(&b, "  %s.registry]\n    config_path = %q\n", p, c.HostsDir)
	return b.String()
}
