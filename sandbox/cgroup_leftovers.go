package sandbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

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
	deadline := time.Now().Add(cgroupBusyWait) // for all hierarchies together
	for _, h := range hierarchies {
		dir := filepath.Join(cgroupRoot, h.Name(), filepath.Clean(path))
		if !strings.HasPrefix(dir, filepath.Join(cgroupRoot, h.Name())+"/") {
			continue
		}
		if err := removeCgroupDir(dir, os.Remove, deadline); err != nil && !errors.Is(err, os.ErrNotExist) {
			log.G(ctx).WithError(err).WithField("cgroup", dir).Debug("leftover cgroup not removed")
		}
	}
}

// cgroupBusyWait is how long RemoveEmptyCgroup retries a cgroup that is
// busy: the processes of a shim recovery has just killed (SIGKILL, not
// waited for) leave the cgroup a few milliseconds later. TestChaos found
// a container cgroup left when the rmdir came first.
const cgroupBusyWait = 2 * time.Second

// removeCgroupDir removes dir with rmdir, retrying while it fails with
// EBUSY, until deadline.
func removeCgroupDir(dir string, rmdir func(string) error, deadline time.Time) error {
	for {
		err := rmdir(dir)
		if !errors.Is(err, syscall.EBUSY) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}
