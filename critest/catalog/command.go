package catalog

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sirupsen/logrus"
)

// RegisterFlags adds --listen, --hosts-dir, --addr-file and --request-log to
// fs, filling o.
func (o *ServeOptions) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Listen, "listen", "127.0.0.1:0", "loopback address to serve on")
	fs.StringVar(&o.HostsDir, "hosts-dir", "", "directory to write <host>/hosts.toml files into (required)")
	fs.StringVar(&o.AddrFile, "addr-file", "", "file to write the registry address into once it is ready")
	fs.StringVar(&o.RequestLog, "request-log", "", "file to write the served requests into at exit")
}

// BuildFunc builds a registry command's images from its inputs.
type BuildFunc func(in Inputs) ([]Entry, error)

// Run checks in and o's flags, builds the images with build and serves them
// with o until ctx is done.
func Run(ctx context.Context, in Inputs, o ServeOptions, build BuildFunc, log *logrus.Entry) error {
	if err := in.Check(); err != nil {
		return err
	}
	if o.HostsDir == "" {
		return fmt.Errorf("--hosts-dir is required")
	}
	entries, err := build(in)
	if err != nil {
		return err
	}
	return Serve(ctx, entries, o, log)
}

// Main is the main function of a registry command named o.Name
// (critest-registry, node-e2e-registry): Run until SIGINT or SIGTERM, and
// exit 1 when it fails.
func Main(in Inputs, o ServeOptions, build BuildFunc) {
	log := logrus.WithField("cmd", o.Name)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := Run(ctx, in, o, build, log)
	stop()
	if err != nil {
		log.WithError(err).Error("failed")
		os.Exit(1)
	}
}
