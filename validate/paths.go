package validate

import (
	"fmt"
	"path"
	"strings"

	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Limits of paths and lists of them.
const (
	// MaxPathLength is Linux's PATH_MAX.
	MaxPathLength = 4096
	// MaxMounts and MaxDevices bound a container's mounts and devices.
	MaxMounts  = 1024
	MaxDevices = 1024
)

// pathOK reports why p is not a usable path ("" = fine): not too long, no
// NUL, no ".." element.
func pathProblem(p string) string {
	switch {
	case len(p) > MaxPathLength:
		return fmt.Sprintf("is %d bytes, at most %d", len(p), MaxPathLength)
	case strings.ContainsRune(p, 0):
		return "holds a NUL byte"
	case hasDotDot(p):
		return "has a \"..\" element"
	}
	return ""
}

func hasDotDot(p string) bool {
	for _, e := range strings.Split(p, "/") {
		if e == ".." {
			return true
		}
	}
	return false
}

// AbsPath checks a path that must be absolute ("" is fine when optional).
func AbsPath(field, p string, optional bool) error {
	if p == "" {
		if optional {
			return nil
		}
		return invalid(field, "is required")
	}
	if !path.IsAbs(p) {
		return invalid(field, "%q is not an absolute path", clip(p))
	}
	if why := pathProblem(p); why != "" {
		return invalid(field, "%q %s", clip(p), why)
	}
	return nil
}

// LogPath checks a container's log_path: relative to the pod's log
// directory, and staying inside it.
func LogPath(field, p string) error {
	if p == "" {
		return nil
	}
	if path.IsAbs(p) {
		return invalid(field, "%q must be relative to the pod's log_directory", clip(p))
	}
	if why := pathProblem(p); why != "" {
		return invalid(field, "%q %s", clip(p), why)
	}
	if path.Clean(p) == "." || strings.HasSuffix(p, "/") {
		return invalid(field, "%q names a directory, not a file", clip(p))
	}
	return nil
}

// Mounts checks a container's mounts: absolute paths on both sides
// without "..", a known propagation mode.
func Mounts(field string, mounts []*runtime.Mount) error {
	if len(mounts) > MaxMounts {
		return invalid(field, "%d mounts, at most %d", len(mounts), MaxMounts)
	}
	for i, m := range mounts {
		f := fmt.Sprintf("%s[%d]", field, i)
		if m == nil {
			return invalid(f, "is empty")
		}
		if err := AbsPath(f+".container_path", m.ContainerPath, false); err != nil {
			return err
		}
		// An image volume has no host path (and is refused later as not
		// implemented).
		if err := AbsPath(f+".host_path", m.HostPath, m.GetImage().GetImage() != ""); err != nil {
			return err
		}
		if _, ok := runtime.MountPropagation_name[int32(m.Propagation)]; !ok {
			return invalid(f+".propagation", "%d is not a propagation mode", m.Propagation)
		}
	}
	return nil
}

// Devices checks a container's devices.
func Devices(field string, devices []*runtime.Device) error {
	if len(devices) > MaxDevices {
		return invalid(field, "%d devices, at most %d", len(devices), MaxDevices)
	}
	for i, d := range devices {
		f := fmt.Sprintf("%s[%d]", field, i)
		if d == nil {
			return invalid(f, "is empty")
		}
		if err := AbsPath(f+".container_path", d.ContainerPath, false); err != nil {
			return err
		}
		if err := AbsPath(f+".host_path", d.HostPath, false); err != nil {
			return err
		}
		if strings.Trim(d.Permissions, "rwm") != "" {
			return invalid(f+".permissions", "%q: only r, w and m", clip(d.Permissions))
		}
	}
	return nil
}

// CgroupParent checks a cgroup parent: no "..", no NUL (the cgroupfs
// path is made from it).
func CgroupParent(field, p string) error {
	if p == "" {
		return nil
	}
	if why := pathProblem(p); why != "" {
		return invalid(field, "%q %s", clip(p), why)
	}
	return nil
}
