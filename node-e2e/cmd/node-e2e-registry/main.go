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
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sirupsen/logrus"

	"github.com/podshim/podshim/critest/catalog"
	"github.com/podshim/podshim/node-e2e/images"
)

// options are the command's flags.
type options struct {
	inputs     catalog.Inputs
	agnhost    string
	listen     string
	hostsDir   string
	addrFile   string
	requestLog string
}

func main() {
	var o options
	o.inputs.RegisterFlags(flag.CommandLine)
	flag.StringVar(&o.agnhost, "agnhost", "", "static agnhost binary (kubelet/build.sh agnhost)")
	flag.StringVar(&o.listen, "listen", "127.0.0.1:0", "loopback address to serve on")
	flag.StringVar(&o.hostsDir, "hosts-dir", "", "directory to write <host>/hosts.toml files into (required)")
	flag.StringVar(&o.addrFile, "addr-file", "", "file to write the registry address into once it is ready")
	flag.StringVar(&o.requestLog, "request-log", "", "file to write the served requests into at exit")
	flag.Parse()
	log := logrus.WithField("cmd", "node-e2e-registry")
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
	if o.hostsDir == "" || o.agnhost == "" {
		return fmt.Errorf("--hosts-dir and --agnhost are required")
	}
	entries, err := images.Build(o.inputs, o.agnhost)
	if err != nil {
		return err
	}
	return catalog.Serve(ctx, entries, catalog.ServeOptions{
		Name:       "node-e2e-registry",
		Listen:     o.listen,
		HostsDir:   o.hostsDir,
		AddrFile:   o.addrFile,
		RequestLog: o.requestLog,
		// Every image lives on registry.k8s.io; the others are hosts specs
		// name that must not reach the network either.
		ExtraHosts: []string{"gcr.io", "docker.io", "k8s.gcr.io"},
		Skipped:    images.Skipped(),
	}, log)
}
