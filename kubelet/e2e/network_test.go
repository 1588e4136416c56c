//go:build kubelet_e2e

package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// The CNI network this harness owns: its name, bridge and subnet are used by
// nothing else on the machine.
const (
	cniNetwork = "podshim-kubelet"
	cniBridge  = "cni-kub0"
	podSubnet  = "10.90.0.0/16"
	cniBinDir  = "/usr/lib/cni"
	// cniCacheDir is libcni's default cache of ADD results.
	cniCacheDir = "/var/lib/cni/results"
)

// writeCNIConfig writes the harness's only conflist into confDir. host-local
// keeps its IP reservations in ipamDir (one file per IP), which is how the
// tests see that a removed pod released its address. No ipMasq and no
// portmap: the pods only talk to the host and to each other, and the
// harness adds no iptables rules.
func writeCNIConfig(confDir, ipamDir string) error {
	if err := os.MkdirAll(confDir, 0o755); err != nil {
		return fmt.Errorf("cni conf dir: %w", err)
	}
	conf := fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": %q,
  "plugins": [
    {
      "type": "bridge",
      "bridge": %q,
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": %q}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": %q
      }
    }
  ]
}
`, cniNetwork, cniBridge, podSubnet, ipamDir)
	tmp := filepath.Join(confDir, ".10-podshim-kubelet.conflist")
	if err := os.WriteFile(tmp, []byte(conf), 0o644); err != nil {
		return fmt.Errorf("cni conf: %w", err)
	}
	return os.Rename(tmp, filepath.Join(confDir, "10-podshim-kubelet.conflist"))
}

// ipReserved reports whether host-local holds a reservation for ip.
func ipReserved(ipamDir, ip string) bool {
	_, err := os.Stat(filepath.Join(ipamDir, cniNetwork, ip))
	return err == nil
}

// nsfsMounts lists the mount points of pinned namespaces (bind-mounted nsfs
// files), which is how runtimes keep a pod's network namespace.
func nsfsMounts() ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		m, ok := parseMountinfo(s.Text())
		if ok && m.fstype == "nsfs" {
			out = append(out, m.mountPoint)
		}
	}
	return out, s.Err()
}

// netnsHoldsPodAddress reports whether the network namespace pinned at path
// has an IPv4 address in the harness's pod subnet, and which.
func netnsHoldsPodAddress(path string) (string, bool) {
	out, err := exec.Command("nsenter", "--net="+path, "ip", "-4", "-o", "addr", "show").Output()
	if err != nil {
		return "", false
	}
	_, subnet, _ := net.ParseCIDR(podSubnet)
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		for i, w := range f {
			if w == "inet" && i+1 < len(f) {
				ip, _, err := net.ParseCIDR(f[i+1])
				if err == nil && subnet.Contains(ip) {
					return ip.String(), true
				}
			}
		}
	}
	return "", false
}

// podNetnsPaths lists the pinned network namespaces that hold an address
// of the harness's subnet: those of its pods, whichever runtime made them.
func podNetnsPaths() map[string]string {
	mounts, _ := nsfsMounts()
	out := map[string]string{}
	for _, m := range mounts {
		if ip, ok := netnsHoldsPodAddress(m); ok {
			out[m] = ip
		}
	}
	return out
}

// bridgePorts lists the interfaces attached to the harness's bridge.
func bridgePorts() []string {
	entries, _ := os.ReadDir(filepath.Join("/sys/class/net", cniBridge, "brif"))
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// cleanupNetwork removes what CNI teardown may have left: pinned namespaces
// holding addresses of the harness's subnet, the bridge (with any veth still
// on it) and the IP reservations.
func cleanupNetwork(ipamDir string) []error {
	var errs []error
	for path := range podNetnsPaths() {
		if err := unix.Unmount(path, unix.MNT_DETACH); err != nil {
			errs = append(errs, fmt.Errorf("unmount netns %s: %w", path, err))
		}
		_ = os.Remove(path)
	}
	for _, port := range bridgePorts() {
		_ = exec.Command("ip", "link", "del", port).Run()
	}
	if _, err := os.Stat(filepath.Join("/sys/class/net", cniBridge)); err == nil {
		if out, err := exec.Command("ip", "link", "del", cniBridge).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("delete bridge %s: %v: %s", cniBridge, err, out))
		}
	}
	_ = os.RemoveAll(ipamDir)
	// libcni's cache of ADD results (containerd's CRI uses the default dir);
	// CNI DEL removes them, a killed runtime does not.
	results, _ := filepath.Glob(filepath.Join(cniCacheDir, cniNetwork+"-*"))
	for _, r := range results {
		_ = os.Remove(r)
	}
	return errs
}
