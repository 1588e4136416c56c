package spec

import (
	"testing"

	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/oci"
	"github.com/opencontainers/runtime-spec/specs-go"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestUpdateResources(t *testing.T) {
	shares, quota, limit := uint64(512), int64(50000), int64(64<<20)
	orig := &oci.Spec{Linux: &specs.Linux{Resources: &specs.LinuxResources{
		CPU:    &specs.LinuxCPU{Shares: &shares, Quota: &quota},
		Memory: &specs.LinuxMemory{Limit: &limit},
	}}}
	got, err := UpdateResources(orig, &runtime.LinuxContainerResources{CpuQuota: 20000, MemoryLimitInBytes: 128 << 20})
	if err != nil {
		t.Fatal(err)
	}
	res := got.Linux.Resources
	if *res.CPU.Quota != 20000 || *res.CPU.Shares != 512 || *res.Memory.Limit != 128<<20 {
		t.Fatalf("updated resources = cpu %+v memory %+v", res.CPU, res.Memory)
	}
	if *orig.Linux.Resources.CPU.Quota != 50000 || *orig.Linux.Resources.Memory.Limit != 64<<20 {
		t.Fatal("UpdateResources modified its input")
	}
	if _, err := UpdateResources(orig, &runtime.LinuxContainerResources{CpuShares: -1}); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("negative shares: err = %v, want InvalidArgument", err)
	}
}
