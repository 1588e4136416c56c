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
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/sirupsen/logrus"

	"github.com/podshim/podshim/critest/catalog"
)

// options are the command's flags.
type options struct {
	inputs      catalog.Inputs
	listen      string
	hostsDir    string
	addrFile    string
	requestLog  string
	mirrorHosts string
}

func main() {
	var o options
	o.inputs.RegisterFlags(flag.CommandLine)
	flag.StringVar(&o.listen, "listen", "127.0.0.1:0", "loopback address to serve on")
	flag.StringVar(&o.hostsDir, "hosts-dir", "", "directory to write <host>/hosts.toml files into (required)")
	flag.StringVar(&o.addrFile, "addr-file", "", "file to write the registry address into once it is ready")
	flag.StringVar(&o.requestLog, "request-log", "", "file to write the served requests into at exit")
	flag.StringVar(&o.mirrorHosts, "mirror-hosts", "registry.k8s.io,k8s.gcr.io,gcr.io,public.ecr.aws",
		"comma-separated registry hosts to map to this registry, besides those of the images")
	flag.Parse()
	log := logrus.WithField("cmd", "critest-registry")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, log); err != nil {
		log.WithError(err).Error("failed")
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, log *logrus.Entry) error {
	if err := o.inputs.Check(); err != nil {
		return err
	}
	if o.hostsDir == "" {
		return fmt.Errorf("--hosts-dir is required")
	}
	entries, err := catalog.Build(o.inputs)
	if err != nil {
		return err
	}
	return catalog.Serve(ctx, entries, catalog.ServeOptions{
		Name:       "critest-registry",
		Listen:     o.listen,
		HostsDir:   o.hostsDir,
		AddrFile:   o.addrFile,
		RequestLog: o.requestLog,
		ExtraHosts: strings.Split(o.mirrorHosts, ","),
		Skipped:    catalog.SkippedImages(),
	}, log)
}
