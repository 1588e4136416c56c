package spec

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/containerd/containerd/containers"
	"github.com/containerd/containerd/oci"
	"github.com/containerd/containerd/pkg/cap"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/validate"
)

// systemdPrefix names podshim's scopes in the systemd form of a cgroups path.
const systemdPrefix = "podshim"

// CgroupsPath returns the cgroups path for a container id under parent for
// the driver:
//
//   - cgroupfs: parent/id ("" when parent is "": the spec then keeps
//     containerd's default /<containerd namespace>/<id>);
//   - systemd: "slice:podshim:id", the slice being the last element of
//     parent ("kubepods-besteffort-pod1.slice" or
//     "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice"),
//     or system.slice when parent is "".
func CgroupsPath(parent, id, driver string) string {
	if driver == CgroupDriverSystemd {
		slice := "system.slice"
		if parent != "" {
			slice = path.Base(parent)
		}
		return slice + ":" + systemdPrefix + ":" + id
	}
	if parent == "" {
		return ""
	}
	return path.Join(parent, id)
}

// cgroupOpt sets the cgroups path for id under the pod's cgroup parent.
func cgroupOpt(field, parent, id string, o Options) (oci.SpecOpts, error) {
	if err := checkDriver(o.CgroupDriver); err != nil {
		return nil, err
	}
	if o.CgroupDriver == CgroupDriverSystemd && parent != "" && !strings.HasSuffix(path.Base(parent), ".slice") {
		return nil, invalid("%s %q is not a systemd slice (the cgroup driver is systemd)", field, parent)
	}
	p := CgroupsPath(parent, id, o.CgroupDriver)
	if p == "" {
		return nil, nil
	}
	return oci.WithCgroup(p), nil
}

// checkResources validates the numbers of r (validate.Resources, without
// the node's limits, which the server checked against).
func checkResources(r *runtime.LinuxContainerResources) error {
	return validate.Resources("linux.resources", r, validate.Node{})
}

// withResources sets the cgroup limits of r. As containerd's CRI does, the
// swap limit equals the memory limit unless memory_swap_limit_in_bytes is
// given, both only where the kernel accounts swap; hugepage limits are
// dropped when the hugetlb controller is missing (kubelet sends a zero
// limit for every page size the node knows, with or without the controller).
func withResources(r *runtime.LinuxContainerResources) oci.SpecOpts {
	swap := swapLimitAvailable()
	hugetlb := hugetlbAvailable()
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if s.Linux == nil {
			s.Linux = &specs.Linux{}
		}
		if s.Linux.Resources == nil {
			s.Linux.Resources = &specs.LinuxResources{}
		}
		res := s.Linux.Resources
		cpu := &specs.LinuxCPU{}
		if res.CPU != nil {
			cpu = res.CPU
		}
		if v := uint64(r.GetCpuPeriod()); v != 0 {
			cpu.Period = &v
		}
		if v := r.GetCpuQuota(); v != 0 {
			cpu.Quota = &v
		}
		if v := uint64(r.GetCpuShares()); v != 0 {
			cpu.Shares = &v
		}
		if v := r.GetCpusetCpus(); v != "" {
			cpu.Cpus = v
		}
		if v := r.GetCpusetMems(); v != "" {
			cpu.Mems = v
		}
		if *cpu != (specs.LinuxCPU{}) {
			res.CPU = cpu
		}
		if limit := r.GetMemoryLimitInBytes(); limit != 0 {
			if res.Memory == nil {
				res.Memory = &specs.LinuxMemory{}
			}
			res.Memory.Limit = &limit
			if swap && r.GetMemorySwapLimitInBytes() == 0 {
				res.Memory.Swap = &limit
			}
		}
		if v := r.GetMemorySwapLimitInBytes(); v != 0 && swap {
			if res.Memory == nil {
				res.Memory = &specs.LinuxMemory{}
			}
			res.Memory.Swap = &v
		}
		if hugetlb {
			for _, h := range r.GetHugepageLimits() {
				res.HugepageLimits = append(res.HugepageLimits, specs.LinuxHugepageLimit{Pagesize: h.GetPageSize(), Limit: h.GetLimit()})
			}
		}
		if len(r.GetUnified()) > 0 {
			if res.Unified == nil {
				res.Unified = make(map[string]string, len(r.GetUnified()))
			}
			for k, v := range r.GetUnified() {
				res.Unified[k] = v
			}
		}
		return nil
	}
}

// oomScoreAdj clamps adj to o.MinOOMScoreAdj when o.RestrictOOMScoreAdj.
func oomScoreAdj(adj int, o Options) int {
	if o.RestrictOOMScoreAdj && adj < o.MinOOMScoreAdj {
		return o.MinOOMScoreAdj
	}
	return adj
}

func withOOMScoreAdj(adj int) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if s.Process == nil {
			s.Process = &specs.Process{}
		}
		s.Process.OOMScoreAdj = &adj
		return nil
	}
}

// CurrentOOMScoreAdj reads the calling process's oom_score_adj and whether
// it may lower it (CAP_SYS_RESOURCE in its effective set). Fill
// Options.MinOOMScoreAdj and RestrictOOMScoreAdj (= !canLower) from it.
func CurrentOOMScoreAdj() (value int, canLower bool, err error) {
	b, err := os.ReadFile("/proc/self/oom_score_adj")
	if err != nil {
		return 0, false, fmt.Errorf("read own oom_score_adj: %w", err)
	}
	value, err = strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, false, fmt.Errorf("parse own oom_score_adj %q: %w", b, err)
	}
	caps, err := cap.Current()
	if err != nil {
		return 0, false, fmt.Errorf("read own capabilities: %w", err)
	}
	for _, c := range caps {
		if c == "CAP_SYS_RESOURCE" {
			return value, true, nil
		}
	}
	return value, false, nil
}

// cgroup2Unified reports whether /sys/fs/cgroup is a cgroup v2 mount.
func cgroup2Unified() bool {
	var st unix.Statfs_t
	return unix.Statfs("/sys/fs/cgroup", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC
}

// swapLimitAvailable reports whether the kernel accounts swap in the
// memory cgroup (so a swap limit can be set), as containerd checks it.
func swapLimitAvailable() bool {
	p := "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"
	if cgroup2Unified() {
		own, err := os.ReadFile("/proc/self/cgroup")
		if err != nil {
			return false
		}
		rel := ""
		for _, line := range strings.Split(string(own), "\n") {
			if strings.HasPrefix(line, "0::") {
				rel = strings.TrimPrefix(line, "0::")
			}
		}
		p = filepath.Join("/sys/fs/cgroup", rel, "memory.swap.max")
	}
	_, err := os.Stat(p)
	return err == nil
}

// hugetlbAvailable reports whether the hugetlb cgroup controller exists.
func hugetlbAvailable() bool {
	if cgroup2Unified() {
		b, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers")
		return err == nil && strings.Contains(string(b), "hugetlb")
	}
	_, err := os.Stat("/sys/fs/cgroup/hugetlb")
	return err == nil
}
