package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/log"

	"github.com/podshim/podshim/checkpoint"
	"github.com/podshim/podshim/cri"
	"github.com/podshim/podshim/cri/events"
	"github.com/podshim/podshim/cri/spec"
	"github.com/podshim/podshim/cri/stats"
	"github.com/podshim/podshim/faultpoint"
	"github.com/podshim/podshim/features"
	"github.com/podshim/podshim/image"
	"github.com/podshim/podshim/instance"
	"github.com/podshim/podshim/network"
	"github.com/podshim/podshim/podmetrics"
	"github.com/podshim/podshim/podresources"
	"github.com/podshim/podshim/sandbox"
	"github.com/podshim/podshim/sandboxshim"
	"github.com/podshim/podshim/server"
	"github.com/podshim/podshim/shimgroup"
	"github.com/podshim/podshim/validate"
)

// run starts podshim and serves until ctx ends. Pods keep running when the
// daemon stops; the next start recovers them.
func run(ctx context.Context, cfg Config) error {
	// One podshimd per root, and never one that takes a live socket over.
	lock, err := instance.Acquire(cfg.Root)
	if err != nil {
		return err
	}
	defer lock.Release()
	if err := instance.ClaimSocket(socketPath(cfg.Listen)); err != nil {
		return err
	}
	// Next, so that the rest of start-up can be profiled too.
	debug, err := startDebugServer(ctx, cfg.DebugAddress)
	if err != nil {
		return err
	}
	defer debug.Stop()
	obs, err := startObservability(ctx, cfg)
	if err != nil {
		return err
	}
	defer obs.Stop()
	// Crash points are armed from the environment, once, for tests.
	faults, err := faultpoint.FromEnv()
	if err != nil {
		return err
	}
	if faults != nil {
		log.G(ctx).WithField(faultpoint.Env, os.Getenv(faultpoint.Env)).Warn("crash point armed: podshimd will kill itself there")
	}
	for _, d := range []string{cfg.Root, cfg.State} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	client, err := connectContainerd(ctx, cfg, obs.containerdOptions()...)
	if err != nil {
		return err
	}
	defer client.Close()
	ctx = namespaces.WithNamespace(ctx, cfg.ContainerdNamespace)

	specOpts, err := specOptions(cfg)
	if err != nil {
		return err
	}
	specOpts.Features = features.Detect(ctx, client, cfg.Snapshotter, "runc")
	netMgr := network.New(network.Options{
		ConfDir:  cfg.CNIConfDir,
		BinDirs:  cfg.CNIBinDirs,
		CacheDir: filepath.Join(cfg.State, "cni-cache"),
		NetNSDir: cfg.NetNSDir,
		Recorder: obs.cni,
		Faults:   faults,
	})
	if err := netMgr.Status(); err != nil {
		log.G(ctx).WithError(err).Warn("pod network not ready yet; Status reports NetworkReady=false until a CNI config appears")
	}
	pauseBinary := cfg.PauseBinary
	if pauseBinary == "" {
		pauseBinary = besideExecutable("pause")
	}
	sandboxImage := cfg.SandboxImage
	if sandboxImage == "" {
		sandboxImage = image.DefaultSandboxImage
	}
	images, err := image.New(ctx, image.Options{
		Client:            client,
		Snapshotter:       cfg.Snapshotter,
		KeepLayerBlobs:    cfg.KeepLayerBlobs,
		RegistryConfigDir: cfg.RegistryConfigDir,
		SandboxImage:      sandboxImage,
		PauseBinary:       pauseBinary,
		Pulls:             obs.pulls,
		Faults:            faults,
		Removed: func(id string) {
			if err := specOpts.ImageFiles.Forget(id); err != nil {
				log.G(ctx).WithError(err).Warn("forget image files")
			}
		},
	})
	if err != nil {
		return fmt.Errorf("image service: %w", err)
	}
	var imageIDs []string
	for _, img := range images.List(ctx) {
		imageIDs = append(imageIDs, img.ID)
	}
	if err := specOpts.ImageFiles.Prune(imageIDs); err != nil {
		log.G(ctx).WithError(err).Warn("prune image files of removed images")
	}
	if sandboxImage == image.DefaultSandboxImage {
		if _, err := images.EnsureSandboxImage(ctx); err != nil {
			return fmt.Errorf("import podshim's pause image: %w", err)
		}
	}
	// Each podshim keeps runc's state under its own state dir, so that two
	// instances (or containerd's CRI on the same host) never share it.
	rts, handlerFeatures, err := loadRuntimes(ctx, cfg, client)
	if err != nil {
		return err
	}
	defaultRuntime, _ := rts.Get("")
	runcOpts := defaultRuntime.Options
	shims := sandboxshim.New(client, specOpts.Features.SandboxShim)
	sandboxes := sandbox.New(sandbox.Options{
		Client: client, Images: images, Network: netMgr,
		RootDir: cfg.Root, StateDir: cfg.State, Snapshotter: cfg.Snapshotter,
		Spec: specOpts, RuntimeOptions: runcOpts, Phases: obs.phases, Faults: faults,
		ContainerdAddress: cfg.ContainerdAddress, Shims: shims, Runtimes: rts, Groups: shimgroup.New(cfg.ShimGroupSize),
		Lifetime: ctx,
	})
	criu := &checkpoint.CRIU{}
	containers := cri.New(cri.Options{
		Client: client, Images: images, Sandboxes: sandboxes,
		RootDir: cfg.Root, StateDir: cfg.State, Snapshotter: cfg.Snapshotter,
		Spec: specOpts, RuntimeOptions: runcOpts, Phases: obs.phases, Logs: obs.logs,
		RestoreCheck: criu.Check, Faults: faults, Shims: shims,
	})
	obs.watch(sandboxes, containers)
	checkpoints, err := checkpoint.New(checkpoint.Options{Client: client, Containers: containers, RootDir: cfg.Root, CRIU: criu})
	if err != nil {
		return err
	}

	// Subscribe before recovering, so that no exit falls between the two.
	events.NewMonitor(client, cfg.ContainerdNamespace, sandboxes, containers).Subscribe(ctx)
	start := time.Now()
	if err := sandboxes.Recover(ctx); err != nil {
		return err
	}
	if err := containers.Recover(ctx); err != nil {
		return err
	}
	log.G(ctx).WithField("duration", time.Since(start)).Info("state recovered")
	obs.recovered(len(sandboxes.List()), total(containers.CountByState()), time.Since(start))

	streams, err := server.NewStreamServer(cfg.StreamAddress, containers.Streaming())
	if err != nil {
		return err
	}
	go streams.Serve(ctx)
	log.G(ctx).WithField("address", streams.Addr()).Info("streaming server listening")

	cgroups, err := stats.NewReader()
	if err != nil {
		log.G(ctx).WithError(err).Warn("cgroups unreadable: pod resizing and pod metrics are off")
	}
	srv := server.New(server.Options{
		Namespace: cfg.ContainerdNamespace, Client: client,
		Sandboxes: sandboxes, Containers: containers, Images: images, Network: netMgr,
		CgroupDriver: cfg.CgroupDriver, Streaming: streams, Features: specOpts.Features, HandlerFeatures: handlerFeatures,
		Requests: obs.requests, Tracing: obs.tracing, Checkpoints: checkpoints, Node: validate.ReadNode(),
		PodResources: podresources.New(podresources.Options{Sandboxes: sandboxes, Cgroups: cgroups, CgroupDriver: cfg.CgroupDriver}),
		PodMetrics:   podmetrics.New(ctx, podmetrics.Options{Sandboxes: sandboxes, Containers: containers, Cgroups: cgroups}),
	})
	return serve(ctx, cfg, srv)
}

func connectContainerd(ctx context.Context, cfg Config, extra ...containerd.ClientOpt) (*containerd.Client, error) {
	opts := append([]containerd.ClientOpt{containerd.WithDefaultNamespace(cfg.ContainerdNamespace), containerd.WithTimeout(10 * time.Second)}, extra...)
	client, err := containerd.New(cfg.ContainerdAddress, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to containerd at %s: %w (is containerd running?)", cfg.ContainerdAddress, err)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if serving, err := client.IsServing(cctx); err != nil || !serving {
		client.Close()
		return nil, fmt.Errorf("containerd at %s is not serving: %v (is containerd running?)", cfg.ContainerdAddress, err)
	}
	v, err := client.Version(cctx)
	if err == nil {
		log.G(ctx).WithField("version", v.Version).Info("connected to containerd")
	}
	return client, nil
}

// specOptions returns the node-level spec settings, clamping containers'
// oom_score_adj to the daemon's own when it may not lower it.
func specOptions(cfg Config) (spec.Options, error) {
	adj, canLower, err := spec.CurrentOOMScoreAdj()
	if err != nil {
		return spec.Options{}, fmt.Errorf("read own oom_score_adj: %w", err)
	}
	return spec.Options{
		CgroupDriver:        cfg.CgroupDriver,
		RestrictOOMScoreAdj: !canLower,
		MinOOMScoreAdj:      adj,
		ImageFiles:          spec.NewImageFiles(filepath.Join(cfg.State, "image-files")),
	}, nil
}

func serve(ctx context.Context, cfg Config, srv *server.Server) error {
	sock := socketPath(cfg.Listen)
	if err := os.MkdirAll(filepath.Dir(sock), 0o750); err != nil {
		return fmt.Errorf("create socket dir: %w", err)
	}
	// Claimed again: a socket may have appeared during start-up.
	if err := instance.ClaimSocket(sock); err != nil {
		return err
	}
	l, err := net.Listen("unix", sock)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", sock, err)
	}
	if err := os.Chmod(sock, 0o660); err != nil {
		l.Close()
		return err
	}
	g := srv.GRPCServer()
	errCh := make(chan error, 1)
	go func() { errCh <- g.Serve(l) }()
	log.G(ctx).WithField("socket", sock).Info("podshim serving CRI")
	select {
	case err := <-errCh:
		return err
	case <-ctx.Done():
	}
	log.G(ctx).Info("shutting down; pods keep running")
	done := make(chan struct{})
	go func() { g.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		g.Stop()
	}
	return nil
}

func besideExecutable(name string) string {
	exe, err := os.Executable()
	if err != nil {
		return name
	}
	return filepath.Join(filepath.Dir(exe), name)
}
