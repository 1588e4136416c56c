package selfcheck

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// CgroupMode is how the node mounts cgroups.
type CgroupMode string

// The cgroup modes: v1 only, v1 with cgroup2 at /sys/fs/cgroup/unified
// (systemd's hybrid), or v2 only.
const (
	CgroupV1      CgroupMode = "v1"
	CgroupHybrid  CgroupMode = "hybrid"
	CgroupV2      CgroupMode = "v2"
	CgroupUnknown CgroupMode = "unknown"
)

// DetectCgroupMode looks at the filesystems at /sys/fs/cgroup.
func DetectCgroupMode() CgroupMode {
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err != nil {
		return CgroupUnknown
	}
	if st.Type == unix.CGROUP2_SUPER_MAGIC {
		return CgroupV2
	}
	if st.Type != unix.TMPFS_MAGIC {
		return CgroupUnknown
	}
	if unix.Statfs("/sys/fs/cgroup/unified", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		return CgroupHybrid
	}
	return CgroupV1
}

// systemdIsInit reports whether systemd runs this node (sd_booted(3)).
func systemdIsInit() bool {
	st, err := os.Stat("/run/systemd/system")
	return err == nil && st.IsDir()
}

// checkCgroups: the cgroup version, and whether cgroup_driver suits the
// node's init system.
func checkCgroups(o Options) []Finding {
	mode := DetectCgroupMode()
	v := Finding{Check: "cgroups"}
	switch mode {
	case CgroupV2:
		v.Detail = "cgroup v2 (unified)"
	case CgroupHybrid, CgroupV1:
		v.Severity = Warning
		v.Detail = fmt.Sprintf("cgroup %s: podshim runs pods, but kubelet 1.35 and later refuse to start on cgroup v1 unless their config says failCgroupV1: false", mode)
		v.Fix = "boot with systemd.unified_cgroup_hierarchy=1 (cgroup v2), or set failCgroupV1: false in kubelet's config"
	default:
		v.Severity, v.Detail = Error, "no cgroup filesystem at /sys/fs/cgroup"
		v.Fix = "mount cgroup2 at /sys/fs/cgroup (mount -t cgroup2 none /sys/fs/cgroup)"
	}
	d := Finding{Check: "cgroup driver"}
	systemd := systemdIsInit()
	switch {
	case o.CgroupDriver == "systemd" && !systemd:
		d.Severity = Error
		d.Detail = "cgroup_driver is systemd, but systemd is not this node's init system (no /run/systemd/system)"
		d.Fix = `set cgroup_driver = "cgroupfs" (and cgroupDriver: cgroupfs in kubelet's config)`
	case o.CgroupDriver == "cgroupfs" && systemd:
		d.Severity = Warning
		d.Detail = "cgroup_driver is cgroupfs, but systemd runs this node and manages cgroups too"
		d.Fix = `set cgroup_driver = "systemd" (and cgroupDriver: systemd in kubelet's config), so that one manager owns the cgroups`
	default:
		init := "not systemd"
		if systemd {
			init = "systemd"
		}
		d.Detail = fmt.Sprintf("%s (init: %s); kubelet's cgroupDriver must be the same", o.CgroupDriver, init)
	}
	return []Finding{v, d}
}
