package catalog

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/podshim/podshim/critest/testimage"
)

// ServeOptions say where a test registry listens and what it writes for the
// runtime under test.
type ServeOptions struct {
	// Name is the serving command's name, for its "listening on" line.
	Name string
	// Listen is the loopback address to serve on ("127.0.0.1:0": any port).
	Listen string
	// HostsDir receives a <host>/hosts.toml file for every registry host
	// that must resolve to this registry.
	HostsDir string
	// AddrFile, when set, receives the registry's address once every image
	// is pushed.
	AddrFile string
	// RequestLog, when set, receives the served requests at exit.
	RequestLog string
	// ExtraHosts are mirrored besides the hosts of the images: names specs
	// use that must not reach the network either.
	ExtraHosts []string
	// Skipped are the images named but not built, logged with their reason.
	Skipped []Skipped
}

// Serve pushes entries to an in-process registry on o.Listen, writes the
// hosts.toml files and the address file, prints "<name> listening on
// <addr>" and serves until ctx is done.
func Serve(ctx context.Context, entries []Entry, o ServeOptions, log *logrus.Entry) error {
	if o.HostsDir == "" {
		return fmt.Errorf("a hosts directory is required")
	}
	start := time.Now()
	reg, err := testimage.StartRegistryAt(ctx, o.Listen)
	if err != nil {
		return err
	}
	defer func() {
		if err := reg.Close(); err != nil {
			log.WithError(err).Warn("stop registry")
		}
		if o.RequestLog != "" {
			data := strings.Join(reg.Requests(), "\n") + "\n"
			if err := os.WriteFile(o.RequestLog, []byte(data), 0o644); err != nil {
				log.WithError(err).Warn("write request log")
			}
		}
	}()
	if err := push(ctx, reg, entries, log); err != nil {
		return err
	}
	hosts := MirroredHosts(entries, o.ExtraHosts)
	for _, h := range hosts {
		if err := testimage.WriteHostsTOML(o.HostsDir, h, reg.Addr()); err != nil {
			return err
		}
	}
	for _, s := range o.Skipped {
		log.WithFields(logrus.Fields{"image": s.Name, "reason": s.Reason}).Info("not served")
	}
	if o.AddrFile != "" {
		if err := writeAtomic(o.AddrFile, reg.Addr()+"\n"); err != nil {
			return err
		}
	}
	log.WithFields(logrus.Fields{"addr": reg.Addr(), "images": len(entries), "hosts": hosts,
		"took": time.Since(start).Round(time.Millisecond)}).Info("ready")
	fmt.Printf("%s listening on %s\n", o.Name, reg.Addr())
	<-ctx.Done()
	return nil
}

// MirroredHosts are the hosts of entries' images and extra, sorted, each once.
func MirroredHosts(entries []Entry, extra []string) []string {
	seen := map[string]bool{}
	for _, h := range Hosts(entries) {
		seen[h] = true
	}
	for _, h := range extra {
		if h = strings.TrimSpace(h); h != "" {
			seen[h] = true
		}
	}
	hosts := make([]string, 0, len(seen))
	for h := range seen {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	return hosts
}

// push uploads every name of every entry under its repository path, and
// refuses two different images behind one path (the mirror serves all hosts
// from one namespace).
func push(ctx context.Context, reg *testimage.Registry, entries []Entry, log *logrus.Entry) error {
	byPath := map[string]string{}
	for _, e := range entries {
		digest, err := e.Image.Digest()
		if err != nil {
			return fmt.Errorf("digest of %s: %w", e.Names[0], err)
		}
		for _, n := range e.Names {
			p := RepoPath(n)
			if prev, ok := byPath[p]; ok {
				if prev != digest.String() {
					return fmt.Errorf("%s: two different images would be served as %s", n, p)
				}
				continue
			}
			byPath[p] = digest.String()
			if err := reg.PushContext(ctx, p, e.Image); err != nil {
				return fmt.Errorf("push %s: %w", n, err)
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
