package validate

import (
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Node holds the machine's limits that some values are checked against.
// The zero Node checks syntax and fixed ranges only.
type Node struct {
	// Known is set by ReadNode: the fields below are the machine's.
	Known bool
	// CPUs and Mems are the online CPUs and memory nodes, in cpuset list
	// form ("0-3"); "" = not known.
	CPUs, Mems string
	// HugepageSizes are the hugepage sizes the kernel offers, in CRI form
	// ("2MB", "1GB"); nil = not known.
	HugepageSizes []string
	// CgroupV2 is whether /sys/fs/cgroup is the unified hierarchy (only
	// then do unified resources apply).
	CgroupV2 bool
}

// ReadNode reads the machine's limits from /sys.
func ReadNode() Node {
	n := Node{Known: true}
	if b, err := os.ReadFile("/sys/devices/system/cpu/online"); err == nil {
		n.CPUs = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/sys/devices/system/node/online"); err == nil {
		n.Mems = strings.TrimSpace(string(b))
	} else {
		n.Mems = "0" // no NUMA: one memory node
	}
	n.HugepageSizes = []string{}
	if entries, err := os.ReadDir("/sys/kernel/mm/hugepages"); err == nil {
		for _, e := range entries {
			// hugepages-2048kB
			if kb, ok := strings.CutPrefix(e.Name(), "hugepages-"); ok {
				if size, ok := strings.CutSuffix(kb, "kB"); ok {
					if s, err := pageSizeFromKB(size); err == nil {
						n.HugepageSizes = append(n.HugepageSizes, s)
					}
				}
			}
		}
	}
	var st unix.Statfs_t
	n.CgroupV2 = unix.Statfs(filepath.Clean("/sys/fs/cgroup"), &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC
	return n
}
