package image

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"testing"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/images"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/containerd/remotes/docker"
	"github.com/containerd/containerd/remotes/docker/config"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/critest/containerdconf"
	"github.com/podshim/podshim/critest/testenv"
	"github.com/podshim/podshim/critest/testimage"
)

// The cold-pull image, shaped like the benchmark's (bench/images.go): 4
// layers of seeded random (incompressible) bytes, ~50 MB in all.
const (
	coldLayers        = 4
	coldLayerBytes    = 12_500_000
	coldFilesPerLayer = 5
)

// BenchmarkPullCold pulls a 4-layer ~50 MB image nobody has seen from a
// local plain-http registry (through a hosts.toml, as bench/ does) and
// removes it again: through podshim's image service (as configured by
// default, and with KeepLayerBlobs), through the bare containerd client
// (client.Pull with WithPullUnpack and default options, the `ctr pull`
// path) and through containerd's own CRI plugin on a containerd of its
// own. Every round pulls once each way, in a rotating order, and every
// pull is of an image of its own, so nothing is ever warm. It reports each
// way's median pull (podshim's also as ns/op). Run it with a fixed count:
//
//	go test -run '^$' -bench PullCold -benchtime 10x ./image/
func BenchmarkPullCold(b *testing.B) {
	e := newEnv(b)
	logrus.SetLevel(logrus.WarnLevel)
	b.Cleanup(func() { logrus.SetLevel(logrus.InfoLevel) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	ctx = namespaces.WithNamespace(ctx, testNamespace)

	reg, err := testimage.StartRegistry(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { reg.Close() })
	hostsDir := b.TempDir()
	if err := testimage.WriteHostsTOML(hostsDir, reg.Addr(), reg.Addr()); err != nil {
		b.Fatal(err)
	}

	s := e.service(b, Options{RegistryConfigDir: hostsDir})
	keep := e.service(b, Options{RegistryConfigDir: hostsDir, KeepLayerBlobs: true})
	hosts := config.ConfigureHosts(ctx, config.HostOptions{HostDir: config.HostDirFromRoot(hostsDir)})
	cri := criImageService(b, hostsDir)
	ways := []pullWay{{
		name: "podshim",
		pull: func(ref string) error {
			_, err := s.Pull(ctx, ref, nil)
			return err
		},
		remove: func(ref string) error { return s.Remove(ctx, ref) },
	}, {
		name: "podshim-keep",
		pull: func(ref string) error {
			_, err := keep.Pull(ctx, ref, nil)
			return err
		},
		remove: func(ref string) error { return keep.Remove(ctx, ref) },
	}, {
		name: "client",
		pull: func(ref string) error {
			resolver := docker.NewResolver(docker.ResolverOptions{Hosts: hosts})
			_, err := e.client.Pull(ctx, ref, containerd.WithResolver(resolver), containerd.WithPullUnpack)
			return err
		},
		remove: func(ref string) error {
			return e.client.ImageService().Delete(ctx, ref, images.SynchronousDelete())
		},
	}, {
		name: "cri",
		pull: func(ref string) error {
			_, err := cri.PullImage(ctx, &runtime.PullImageRequest{Image: &runtime.ImageSpec{Image: ref}})
			return err
		},
		remove: func(ref string) error {
			_, err := cri.RemoveImage(ctx, &runtime.RemoveImageRequest{Image: &runtime.ImageSpec{Image: ref}})
			return err
		},
	}}
	cold := &coldImages{reg: reg}
	b.Run("rounds", func(b *testing.B) {
		benchPulls(b, cold, ways)
	})
}

// pullWay is one way of pulling an image and removing it again.
type pullWay struct {
	name         string
	pull, remove func(ref string) error
}

// benchPulls runs b.N rounds of one cold pull with each way, in a rotating
// order. Only the pulls are timed. Before each, the round's images are
// built and pushed, and written data is synced to disk, so that no pull
// pays for the previous one's writeback.
func benchPulls(b *testing.B, cold *coldImages, ways []pullWay) {
	b.StopTimer()
	took := make([][]time.Duration, len(ways))
	for r := range b.N {
		refs := make([]string, len(ways))
		for i := range refs {
			refs[i] = cold.next(b)
		}
		for k := range ways {
			i := (r + k) % len(ways)
			goruntime.GC()
			unix.Sync()
			b.StartTimer()
			start := time.Now()
			err := ways[i].pull(refs[i])
			took[i] = append(took[i], time.Since(start))
			b.StopTimer()
			if err != nil {
				b.Fatalf("%s: pull %s: %v", ways[i].name, refs[i], err)
			}
			if err := ways[i].remove(refs[i]); err != nil {
				b.Fatalf("%s: remove %s: %v", ways[i].name, refs[i], err)
			}
		}
	}
	for i, w := range ways {
		slices.Sort(took[i])
		p50 := took[i][len(took[i])/2]
		b.ReportMetric(float64(p50.Microseconds())/1000, w.name+"-p50-ms")
		if i == 0 {
			b.ReportMetric(float64(p50.Nanoseconds()), "ns/op")
		}
		b.Logf("%s: %d pulls: %v", w.name, b.N, took[i])
	}
}

// coldImages builds and pushes one fresh cold-pull image per call of next.
type coldImages struct {
	reg  *testimage.Registry
	seed uint64
}

// next pushes a new image and returns its reference.
func (c *coldImages) next(b *testing.B) string {
	b.Helper()
	c.seed++
	img, err := coldImage(c.seed)
	if err != nil {
		b.Fatal(err)
	}
	tag := fmt.Sprintf("bench/cold:%d", c.seed)
	if err := c.reg.Push(tag, img); err != nil {
		b.Fatal(err)
	}
	return c.reg.Addr() + "/" + tag
}

// coldImage returns the cold-pull image whose bytes depend only on seed.
func coldImage(seed uint64) (v1.Image, error) {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	rng := rand.NewChaCha8(key)
	var layers []*testimage.Layer
	for l := range coldLayers {
		layer := testimage.NewLayer()
		for f := range coldFilesPerLayer {
			data := make([]byte, coldLayerBytes/coldFilesPerLayer)
			_, _ = rng.Read(data)
			layer.File(fmt.Sprintf("/data/layer%d/file%d.bin", l, f), 0o644, data)
		}
		layers = append(layers, layer)
	}
	img, err := testimage.NewImage(v1.Config{Cmd: []string{"/bin/true"}}, fmt.Sprintf("cold pull image, seed %d", seed), layers...)
	if err != nil {
		return nil, fmt.Errorf("cold pull image %d: %w", seed, err)
	}
	return img, nil
}

// criImageService starts a containerd with its own CRI plugin on (overlayfs,
// registry config_path hostsDir, no CNI network) and returns a CRI image
// client of it.
func criImageService(b *testing.B, hostsDir string) runtime.ImageServiceClient {
	b.Helper()
	dir, err := os.MkdirTemp("", "podshim-ctrd-cri-")
	if err != nil {
		b.Fatal(err)
	}
	cniDir := filepath.Join(dir, "net.d")
	cri := &containerdconf.CRI{CNIConfDir: cniDir, HostsDir: hostsDir}
	ctrd, err := testenv.StartContainerd(context.Background(), dir, testenv.ContainerdOptions{CRI: cri})
	if err != nil {
		os.RemoveAll(dir)
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctrd.Stop()
		os.RemoveAll(dir)
	})
	conn, err := grpc.NewClient("unix://"+ctrd.Address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	return runtime.NewImageServiceClient(conn)
}
