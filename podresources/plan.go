package podresources

import (
	"sort"
	"strconv"

	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// write is one value to write into a cgroup interface file of a
// controller's directory.
type write struct {
	Controller string // v1 hierarchy ("cpu", "memory", ...); ignored on v2
	File       string
	Value      string
}

// plan turns the pod-level resources into cgroup file writes for cgroup
// v1 (v2 false) or v2, in the order they are to be written. It is pure:
// table tests check it, Update carries it out.
func plan(r *runtime.LinuxContainerResources, v2 bool) []write {
	if v2 {
		return planV2(r)
	}
	return planV1(r)
}

func planV1(r *runtime.LinuxContainerResources) []write {
	var w []write
	if r.CpuShares > 0 {
		w = append(w, write{"cpu", "cpu.shares", itoa(r.CpuShares)})
	}
	if r.CpuQuota != 0 {
		// Period before quota: a quota is checked against the period
		// in force (Update retries the other order when the kernel
		// refuses this one).
		w = append(w, write{"cpu", "cpu.cfs_period_us", itoa(orDefault(r.CpuPeriod))})
		w = append(w, write{"cpu", "cpu.cfs_quota_us", itoa(r.CpuQuota)})
	} else if r.CpuPeriod > 0 {
		w = append(w, write{"cpu", "cpu.cfs_period_us", itoa(r.CpuPeriod)})
	}
	if r.CpusetCpus != "" {
		w = append(w, write{"cpuset", "cpuset.cpus", r.CpusetCpus})
	}
	if r.CpusetMems != "" {
		w = append(w, write{"cpuset", "cpuset.mems", r.CpusetMems})
	}
	if r.MemoryLimitInBytes > 0 {
		w = append(w, write{"memory", "memory.limit_in_bytes", itoa(r.MemoryLimitInBytes)})
	}
	if r.MemorySwapLimitInBytes > 0 {
		w = append(w, write{"memory", "memory.memsw.limit_in_bytes", itoa(r.MemorySwapLimitInBytes)})
	}
	for _, h := range r.HugepageLimits {
		w = append(w, write{"hugetlb", "hugetlb." + h.PageSize + ".limit_in_bytes", strconv.FormatUint(h.Limit, 10)})
	}
	return w
}

func planV2(r *runtime.LinuxContainerResources) []write {
	var w []write
	if r.CpuShares > 0 {
		w = append(w, write{"cpu", "cpu.weight", strconv.FormatUint(sharesToWeight(uint64(r.CpuShares)), 10)})
	}
	if r.CpuQuota != 0 || r.CpuPeriod > 0 {
		quota := "max"
		if r.CpuQuota > 0 {
			quota = itoa(r.CpuQuota)
		}
		w = append(w, write{"cpu", "cpu.max", quota + " " + itoa(orDefault(r.CpuPeriod))})
	}
	if r.CpusetCpus != "" {
		w = append(w, write{"cpuset", "cpuset.cpus", r.CpusetCpus})
	}
	if r.CpusetMems != "" {
		w = append(w, write{"cpuset", "cpuset.mems", r.CpusetMems})
	}
	if r.MemoryLimitInBytes > 0 {
		w = append(w, write{"memory", "memory.max", itoa(r.MemoryLimitInBytes)})
		if r.MemorySwapLimitInBytes >= r.MemoryLimitInBytes {
			// CRI's swap limit is memory+swap; v2's is swap alone.
			w = append(w, write{"memory", "memory.swap.max", itoa(r.MemorySwapLimitInBytes - r.MemoryLimitInBytes)})
		}
	}
	for _, h := range r.HugepageLimits {
		w = append(w, write{"hugetlb", "hugetlb." + h.PageSize + ".max", strconv.FormatUint(h.Limit, 10)})
	}
	keys := make([]string, 0, len(r.Unified))
	for k := range r.Unified {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		w = append(w, write{"", k, r.Unified[k]})
	}
	return w
}

// sharesToWeight converts cgroup v1 CPU shares [2, 262144] to a v2
// cpu.weight [1, 10000], as runc and kubelet do.
func sharesToWeight(shares uint64) uint64 {
	if shares == 0 {
		return 0
	}
	return 1 + ((shares-2)*9999)/262142
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
