// Package catalog lists every Linux image that critest (cri-tools v1.36.0)
// pulls, and builds a stand-in for each from Debian packages and the static
// helpers in critest/helpers, reproducibly (the same inputs give the same
// digests on every run).
//
// The names come from cri-tools v1.36.0: pkg/framework/util.go (the default
// busybox), pkg/validate/consts.go (test-image-*, pause, nginx,
// hostnet-nginx), pkg/validate/multi_container_linux.go (httpd) and
// pkg/validate/security_context_linux.go (nginx, nonewprivs); the contents
// follow its images/ directory and the commands its specs run.
package catalog

import (
	"flag"
	"fmt"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/podshim/podshim/critest/testimage"
)

// Inputs are the files the images are made of.
type Inputs struct {
	// BusyboxDir is Debian's busybox package (the dynamically linked build)
	// extracted with dpkg-deb -x; it holds bin/busybox. critest's busybox
	// must not be busybox-static: that build's shell runs applets without
	// exec'ing /bin/<applet>, which breaks the masked-paths spec.
	BusyboxDir string
	// LibcDir is Debian's libc6 package extracted with dpkg-deb -x.
	LibcDir string
	// HelpersDir holds the static binaries built from critest/helpers:
	// pgrep, ipcs, webserver, pause and nnp.
	HelpersDir string
}

// Entry is one image and every name critest pulls it by.
type Entry struct {
	// Names are full references, for example "registry.k8s.io/pause:3.9".
	Names []string
	// Image is the built image.
	Image v1.Image
}

// Skipped is an image critest names that the harness cannot provide.
type Skipped struct {
	Name   string
	Reason string
}

const (
	// e2e is critest's framework.DefaultRegistryE2ETestImagesPrefix.
	e2e = "registry.k8s.io/e2e-test-images/"
	// staging is critest's pkg/validate registry constant.
	staging = "gcr.io/k8s-staging-cri-tools/"

	// SandboxImage is the pause image the harness configures as the sandbox
	// image of containerd's CRI plugin. It differs from pause:3.9 (a label
	// tells the versions apart) because the image specs remove pause:3.9
	// and count its tags.
	SandboxImage = "registry.k8s.io/pause:3.10"
	// DefaultBusybox is critest's default container image.
	DefaultBusybox = e2e + "busybox:1.29-2"
)

// SkippedImages lists the images critest names that are not built, with the
// reason.
func SkippedImages() []Skipped {
	return []Skipped{{
		Name: staging + "test-image-digest@sha256:9700f9a2f5bf2c45f2f605a0bd3bce7cf37420ec9d3ed50ac2758413308766bf",
		Reason: "pinned by a digest: its content is an upstream busybox build that cannot be reproduced from " +
			"Debian packages, so no locally built image can have that digest",
	}}
}

// Hosts are the registry hosts whose images the catalog provides; a runtime
// under test must resolve all of them to the local registry.
func Hosts(entries []Entry) []string {
	seen := map[string]bool{}
	for _, e := range entries {
		for _, n := range e.Names {
			seen[strings.SplitN(n, "/", 2)[0]] = true
		}
	}
	var hosts []string
	for h := range seen {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	return hosts
}

// Build builds every image of the catalog.
func Build(in Inputs) ([]Entry, error) {
	b := &builder{in: in}
	base, err := b.busybox()
	if err != nil {
		return nil, err
	}
	b.base = base

	var entries []Entry
	add := func(img v1.Image, err error, names ...string) error {
		if err != nil {
			return fmt.Errorf("build %s: %w", names[0], err)
		}
		entries = append(entries, Entry{Names: names, Image: img})
		return nil
	}
	steps := []func() error{
		func() error { return add(base, nil, DefaultBusybox) },
		func() error { img, err := b.nginx(80); return add(img, err, e2e+"nginx:1.14-2") },
		func() error {
			img, err := b.nginx(12003)
			return add(img, err, staging+"hostnet-nginx-"+runtime.GOARCH+":latest")
		},
		func() error { img, err := b.httpd(); return add(img, err, e2e+"httpd:2.4.39-4") },
		func() error { img, err := b.nonewprivs(); return add(img, err, e2e+"nonewprivs:1.3") },
		func() error {
			img, err := b.withUser("1002")
			return add(img, err, staging+"test-image-user-uid:latest")
		},
		func() error {
			img, err := b.withUser("www-data")
			return add(img, err, staging+"test-image-user-username:latest")
		},
		func() error {
			img, err := b.withUser("1003:1004")
			return add(img, err, staging+"test-image-user-uid-group:latest")
		},
		func() error {
			img, err := b.withUser("www-data:1004")
			return add(img, err, staging+"test-image-user-username-group:latest")
		},
		func() error {
			img, err := b.predefinedGroup()
			return add(img, err, staging+"test-image-predefined-group:latest")
		},
		func() error {
			img, err := b.marked("test-image-latest")
			return add(img, err, staging+"test-image-latest:latest")
		},
		func() error {
			img, err := b.marked("test-image-1")
			return add(img, err, staging+"test-image-1:latest")
		},
		func() error {
			img, err := b.marked("test-image-2")
			return add(img, err, staging+"test-image-2:latest")
		},
		func() error {
			img, err := b.marked("test-image-3")
			return add(img, err, staging+"test-image-3:latest")
		},
		func() error {
			img, err := b.marked("same-image")
			return add(img, err, staging+"test-image-tags:1", staging+"test-image-tags:2", staging+"test-image-tags:3")
		},
		func() error { img, err := b.marked("test"); return add(img, err, staging+"test-image-tag:test") },
		func() error { img, err := b.marked("all"); return add(img, err, staging+"test-image-tag:all") },
		func() error {
			img, err := b.pause("3.9")
			return add(img, err, "registry.k8s.io/pause:3.9", "k8s.gcr.io/pause:3.9")
		},
		func() error { img, err := b.pause("3.6"); return add(img, err, "registry.k8s.io/pause:3.6") },
		func() error { img, err := b.pause("3.10"); return add(img, err, SandboxImage) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return entries, nil
}

// builder holds the inputs and the shared busybox base image.
type builder struct {
	in   Inputs
	base v1.Image
}

// helper returns the path of a static helper binary.
func (b *builder) helper(name string) string {
	return filepath.Join(b.in.HelpersDir, name)
}

// multiarch returns Debian's multiarch triplet and dynamic loader name.
func multiarch() (triplet, loader string, err error) {
	switch runtime.GOARCH {
	case "amd64":
		return "x86_64-linux-gnu", "ld-linux-x86-64.so.2", nil
	case "arm64":
		return "aarch64-linux-gnu", "ld-linux-aarch64.so.1", nil
	default:
		return "", "", fmt.Errorf("no busybox image recipe for %s", runtime.GOARCH)
	}
}

// busybox builds critest's default image: Debian's dynamically linked
// busybox with its applets hard-linked, the glibc files it needs, and the
// pgrep and ipcs helpers.
func (b *builder) busybox() (v1.Image, error) {
	triplet, loader, err := multiarch()
	if err != nil {
		return nil, err
	}
	libDir := "/lib/" + triplet
	libs := map[string]string{}
	for _, lib := range []string{loader, "libc.so.6", "libresolv.so.2"} {
		libs[libDir+"/"+lib] = filepath.Join(b.in.LibcDir, "lib", triplet, lib)
	}
	symlinks := map[string]string{}
	if runtime.GOARCH == "amd64" {
		symlinks["/lib64/"+loader] = libDir + "/" + loader
	} else {
		symlinks["/lib/"+loader] = triplet + "/" + loader
	}
	img, err := testimage.BusyboxFrom(testimage.BusyboxOptions{
		Binary:   filepath.Join(b.in.BusyboxDir, "bin", "busybox"),
		Libs:     libs,
		Symlinks: symlinks,
		Extra: map[string]string{
			"/usr/bin/pgrep": b.helper("pgrep"),
			"/usr/bin/ipcs":  b.helper("ipcs"),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("busybox: %w", err)
	}
	return img, nil
}

// RegisterFlags adds --busybox-dir, --libc-dir and --helpers-dir to fs.
func (in *Inputs) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&in.BusyboxDir, "busybox-dir", "", "Debian busybox package extracted with dpkg-deb -x")
	fs.StringVar(&in.LibcDir, "libc-dir", "", "Debian libc6 package extracted with dpkg-deb -x")
	fs.StringVar(&in.HelpersDir, "helpers-dir", "", "directory of the static binaries built from critest/helpers")
}

// Check reports a missing input directory.
func (in Inputs) Check() error {
	for flagName, dir := range map[string]string{"busybox-dir": in.BusyboxDir, "libc-dir": in.LibcDir, "helpers-dir": in.HelpersDir} {
		if dir == "" {
			return fmt.Errorf("--%s is required", flagName)
		}
	}
	return nil
}

// RepoPath returns the repository path and tag of a full reference without
// its registry host ("registry.k8s.io/pause:3.9" gives "pause:3.9"): the
// name under which a registry mirror serves it.
func RepoPath(ref string) string {
	parts := strings.SplitN(ref, "/", 2)
	if len(parts) < 2 {
		return ref
	}
	return parts[1]
}
