package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/podshim/podshim/selfcheck"
	"github.com/podshim/podshim/version"
)

// cmdVersion prints podshim's version and commit, and the containerd and
// runc it finds: containerd's version over its socket when it answers,
// else `containerd --version` from PATH; runc from PATH, as the runc shim
// finds it.
func cmdVersion(ctx context.Context, cfg Config, stdout io.Writer) int {
	fmt.Fprintf(stdout, "podshimd %s\ncommit: %s\n", version.Version, version.Commit)
	v, rev, err := selfcheck.ContainerdVersion(ctx, cfg.ContainerdAddress, 2*time.Second)
	if err == nil {
		fmt.Fprintf(stdout, "containerd: %s (revision %s, serving at %s)\n", v, rev, cfg.ContainerdAddress)
	} else if path, v, perr := selfcheck.BinaryVersion(ctx, "containerd"); perr == nil {
		fmt.Fprintf(stdout, "containerd: %s (%s --version; nothing answers at %s)\n", v, path, cfg.ContainerdAddress)
	} else {
		fmt.Fprintf(stdout, "containerd: not found (nothing answers at %s, and %v)\n", cfg.ContainerdAddress, perr)
	}
	if path, v, err := selfcheck.BinaryVersion(ctx, "runc"); err == nil {
		fmt.Fprintf(stdout, "runc: %s (%s)\n", v, path)
	} else {
		fmt.Fprintf(stdout, "runc: not found (%v)\n", err)
	}
	return 0
}
