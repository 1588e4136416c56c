package podresources

import (
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// defaultPeriod is the CFS period when the request sets a quota without one.
const defaultPeriod = 100000

// total is the pod-level limit: the containers' resources plus the pod's
// overhead (as kubelet sizes the pod cgroup). Zero fields leave the pod
// cgroup's current value alone.
func total(overhead, res *runtime.LinuxContainerResources) *runtime.LinuxContainerResources {
	out := &runtime.LinuxContainerResources{}
	if res != nil {
		out.CpuShares, out.CpuPeriod, out.CpuQuota = res.CpuShares, res.CpuPeriod, res.CpuQuota
		out.MemoryLimitInBytes, out.MemorySwapLimitInBytes = res.MemoryLimitInBytes, res.MemorySwapLimitInBytes
		out.CpusetCpus, out.CpusetMems = res.CpusetCpus, res.CpusetMems
		out.HugepageLimits, out.Unified = res.HugepageLimits, res.Unified
	}
	if overhead == nil {
		return out
	}
	out.CpuShares += overhead.CpuShares
	if out.CpuShares > maxShares {
		out.CpuShares = maxShares
	}
	if out.MemoryLimitInBytes > 0 {
		out.MemoryLimitInBytes += overhead.MemoryLimitInBytes
	}
	if out.CpuQuota > 0 && overhead.CpuQuota > 0 {
		// The overhead's quota is per its own period: scale it to ours.
		period, ohPeriod := orDefault(out.CpuPeriod), orDefault(overhead.CpuPeriod)
		out.CpuQuota += overhead.CpuQuota * period / ohPeriod
	}
	return out
}

func orDefault(period int64) int64 {
	if period == 0 {
		return defaultPeriod
	}
	return period
}
