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
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/podshim/podshim/critest/catalog"
	"github.com/podshim/podshim/critest/testimage"
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
	start := time.Now()
	entries, err := catalog.Build(o.inputs)
	if err != nil {
		return err
	}
	reg, err := testimage.StartRegistryAt(ctx, o.listen)
	if err != nil {
		return err
	}
	defer func() {
		if err := reg.Close(); err != nil {
			log.WithError(err).Warn("stop registry")
		}
		if o.requestLog != "" {
			data := strings.Join(reg.Requests(), "\n") + "\n"
			if err := os.WriteFile(o.requestLog, []byte(data), 0o644); err != nil {
				log.WithError(err).Warn("write request log")
			}
		}
	}()
	if err := push(ctx, reg, entries, log); err != nil {
		return err
	}
	hosts := catalog.Hosts(entries)
	for _, h := range strings.Split(o.mirrorHosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			hosts = append(hosts, h)
		}
	}
	sort.Strings(hosts)
	for _, h := range hosts {
		if err := testimage.WriteHostsTOML(o.hostsDir, h, reg.Addr()); err != nil {
			return err
		}
	}
	for _, s := range catalog.SkippedImages() {
		log.WithFields(logrus.Fields{"image": s.Name, "reason": s.Reason}).Info("not served")
	}
	if o.addrFile != "" {
		if err := writeAtomic(o.addrFile, reg.Addr()+"\n"); err != nil {
			return err
		}
	}
	log.WithFields(logrus.Fields{"addr": reg.Addr(), "images": len(entries), "hosts": hosts,
		"took": time.Since(start).Round(time.Millisecond)}).Info("ready")
	fmt.Printf("critest-registry listening on %s\n", reg.Addr())
	<-ctx.Done()
	return nil
}

// push uploads every name of every entry under its repository path, and
// refuses two different images behind one path (the mirror serves all hosts
// from one namespace).
func push(ctx context.Context, reg *testimage.Registry, entries []catalog.Entry, log *logrus.Entry) error {
	byPath := map[string]string{}
	for _, e := range entries {
		digest, err := e.Image.Digest()
		if err != nil {
			return fmt.Errorf("digest of %s: %w", e.Names[0], err)
		}
		for _, n := range e.Names {
			p := catalog.RepoPath(n)
			if prev, ok := byPath[p]; ok {
				if prev != digest.String() {
					return fmt.Errorf("%s: two different images would be served as %s", n, p)
				}
				continue
			}
			byPath[p] = digest.String()
			if err := reg.PushContext(ctx, p, e.Image); err != nil {
				return err
			}
			log.WithFields(logrus.Fields{"image": n, "digest": digest.String()}).Debug("pushed")
		}
	}
	return nil
}

// writeAtomic writes data to path through a temporary file and a rename.
func writeAtomic(path, data string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
