package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// readCgroupFile reads one interface file of the cgroup at rel.
func readCgroupFile(t *testing.T, controller, rel, file string) string {
	t.Helper()
	dir := filepath.Join(cgroupRoot, rel)
	if !cgroupV2() {
		dir = filepath.Join(cgroupRoot, controller, rel)
	}
	data, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

// TestUpdatePodSandboxResources resizes a running pod and reads its pod
// cgroup back: the containers' resources plus the overhead, on the pod's
// cgroup parent.
func TestUpdatePodSandboxResources(t *testing.T) {
	pullImage(t, busyboxImage)
	cfg := podConfig(t)
	parent := "/podshim-itest-resize/pod" + cfg.Metadata.Uid
	cfg.Linux.CgroupParent = parent
	t.Cleanup(func() {
		// runc leaves the parents it made; remove them after the pod.
		for _, rel := range []string{parent, filepath.Dir(parent)} {
			for _, d := range cgroupDirs(rel) {
				_ = os.Remove(d)
			}
		}
	})
	pod := runPod(t, cfg)
	runContainer(t, pod, cfg, containerConfig(cfg, "app", "sleep", "3600"))
	ctx, cancel := callCtx()
	defer cancel()

	resize := func(res, overhead *criapi.LinuxContainerResources) {
		t.Helper()
		if _, err := rt().UpdatePodSandboxResources(ctx, &criapi.UpdatePodSandboxResourcesRequest{PodSandboxId: pod, Resources: res, Overhead: overhead}); err != nil {
			t.Fatalf("UpdatePodSandboxResources: %v", err)
		}
	}
	want := func(controller, file, value string) {
		t.Helper()
		if got := readCgroupFile(t, controller, parent, file); got != value {
			t.Errorf("%s of the pod cgroup is %q, want %q", file, got, value)
		}
	}

	overhead := &criapi.LinuxContainerResources{CpuShares: 10, CpuPeriod: 100000, CpuQuota: 10000, MemoryLimitInBytes: 16 << 20}
	resize(&criapi.LinuxContainerResources{CpuShares: 512, CpuPeriod: 100000, CpuQuota: 50000, MemoryLimitInBytes: 256 << 20}, overhead)
	if cgroupV2() {
		want("", "cpu.max", "60000 100000")
		want("", "memory.max", "285212672")
	} else {
		want("cpu", "cpu.shares", "522")
		want("cpu", "cpu.cfs_period_us", "100000")
		want("cpu", "cpu.cfs_quota_us", "60000")
		want("memory", "memory.limit_in_bytes", "285212672")
	}

	// Shrink, with another period, and grow the memory back.
	resize(&criapi.LinuxContainerResources{CpuShares: 256, CpuPeriod: 50000, CpuQuota: 20000, MemoryLimitInBytes: 128 << 20}, nil)
	if cgroupV2() {
		want("", "cpu.max", "20000 50000")
		want("", "memory.max", "134217728")
	} else {
		want("cpu", "cpu.shares", "256")
		want("cpu", "cpu.cfs_period_us", "50000")
		want("cpu", "cpu.cfs_quota_us", "20000")
		want("memory", "memory.limit_in_bytes", "134217728")
	}

	// The config records the last resize.
	resp, err := rt().PodSandboxStatus(ctx, &criapi.PodSandboxStatusRequest{PodSandboxId: pod, Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Config struct {
			Linux struct {
				Resources struct {
					CPUShares int64 `json:"cpu_shares"`
				} `json:"resources"`
				Overhead struct {
					CPUShares int64 `json:"cpu_shares"`
				} `json:"overhead"`
			} `json:"linux"`
		} `json:"config"`
	}
	if err := json.Unmarshal([]byte(resp.Info["info"]), &info); err != nil {
		t.Fatal(err)
	}
	if info.Config.Linux.Resources.CPUShares != 256 || info.Config.Linux.Overhead.CPUShares != 10 {
		t.Errorf("recorded resources %+v, want cpu_shares 256 and overhead 10", info.Config.Linux)
	}

	// Bad requests.
	for _, tc := range []struct {
		req   *criapi.UpdatePodSandboxResourcesRequest
		code  codes.Code
		field string
	}{
		{&criapi.UpdatePodSandboxResourcesRequest{Resources: &criapi.LinuxContainerResources{CpuShares: 2}}, codes.InvalidArgument, "pod_sandbox_id"},
		{&criapi.UpdatePodSandboxResourcesRequest{PodSandboxId: randHex(32)}, codes.NotFound, ""},
		{&criapi.UpdatePodSandboxResourcesRequest{PodSandboxId: pod, Resources: &criapi.LinuxContainerResources{CpuPeriod: 5}}, codes.InvalidArgument, "resources.cpu_period"},
		{&criapi.UpdatePodSandboxResourcesRequest{PodSandboxId: pod, Overhead: &criapi.LinuxContainerResources{MemoryLimitInBytes: -1}}, codes.InvalidArgument, "overhead.memory_limit_in_bytes"},
	} {
		_, err := rt().UpdatePodSandboxResources(ctx, tc.req)
		if grpcCode(err) != tc.code || !strings.Contains(errString(err), tc.field) {
			t.Errorf("UpdatePodSandboxResources(%v) = %v, want %v naming %q", tc.req, err, tc.code, tc.field)
		}
	}
	// A refused request changed nothing.
	if !cgroupV2() {
		want("cpu", "cpu.cfs_period_us", "50000")
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
