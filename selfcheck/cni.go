package selfcheck

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"

	"github.com/podshim/podshim/network"
)

const cniFix = `write a pod network config list there, e.g. 10-podnet.conflist:
{"cniVersion": "1.0.0", "name": "podnet", "plugins": [
  {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.88.0.0/16"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
or install the network add-on of your cluster, which writes one`

// checkCNI: the pod network config loads, and every plugin it names (and
// each plugin's IPAM plugin) is in cni_bin_dir and supports the config's
// CNI version.
func checkCNI(ctx context.Context, o Options) []Finding {
	list, file, err := network.DefaultNetwork(o.CNIConfDir)
	if err != nil {
		return []Finding{{Check: "cni config", Severity: Error,
			Detail: err.Error() + " (pods would stay without network: NetworkReady=false)",
			Fix:    cniFix}}
	}
	fs := []Finding{{Check: "cni config", Severity: OK,
		Detail: fmt.Sprintf("network %q (CNI %s) from %s", list.Name, list.CNIVersion, file)}}

	var types []string
	for _, p := range list.Plugins {
		for _, t := range []string{p.Network.Type, p.Network.IPAM.Type} {
			if t != "" && !slices.Contains(types, t) {
				types = append(types, t)
			}
		}
	}
	cni := libcni.NewCNIConfig(o.CNIBinDirs, nil)
	var missing, broken, found []string
	for _, t := range types {
		path, err := invoke.FindInPath(t, o.CNIBinDirs)
		if err != nil {
			missing = append(missing, t)
			continue
		}
		vctx, cancel := context.WithTimeout(ctx, o.Timeout)
		info, err := cni.GetVersionInfo(vctx, t)
		cancel()
		switch {
		case err != nil:
			broken = append(broken, fmt.Sprintf("%s (%s: %v)", t, path, err))
		case list.CNIVersion != "" && !slices.Contains(info.SupportedVersions(), list.CNIVersion):
			broken = append(broken, fmt.Sprintf("%s (%s supports CNI %s, not the config's %s)",
				t, path, strings.Join(info.SupportedVersions(), ", "), list.CNIVersion))
		default:
			found = append(found, t)
		}
	}
	dirs := strings.Join(o.CNIBinDirs, ", ")
	switch {
	case len(missing) > 0:
		fs = append(fs, Finding{Check: "cni plugins", Severity: Error,
			Detail: fmt.Sprintf("%s names plugin(s) %s, not found in %s", file, strings.Join(missing, ", "), dirs),
			Fix:    "install the plugins (Debian: apt-get install containernetworking-plugins) or add their directory to cni_bin_dir"})
	case len(broken) > 0:
		fs = append(fs, Finding{Check: "cni plugins", Severity: Error,
			Detail: "plugin(s) that do not work with " + file + ": " + strings.Join(broken, "; "),
			Fix:    "install plugins that support the config's cniVersion, or lower cniVersion in the config"})
	default:
		fs = append(fs, Finding{Check: "cni plugins", Severity: OK,
			Detail: fmt.Sprintf("%s found in %s", strings.Join(found, ", "), dirs)})
	}
	return fs
}
