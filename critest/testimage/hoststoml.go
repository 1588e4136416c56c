package testimage

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
)

// WriteHostsTOML writes <dir>/<upstreamHost>/hosts.toml in containerd's
// registry host configuration layout (the directory that containerd's
// `config_path` and podshimd's --registry-config-dir point at). It makes
// images named upstreamHost/... (for example registry.k8s.io/pause:3.9) be
// pulled from the plain-http registry at mirrorAddr (host:port) as
// mirrorAddr/pause:3.9, with the pull and resolve capabilities.
//
// The file's `server` is the mirror too, so that a runtime never falls back
// to the real upstream registry: on this network only loopback is reachable.
func WriteHostsTOML(dir string, upstreamHost string, mirrorAddr string) error {
	if upstreamHost == "" || strings.ContainsAny(upstreamHost, "/\\ ") || upstreamHost == "." || upstreamHost == ".." {
		return fmt.Errorf("write hosts.toml: invalid upstream host %q", upstreamHost)
	}
	if _, _, err := net.SplitHostPort(mirrorAddr); err != nil {
		return fmt.Errorf("write hosts.toml for %s: mirror address %q: %w", upstreamHost, mirrorAddr, err)
	}
	hostDir := filepath.Join(dir, upstreamHost)
	if err := os.MkdirAll(hostDir, 0o755); err != nil {
		return fmt.Errorf("write hosts.toml for %s: %w", upstreamHost, err)
	}
	content := HostsTOML(upstreamHost, mirrorAddr)
	file := filepath.Join(hostDir, "hosts.toml")
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	return nil
}

// HostsTOML returns the hosts.toml content WriteHostsTOML writes.
func HostsTOML(upstreamHost string, mirrorAddr string) string {
	mirror := "http://" + mirrorAddr
	return fmt.Sprintf(`# Images named %[1]s/... are pulled from the local plain-http mirror
# %[2]s only (written by podshim's critest/testimage).
server = %[3]q

[host.%[3]q]
  capabilities = ["pull", "resolve"]
`, upstreamHost, mirrorAddr, mirror)
}
