package main

import (
	"bytes"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// configDocs says what each config key means, for `podshimd config
// default`. Every key of Config has an entry (a test checks it).
var configDocs = map[string]string{
	"listen":                 "The CRI socket kubelet and crictl talk to (unix:///path or /path).",
	"containerd_address":     "containerd's gRPC socket.",
	"containerd_namespace":   "containerd namespace of podshim's images, containers and snapshots.\nNever \"k8s.io\": containerd's own CRI plugin uses it.",
	"root":                   "Persistent state: sandbox and container metadata. One podshimd per root\n(podshimd holds a lock on <root>/podshimd.lock while it runs).",
	"state":                  "Volatile state: FIFOs, /dev/shm mounts, CNI cache, runc state.",
	"cni_conf_dir":           "Pod network config: the first loadable .conf/.conflist/.json file, in\nlexical order, is the pod network.",
	"cni_bin_dir":            "Directories searched for CNI plugins.",
	"netns_dir":              "Where pod network namespaces are pinned.",
	"registry_config_dir":    "Registry settings in containerd's layout: <dir>/<host[:port]>/hosts.toml\n(mirrors, plain http, CAs). A missing directory means no special settings.",
	"sandbox_image":          "The pause image. Empty: podshim's built-in pause image, made from\npause_binary and imported without a registry.",
	"pause_binary":           "podshim's static pause program. Empty: \"pause\" next to podshimd.",
	"snapshotter":            "containerd snapshotter for images and containers.",
	"keep_layer_blobs":       "Keep pulled images' compressed layers in containerd's content store.\nfalse: layers are unpacked as they stream in (faster pulls, half the disk).",
	"cgroup_driver":          "\"cgroupfs\" or \"systemd\"; kubelet's cgroupDriver must be the same.",
	"stream_address":         "Where the exec/attach/port-forward server listens (host:port).",
	"log_level":              "logrus level: trace, debug, info, warn, error.",
	"log_format":             "\"text\" or \"json\".",
	"debug_address":          "net/http/pprof on a loopback host:port (127.0.0.1:6060) or a unix socket\n(unix:///run/podshim/debug.sock). Empty: off.",
	"metrics_address":        "Prometheus metrics on /metrics at a loopback host:port (127.0.0.1:9090)\nor a unix socket (unix:///run/podshim/metrics.sock). Empty: off.",
	"otlp_endpoint":          "OpenTelemetry traces to this OTLP gRPC collector: host:port (TLS),\nhttps:// or http:// URL. Empty: off.",
	"tracing_sampling_ratio": "Share of podshim's own traces recorded, 0 to 1; calls that carry\nkubelet's trace context follow its sampling decision.",
	"shim_group_size":        "Density mode: pods per shared runc shim (0 or 1: one shim per pod). A group\ncloses for new pods when full or when any member is stopped or removed; a\nkilled shim takes all pods of its group (containers exited, sandboxes\nNotReady).",
	"default_runtime_name":   "Runtime handler of pods whose RunPodSandbox names none (\"\").",
	"runtimes":               "Runtime handlers pods may name (RuntimeClass handler), one [runtimes.<name>]\ntable each, as containerd's CRI configures them: runtime_type (only\n\"io.containerd.runc.v2\"), and [runtimes.<name>.options] with BinaryName (the\nOCI runtime: runc, crun or a path; empty: runc), Root (its state root; empty:\n<state>/runc for \"runc\", <state>/runtimes/<name> otherwise) and SystemdCgroup\n(must match cgroup_driver). \"runc\" always exists. A handler with a BinaryName\nmust create a probe container at start-up or podshimd does not start (crun\n1.8 on a hybrid cgroup host cannot). An unknown handler is InvalidArgument.",
}

// writeConfigTOML writes cfg as TOML, every key in Config's field order,
// each preceded by its configDocs comment.
func writeConfigTOML(w io.Writer, cfg Config) error {
	var out bytes.Buffer
	v := reflect.ValueOf(cfg)
	for i := 0; i < v.NumField(); i++ {
		key, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("toml"), ",")
		if key == "" || key == "-" {
			continue
		}
		doc, ok := configDocs[key]
		if !ok {
			return fmt.Errorf("config key %s has no documentation", key)
		}
		line, err := toml.Marshal(map[string]any{key: v.Field(i).Interface()})
		if err != nil {
			return fmt.Errorf("config key %s: %w", key, err)
		}
		if i > 0 {
			out.WriteByte('\n')
		}
		for _, l := range strings.Split(doc, "\n") {
			fmt.Fprintf(&out, "# %s\n", l)
		}
		out.Write(line)
	}
	_, err := w.Write(out.Bytes())
	return err
}
