// Command containerd-config prints the config file of a private containerd
// (critest/containerdconf) for the bash harnesses, critest/run.sh and
// node-e2e/run.sh (hack/lib/runtime.sh):
//
//	containerd-config -dir D -address SOCK                     # CRI plugin off
//	containerd-config -dir D -address SOCK -cri -sandbox-image REF \
//	    -runc-root DIR -cni-conf-dir DIR -hosts-dir DIR -stream-port N \
//	    [-extra '  key = value']...
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/podshim/podshim/critest/containerdconf"
)

// lines collects a repeated flag.
type lines []string

func (l *lines) String() string     { return fmt.Sprint(*l) }
func (l *lines) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var c containerdconf.Config
	var cri containerdconf.CRI
	withCRI := flag.Bool("cri", false, "turn containerd's own CRI plugin on")
	flag.StringVar(&c.Dir, "dir", "", "dir of root, state and opt (required)")
	flag.StringVar(&c.Address, "address", "", "gRPC socket (required)")
	flag.StringVar(&cri.SandboxImage, "sandbox-image", "", "CRI: sandbox_image")
	flag.StringVar(&cri.RuncRoot, "runc-root", "", "CRI: runc's root for the runc handler")
	flag.StringVar(&cri.CNIConfDir, "cni-conf-dir", "", "CRI: CNI conf_dir")
	flag.StringVar(&cri.HostsDir, "hosts-dir", "", "CRI: registry config_path")
	flag.StringVar(&cri.StreamPort, "stream-port", "", "CRI: streaming server port on 127.0.0.1")
	flag.Var((*lines)(&cri.Extra), "extra", "CRI: a line of the plugin's table (repeatable)")
	flag.Parse()
	if c.Dir == "" || c.Address == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: containerd-config -dir D -address SOCK [-cri ...]")
		os.Exit(2)
	}
	if *withCRI {
		c.CRI = &cri
	}
	fmt.Print(c.TOML())
}
