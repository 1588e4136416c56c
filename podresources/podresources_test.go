package podresources

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/containerd/containerd/errdefs"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/cri/stats"
	"github.com/podshim/podshim/sandbox"
)

func TestPlan(t *testing.T) {
	r := &runtime.LinuxContainerResources{CpuShares: 1024, CpuPeriod: 50000, CpuQuota: 150000, MemoryLimitInBytes: 256 << 20, CpusetCpus: "0-1"}
	for _, tc := range []struct {
		name string
		r    *runtime.LinuxContainerResources
		v2   bool
		want []write
	}{
		{"v1", r, false, []write{
			{"cpu", "cpu.shares", "1024"}, {"cpu", "cpu.cfs_period_us", "50000"}, {"cpu", "cpu.cfs_quota_us", "150000"},
			{"cpuset", "cpuset.cpus", "0-1"}, {"memory", "memory.limit_in_bytes", "268435456"},
		}},
		{"v2", r, true, []write{
			{"cpu", "cpu.weight", "39"}, {"cpu", "cpu.max", "150000 50000"},
			{"cpuset", "cpuset.cpus", "0-1"}, {"memory", "memory.max", "268435456"},
		}},
		{"v1 unlimited quota, default period", &runtime.LinuxContainerResources{CpuQuota: -1}, false, []write{
			{"cpu", "cpu.cfs_period_us", "100000"}, {"cpu", "cpu.cfs_quota_us", "-1"},
		}},
		{"v2 unlimited quota", &runtime.LinuxContainerResources{CpuQuota: -1}, true, []write{{"cpu", "cpu.max", "max 100000"}}},
		{"v2 swap and unified", &runtime.LinuxContainerResources{MemoryLimitInBytes: 100, MemorySwapLimitInBytes: 300, Unified: map[string]string{"memory.high": "90", "cpu.idle": "0"}}, true, []write{
			{"memory", "memory.max", "100"}, {"memory", "memory.swap.max", "200"}, {"", "cpu.idle", "0"}, {"", "memory.high", "90"},
		}},
		{"v1 hugepages", &runtime.LinuxContainerResources{HugepageLimits: []*runtime.HugepageLimit{{PageSize: "2MB", Limit: 4 << 20}}}, false, []write{
			{"hugetlb", "hugetlb.2MB.limit_in_bytes", "4194304"},
		}},
		{"nothing set", &runtime.LinuxContainerResources{}, false, nil},
	} {
		if got := plan(tc.r, tc.v2); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: plan\n got %v\nwant %v", tc.name, got, tc.want)
		}
	}
}

func TestTotalAddsOverhead(t *testing.T) {
	res := &runtime.LinuxContainerResources{CpuShares: 512, CpuPeriod: 100000, CpuQuota: 50000, MemoryLimitInBytes: 100 << 20}
	oh := &runtime.LinuxContainerResources{CpuShares: 10, CpuPeriod: 50000, CpuQuota: 5000, MemoryLimitInBytes: 10 << 20}
	got := total(oh, res)
	if got.CpuShares != 522 || got.CpuQuota != 60000 || got.CpuPeriod != 100000 || got.MemoryLimitInBytes != 110<<20 {
		t.Fatalf("total = %v", got)
	}
	// No memory limit on the containers: the pod stays unlimited.
	if got := total(oh, &runtime.LinuxContainerResources{CpuShares: 2}); got.MemoryLimitInBytes != 0 || got.CpuQuota != 0 {
		t.Fatalf("unlimited pod got limits from its overhead: %v", got)
	}
	if got := total(nil, nil); len(plan(got, false)) != 0 {
		t.Fatalf("nothing asked, something written: %v", plan(got, false))
	}
}

func TestValidateNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		r    *runtime.LinuxContainerResources
		want string
	}{
		{&runtime.LinuxContainerResources{CpuShares: -1}, "resources.cpu_shares"},
		{&runtime.LinuxContainerResources{CpuShares: 300000}, "resources.cpu_shares"},
		{&runtime.LinuxContainerResources{CpuPeriod: 10}, "resources.cpu_period"},
		{&runtime.LinuxContainerResources{CpuQuota: -5}, "resources.cpu_quota"},
		{&runtime.LinuxContainerResources{CpuQuota: 10}, "resources.cpu_quota"},
		{&runtime.LinuxContainerResources{MemoryLimitInBytes: -1}, "resources.memory_limit_in_bytes"},
		{&runtime.LinuxContainerResources{MemorySwapLimitInBytes: -1}, "resources.memory_swap_limit_in_bytes"},
		{&runtime.LinuxContainerResources{CpusetCpus: "0-a"}, "resources.cpuset_cpus"},
		{&runtime.LinuxContainerResources{CpusetMems: "x"}, "resources.cpuset_mems"},
		{&runtime.LinuxContainerResources{HugepageLimits: []*runtime.HugepageLimit{{PageSize: "2XB"}}}, "resources.hugepage_limits[0].page_size"},
		{&runtime.LinuxContainerResources{Unified: map[string]string{"../etc/passwd": "x"}}, "resources.unified"},
		{&runtime.LinuxContainerResources{Unified: map[string]string{"cgroup.procs": "1"}}, "resources.unified"},
	} {
		err := validate("resources", tc.r)
		if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("validate(%v) = %v, want InvalidArgument naming %s", tc.r, err, tc.want)
		}
	}
	ok := &runtime.LinuxContainerResources{CpuShares: 2, CpuPeriod: 100000, CpuQuota: -1, MemoryLimitInBytes: 1 << 30, CpusetCpus: "0-3,6", CpusetMems: "0"}
	if err := validate("overhead", ok); err != nil {
		t.Fatalf("valid resources refused: %v", err)
	}
}

func TestUpdateRequestErrors(t *testing.T) {
	sbs := sandbox.New(sandbox.Options{})
	u := New(Options{Sandboxes: sbs})
	ctx := context.Background()
	if err := u.Update(ctx, "", nil, nil); !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "pod_sandbox_id") {
		t.Errorf("empty id: %v, want InvalidArgument naming pod_sandbox_id", err)
	}
	if err := u.Update(ctx, "0123456789ab", nil, &runtime.LinuxContainerResources{}); !errdefs.IsNotFound(err) {
		t.Errorf("unknown sandbox: %v, want NotFound", err)
	}
	if err := u.Update(ctx, "0123456789ab", &runtime.LinuxContainerResources{CpuShares: -2}, nil); !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "overhead.cpu_shares") {
		t.Errorf("bad overhead: %v, want InvalidArgument naming overhead.cpu_shares", err)
	}
	// A pod without a cgroup parent gets its config updated.
	id := strings.Repeat("ab", 32)
	sbs.AddForTest(sandbox.Metadata{ID: id, Config: &runtime.PodSandboxConfig{}}, sandbox.Status{State: runtime.PodSandboxState_SANDBOX_READY})
	res := &runtime.LinuxContainerResources{CpuShares: 300}
	if err := u.Update(ctx, id, nil, res); err != nil {
		t.Fatal(err)
	}
	sb, _ := sbs.Get(id)
	if got := sb.Metadata().Config.GetLinux().GetResources().GetCpuShares(); got != 300 {
		t.Fatalf("recorded cpu_shares %d, want 300", got)
	}
}

func TestPodCgroup(t *testing.T) {
	for _, tc := range []struct{ driver, parent, want string }{
		{"cgroupfs", "/kubepods/burstable/pod1", "/kubepods/burstable/pod1"},
		{"", "kubepods/pod1/", "/kubepods/pod1"},
		{"systemd", "kubepods-burstable-pod1.slice", "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice"},
		{"systemd", "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice", "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice"},
		{"cgroupfs", "", ""},
	} {
		u := New(Options{Cgroups: &stats.Reader{}, CgroupDriver: tc.driver})
		if got := u.podCgroup(tc.parent); got != tc.want {
			t.Errorf("%s %q: pod cgroup %q, want %q", tc.driver, tc.parent, got, tc.want)
		}
	}
}
