// Package images lists the container images the Kubernetes node conformance
// suite (test/e2e_node, [NodeConformance]) pulls, and builds a stand-in for
// each: the images critest's catalog already builds (busybox, nginx, httpd,
// nonewprivs, pause) under the names and tags e2e_node uses, plus agnhost
// (the static binary built from the same Kubernetes module as the test
// binary) and nonroot.
//
// The names follow k8s.io/kubernetes test/utils/image/manifest.go at the
// pinned Kubernetes version (kubelet/kubelet.mk KUBELET_VERSION).
package images

import (
	"fmt"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/podshim/podshim/critest/catalog"
	"github.com/podshim/podshim/critest/testimage"
)

const e2e = "registry.k8s.io/e2e-test-images/"

// Names of the images of the suite, as test/utils/image/manifest.go spells
// them.
const (
	Agnhost  = e2e + "agnhost:2.56"
	BusyBox  = e2e + "busybox:1.37.0-1"
	Nginx    = e2e + "nginx:1.14-4"
	NginxNew = e2e + "nginx:1.15-4"
	Httpd    = e2e + "httpd:2.4.38-4"
	HttpdNew = e2e + "httpd:2.4.39-4"
	// Nonewprivs has the same name in critest and in e2e_node.
	Nonewprivs = e2e + "nonewprivs:1.3"
	NonRoot    = e2e + "nonroot:1.4"
	// Pause is imageutils.GetPauseImageName(), also the sandbox image.
	Pause = "registry.k8s.io/pause:3.10.1"
)

// Skipped lists images the suite names that are not built, with the reason.
// A spec that needs one fails at its image pull; it must be listed in
// node-e2e/skip.txt.
func Skipped() []catalog.Skipped {
	return []catalog.Skipped{
		{Name: e2e + "busybox@sha256:a9155b13325b2abef48e71de77bb8ac015412a566829f621d06bfae5c699b1b9",
			Reason: "pinned by a digest of an upstream build that cannot be reproduced locally"},
		{Name: e2e + "perl:5.26", Reason: "no perl on this machine to package (node-perf specs only)"},
		{Name: "gcr.io/cadvisor/cadvisor:v0.47.2", Reason: "cadvisor image: not built (no NodeConformance spec runs it)"},
	}
}

// stand-ins maps each e2e_node name built from a critest catalog image to
// that image's critest name.
var standIns = []struct{ name, critest string }{
	{BusyBox, catalog.DefaultBusybox},
	{Nginx, e2e + "nginx:1.14-2"},
	{NginxNew, e2e + "nginx:1.14-2"},
	{Httpd, e2e + "httpd:2.4.39-4"},
	{HttpdNew, e2e + "httpd:2.4.39-4"},
	{Nonewprivs, e2e + "nonewprivs:1.3"},
	{Pause, catalog.SandboxImage},
}

// Build builds every image of the suite. agnhostBin is the static agnhost
// binary (kubelet/build.sh agnhost), with agnhost-localhost.crt and
// agnhost-localhost.key (test/images/agnhost/porter) beside it; in.HelpersDir must also hold curl
// (node-e2e/helpers/curl), nc (node-e2e/helpers/nc) and nmeter
// (node-e2e/helpers/nmeter).
func Build(in catalog.Inputs, agnhostBin string) ([]catalog.Entry, error) {
	crit, err := catalog.Build(in)
	if err != nil {
		return nil, err
	}
	byName := map[string]v1.Image{}
	for _, e := range crit {
		for _, n := range e.Names {
			byName[n] = e.Image
		}
	}
	var out []catalog.Entry
	for _, s := range standIns {
		img, ok := byName[s.critest]
		if !ok {
			return nil, fmt.Errorf("critest catalog has no %s (for %s)", s.critest, s.name)
		}
		if s.name == BusyBox {
			if img, err = withNmeter(img, filepath.Join(in.HelpersDir, "nmeter")); err != nil {
				return nil, fmt.Errorf("build %s: %w", BusyBox, err)
			}
		}
		out = append(out, catalog.Entry{Names: []string{s.name}, Image: img})
	}
	base := byName[catalog.DefaultBusybox]
	ag, err := agnhost(base, agnhostBin, in.HelpersDir)
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", Agnhost, err)
	}
	out = append(out, catalog.Entry{Names: []string{Agnhost}, Image: ag})
	nr, err := testimage.WithConfig(base, func(c *v1.Config) { c.User = "1234" })
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", NonRoot, err)
	}
	out = append(out, catalog.Entry{Names: []string{NonRoot}, Image: nr})
	return out, nil
}

// withNmeter adds /bin/nmeter (node-e2e/helpers/nmeter) to the busybox
// stand-in: Debian's busybox has no nmeter applet, and the container
// lifecycle specs run `nmeter -d0 '%3t'` in busybox containers.
func withNmeter(base v1.Image, nmeter string) (v1.Image, error) {
	l := testimage.NewLayer()
	if err := l.HostFile("/bin/nmeter", 0o755, nmeter); err != nil {
		return nil, err
	}
	return testimage.WithLayer(base, l, "nmeter", nil)
}

// agnhost is test/images/agnhost/Dockerfile on the busybox base: /agnhost
// and the /agnhost-2 link, /uploads, user-defined-in-image (uid 1000) in
// group-defined-in-image (gid 50000), ENTRYPOINT /agnhost, CMD pause, curl
// and nc (the Dockerfile's curl and netcat-openbsd: the suites exec them in
// agnhost pods; node-e2e/helpers, from helpers) and /localhost.crt and
// /localhost.key.
func agnhost(base v1.Image, bin, helpers string) (v1.Image, error) {
	l := testimage.NewLayer()
	if err := l.HostFile("/agnhost", 0o755, bin); err != nil {
		return nil, err
	}
	// /usr/bin comes before /bin (busybox's nc, without -u) on PATH.
	for _, h := range []string{"curl", "nc"} {
		if err := l.HostFile("/usr/bin/"+h, 0o755, filepath.Join(helpers, h)); err != nil {
			return nil, err
		}
	}
	// The image's test TLS pair (ADD porter/localhost.crt, .key): netexec
	// serves https with it in the lifecycle hook specs.
	for _, f := range []string{"localhost.crt", "localhost.key"} {
		if err := l.HostFile("/"+f, 0o644, filepath.Join(filepath.Dir(bin), "agnhost-"+f)); err != nil {
			return nil, err
		}
	}
	l.Symlink("/agnhost-2", "agnhost")
	l.Dir("/uploads", 0o755)
	l.Dir("/home/user-defined-in-image", 0o755)
	l.File("/etc/passwd", 0o644, []byte(testimage.Passwd+
		"user-defined-in-image:x:1000:1000:Linux User,,,:/home/user-defined-in-image:/bin/sh\n"))
	l.File("/etc/group", 0o644, []byte(testimage.Group+
		"user-defined-in-image:x:1000:\ngroup-defined-in-image:x:50000:user-defined-in-image\n"))
	return testimage.WithLayer(base, l, "agnhost", func(c *v1.Config) {
		c.Entrypoint = []string{"/agnhost"}
		c.Cmd = []string{"pause"}
		c.ExposedPorts = map[string]struct{}{"80/tcp": {}, "8080/tcp": {}, "8081/tcp": {}, "9376/tcp": {}, "5000/tcp": {}}
	})
}
