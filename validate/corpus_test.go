package validate

//go:generate go test -run TestFuzzCorpus -update-corpus .

import (
	"flag"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/internal/fuzzcorpus"
)

var updateCorpus = flag.Bool("update-corpus", false, "write the fuzz seed corpora under testdata/fuzz")

// seedRequests are FuzzRequest's seeds: valid requests as kubelet sends
// them and requests the live fuzzer found wrong answers for.
func seedRequests() map[string]proto.Message {
	pod := &runtime.PodSandboxConfig{
		Metadata:     &runtime.PodSandboxMetadata{Name: "web", Namespace: "default", Uid: "9f0e7c4e-3a11"},
		Hostname:     "web",
		LogDirectory: "/var/log/pods/default_web_9f0e7c4e-3a11",
		PortMappings: []*runtime.PortMapping{{Protocol: runtime.Protocol_TCP, ContainerPort: 80, HostPort: 8080, HostIp: "127.0.0.1"}},
		Labels:       map[string]string{"io.kubernetes.pod.name": "web"},
		Linux: &runtime.LinuxPodSandboxConfig{
			CgroupParent: "/kubepods/besteffort/pod9f0e7c4e",
			Sysctls:      map[string]string{"net.ipv4.ip_unprivileged_port_start": "0", "kernel.shm_rmid_forced": "1"},
			SecurityContext: &runtime.LinuxSandboxSecurityContext{
				NamespaceOptions: &runtime.NamespaceOption{Pid: runtime.NamespaceMode_CONTAINER},
			},
		},
	}
	hostNet := proto.Clone(pod).(*runtime.PodSandboxConfig)
	hostNet.Linux.SecurityContext.NamespaceOptions.Network = runtime.NamespaceMode_NODE
	nodeSysctl := proto.Clone(pod).(*runtime.PodSandboxConfig)
	nodeSysctl.Linux.Sysctls = map[string]string{"kernel.panic": "1"}
	badPort := proto.Clone(pod).(*runtime.PodSandboxConfig)
	badPort.PortMappings[0].HostIp = "999.1.1.1"
	ctr := &runtime.ContainerConfig{
		Metadata: &runtime.ContainerMetadata{Name: "app", Attempt: 2},
		Image:    &runtime.ImageSpec{Image: "docker.io/library/busybox:1.36"},
		Command:  []string{"sh", "-c", "sleep 3600"},
		Envs:     []*runtime.KeyValue{{Key: "A", Value: []byte("1")}},
		Mounts:   []*runtime.Mount{{ContainerPath: "/data", HostPath: "/srv/data"}},
		LogPath:  "app/2.log",
		Linux: &runtime.LinuxContainerConfig{
			Resources: &runtime.LinuxContainerResources{CpuShares: 102, CpuPeriod: 100000, CpuQuota: 50000, MemoryLimitInBytes: 128 << 20, OomScoreAdj: 1000,
				HugepageLimits: []*runtime.HugepageLimit{{PageSize: "2MB"}}},
		},
	}
	escape := proto.Clone(ctr).(*runtime.ContainerConfig)
	escape.LogPath = "../../../etc/cron.d/x"
	return map[string]proto.Message{
		"run-pod":               &runtime.RunPodSandboxRequest{Config: pod},
		"run-pod-host-net":      &runtime.RunPodSandboxRequest{Config: hostNet},
		"run-pod-node-sysctl":   &runtime.RunPodSandboxRequest{Config: nodeSysctl},
		"run-pod-bad-host-ip":   &runtime.RunPodSandboxRequest{Config: badPort},
		"create":                &runtime.CreateContainerRequest{PodSandboxId: "abc123", Config: ctr},
		"create-log-escape":     &runtime.CreateContainerRequest{PodSandboxId: "abc123", Config: escape},
		"update":                &runtime.UpdateContainerResourcesRequest{ContainerId: "abc123", Linux: &runtime.LinuxContainerResources{CpuQuota: -1, CpusetCpus: "0-1"}},
		"update-shares-huge":    &runtime.UpdateContainerResourcesRequest{ContainerId: "abc123", Linux: &runtime.LinuxContainerResources{CpuShares: 1 << 40}},
		"update-memory-tiny":    &runtime.UpdateContainerResourcesRequest{ContainerId: "abc123", Linux: &runtime.LinuxContainerResources{MemoryLimitInBytes: 1}},
		"exec-sync":             &runtime.ExecSyncRequest{ContainerId: "abc123", Cmd: []string{"cat", "/etc/hostname"}, Timeout: 1},
		"exec-sync-nul":         &runtime.ExecSyncRequest{ContainerId: "abc123", Cmd: []string{"echo", "a\x00"}},
		"exec-sync-big":         &runtime.ExecSyncRequest{ContainerId: "abc123", Cmd: []string{"echo", strings.Repeat("x", 130<<10)}},
		"exec":                  &runtime.ExecRequest{ContainerId: "abc123", Cmd: []string{"sh"}, Stdin: true, Tty: true},
		"port-forward":          &runtime.PortForwardRequest{PodSandboxId: "abc123", Port: []int32{80, 0}},
		"stop-timeout-overflow": &runtime.StopContainerRequest{ContainerId: "abc123", Timeout: 1 << 62},
		"pod-cidr":              &runtime.UpdateRuntimeConfigRequest{RuntimeConfig: &runtime.RuntimeConfig{NetworkConfig: &runtime.NetworkConfig{PodCidr: "10.0.0.0/16,fd00::/64"}}},
	}
}

// seeds are the seed corpora of this package's fuzz targets.
func seeds(t *testing.T) map[string]map[string][]any {
	req := map[string][]any{}
	for name, m := range seedRequests() {
		kind := -1
		for i, k := range requestKinds {
			if proto.MessageName(k()) == proto.MessageName(m) {
				kind = i
			}
		}
		if kind < 0 {
			t.Fatalf("seed %s: %s is not one of FuzzRequest's kinds", name, proto.MessageName(m))
		}
		data, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		req[name] = []any{byte(kind), data}
	}
	res := map[string][]any{}
	for i, r := range [][]any{
		{int64(1024), int64(100000), int64(50000), "0-3", "0", int64(256 << 20), int64(512 << 20), int64(-998), "2MB"},
		{int64(0), int64(0), int64(-1), "", "", int64(0), int64(-1), int64(0), ""},
		{int64(1), int64(999), int64(10), "3-1", "0-", int64(4096), int64(-7), int64(1001), "3MB"},
		{int64(1 << 40), int64(1 << 40), int64(1 << 44), "8191", "1", int64(-1), int64(1), int64(-1001), "16GB"},
	} {
		res[fmt.Sprintf("resources-%d", i)] = r
	}
	sys := map[string][]any{}
	for i, s := range [][]any{
		{"net.ipv4.ip_forward", "1", false, false},
		{"net.ipv4.ip_forward", "1", true, false},
		{"kernel.shmmax", "68719476736", false, true},
		{"fs.mqueue.msg_max", "100", false, false},
		{"kernel.hostname", "x", true, false},
		{"net/ipv4/conf/eth0.100/forwarding", "1", false, false},
		{"kernel.panic", "1", false, false},
		{"../../proc/sysrq-trigger", "b", false, false},
		{"kernel.shmfoo", "1", false, false},
	} {
		sys[fmt.Sprintf("sysctl-%d", i)] = s
	}
	paths := map[string][]any{}
	for i, p := range []string{"app/0.log", "../x", "/abs", "a/../../b", "a\x00b", ".", "dir/", "0123abcd", "example.com/key", "a/b/c"} {
		paths[fmt.Sprintf("path-%d", i)] = []any{p}
	}
	cpus := map[string][]any{}
	for i, c := range []string{"0", "0-3,5", "7-7", "3-1", "", ",", "1-", "-1", "99999", "0x1"} {
		cpus[fmt.Sprintf("cpuset-%d", i)] = []any{c}
	}
	return map[string]map[string][]any{
		"FuzzRequest": req, "FuzzResources": res, "FuzzSysctls": sys, "FuzzPaths": paths, "FuzzParseCPUSet": cpus,
	}
}

// TestFuzzCorpus checks that testdata/fuzz holds exactly the seeds above
// (go generate writes them).
func TestFuzzCorpus(t *testing.T) {
	for target, s := range seeds(t) {
		diffs, err := fuzzcorpus.Check("testdata/fuzz", target, s, *updateCorpus)
		if err != nil {
			t.Fatal(err)
		}
		if len(diffs) > 0 && !*updateCorpus {
			t.Errorf("testdata/fuzz differs from the seeds in corpus_test.go (run go generate ./validate/): %v", diffs)
		}
	}
}
