package containerdconf

import (
	"testing"

	"github.com/pelletier/go-toml/v2"
)

// parse decodes the rendered file, which must be valid TOML.
func parse(t *testing.T, c Config) map[string]any {
	t.Helper()
	var m map[string]any
	if err := toml.Unmarshal([]byte(c.TOML()), &m); err != nil {
		t.Fatalf("invalid TOML: %v\n%s", err, c.TOML())
	}
	return m
}

// get follows keys through nested tables.
func get(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		t, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = t[k]
	}
	return v
}

func TestCRIOff(t *testing.T) {
	m := parse(t, Config{Dir: "/d", Address: "/d/c.sock"})
	for _, c := range []struct {
		keys []string
		want any
	}{
		{[]string{"root"}, "/d/root"},
		{[]string{"state"}, "/d/state"},
		{[]string{"grpc", "address"}, "/d/c.sock"},
		{[]string{"ttrpc", "address"}, "/d/c.sock.ttrpc"},
		{[]string{"plugins", "io.containerd.internal.v1.opt", "path"}, "/d/opt"},
	} {
		if got := get(m, c.keys...); got != c.want {
			t.Errorf("%v = %v, want %v", c.keys, got, c.want)
		}
	}
	d, _ := m["disabled_plugins"].([]any)
	if len(d) != 1 || d[0] != "io.containerd.grpc.v1.cri" {
		t.Errorf("disabled_plugins = %v, want the CRI plugin", m["disabled_plugins"])
	}
	if get(m, "plugins", "io.containerd.grpc.v1.cri") != nil {
		t.Error("a CRI plugin table with the plugin off")
	}
}

func TestCRIOn(t *testing.T) {
	m := parse(t, Config{Dir: "/d", Address: "/d/c.sock", DebugAddress: "/d/debug.sock", CRI: &CRI{
		SandboxImage: "registry.k8s.io/pause:3.10", RuncRoot: "/d/runc", CNIConfDir: "/d/net.d",
		HostsDir: "/d/hosts", StreamPort: "10010", NetNSUnderState: true,
		Extra: []string{"  max_container_log_line_size = 16384"},
	}})
	if m["disabled_plugins"] != nil {
		t.Errorf("disabled_plugins = %v with the CRI plugin on", m["disabled_plugins"])
	}
	cri := []string{"plugins", "io.containerd.grpc.v1.cri"}
	for _, c := range []struct {
		keys []string
		want any
	}{
		{[]string{"debug", "address"}, "/d/debug.sock"},
		{append(cri, "sandbox_image"), "registry.k8s.io/pause:3.10"},
		{append(cri, "restrict_oom_score_adj"), true},
		{append(cri, "netns_mounts_under_state_dir"), true},
		{append(cri, "stream_server_address"), "127.0.0.1"},
		{append(cri, "stream_server_port"), "10010"},
		{append(cri, "max_container_log_line_size"), int64(16384)},
		{append(cri, "containerd", "snapshotter"), "overlayfs"},
		{append(cri, "containerd", "runtimes", "runc", "runtime_type"), "io.containerd.runc.v2"},
		{append(cri, "containerd", "runtimes", "runc", "options", "Root"), "/d/runc"},
		{append(cri, "cni", "bin_dir"), "/usr/lib/cni"},
		{append(cri, "cni", "conf_dir"), "/d/net.d"},
		{append(cri, "registry", "config_path"), "/d/hosts"},
	} {
		if got := get(m, c.keys...); got != c.want {
			t.Errorf("%v = %v (%T), want %v", c.keys, got, got, c.want)
		}
	}
}

func TestCRIDefaults(t *testing.T) {
	m := parse(t, Config{Dir: "/d", Address: "/d/c.sock", CRI: &CRI{}})
	cri := []string{"plugins", "io.containerd.grpc.v1.cri"}
	if got := get(m, append(cri, "stream_server_port")...); got != "0" {
		t.Errorf("stream_server_port = %v, want \"0\"", got)
	}
	if got := get(m, append(cri, "containerd", "runtimes", "runc", "options")...); got != nil {
		t.Errorf("runc options %v without a RuncRoot", got)
	}
	if got := get(m, append(cri, "sandbox_image")...); got != nil {
		t.Errorf("sandbox_image = %v, not asked for", got)
	}
	if got := get(m, append(cri, "netns_mounts_under_state_dir")...); got != nil {
		t.Errorf("netns_mounts_under_state_dir = %v, not asked for", got)
	}
}
