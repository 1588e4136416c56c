package stats

import "path/filepath"

// ControllerDir returns the directory of the cgroup at rel (a path
// relative to a hierarchy's root, see Dir) for a controller ("cpu",
// "memory", "cpuset", "hugetlb", ...): on v2 the one unified directory,
// on v1 the directory in that controller's hierarchy, or "" when the
// controller is not mounted.
func (r *Reader) ControllerDir(controller, rel string) string {
	if r.v2 {
		return filepath.Join(r.root, rel)
	}
	m, ok := r.mounts[controller]
	if !ok {
		return ""
	}
	return filepath.Join(m, rel)
}

// SliceDir returns the path, relative to a hierarchy's root, of a systemd
// slice: "kubepods-besteffort-pod1.slice" is
// /kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice.
func SliceDir(slice string) string { return expandSlice(slice) }
