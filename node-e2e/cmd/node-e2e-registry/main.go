// Command node-e2e-registry builds the images of the Kubernetes node
// conformance suite (node-e2e/images), serves them from an in-process
// registry on 127.0.0.1 (critest/testimage) and writes the hosts.toml files
// that make a runtime pull them under their upstream names through it. It
// writes the registry address to --addr-file once every image is pushed, then
// serves until SIGINT or SIGTERM.
//
//	node-e2e-registry --busybox-dir D --libc-dir D --helpers-dir D --agnhost F \
//	    --hosts-dir /tmp/x/registry-hosts --addr-file /tmp/x/registry.addr
package main

import (
	"flag"
	"fmt"

	"github.com/podshim/podshim/critest/catalog"
	"github.com/podshim/podshim/node-e2e/images"
)

func main() {
	var in catalog.Inputs
	o := catalog.ServeOptions{
		Name: "node-e2e-registry",
		// Every image lives on registry.k8s.io; the others are hosts specs
		// name that must not reach the network either.
		ExtraHosts: []string{"gcr.io", "docker.io", "k8s.gcr.io"},
		Skipped:    images.Skipped(),
	}
	in.RegisterFlags(flag.CommandLine)
	o.RegisterFlags(flag.CommandLine)
	agnhost := flag.String("agnhost", "", "static agnhost binary (kubelet/build.sh agnhost) (required)")
	flag.Parse()
	catalog.Main(in, o, func(in catalog.Inputs) ([]catalog.Entry, error) {
		if *agnhost == "" {
			return nil, fmt.Errorf("--agnhost is required")
		}
		return images.Build(in, *agnhost)
	})
}
