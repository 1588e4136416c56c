package podresources

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/containerd/containerd/errdefs"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Bounds of the kernel's CFS bandwidth period, in microseconds, and of
// cgroup v1 CPU shares.
const (
	minPeriod = 1000
	maxPeriod = 1000000
	minShares = 2
	maxShares = 262144
)

var (
	cpuList  = regexp.MustCompile(`^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$`)
	pageSize = regexp.MustCompile(`^[0-9]+[KMG]B$`)
)

// validate checks the numbers of one LinuxContainerResources of the
// request; field is its name there ("resources", "overhead").
func validate(field string, r *runtime.LinuxContainerResources) error {
	if r == nil {
		return nil
	}
	bad := func(format string, a ...interface{}) error {
		return fmt.Errorf("%w: %s.%s", errdefs.ErrInvalidArgument, field, fmt.Sprintf(format, a...))
	}
	switch {
	case r.CpuShares < 0 || r.CpuShares > maxShares:
		return bad("cpu_shares %d is out of range [0, %d]", r.CpuShares, maxShares)
	case r.CpuPeriod != 0 && (r.CpuPeriod < minPeriod || r.CpuPeriod > maxPeriod):
		return bad("cpu_period %d is out of range [%d, %d] microseconds", r.CpuPeriod, minPeriod, maxPeriod)
	case r.CpuQuota < -1 || (r.CpuQuota > 0 && r.CpuQuota < minPeriod):
		return bad("cpu_quota %d is neither -1 (unlimited), 0 (unchanged) nor at least %d microseconds", r.CpuQuota, minPeriod)
	case r.MemoryLimitInBytes < 0:
		return bad("memory_limit_in_bytes %d is negative", r.MemoryLimitInBytes)
	case r.MemorySwapLimitInBytes < 0:
		return bad("memory_swap_limit_in_bytes %d is negative", r.MemorySwapLimitInBytes)
	case r.CpusetCpus != "" && !cpuList.MatchString(r.CpusetCpus):
		return bad("cpuset_cpus %q is not a CPU list such as 0-3,6", r.CpusetCpus)
	case r.CpusetMems != "" && !cpuList.MatchString(r.CpusetMems):
		return bad("cpuset_mems %q is not a node list such as 0-1", r.CpusetMems)
	}
	for i, h := range r.HugepageLimits {
		if !pageSize.MatchString(h.GetPageSize()) {
			return bad("hugepage_limits[%d].page_size %q is not a size such as 2MB", i, h.GetPageSize())
		}
	}
	for k := range r.Unified {
		if k == "" || strings.ContainsAny(k, "/\x00") || !strings.Contains(k, ".") || k == "cgroup.procs" || k == "cgroup.threads" || k == "cgroup.subtree_control" {
			return bad("unified key %q is not a cgroup v2 interface file this call may set", k)
		}
	}
	return nil
}
