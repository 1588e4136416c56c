package sandbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/log"
)

// cgroupRoot is where the host's cgroup hierarchies are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// RemoveEmptyCgroup removes the cgroupfs cgroup at path (as in an OCI
// spec's cgroupsPath) from every hierarchy where it is empty. A runc create
// cut short by a crash leaves the cgroup it made and no task to delete it
// with. A cgroup that still holds processes stays (rmdir fails); systemd
// paths ("slice:prefix:name") belong to systemd and are left alone.
func RemoveEmptyCgroup(ctx context.Context, path string) {
	if path == "" || strings.Contains(path, ":") || !filepath.IsAbs(path) {
		return
	}
	hierarchies, err := os.ReadDir(cgroupRoot)
	if err != nil {
		return
	}
	for _, h := range hierarchies {
		dir := filepath.Join(cgroupRoot, h.Name(), filepath.Clean(path))
		if !strings.HasPrefix(dir, filepath.Join(cgroupRoot, h.Name())+"/") {
			continue
		}
		if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
			log.G(ctx).WithError(err).WithField("cgroup", dir).Debug("leftover cgroup not removed")
		}
	}
}
