// Command critest-registry builds the critest harness's images, serves them
// from an in-process registry on 127.0.0.1 and writes the hosts.toml files
// that make a runtime pull them under their original names through that
// registry. It prints "critest-registry listening on <addr>" (and writes the
// address to --addr-file) once every image is pushed, then serves until
// SIGINT or SIGTERM.
//
//	critest-registry --busybox-dir D --libc-dir D --helpers-dir D \
//	    --hosts-dir /tmp/x/registry-hosts --addr-file /tmp/x/registry.addr
package main

import (
	"flag"
	"strings"

	"github.com/podshim/podshim/critest/catalog"
)

func main() {
	var in catalog.Inputs
	o := catalog.ServeOptions{Name: "critest-registry", Skipped: catalog.SkippedImages()}
	in.RegisterFlags(flag.CommandLine)
	o.RegisterFlags(flag.CommandLine)
	mirrorHosts := flag.String("mirror-hosts", "registry.k8s.io,k8s.gcr.io,gcr.io,public.ecr.aws",
		"comma-separated registry hosts to map to this registry, besides those of the images")
	flag.Parse()
	o.ExtraHosts = strings.Split(*mirrorHosts, ",")
	catalog.Main(in, o, catalog.Build)
}
