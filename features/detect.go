package features

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/log"
	"golang.org/x/sys/unix"
)

// Detect asks containerd (its version and the capabilities of snapshotter),
// runc (`<runc> features`, the runc the shim runs) and the kernel what they
// can do, decides the feature set and logs one line per feature.
func Detect(ctx context.Context, client *containerd.Client, snapshotter, runc string) Set {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	in := Inputs{Snapshotter: snapshotter, MountSetattr: probeMountSetattr()}
	if v, err := client.Version(ctx); err == nil {
		in.ContainerdVersion = v.Version
	} else {
		in.ContainerdVersion = "(unknown version)"
	}
	in.SnapshotterCaps, in.SnapshotterErr = client.GetSnapshotterCapabilities(ctx, snapshotter)
	in.RuncFeatures, in.RuncErr = readRuncFeatures(ctx, runc)
	s := Decide(in)
	for _, r := range s.Reasons {
		state := "off"
		if r.On {
			state = "on"
		}
		log.G(ctx).WithFields(log.Fields{"feature": r.Feature, "enabled": r.On}).Infof("feature %s: %s: %s", r.Feature, state, r.Why)
	}
	return s
}

func readRuncFeatures(ctx context.Context, runc string) ([]byte, error) {
	if runc == "" {
		runc = "runc"
	}
	var stderr strings.Builder
	cmd := exec.CommandContext(ctx, runc, "features")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s features: %w: %s", runc, err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// probeMountSetattr calls mount_setattr(2) with a bad fd: a kernel that
// has it says EBADF, one that lacks it ENOSYS.
func probeMountSetattr() error {
	err := unix.MountSetattr(-1, "", unix.AT_EMPTY_PATH, &unix.MountAttr{})
	if errors.Is(err, unix.ENOSYS) {
		return err
	}
	return nil
}
