//go:build kubelet_e2e

package e2e

import (
	"context"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/podshim/podshim/critest/testimage"
)

// Image names the tests use. hosts.toml files send docker.io and
// registry.k8s.io to the test registry, so they are pulled under these
// realistic names; each pull-policy case has a repository of its own so
// that its registry requests can be counted apart.
const (
	busyboxImage     = "docker.io/library/busybox:1.36"
	ifNotPresentRepo = "podshim/ifnotpresent"
	alwaysRepo       = "podshim/always"
	noPolicyRepo     = "podshim/nopolicy"
	neverRepo        = "podshim/never" // never pushed nor pulled
)

// testRegistry is podshim's in-process test registry (critest/testimage) on
// 127.0.0.1, which records every request it serves.
type testRegistry struct {
	*testimage.Registry
}

func startRegistry(ctx context.Context) (*testRegistry, error) {
	r, err := testimage.StartRegistry(ctx)
	if err != nil {
		return nil, err
	}
	return &testRegistry{r}, nil
}

func (r *testRegistry) stop() {
	if r != nil {
		_ = r.Close()
	}
}

// mark returns a position in the request log; the counts below look only
// at the requests after it.
func (r *testRegistry) mark() int {
	return len(r.Requests())
}

// requestsFor lists the requests for repo after mark ("METHOD /v2/...").
func (r *testRegistry) requestsFor(repo string, mark int) []string {
	var out []string
	for _, q := range r.Requests()[mark:] {
		if _, path, _ := strings.Cut(q, " "); strings.HasPrefix(path, "/v2/"+repo+"/") {
			out = append(out, q)
		}
	}
	return out
}

// manifestRequests counts the manifest requests (GET or HEAD, by tag or by
// digest) for repo after mark: one per resolve of an image reference.
func (r *testRegistry) manifestRequests(repo string, mark int) int {
	n := 0
	for _, q := range r.requestsFor(repo, mark) {
		if strings.Contains(q, "/v2/"+repo+"/manifests/") {
			n++
		}
	}
	return n
}

// pushTestImages pushes busybox (Debian's busybox-static) under every name
// the tests use, and the pause image made of pauseBin when that is set.
func (r *testRegistry) pushTestImages(ctx context.Context, pauseBin string) error {
	busybox, err := testimage.Busybox()
	if err != nil {
		return err
	}
	pushes := map[string]v1.Image{
		"library/busybox:1.36":    busybox,
		ifNotPresentRepo + ":1.0": busybox,
		alwaysRepo + ":1.0":       busybox,
		noPolicyRepo + ":latest":  busybox,
	}
	if pauseBin != "" {
		// As registry.k8s.io/pause: the binary as entrypoint, user 65535.
		pause, err := testimage.FromBinary(pauseBin, "/pause", "65535:65535")
		if err != nil {
			return err
		}
		pushes["pause:3.10"] = pause
	}
	for repoTag, img := range pushes {
		if err := r.PushContext(ctx, repoTag, img); err != nil {
			return err
		}
	}
	return nil
}

// writeHostsTOML writes the hosts.toml files (the layout both containerd's
// CRI and podshimd read) that send docker.io and registry.k8s.io to the
// test registry over plain http, never to the real upstream.
func (r *testRegistry) writeHostsTOML(dir string) error {
	for _, host := range []string{"docker.io", "registry.k8s.io"} {
		if err := testimage.WriteHostsTOML(dir, host, r.Addr()); err != nil {
			return fmt.Errorf("hosts.toml for %s: %w", host, err)
		}
	}
	return nil
}
