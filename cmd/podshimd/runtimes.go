package main

import (
	"context"
	"fmt"

	"github.com/containerd/containerd"
	"github.com/containerd/log"

	"github.com/podshim/podshim/features"
	"github.com/podshim/podshim/runtimes"
)

// loadRuntimes resolves the configured runtime handlers and checks, once,
// that each one with an OCI runtime of its own (BinaryName) can make a
// container here: a handler that cannot stops start-up with the runtime's
// words, rather than failing every pod that names it. It returns those
// handlers' features too.
func loadRuntimes(ctx context.Context, cfg Config, client *containerd.Client) (*runtimes.Set, map[string]features.Set, error) {
	set, err := runtimes.Load(cfg.Runtimes, cfg.DefaultRuntimeName, cfg.State, cfg.CgroupDriver == "systemd")
	if err != nil {
		return nil, nil, err
	}
	handlerFeatures := map[string]features.Set{}
	for _, h := range set.All() {
		if h.Options.BinaryName == "" {
			continue
		}
		if err := runtimes.Probe(ctx, h); err != nil {
			return nil, nil, fmt.Errorf("runtime handler %q: %w", h.Name, err)
		}
		log.G(ctx).WithFields(log.Fields{"handler": h.Name, "binary": h.Binary(), "root": h.Options.Root}).Info("runtime handler ready")
		handlerFeatures[h.Name] = features.Detect(ctx, client, cfg.Snapshotter, h.Binary())
	}
	return set, handlerFeatures, nil
}
