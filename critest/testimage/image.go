// Package testimage builds small, reproducible container images for
// podshim's tests and the critest harness (busybox from Debian's
// busybox-static, single static binaries such as pause), serves them from an
// in-process OCI registry on 127.0.0.1 and writes the containerd hosts.toml
// files that make a runtime pull them through a plain-http mirror.
//
// Every image is built with fixed timestamps and a fixed file order, so the
// same inputs always give the same digests.
package testimage

import (
	"fmt"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// DefaultPath is the PATH set in images built by this package.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// NewImage assembles a linux image for the machine's architecture from layers
// (bottom first) and a runtime config, with BuildTime as its creation time.
// comment is recorded in the image history of each layer.
func NewImage(cfg v1.Config, comment string, layers ...*Layer) (v1.Image, error) {
	img := empty.Image
	for i, l := range layers {
		layer, err := l.V1Layer()
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
		img, err = mutate.Append(img, mutate.Addendum{
			Layer: layer,
			History: v1.History{
				Created:   v1.Time{Time: BuildTime},
				CreatedBy: comment,
				Comment:   "podshim testimage",
			},
		})
		if err != nil {
			return nil, fmt.Errorf("append layer %d: %w", i, err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.Architecture = runtime.GOARCH
	cf.OS = "linux"
	cf.Created = v1.Time{Time: BuildTime}
	cf.Config = cfg
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("set config: %w", err)
	}
	return img, nil
}

// WithConfig returns img with its runtime config changed by edit. It adds no
// layer, so the new image shares all layers with img.
func WithConfig(img v1.Image, edit func(*v1.Config)) (v1.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cf = cf.DeepCopy()
	edit(&cf.Config)
	out, err := mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("set config: %w", err)
	}
	return out, nil
}

// WithLayer returns img with one more layer on top, and its runtime config
// changed by edit (edit may be nil).
func WithLayer(img v1.Image, l *Layer, comment string, edit func(*v1.Config)) (v1.Image, error) {
	layer, err := l.V1Layer()
	if err != nil {
		return nil, err
	}
	out, err := mutate.Append(img, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   v1.Time{Time: BuildTime},
			CreatedBy: comment,
			Comment:   "podshim testimage",
		},
	})
	if err != nil {
		return nil, fmt.Errorf("append layer: %w", err)
	}
	if edit == nil {
		return out, nil
	}
	return WithConfig(out, edit)
}
