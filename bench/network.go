package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Network is one runtime's CNI network.
type Network struct {
	Name     string // CNI network name
	Bridge   string
	Subnet   string
	ConfDir  string // the runtime's CNI conf dir, holding only this network
	ConfFile string
	IPAMDir  string // host-local's data dir
	// Loopback tells whether the conflist includes the loopback plugin.
	// Neither runtime needs it: containerd's CRI runs the loopback plugin
	// itself (a network of its own), podshim brings lo up when it creates
	// the netns. Both lists leave it out, as each runtime's docs configure
	// it.
	Loopback bool
}

// The two networks of the benchmark; nothing else may be used.
var (
	netA = Network{Name: "podshim-benchA", Bridge: "cni-bencha0", Subnet: "10.92.0.0/16", Loopback: false}
	netB = Network{Name: "podshim-benchB", Bridge: "cni-benchb0", Subnet: "10.96.0.0/16", Loopback: false}
)

// writeNetwork writes n's conflist (bridge + host-local, and loopback when
// n.Loopback) below dir and returns n with its paths filled in. Neither
// list has portmap or ipMasq: no iptables work on either side.
func writeNetwork(dir string, n Network) (Network, error) {
	n.ConfDir = filepath.Join(dir, "cni", n.Name, "net.d")
	n.IPAMDir = filepath.Join(dir, "cni", n.Name, "ipam")
	n.ConfFile = filepath.Join(n.ConfDir, "10-"+n.Name+".conflist")
	for _, d := range []string{n.ConfDir, n.IPAMDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return n, fmt.Errorf("network %s: %w", n.Name, err)
		}
	}
	plugins := []any{map[string]any{
		"type":        "bridge",
		"bridge":      n.Bridge,
		"isGateway":   true,
		"ipMasq":      false,
		"hairpinMode": true,
		"ipam": map[string]any{
			"type":    "host-local",
			"ranges":  [][]map[string]string{{{"subnet": n.Subnet}}},
			"routes":  []map[string]string{{"dst": "0.0.0.0/0"}},
			"dataDir": n.IPAMDir,
		},
	}}
	if n.Loopback {
		plugins = append(plugins, map[string]any{"type": "loopback"})
	}
	data, err := json.MarshalIndent(map[string]any{"cniVersion": "1.0.0", "name": n.Name, "plugins": plugins}, "", "  ")
	if err != nil {
		return n, err
	}
	if err := os.WriteFile(n.ConfFile, data, 0o644); err != nil {
		return n, fmt.Errorf("network %s: %w", n.Name, err)
	}
	return n, nil
}
