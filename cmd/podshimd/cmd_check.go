package main

import (
	"context"
	"fmt"
	"io"

	"github.com/podshim/podshim/image"
	"github.com/podshim/podshim/selfcheck"
)

// cmdCheck runs `podshimd check`: it prints what it finds and exits 1
// when podshim could not run pods (an error), 0 otherwise (warnings).
func cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, code := parseCommandFlags("check", args, stdout, stderr)
	if code >= 0 {
		return code
	}
	findings := selfcheck.Run(ctx, checkOptions(cfg))
	if err := selfcheck.Write(stdout, findings); err != nil {
		fmt.Fprintf(stderr, "podshimd check: %v\n", err)
		return 1
	}
	if errs, _ := selfcheck.Count(findings); errs > 0 {
		return 1
	}
	return 0
}

// checkOptions says what selfcheck should look at for cfg, as run would
// use it.
func checkOptions(cfg Config) selfcheck.Options {
	o := selfcheck.Options{
		ContainerdAddress:   cfg.ContainerdAddress,
		ContainerdNamespace: cfg.ContainerdNamespace,
		Snapshotter:         cfg.Snapshotter,
		Runtimes:            map[string]string{"runc": "runc"},
		CNIConfDir:          cfg.CNIConfDir,
		CNIBinDirs:          cfg.CNIBinDirs,
		CgroupDriver:        cfg.CgroupDriver,
		NetNSDir:            cfg.NetNSDir,
		Root:                cfg.Root,
		State:               cfg.State,
		RegistryConfigDir:   cfg.RegistryConfigDir,
		PauseBinary:         cfg.PauseBinary,
	}
	if cfg.SandboxImage != "" && cfg.SandboxImage != image.DefaultSandboxImage {
		o.SandboxImage = cfg.SandboxImage
	}
	if o.PauseBinary == "" {
		o.PauseBinary = besideExecutable("pause")
	}
	return o
}
