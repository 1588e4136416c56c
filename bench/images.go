package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/podshim/podshim/critest/testimage"
)

// Images names the images the benchmark serves from its registry.
type Images struct {
	Pause   string   // the sandbox image of both runtimes (podshim's bin/pause)
	Busybox string   // the containers' image
	Big     []string // one 4-layer image per pull round, all with different content
	BigSize int64    // compressed size of one big image
}

// bigLayers and bigLayerBytes shape the pull workload's image: 4 layers of
// random (incompressible) bytes, ~50 MB in all.
const (
	bigLayers      = 4
	bigLayerBytes  = 12_500_000
	bigFilesPerLyr = 5
)

// pushImages builds the benchmark's images and pushes them to reg.
func pushImages(ctx context.Context, reg *testimage.Registry, pauseBin string, pullRounds int) (Images, error) {
	start := time.Now()
	pause, err := testimage.FromBinary(pauseBin, "/pause", "65535:65535")
	if err != nil {
		return Images{}, fmt.Errorf("pause image: %w", err)
	}
	busybox, err := testimage.Busybox()
	if err != nil {
		return Images{}, fmt.Errorf("busybox image: %w", err)
	}
	imgs := Images{Pause: reg.Addr() + "/bench/pause:1", Busybox: reg.Addr() + "/bench/busybox:1"}
	if err := reg.PushContext(ctx, "bench/pause:1", pause); err != nil {
		return Images{}, err
	}
	if err := reg.PushContext(ctx, "bench/busybox:1", busybox); err != nil {
		return Images{}, err
	}
	for r := 0; r < pullRounds; r++ {
		img, err := bigImage(uint64(1000 + r))
		if err != nil {
			return Images{}, err
		}
		tag := fmt.Sprintf("bench/big:%d", r)
		if err := reg.PushContext(ctx, tag, img); err != nil {
			return Images{}, err
		}
		if imgs.BigSize == 0 {
			imgs.BigSize = compressedSize(img)
		}
		imgs.Big = append(imgs.Big, reg.Addr()+"/"+tag)
	}
	logf("images built and pushed in %s (%d pull images of %.1f MB)", time.Since(start).Round(time.Millisecond),
		len(imgs.Big), float64(imgs.BigSize)/1e6)
	return imgs, nil
}

// bigImage returns a 4-layer image of ~50 MB whose content depends only on
// seed, so every run pulls the same bytes.
func bigImage(seed uint64) (v1.Image, error) {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	rng := rand.NewChaCha8(key)
	var layers []*testimage.Layer
	for l := 0; l < bigLayers; l++ {
		layer := testimage.NewLayer()
		for f := 0; f < bigFilesPerLyr; f++ {
			data := make([]byte, bigLayerBytes/bigFilesPerLyr)
			_, _ = rng.Read(data)
			layer.File(fmt.Sprintf("/data/layer%d/file%d.bin", l, f), 0o644, data)
		}
		layers = append(layers, layer)
	}
	img, err := testimage.NewImage(v1.Config{Cmd: []string{"/bin/true"}}, fmt.Sprintf("bench big image, seed %d", seed), layers...)
	if err != nil {
		return nil, fmt.Errorf("big image %d: %w", seed, err)
	}
	return img, nil
}

// compressedSize adds up the compressed sizes of img's layers.
func compressedSize(img v1.Image) int64 {
	m, err := img.Manifest()
	if err != nil {
		return 0
	}
	var n int64
	for _, l := range m.Layers {
		n += l.Size
	}
	return n
}
