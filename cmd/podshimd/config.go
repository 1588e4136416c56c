package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/podshim/podshim/runtimes"
)

// Config is podshimd's configuration: the TOML file's keys, each of which
// a flag of the same name (with dashes) overrides.
type Config struct {
	// Listen is the CRI socket, "unix:///path" or a plain path.
	Listen string `toml:"listen"`
	// ContainerdAddress is containerd's gRPC socket.
	ContainerdAddress string `toml:"containerd_address"`
	// ContainerdNamespace keeps podshim's objects apart from others'
	// (never "k8s.io", which containerd's own CRI plugin uses).
	ContainerdNamespace string `toml:"containerd_namespace"`
	// Root holds persistent state (sandbox and container metadata).
	Root string `toml:"root"`
	// State holds volatile state (FIFOs, shm mounts, CNI cache).
	State string `toml:"state"`
	// CNIConfDir holds the pod network config; the first file is used.
	CNIConfDir string `toml:"cni_conf_dir"`
	// CNIBinDirs are searched for CNI plugins.
	CNIBinDirs []string `toml:"cni_bin_dir"`
	// NetNSDir is where pod network namespaces are pinned.
	NetNSDir string `toml:"netns_dir"`
	// RegistryConfigDir holds containerd hosts.toml files:
	// <dir>/<host[:port]>/hosts.toml (mirrors, plain http, CAs).
	RegistryConfigDir string `toml:"registry_config_dir"`
	// SandboxImage is the pause image. podshim's default is built into the
	// daemon (from PauseBinary) and imported without a registry.
	SandboxImage string `toml:"sandbox_image"`
	// PauseBinary is podshim's static pause program (default: "pause" next
	// to podshimd).
	PauseBinary string `toml:"pause_binary"`
	// Snapshotter is containerd's snapshotter for images and containers.
	Snapshotter string `toml:"snapshotter"`
	// KeepLayerBlobs keeps pulled images' compressed layers in containerd's
	// content store (as containerd's CRI does by default). Off, podshim
	// unpacks layers as they stream in and keeps only the snapshots (as
	// CRI-O does, and containerd with discard_unpacked_layers): pulls are
	// faster and images take half the disk, but an image whose snapshots
	// are lost must be pulled again.
	KeepLayerBlobs bool `toml:"keep_layer_blobs"`
	// CgroupDriver is "cgroupfs" or "systemd"; kubelet must use the same.
	CgroupDriver string `toml:"cgroup_driver"`
	// StreamAddress is where the exec/attach/port-forward server listens.
	StreamAddress string `toml:"stream_address"`
	// LogLevel is logrus' level name; LogFormat is "text" or "json".
	LogLevel  string `toml:"log_level"`
	LogFormat string `toml:"log_format"`
	// DebugAddress, when set, serves net/http/pprof (and nothing else):
	// a loopback TCP address ("127.0.0.1:6060", "[::1]:6060",
	// "localhost:6060") or a unix socket ("unix:///path" or "/path", mode
	// 0600). Empty: off. See parseLocalAddress.
	DebugAddress string `toml:"debug_address"`
	// MetricsAddress, when set, serves Prometheus metrics on /metrics, on
	// a loopback address or a unix socket exactly like DebugAddress.
	// Empty: off.
	MetricsAddress string `toml:"metrics_address"`
	// OTLPEndpoint, when set, sends OpenTelemetry traces to this OTLP gRPC
	// collector: "host:port" (TLS), "https://host:port" or
	// "http://host:port" (plaintext). Empty: tracing is off.
	OTLPEndpoint string `toml:"otlp_endpoint"`
	// TracingSamplingRatio is the share (0 to 1) of the traces podshim
	// starts that are recorded (default 1); a call carrying kubelet's
	// trace context follows kubelet's decision.
	TracingSamplingRatio float64 `toml:"tracing_sampling_ratio"`
	// ShimGroupSize > 1 is density mode: that many pods share one runc
	// shim (package shimgroup). 0 or 1: one shim per pod.
	ShimGroupSize int `toml:"shim_group_size"`
	// DefaultRuntimeName is the runtime handler of pods that name none.
	DefaultRuntimeName string `toml:"default_runtime_name"`
	// Runtimes are the runtime handlers pods may name
	// (RuntimeClass.handler), as containerd's CRI configures them: see
	// package runtimes. Tables: keep this field last, so that `config
	// default` writes it after every plain key.
	Runtimes map[string]runtimes.Config `toml:"runtimes"`
}

// DefaultConfigPath is read when --config is not given; it may be absent.
const DefaultConfigPath = "/etc/podshim/config.toml"

// DefaultConfig returns the configuration used where neither file nor flag
// says otherwise.
func DefaultConfig() Config {
	c := Config{
		Listen:              "unix:///run/podshim/podshim.sock",
		ContainerdAddress:   "/run/containerd/containerd.sock",
		ContainerdNamespace: "podshim",
		Root:                "/var/lib/podshim",
		State:               "/run/podshim",
		CNIConfDir:          "/etc/cni/net.d",
		CNIBinDirs:          []string{"/opt/cni/bin", "/usr/lib/cni"},
		NetNSDir:            "/var/run/netns",
		RegistryConfigDir:   "/etc/podshim/certs.d",
		Snapshotter:         "overlayfs",
		CgroupDriver:        "cgroupfs",
		StreamAddress:       "127.0.0.1:0",
		LogLevel:            "info",
		LogFormat:           "text",
	}
	c.TracingSamplingRatio = 1
	c.DefaultRuntimeName = runtimes.DefaultName
	c.Runtimes = map[string]runtimes.Config{runtimes.DefaultName: {RuntimeType: runtimes.RuncV2}}
	return c
}

// loadConfig builds the configuration from defaults, the config file and
// the flags in args, in that order of precedence (flags win). Arguments
// that are not flags are refused.
func loadConfig(args []string) (Config, error) {
	fs := flag.NewFlagSet("podshimd", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cf := addConfigFlags(fs)
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return cf.load()
}

// configFlags are the flags of every config key, plus --config, on one
// flag set; load applies them after the flag set has parsed.
type configFlags struct {
	fs      *flag.FlagSet
	path    *string
	f       Config
	binDirs *string
}

// addConfigFlags registers --config and a flag for each config key on fs.
func addConfigFlags(fs *flag.FlagSet) *configFlags {
	c := &configFlags{fs: fs}
	def := DefaultConfig()
	f := &c.f
	c.path = fs.String("config", DefaultConfigPath, "TOML config file")
	fs.StringVar(&f.Listen, "listen", def.Listen, "CRI socket to serve on")
	fs.StringVar(&f.ContainerdAddress, "containerd-address", def.ContainerdAddress, "containerd socket")
	fs.StringVar(&f.ContainerdNamespace, "containerd-namespace", def.ContainerdNamespace, "containerd namespace")
	fs.StringVar(&f.Root, "root", def.Root, "persistent state dir")
	fs.StringVar(&f.State, "state", def.State, "volatile state dir")
	fs.StringVar(&f.CNIConfDir, "cni-conf-dir", def.CNIConfDir, "CNI config dir")
	c.binDirs = fs.String("cni-bin-dir", strings.Join(def.CNIBinDirs, ","), "CNI plugin dirs, comma-separated")
	fs.StringVar(&f.NetNSDir, "netns-dir", def.NetNSDir, "where pod network namespaces are pinned")
	fs.StringVar(&f.RegistryConfigDir, "registry-config-dir", def.RegistryConfigDir, "containerd hosts.toml dir")
	fs.StringVar(&f.SandboxImage, "sandbox-image", def.SandboxImage, "pause image (default: podshim's built-in)")
	fs.StringVar(&f.PauseBinary, "pause-binary", def.PauseBinary, "podshim's pause binary (default: next to podshimd)")
	fs.StringVar(&f.Snapshotter, "snapshotter", def.Snapshotter, "containerd snapshotter")
	fs.BoolVar(&f.KeepLayerBlobs, "keep-layer-blobs", def.KeepLayerBlobs, "keep pulled images' compressed layers in containerd's content store")
	fs.StringVar(&f.CgroupDriver, "cgroup-driver", def.CgroupDriver, "cgroupfs or systemd")
	fs.StringVar(&f.StreamAddress, "stream-address", def.StreamAddress, "exec/attach/port-forward server address")
	fs.StringVar(&f.LogLevel, "log-level", def.LogLevel, "log level")
	fs.StringVar(&f.LogFormat, "log-format", def.LogFormat, "text or json")
	fs.StringVar(&f.DebugAddress, "debug-address", def.DebugAddress, "serve net/http/pprof on this loopback host:port or unix socket (default: off)")
	fs.StringVar(&f.OTLPEndpoint, "otlp-endpoint", def.OTLPEndpoint, "send traces to this OTLP gRPC collector: host:port (TLS), https:// or http:// URL (default: off)")
	fs.Float64Var(&f.TracingSamplingRatio, "tracing-sampling-ratio", def.TracingSamplingRatio, "share of podshim's own traces recorded, 0 to 1 (kubelet's trace context decides for its calls)")
	fs.IntVar(&f.ShimGroupSize, "shim-group-size", def.ShimGroupSize, "density mode: pods per shared runc shim (0 or 1: one shim per pod)")
	fs.StringVar(&f.DefaultRuntimeName, "default-runtime-name", def.DefaultRuntimeName, "runtime handler of pods that name none (handlers: [runtimes.<name>] tables of the config file)")
	fs.StringVar(&f.MetricsAddress, "metrics-address", def.MetricsAddress, "serve Prometheus metrics on /metrics at this loopback host:port or unix socket (default: off)")
	return c
}

// load returns the defaults, overridden by the config file, overridden by
// the flags that were set.
func (c *configFlags) load() (Config, error) {
	set := map[string]bool{}
	c.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	f := &c.f
	cfg := DefaultConfig()
	data, err := os.ReadFile(*c.path)
	switch {
	case err == nil:
		if err := toml.Unmarshal(data, &cfg); err != nil {
			return Config{}, fmt.Errorf("parse config %s: %w", *c.path, err)
		}
	case errors.Is(err, os.ErrNotExist) && !set["config"]:
		// The default config file is optional.
	default:
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	override := map[string]func(){
		"listen":               func() { cfg.Listen = f.Listen },
		"containerd-address":   func() { cfg.ContainerdAddress = f.ContainerdAddress },
		"containerd-namespace": func() { cfg.ContainerdNamespace = f.ContainerdNamespace },
		"root":                 func() { cfg.Root = f.Root },
		"state":                func() { cfg.State = f.State },
		"cni-conf-dir":         func() { cfg.CNIConfDir = f.CNIConfDir },
		"cni-bin-dir":          func() { cfg.CNIBinDirs = strings.Split(*c.binDirs, ",") },
		"netns-dir":            func() { cfg.NetNSDir = f.NetNSDir },
		"registry-config-dir":  func() { cfg.RegistryConfigDir = f.RegistryConfigDir },
		"sandbox-image":        func() { cfg.SandboxImage = f.SandboxImage },
		"pause-binary":         func() { cfg.PauseBinary = f.PauseBinary },
		"snapshotter":          func() { cfg.Snapshotter = f.Snapshotter },
		"keep-layer-blobs":     func() { cfg.KeepLayerBlobs = f.KeepLayerBlobs },
		"cgroup-driver":        func() { cfg.CgroupDriver = f.CgroupDriver },
		"stream-address":       func() { cfg.StreamAddress = f.StreamAddress },
		"log-level":            func() { cfg.LogLevel = f.LogLevel },
		"log-format":           func() { cfg.LogFormat = f.LogFormat },
		"debug-address":        func() { cfg.DebugAddress = f.DebugAddress },
		"metrics-address":      func() { cfg.MetricsAddress = f.MetricsAddress },
		"otlp-endpoint":        func() { cfg.OTLPEndpoint = f.OTLPEndpoint },
	}
	override["tracing-sampling-ratio"] = func() { cfg.TracingSamplingRatio = f.TracingSamplingRatio }
	override["default-runtime-name"] = func() { cfg.DefaultRuntimeName = f.DefaultRuntimeName }
	override["shim-group-size"] = func() { cfg.ShimGroupSize = f.ShimGroupSize }
	for name := range set {
		if apply, ok := override[name]; ok {
			apply()
		}
	}
	return cfg, cfg.validate()
}

func (c Config) validate() error {
	switch {
	case c.CgroupDriver != "cgroupfs" && c.CgroupDriver != "systemd":
		return fmt.Errorf("cgroup_driver %q: want cgroupfs or systemd", c.CgroupDriver)
	case c.ContainerdNamespace == "k8s.io":
		return fmt.Errorf("containerd_namespace k8s.io belongs to containerd's own CRI plugin; choose another")
	case c.ContainerdNamespace == "":
		return fmt.Errorf("containerd_namespace must not be empty")
	case c.LogFormat != "text" && c.LogFormat != "json":
		return fmt.Errorf("log_format %q: want text or json", c.LogFormat)
	case c.Root == "" || c.State == "":
		return fmt.Errorf("root and state must be set")
	case c.ShimGroupSize < 0:
		return fmt.Errorf("shim_group_size %d: want 0 or more", c.ShimGroupSize)
	case c.TracingSamplingRatio < 0 || c.TracingSamplingRatio > 1:
		return fmt.Errorf("tracing_sampling_ratio %v: want 0 to 1", c.TracingSamplingRatio)
	}
	if _, _, err := parseLocalAddress(c.DebugAddress); err != nil {
		return fmt.Errorf("debug_address: %w", err)
	}
	if _, _, err := parseLocalAddress(c.MetricsAddress); err != nil {
		return fmt.Errorf("metrics_address: %w", err)
	}
	return nil
}

// socketPath strips the unix:// scheme from a listen address.
func socketPath(listen string) string {
	return strings.TrimPrefix(listen, "unix://")
}
