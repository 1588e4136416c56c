package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// pauseImageTime is the fixed timestamp of every file and date in the
// pause image, so that the same binary always gives the same image ID.
var pauseImageTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// buildPauseImage returns podshim's pause image for arch: an OCI image of
// one uncompressed layer holding the pause binary as /pause (mode 0755,
// root-owned) and empty /dev, /etc, /proc and /sys, running /pause as
// 65535:65535. Uncompressed, so the digests depend on nothing but the
// binary (no compressor version in the way).
func buildPauseImage(binary []byte, arch string) (v1.Image, error) {
	layerTar, err := pauseLayer(binary)
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer: static.NewLayer(layerTar, types.OCIUncompressedLayer),
		History: v1.History{
			Created:   v1.Time{Time: pauseImageTime},
			CreatedBy: "podshim: COPY pause /pause",
		},
	})
	if err != nil {
		return nil, fmt.Errorf("pause image layer: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("pause image config: %w", err)
	}
	cfg = cfg.DeepCopy()
	cfg.Architecture = arch
	cfg.OS = "linux"
	cfg.Created = v1.Time{Time: pauseImageTime}
	cfg.Config = v1.Config{
		Entrypoint: []string{"/pause"},
		User:       "65535:65535",
		WorkingDir: "/",
		Env:        []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
	}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, fmt.Errorf("pause image config: %w", err)
	}
	return img, nil
}

// pauseLayer writes the pause image's only layer as a tar archive.
func pauseLayer(binary []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, dir := range []string{"dev/", "etc/", "proc/", "sys/"} {
		if err := tw.WriteHeader(&tar.Header{
			Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: pauseImageTime, Format: tar.FormatUSTAR,
		}); err != nil {
			return nil, fmt.Errorf("pause layer: %w", err)
		}
	}
	if err := tw.WriteHeader(&tar.Header{
		Typeflag: tar.TypeReg, Name: "pause", Mode: 0o755, Size: int64(len(binary)), ModTime: pauseImageTime, Format: tar.FormatUSTAR,
	}); err != nil {
		return nil, fmt.Errorf("pause layer: %w", err)
	}
	if _, err := tw.Write(binary); err != nil {
		return nil, fmt.Errorf("pause layer: %w", err)
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("pause layer: %w", err)
	}
	return buf.Bytes(), nil
}
