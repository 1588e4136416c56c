package spec

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/containerd/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func res(in *ctrInput) *runtime.LinuxContainerResources {
	if in.cfg.Linux.Resources == nil {
		in.cfg.Linux.Resources = &runtime.LinuxContainerResources{}
	}
	return in.cfg.Linux.Resources
}

// hostHas reports whether path exists, to predict the host-dependent parts
// (swap accounting, hugetlb controller) independently of the code.
func hostHas(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func TestContainerResources(t *testing.T) {
	cgroupV2 := hostHas("/sys/fs/cgroup/cgroup.controllers")
	swap := hostHas("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
	hugetlb := hostHas("/sys/fs/cgroup/hugetlb")
	if cgroupV2 {
		ctl, _ := os.ReadFile("/sys/fs/cgroup/cgroup.controllers")
		hugetlb = strings.Contains(string(ctl), "hugetlb")
		swap = swapLimitAvailable() // the v2 probe needs our own cgroup; trust it
	}
	t.Logf("host: cgroup v2 %v, swap accounting %v, hugetlb %v", cgroupV2, swap, hugetlb)

	runContainerCases(t, []ctrCase{
		{
			name: "no resources: nothing set",
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				if r := s.Linux.Resources; r.CPU != nil || r.Memory != nil || s.Process.OOMScoreAdj != nil {
					t.Fatalf("resources %+v, oom %v", r, s.Process.OOMScoreAdj)
				}
			},
		},
		{
			name: "cpu, memory, hugepages, unified",
			mod: func(in *ctrInput) {
				*res(in) = runtime.LinuxContainerResources{
					CpuShares: 512, CpuQuota: 50000, CpuPeriod: 100000, CpusetCpus: "0-1", CpusetMems: "0",
					MemoryLimitInBytes: 64 << 20, OomScoreAdj: 500,
					HugepageLimits: []*runtime.HugepageLimit{{PageSize: "2MB", Limit: 0}},
					Unified:        map[string]string{"memory.oom.group": "1"},
				}
			},
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				c := s.Linux.Resources.CPU
				if *c.Shares != 512 || *c.Quota != 50000 || *c.Period != 100000 || c.Cpus != "0-1" || c.Mems != "0" {
					t.Fatalf("cpu %+v", c)
				}
				m := s.Linux.Resources.Memory
				if *m.Limit != 64<<20 {
					t.Fatalf("memory limit %d", *m.Limit)
				}
				if swap != (m.Swap != nil) || (m.Swap != nil && *m.Swap != 64<<20) {
					t.Fatalf("swap %v with swap accounting %v", m.Swap, swap)
				}
				if hl := s.Linux.Resources.HugepageLimits; hugetlb != (len(hl) == 1) {
					t.Fatalf("hugepage limits %+v with hugetlb %v", hl, hugetlb)
				}
				if s.Linux.Resources.Unified["memory.oom.group"] != "1" {
					t.Fatalf("unified %v", s.Linux.Resources.Unified)
				}
				if *s.Process.OOMScoreAdj != 500 {
					t.Fatalf("oom_score_adj %d", *s.Process.OOMScoreAdj)
				}
			},
		},
		{
			name: "explicit swap limit",
			mod: func(in *ctrInput) {
				res(in).MemoryLimitInBytes, res(in).MemorySwapLimitInBytes = 64<<20, 128<<20
			},
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				m := s.Linux.Resources.Memory
				if swap != (m.Swap != nil) || (m.Swap != nil && *m.Swap != 128<<20) {
					t.Fatalf("swap %v with swap accounting %v", m.Swap, swap)
				}
			},
		},
		{
			name: "oom_score_adj clamped to the daemon's",
			mod: func(in *ctrInput) {
				res(in).OomScoreAdj = -500
				in.o = Options{RestrictOOMScoreAdj: true, MinOOMScoreAdj: 100}
			},
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				if *s.Process.OOMScoreAdj != 100 {
					t.Fatalf("oom_score_adj %d, want 100", *s.Process.OOMScoreAdj)
				}
			},
		},
		{
			name: "oom_score_adj above the daemon's kept",
			mod: func(in *ctrInput) {
				res(in).OomScoreAdj = 999
				in.o = Options{RestrictOOMScoreAdj: true, MinOOMScoreAdj: 100}
			},
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				if *s.Process.OOMScoreAdj != 999 {
					t.Fatalf("oom_score_adj %d", *s.Process.OOMScoreAdj)
				}
			},
		},
		{
			name: "oom_score_adj unrestricted",
			mod:  func(in *ctrInput) { res(in).OomScoreAdj = -500 },
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				if *s.Process.OOMScoreAdj != -500 {
					t.Fatalf("oom_score_adj %d", *s.Process.OOMScoreAdj)
				}
			},
		},
		{
			name: "oom_score_adj out of range",
			mod:  func(in *ctrInput) { res(in).OomScoreAdj = 1001 },
			err:  errdefs.ErrInvalidArgument, msg: "linux.resources.oom_score_adj",
		},
		{
			name: "negative cpu shares",
			mod:  func(in *ctrInput) { res(in).CpuShares = -2 },
			err:  errdefs.ErrInvalidArgument, msg: "linux.resources.cpu_shares",
		},
		{
			name: "negative memory",
			mod:  func(in *ctrInput) { res(in).MemoryLimitInBytes = -1 },
			err:  errdefs.ErrInvalidArgument, msg: "linux.resources.memory_limit_in_bytes",
		},
		{
			name: "no cgroup parent: containerd's default path",
			check: func(t *testing.T, s *specs.Spec, in *ctrInput) {
				if s.Linux.CgroupsPath != "/"+testNamespace+"/"+in.id {
					t.Fatalf("cgroups path %q", s.Linux.CgroupsPath)
				}
			},
		},
		{
			name: "cgroupfs parent",
			mod:  func(in *ctrInput) { in.sb.Config.Linux.CgroupParent = "/kubepods/burstable/poduid-1" },
			check: func(t *testing.T, s *specs.Spec, in *ctrInput) {
				if s.Linux.CgroupsPath != "/kubepods/burstable/poduid-1/"+in.id {
					t.Fatalf("cgroups path %q", s.Linux.CgroupsPath)
				}
			},
		},
		{
			name: "systemd parent",
			mod: func(in *ctrInput) {
				in.sb.Config.Linux.CgroupParent = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-poduid_1.slice"
				in.o.CgroupDriver = CgroupDriverSystemd
			},
			check: func(t *testing.T, s *specs.Spec, in *ctrInput) {
				if s.Linux.CgroupsPath != "kubepods-burstable-poduid_1.slice:podshim:"+in.id {
					t.Fatalf("cgroups path %q", s.Linux.CgroupsPath)
				}
			},
		},
		{
			name: "systemd driver with a cgroupfs parent",
			mod: func(in *ctrInput) {
				in.sb.Config.Linux.CgroupParent = "/kubepods/pod1"
				in.o.CgroupDriver = CgroupDriverSystemd
			},
			err: errdefs.ErrInvalidArgument, msg: "is not a systemd slice",
		},
		{
			name: "unknown cgroup driver",
			mod:  func(in *ctrInput) { in.o.CgroupDriver = "cgroupv3" },
			msg:  `unknown cgroup driver "cgroupv3"`,
		},
	})
}

func TestCgroupsPath(t *testing.T) {
	for _, c := range []struct{ parent, driver, want string }{
		{"/kubepods/pod1", CgroupDriverCgroupfs, "/kubepods/pod1/c1"},
		{"/kubepods/pod1", "", "/kubepods/pod1/c1"},
		{"kubepods/pod1", "", "kubepods/pod1/c1"},
		{"", CgroupDriverCgroupfs, ""},
		{"kubepods-besteffort-pod1.slice", CgroupDriverSystemd, "kubepods-besteffort-pod1.slice:podshim:c1"},
		{"/kubepods.slice/kubepods-pod1.slice", CgroupDriverSystemd, "kubepods-pod1.slice:podshim:c1"},
		{"", CgroupDriverSystemd, "system.slice:podshim:c1"},
	} {
		if got := CgroupsPath(c.parent, "c1", c.driver); got != c.want {
			t.Errorf("CgroupsPath(%q, c1, %q) = %q, want %q", c.parent, c.driver, got, c.want)
		}
	}
}

func TestCurrentOOMScoreAdj(t *testing.T) {
	value, canLower, err := CurrentOOMScoreAdj()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/self/oom_score_adj")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if value != want {
		t.Fatalf("value %d, /proc/self/oom_score_adj %d", value, want)
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	var capEff uint64
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			capEff, _ = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	const capSysResource = 24
	if wantLower := capEff&(1<<capSysResource) != 0; canLower != wantLower {
		t.Fatalf("canLower %v, CapEff %x says %v", canLower, capEff, wantLower)
	}
	t.Logf("oom_score_adj %d, can lower %v", value, canLower)
}
