package selfcheck

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// checkRegistryConfig: registry_config_dir, when it exists, is readable
// and each <host>/hosts.toml in it parses.
func checkRegistryConfig(o Options) []Finding {
	f := Finding{Check: "registry config"}
	dir := o.RegistryConfigDir
	if dir == "" {
		f.Detail = "not set: registries are used as named"
		return []Finding{f}
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		f.Detail = dir + " does not exist: registries are used as named, without mirrors or extra CAs"
		return []Finding{f}
	case err != nil:
		f.Severity, f.Detail = Error, fmt.Sprintf("cannot read %s: %v", dir, err)
		f.Fix = "make it a directory readable by root, or set registry_config_dir to one"
		return []Finding{f}
	}
	var hosts, bad []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		path := filepath.Join(dir, e.Name(), "hosts.toml")
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err == nil {
			var v map[string]any
			err = toml.Unmarshal(data, &v)
		}
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", path, err))
			continue
		}
		hosts = append(hosts, e.Name())
	}
	if len(bad) > 0 {
		f.Severity = Error
		f.Detail = "unreadable hosts.toml: " + strings.Join(bad, "; ")
		f.Fix = "correct the file (containerd's hosts.toml format) or remove it; pulls from that registry fail until then"
		return []Finding{f}
	}
	if len(hosts) == 0 {
		f.Detail = dir + " is readable and has no hosts.toml: registries are used as named"
	} else {
		f.Detail = fmt.Sprintf("%s: settings for %s", dir, strings.Join(hosts, ", "))
	}
	return []Finding{f}
}
