package network

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/containernetworking/cni/libcni"
)

// loadDefaultNetwork returns the network config list podshim uses: the first
// config file in dir, in lexical order, that parses and names at least one
// plugin. That is the rule kubelet's other runtimes follow.
func loadDefaultNetwork(dir string) (*libcni.NetworkConfigList, string, error) {
	files, err := libcni.ConfFiles(dir, []string{".conf", ".conflist", ".json"})
	if err != nil {
		return nil, "", fmt.Errorf("read CNI config dir %s: %w", dir, err)
	}
	sort.Strings(files)
	var problems []string
	for _, f := range files {
		list, err := loadFile(f)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		return list, f, nil
	}
	if len(problems) > 0 {
		return nil, "", fmt.Errorf("no valid CNI network config in %s: %s", dir, strings.Join(problems, "; "))
	}
	return nil, "", fmt.Errorf("no CNI network config found in %s", dir)
}

// DefaultNetwork returns the pod network config list podshim would use from
// dir, and the file it came from (see loadDefaultNetwork).
func DefaultNetwork(dir string) (*libcni.NetworkConfigList, string, error) {
	return loadDefaultNetwork(dir)
}

func loadFile(path string) (*libcni.NetworkConfigList, error) {
	if filepath.Ext(path) == ".conflist" {
		list, err := libcni.ConfListFromFile(path)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", path, err)
		}
		if len(list.Plugins) == 0 {
			return nil, fmt.Errorf("load %s: no plugins", path)
		}
		return list, nil
	}
	conf, err := libcni.ConfFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	if conf.Network.Type == "" {
		return nil, fmt.Errorf("load %s: no plugin type", path)
	}
	list, err := libcni.ConfListFromConf(conf)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return list, nil
}

// WriteBridgeConfig writes a bridge + host-local + portmap conflist for network name on bridge br with the given subnet into
// dir/10-<name>.conflist. It is what `make run` and the tests use.
func WriteBridgeConfig(dir, name, bridge, subnet string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	conf := fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": %q,
  "plugins": [
    {
      "type": "bridge",
      "bridge": %q,
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": %q}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
`, name, bridge, subnet)
	path := filepath.Join(dir, "10-"+name+".conflist")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(conf), 0o644); err != nil {
		return "", err
	}
	return path, os.Rename(tmp, path)
}
