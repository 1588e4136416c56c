package testimage

import (
	"fmt"
	"path"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// FromBinary returns a one-layer image holding only the static binary binPath
// (a file on this machine) at the in-image path entrypoint, which is also the
// image's entrypoint, for example a pause image:
//
//	FromBinary("bin/pause", "/pause", "65535:65535")
//
// user is the image's USER ("" for root). The image has /etc/passwd and
// /etc/group with root and nobody, and /tmp.
func FromBinary(binPath, entrypoint, user string) (v1.Image, error) {
	entrypoint = clean(entrypoint)
	l := NewLayer()
	l.Dir("/tmp", 0o1777)
	l.File("/etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"))
	l.File("/etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\n"))
	if err := l.HostFile(entrypoint, 0o755, binPath); err != nil {
		return nil, err
	}
	cfg := v1.Config{
		Env:        []string{"PATH=" + DefaultPath},
		Entrypoint: []string{entrypoint},
		User:       user,
	}
	img, err := NewImage(cfg, "binary "+path.Base(binPath), l)
	if err != nil {
		return nil, fmt.Errorf("image from %s: %w", binPath, err)
	}
	return img, nil
}
