package spec

//go:generate go test -run TestFuzzCorpus -update-corpus .

import (
	"flag"
	"testing"

	"google.golang.org/protobuf/proto"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/internal/fuzzcorpus"
)

var updateCorpus = flag.Bool("update-corpus", false, "write the fuzz seed corpora under testdata/fuzz")

// seedMessages are the seeds of the spec fuzz targets, by target: configs
// kubelet and critest send, and ones near the limits.
func seedMessages() map[string]map[string]proto.Message {
	ctr := testContainerConfig()
	ctr.Command, ctr.Args = []string{"sh", "-c"}, []string{"sleep 1"}
	ctr.WorkingDir = "/srv"
	ctr.Envs = []*runtime.KeyValue{{Key: "A", Value: []byte("1")}}
	ctr.Mounts = []*runtime.Mount{{ContainerPath: "/data", HostPath: "/dev/null", Readonly: true}}
	ctr.Linux.Resources = &runtime.LinuxContainerResources{CpuShares: 102, CpuQuota: 50000, CpuPeriod: 100000, MemoryLimitInBytes: 64 << 20, OomScoreAdj: 1000}
	ctr.Linux.SecurityContext = &runtime.LinuxContainerSecurityContext{
		Capabilities:     &runtime.Capability{AddCapabilities: []string{"NET_ADMIN"}, DropCapabilities: []string{"ALL"}},
		RunAsUser:        &runtime.Int64Value{Value: 1000},
		ReadonlyRootfs:   true,
		MaskedPaths:      []string{"/proc/kcore"},
		NoNewPrivs:       true,
		NamespaceOptions: &runtime.NamespaceOption{Pid: runtime.NamespaceMode_CONTAINER},
	}
	user := testContainerConfig()
	user.Linux.SecurityContext.RunAsUsername = "alice"
	noSuchUser := testContainerConfig()
	noSuchUser.Linux.SecurityContext.RunAsUsername = "nobody-here"
	caps := testContainerConfig()
	caps.Linux.SecurityContext.Capabilities = &runtime.Capability{AddCapabilities: []string{"NOT_A_CAP"}}
	pod := testSandboxConfig()
	pod.Linux.Sysctls = map[string]string{"net.ipv4.ip_forward": "1", "kernel.shm_rmid_forced": "1"}
	pod.Linux.Resources = &runtime.LinuxContainerResources{CpuShares: 1024, MemoryLimitInBytes: 1 << 30}
	hostPod := testSandboxConfig()
	hostPod.Linux.SecurityContext.NamespaceOptions = &runtime.NamespaceOption{Network: runtime.NamespaceMode_NODE, Ipc: runtime.NamespaceMode_NODE, Pid: runtime.NamespaceMode_NODE}
	hostPod.Linux.SecurityContext.Privileged = true
	return map[string]map[string]proto.Message{
		"FuzzContainerSpec": {"default": testContainerConfig(), "full": ctr, "username": user, "unknown-user": noSuchUser, "bad-capability": caps},
		"FuzzPauseSpec":     {"default": testSandboxConfig(), "sysctls": pod, "host-namespaces": hostPod},
		"FuzzUpdateResources": {
			"kubelet":   &runtime.LinuxContainerResources{CpuShares: 256, CpuQuota: 20000, CpuPeriod: 100000, MemoryLimitInBytes: 128 << 20},
			"cpuset":    &runtime.LinuxContainerResources{CpusetCpus: "0-1", CpusetMems: "0", CpuQuota: -1},
			"hugepages": &runtime.LinuxContainerResources{HugepageLimits: []*runtime.HugepageLimit{{PageSize: "2MB", Limit: 1 << 21}}},
			"swap":      &runtime.LinuxContainerResources{MemoryLimitInBytes: 64 << 20, MemorySwapLimitInBytes: 128 << 20},
		},
	}
}

// TestFuzzCorpus checks that testdata/fuzz holds exactly the seeds above
// (go generate writes them).
func TestFuzzCorpus(t *testing.T) {
	for target, msgs := range seedMessages() {
		seeds := map[string][]any{}
		for name, m := range msgs {
			data, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			seeds[name] = []any{data}
		}
		diffs, err := fuzzcorpus.Check("testdata/fuzz", target, seeds, *updateCorpus)
		if err != nil {
			t.Fatal(err)
		}
		if len(diffs) > 0 && !*updateCorpus {
			t.Errorf("testdata/fuzz differs from the seeds in corpus_test.go (run go generate ./cri/spec/): %v", diffs)
		}
	}
}
