package validate

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Limits of the CPU and memory cgroup values, as the kernel and runc take
// them.
const (
	// MinCPUShares and MaxCPUShares bound cpu.shares (cgroup v1; runc
	// refuses what the kernel would clamp).
	MinCPUShares = 2
	MaxCPUShares = 262144
	// MinCPUPeriod and MaxCPUPeriod bound cpu.cfs_period_us (1 ms to 1 s).
	MinCPUPeriod = 1000
	MaxCPUPeriod = 1000000
	// MinCPUQuota is the smallest cpu.cfs_quota_us (1 ms); -1 is no limit.
	MinCPUQuota = 1000
	// MaxCPUQuota is the kernel's largest quota (2^44-1 µs).
	MaxCPUQuota = 1<<44 - 1
	// MinMemoryLimit is the smallest memory limit a container gets: below
	// it runc's own init is OOM-killed before the container starts
	// (Docker's minimum is the same 6 MiB).
	MinMemoryLimit = 6 << 20
	// MaxCPUSetID is the highest CPU or memory node number accepted in a
	// cpuset list (the kernel's NR_CPUS maximum).
	MaxCPUSetID = 8191
	// maxUnifiedValue bounds a unified cgroup value.
	maxUnifiedValue = 4096
	// maxUnified bounds the number of unified keys.
	maxUnified = 128
	// maxHugepageLimits bounds the number of hugepage limits.
	maxHugepageLimits = 16
)

// Resources checks a container's (or, with field "config.linux.
// resources", a pod's) Linux resources. nil is fine (no limits).
func Resources(field string, r *runtime.LinuxContainerResources, n Node) error {
	if r == nil {
		return nil
	}
	f := func(name string) string { return field + "." + name }
	if v := r.CpuShares; v != 0 && (v < MinCPUShares || v > MaxCPUShares) {
		return invalid(f("cpu_shares"), "%d is out of range [%d, %d] (0 = default)", v, MinCPUShares, MaxCPUShares)
	}
	if v := r.CpuPeriod; v != 0 && (v < MinCPUPeriod || v > MaxCPUPeriod) {
		return invalid(f("cpu_period"), "%d is out of range [%d, %d] µs (0 = default)", v, MinCPUPeriod, MaxCPUPeriod)
	}
	if v := r.CpuQuota; v != 0 && v != -1 && (v < MinCPUQuota || v > MaxCPUQuota) {
		return invalid(f("cpu_quota"), "%d is out of range [%d, %d] µs (0 = default, -1 = no limit)", v, MinCPUQuota, int64(MaxCPUQuota))
	}
	if err := cpuset(f("cpuset_cpus"), r.CpusetCpus, n.CPUs); err != nil {
		return err
	}
	if err := cpuset(f("cpuset_mems"), r.CpusetMems, n.Mems); err != nil {
		return err
	}
	mem := r.MemoryLimitInBytes
	if mem != 0 && mem < MinMemoryLimit {
		return invalid(f("memory_limit_in_bytes"), "%d is below the minimum of %d bytes (0 = no limit)", mem, MinMemoryLimit)
	}
	switch swap := r.MemorySwapLimitInBytes; {
	case swap == 0 || swap == -1:
	case swap < 0:
		return invalid(f("memory_swap_limit_in_bytes"), "%d is negative (0 = default, -1 = no limit)", swap)
	case mem == 0:
		return invalid(f("memory_swap_limit_in_bytes"), "%d is set without memory_limit_in_bytes", swap)
	case swap < mem:
		return invalid(f("memory_swap_limit_in_bytes"), "%d is below memory_limit_in_bytes %d (it counts memory plus swap)", swap, mem)
	}
	if v := r.OomScoreAdj; v < -1000 || v > 1000 {
		return invalid(f("oom_score_adj"), "%d is out of range [-1000, 1000]", v)
	}
	if len(r.HugepageLimits) > maxHugepageLimits {
		return invalid(f("hugepage_limits"), "%d limits, at most %d", len(r.HugepageLimits), maxHugepageLimits)
	}
	seen := map[string]bool{}
	for i, h := range r.HugepageLimits {
		hf := fmt.Sprintf("%s[%d].page_size", f("hugepage_limits"), i)
		if h == nil {
			return invalid(fmt.Sprintf("%s[%d]", f("hugepage_limits"), i), "is empty")
		}
		if err := pageSize(hf, h.PageSize); err != nil {
			return err
		}
		if n.HugepageSizes != nil && len(n.HugepageSizes) > 0 && !slices.Contains(n.HugepageSizes, h.PageSize) {
			return invalid(hf, "%q is not a hugepage size of this node (%s)", h.PageSize, strings.Join(n.HugepageSizes, ", "))
		}
		if seen[h.PageSize] {
			return invalid(hf, "%q is given twice", h.PageSize)
		}
		seen[h.PageSize] = true
	}
	if len(r.Unified) > 0 {
		if n.Known && !n.CgroupV2 {
			return invalid(f("unified"), "is for cgroup v2; this node uses cgroup v1")
		}
		if len(r.Unified) > maxUnified {
			return invalid(f("unified"), "%d keys, at most %d", len(r.Unified), maxUnified)
		}
		for k, v := range r.Unified {
			if !unifiedKey.MatchString(k) {
				return invalid(f("unified"), "key %q is not a cgroup v2 file name (<controller>.<name>)", clip(k))
			}
			if len(v) > maxUnifiedValue || strings.ContainsAny(v, "\x00\n") {
				return invalid(f("unified")+"["+k+"]", "value must be at most %d bytes without NUL or newline", maxUnifiedValue)
			}
		}
	}
	return nil
}

// unifiedKey is a cgroup v2 interface file below a cgroup: controller
// "." name, no path separators.
var unifiedKey = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}\.[a-z0-9_.]{1,64}$`)

// cpuset checks a cpuset list ("0-3,6") and, when online is known, that
// every number in it is online.
func cpuset(field, list, online string) error {
	if list == "" {
		return nil
	}
	ids, err := ParseCPUSet(list)
	if err != nil {
		return invalid(field, "%q: %v", clip(list), err)
	}
	if online == "" {
		return nil
	}
	have, err := ParseCPUSet(online)
	if err != nil {
		return nil // the node's own list is odd: do not judge by it
	}
	for id := range ids {
		if !have[id] {
			return invalid(field, "%q names %d, which this node does not have (online: %s)", clip(list), id, online)
		}
	}
	return nil
}

// ParseCPUSet parses a Linux cpuset list ("0-3,6,8-9") into its numbers.
func ParseCPUSet(list string) (map[int]bool, error) {
	out := map[int]bool{}
	if len(list) > 4096 {
		return nil, fmt.Errorf("longer than 4096 bytes")
	}
	for _, part := range strings.Split(list, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := cpuID(lo)
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if b, err = cpuID(hi); err != nil {
				return nil, err
			}
			if b < a {
				return nil, fmt.Errorf("range %q runs backwards", part)
			}
		}
		for i := a; i <= b; i++ {
			out[i] = true
		}
	}
	return out, nil
}

func cpuID(s string) (int, error) {
	if s == "" || len(s) > 4 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a CPU or node number", clip(s))
	}
	v, err := strconv.Atoi(s)
	if err != nil || v > MaxCPUSetID {
		return 0, fmt.Errorf("%q is not a CPU or node number (0-%d)", s, MaxCPUSetID)
	}
	return v, nil
}

// pageSize checks a hugepage size in CRI form: a power of two with a unit,
// "2MB", "1GB", "64KB".
func pageSize(field, s string) error {
	m := pageSizeForm.FindStringSubmatch(s)
	if m == nil {
		return invalid(field, "%q is not a page size such as 2MB or 1GB", clip(s))
	}
	v, err := strconv.ParseUint(m[1], 10, 32)
	if err != nil || v&(v-1) != 0 {
		return invalid(field, "%q is not a power of two", s)
	}
	return nil
}

var pageSizeForm = regexp.MustCompile(`^([1-9][0-9]{0,5})(KB|MB|GB|TB|PB)$`)

// pageSizeFromKB turns the kernel's kB count ("2048") into the CRI form
// ("2MB").
func pageSizeFromKB(kb string) (string, error) {
	v, err := strconv.ParseUint(kb, 10, 64)
	if err != nil || v == 0 {
		return "", fmt.Errorf("bad size %q", kb)
	}
	for _, unit := range []string{"KB", "MB", "GB", "TB"} {
		if v%1024 != 0 || unit == "TB" {
			return strconv.FormatUint(v, 10) + unit, nil
		}
		v /= 1024
	}
	return "", fmt.Errorf("bad size %q", kb)
}

// clip shortens s for an error message.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
