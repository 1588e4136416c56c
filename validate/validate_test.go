package validate

import (
	"strings"
	"testing"

	"github.com/containerd/containerd/errdefs"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// testNode is a machine with CPUs 0-3, one memory node, 2 MB and 1 GB
// hugepages and cgroup v1.
var testNode = Node{Known: true, CPUs: "0-3", Mems: "0", HugepageSizes: []string{"2MB", "1GB"}}

// check fails t unless err is nil (field "") or an InvalidArgument
// naming field.
func check(t *testing.T, name string, err error, field string) {
	t.Helper()
	switch {
	case field == "" && err != nil:
		t.Errorf("%s: %v, want no error", name, err)
	case field != "" && err == nil:
		t.Errorf("%s: no error, want InvalidArgument naming %s", name, field)
	case field != "" && (!errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), field+":")):
		t.Errorf("%s: %v, want InvalidArgument naming %s", name, err, field)
	}
}

func TestResources(t *testing.T) {
	const f = "linux.resources."
	cases := []struct {
		name  string
		r     *runtime.LinuxContainerResources
		field string
	}{
		{"nil", nil, ""},
		{"kubelet burstable", &runtime.LinuxContainerResources{CpuShares: 102, CpuPeriod: 100000, CpuQuota: 50000, MemoryLimitInBytes: 128 << 20, OomScoreAdj: 1000}, ""},
		{"cpuset", &runtime.LinuxContainerResources{CpusetCpus: "0-1,3", CpusetMems: "0"}, ""},
		{"no quota", &runtime.LinuxContainerResources{CpuQuota: -1}, ""},
		{"swap unlimited", &runtime.LinuxContainerResources{MemoryLimitInBytes: 64 << 20, MemorySwapLimitInBytes: -1}, ""},
		{"hugepages", &runtime.LinuxContainerResources{HugepageLimits: []*runtime.HugepageLimit{{PageSize: "2MB"}, {PageSize: "1GB", Limit: 1 << 30}}}, ""},
		{"shares 1", &runtime.LinuxContainerResources{CpuShares: 1}, f + "cpu_shares"},
		{"shares huge", &runtime.LinuxContainerResources{CpuShares: 1 << 40}, f + "cpu_shares"},
		{"shares negative", &runtime.LinuxContainerResources{CpuShares: -5}, f + "cpu_shares"},
		{"period small", &runtime.LinuxContainerResources{CpuPeriod: 999}, f + "cpu_period"},
		{"period large", &runtime.LinuxContainerResources{CpuPeriod: 1000001}, f + "cpu_period"},
		{"quota small", &runtime.LinuxContainerResources{CpuQuota: 10}, f + "cpu_quota"},
		{"quota negative", &runtime.LinuxContainerResources{CpuQuota: -2}, f + "cpu_quota"},
		{"quota huge", &runtime.LinuxContainerResources{CpuQuota: 1 << 62}, f + "cpu_quota"},
		{"cpuset syntax", &runtime.LinuxContainerResources{CpusetCpus: "0-"}, f + "cpuset_cpus"},
		{"cpuset backwards", &runtime.LinuxContainerResources{CpusetCpus: "3-1"}, f + "cpuset_cpus"},
		{"cpuset letters", &runtime.LinuxContainerResources{CpusetCpus: "a"}, f + "cpuset_cpus"},
		{"cpuset offline", &runtime.LinuxContainerResources{CpusetCpus: "0,7"}, f + "cpuset_cpus"},
		{"mems offline", &runtime.LinuxContainerResources{CpusetMems: "1"}, f + "cpuset_mems"},
		{"memory tiny", &runtime.LinuxContainerResources{MemoryLimitInBytes: 4096}, f + "memory_limit_in_bytes"},
		{"memory negative", &runtime.LinuxContainerResources{MemoryLimitInBytes: -1}, f + "memory_limit_in_bytes"},
		{"swap below memory", &runtime.LinuxContainerResources{MemoryLimitInBytes: 64 << 20, MemorySwapLimitInBytes: 32 << 20}, f + "memory_swap_limit_in_bytes"},
		{"swap without memory", &runtime.LinuxContainerResources{MemorySwapLimitInBytes: 64 << 20}, f + "memory_swap_limit_in_bytes"},
		{"swap negative", &runtime.LinuxContainerResources{MemorySwapLimitInBytes: -7}, f + "memory_swap_limit_in_bytes"},
		{"oom low", &runtime.LinuxContainerResources{OomScoreAdj: -1001}, f + "oom_score_adj"},
		{"oom high", &runtime.LinuxContainerResources{OomScoreAdj: 1001}, f + "oom_score_adj"},
		{"page size form", &runtime.LinuxContainerResources{HugepageLimits: []*runtime.HugepageLimit{{PageSize: "2M"}}}, f + "hugepage_limits[0].page_size"},
		{"page size not power of two", &runtime.LinuxContainerResources{HugepageLimits: []*runtime.HugepageLimit{{PageSize: "3MB"}}}, f + "hugepage_limits[0].page_size"},
		{"page size unknown here", &runtime.LinuxContainerResources{HugepageLimits: []*runtime.HugepageLimit{{PageSize: "16GB"}}}, f + "hugepage_limits[0].page_size"},
		{"page size twice", &runtime.LinuxContainerResources{HugepageLimits: []*runtime.HugepageLimit{{PageSize: "2MB"}, {PageSize: "2MB"}}}, f + "hugepage_limits[1].page_size"},
		{"hugepage nil", &runtime.LinuxContainerResources{HugepageLimits: []*runtime.HugepageLimit{nil}}, f + "hugepage_limits[0]"},
		{"unified on v1", &runtime.LinuxContainerResources{Unified: map[string]string{"memory.high": "1G"}}, f + "unified"},
	}
	for _, tc := range cases {
		check(t, tc.name, Resources("linux.resources", tc.r, testNode), tc.field)
	}
	v2 := testNode
	v2.CgroupV2 = true
	check(t, "unified on v2", Resources("r", &runtime.LinuxContainerResources{Unified: map[string]string{"memory.high": "1G", "pids.max": "10"}}, v2), "")
	check(t, "unified path key", Resources("r", &runtime.LinuxContainerResources{Unified: map[string]string{"../memory.high": "1G"}}, v2), "r.unified")
	check(t, "unified newline", Resources("r", &runtime.LinuxContainerResources{Unified: map[string]string{"memory.high": "1\n2"}}, v2), "r.unified[memory.high]")
	// Without node facts, only syntax and fixed ranges.
	check(t, "unknown node", Resources("r", &runtime.LinuxContainerResources{CpusetCpus: "100", Unified: map[string]string{"memory.max": "1G"}}, Node{}), "")
}

func TestParseCPUSet(t *testing.T) {
	got, err := ParseCPUSet("0-2,5,7-7")
	if err != nil {
		t.Fatal(err)
	}
	want := []int{0, 1, 2, 5, 7}
	if len(got) != len(want) {
		t.Fatalf("ParseCPUSet = %v, want %v", got, want)
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("ParseCPUSet lacks %d", w)
		}
	}
	for _, bad := range []string{"", ",", "1,", "-1", "1-2-3", "9999", "0x1", " 1", "1 "} {
		if _, err := ParseCPUSet(bad); err == nil {
			t.Errorf("ParseCPUSet(%q) accepted", bad)
		}
	}
}

func TestPageSizeFromKB(t *testing.T) {
	for kb, want := range map[string]string{"64": "64KB", "2048": "2MB", "1048576": "1GB", "32768": "32MB"} {
		if got, err := pageSizeFromKB(kb); err != nil || got != want {
			t.Errorf("pageSizeFromKB(%s) = %q, %v; want %q", kb, got, err, want)
		}
	}
}

func TestSysctls(t *testing.T) {
	pod := &runtime.NamespaceOption{}
	hostNet := &runtime.NamespaceOption{Network: runtime.NamespaceMode_NODE}
	hostIPC := &runtime.NamespaceOption{Ipc: runtime.NamespaceMode_NODE}
	cases := []struct {
		name    string
		sysctls map[string]string
		ns      *runtime.NamespaceOption
		field   string
	}{
		{"net", map[string]string{"net.ipv4.ip_forward": "1", "net.ipv4.ip_local_port_range": "1024 65000"}, pod, ""},
		{"ipc", map[string]string{"kernel.shm_rmid_forced": "1", "kernel.msgmax": "8192", "kernel.sem": "250 32000 32 128", "fs.mqueue.msg_max": "100"}, pod, ""},
		{"uts", map[string]string{"kernel.domainname": "example.com"}, pod, ""},
		{"slashes", map[string]string{"net/ipv4/conf/eth0.100/forwarding": "1"}, pod, ""},
		{"nil ns", map[string]string{"net.core.somaxconn": "1024"}, nil, ""},
		{"net on host network", map[string]string{"net.ipv4.ip_forward": "1"}, hostNet, "s[net.ipv4.ip_forward]"},
		{"uts on host network", map[string]string{"kernel.hostname": "x"}, hostNet, "s[kernel.hostname]"},
		{"ipc on host IPC", map[string]string{"kernel.shmmax": "1"}, hostIPC, "s[kernel.shmmax]"},
		{"mqueue on host IPC", map[string]string{"fs.mqueue.queues_max": "1"}, hostIPC, "s[fs.mqueue.queues_max]"},
		{"net on host IPC", map[string]string{"net.ipv4.ip_forward": "1"}, hostIPC, ""},
		{"node-wide", map[string]string{"kernel.panic": "1"}, pod, "s[kernel.panic]"},
		{"vm", map[string]string{"vm.overcommit_memory": "1"}, pod, "s[vm.overcommit_memory]"},
		{"shm lookalike", map[string]string{"kernel.shmfoo": "1"}, pod, "s[kernel.shmfoo]"},
		{"dot dot", map[string]string{"net..ipv4": "1"}, pod, "s[net..ipv4]"},
		{"path", map[string]string{"../../etc/passwd": "1"}, pod, "s[../../etc/passwd]"},
		{"upper case", map[string]string{"NET.ipv4.ip_forward": "1"}, pod, "s[NET.ipv4.ip_forward]"},
		{"NUL value", map[string]string{"net.ipv4.ip_forward": "1\x00"}, pod, "s[net.ipv4.ip_forward]"},
	}
	for _, tc := range cases {
		check(t, tc.name, Sysctls("s", tc.sysctls, tc.ns), tc.field)
	}
}

func TestNamesAndIDs(t *testing.T) {
	check(t, "name", Name("n", "PodSandbox-for-x_1.a", MaxNameLength), "")
	check(t, "uuid", Name("n", "9f0e7c4e-3a11-4c1b-9d59-1c5f2d3e4f50", MaxNameLength), "")
	for _, bad := range []string{"", "-a", "a-", "a/b", "a;b", "a=b", "a b", "a\x00", "../x", strings.Repeat("a", 254)} {
		check(t, "name "+bad, Name("n", bad, MaxNameLength), "n")
	}
	check(t, "namespace too long", Name("n", strings.Repeat("a", 64), MaxNamespaceLength), "n")
	check(t, "id", ID("container_id", "0123abcd"), "")
	check(t, "id empty", ID("container_id", ""), "container_id")
	check(t, "id path", ID("container_id", "../x"), "container_id")
	check(t, "id long", ID("container_id", strings.Repeat("a", 65)), "container_id")
	check(t, "pod metadata", PodMetadata("m", &runtime.PodSandboxMetadata{Name: "a", Namespace: "b", Uid: "c", Attempt: 1 << 31}), "")
	check(t, "pod metadata nil", PodMetadata("m", nil), "m")
	check(t, "pod uid", PodMetadata("m", &runtime.PodSandboxMetadata{Name: "a", Namespace: "b"}), "m.uid")
	check(t, "container metadata", ContainerMetadata("m", &runtime.ContainerMetadata{Name: "a/b"}), "m.name")
}

func TestLabelsAndAnnotations(t *testing.T) {
	check(t, "labels", Labels("l", map[string]string{"io.kubernetes.pod.name": strings.Repeat("p", 253), "app": "", "example.com/tier": "a_b.c-d"}), "")
	check(t, "label value long", Labels("l", map[string]string{"a": strings.Repeat("v", 254)}), "l[a]")
	check(t, "label value newline", Labels("l", map[string]string{"a": "x\ny"}), "l[a]")
	for _, k := range []string{"", "/a", "a/", "Example.com/a", "a/b/c", "-a", strings.Repeat("k", 64), strings.Repeat("p", 254) + "/a", "a\x00"} {
		check(t, "label key "+k, Labels("l", map[string]string{k: "v"}), "l")
	}
	check(t, "annotations", Annotations("a", map[string]string{"kubernetes.io/config.seen": "2024-01-01T00:00:00Z", "json": `{"a": [1, 2]}`}), "")
	check(t, "annotation NUL", Annotations("a", map[string]string{"x": "\x00"}), "a[x]")
	big := map[string]string{}
	for i := 0; i < 5; i++ {
		big[string(rune('a'+i))] = strings.Repeat("v", 60<<10)
	}
	check(t, "annotations total", Annotations("a", big), "a")
	check(t, "annotations just under", Annotations("a", map[string]string{"x": strings.Repeat("v", MaxAnnotationsSize-1)}), "")
}

func TestPaths(t *testing.T) {
	check(t, "log path", LogPath("log_path", "app/0.log"), "")
	check(t, "log path empty", LogPath("log_path", ""), "")
	for _, bad := range []string{"/abs.log", "../x.log", "a/../../x", "a\x00b", "dir/", ".", strings.Repeat("a", 4097)} {
		check(t, "log path "+bad, LogPath("log_path", bad), "log_path")
	}
	check(t, "abs", AbsPath("p", "/var/log/pods/x", false), "")
	check(t, "abs relative", AbsPath("p", "var/log", false), "p")
	check(t, "abs dotdot", AbsPath("p", "/var/../etc", false), "p")
	check(t, "abs required", AbsPath("p", "", false), "p")
	check(t, "abs optional", AbsPath("p", "", true), "")
	check(t, "mounts", Mounts("m", []*runtime.Mount{{ContainerPath: "/data", HostPath: "/srv/data", Propagation: runtime.MountPropagation_PROPAGATION_BIDIRECTIONAL}}), "")
	check(t, "mount image volume", Mounts("m", []*runtime.Mount{{ContainerPath: "/data", Image: &runtime.ImageSpec{Image: "busybox"}}}), "")
	check(t, "mount relative", Mounts("m", []*runtime.Mount{{ContainerPath: "data", HostPath: "/srv"}}), "m[0].container_path")
	check(t, "mount host dotdot", Mounts("m", []*runtime.Mount{{ContainerPath: "/d", HostPath: "/srv/../etc"}}), "m[0].host_path")
	check(t, "mount host empty", Mounts("m", []*runtime.Mount{{ContainerPath: "/d"}}), "m[0].host_path")
	check(t, "mount propagation", Mounts("m", []*runtime.Mount{{ContainerPath: "/d", HostPath: "/s", Propagation: 9}}), "m[0].propagation")
	check(t, "mount nil", Mounts("m", []*runtime.Mount{nil}), "m[0]")
	check(t, "devices", Devices("d", []*runtime.Device{{ContainerPath: "/dev/fuse", HostPath: "/dev/fuse", Permissions: "rwm"}}), "")
	check(t, "device permissions", Devices("d", []*runtime.Device{{ContainerPath: "/dev/x", HostPath: "/dev/x", Permissions: "rwx"}}), "d[0].permissions")
	check(t, "cgroup parent", CgroupParent("c", "/kubepods/burstable/pod1"), "")
	check(t, "cgroup parent dotdot", CgroupParent("c", "/kubepods/../../x"), "c")
}

func TestNetwork(t *testing.T) {
	ok := []*runtime.PortMapping{
		{Protocol: runtime.Protocol_TCP, ContainerPort: 80, HostPort: 8080, HostIp: "127.0.0.1"},
		{Protocol: runtime.Protocol_SCTP, ContainerPort: 65535, HostIp: "::1"},
	}
	check(t, "ports", PortMappings("p", ok), "")
	for name, tc := range map[string]struct {
		pm    *runtime.PortMapping
		field string
	}{
		"protocol":       {&runtime.PortMapping{Protocol: 7, ContainerPort: 80}, "p[0].protocol"},
		"container 0":    {&runtime.PortMapping{ContainerPort: 0}, "p[0].container_port"},
		"container high": {&runtime.PortMapping{ContainerPort: 65536}, "p[0].container_port"},
		"host negative":  {&runtime.PortMapping{ContainerPort: 1, HostPort: -1}, "p[0].host_port"},
		"host high":      {&runtime.PortMapping{ContainerPort: 1, HostPort: 1 << 20}, "p[0].host_port"},
		"host ip":        {&runtime.PortMapping{ContainerPort: 1, HostIp: "localhost"}, "p[0].host_ip"},
		"nil":            {nil, "p[0]"},
	} {
		check(t, name, PortMappings("p", []*runtime.PortMapping{tc.pm}), tc.field)
	}
	check(t, "hostname", Hostname("h", "web-0.example"), "")
	// setHostnameAsFQDN with an empty cluster domain.
	check(t, "hostname fqdn", Hostname("h", "pod-1.sub.ns.svc."), "")
	for _, bad := range []string{"a_b", "-a", "a b", strings.Repeat("h", 65), "a\nb", ".", "a..b", ".a"} {
		check(t, "hostname "+bad, Hostname("h", bad), "h")
	}
	check(t, "dns", DNSConfig("d", &runtime.DNSConfig{Servers: []string{"10.0.0.10", "fd00::a"}, Searches: []string{"svc.cluster.local"}, Options: []string{"ndots:5"}}), "")
	check(t, "dns server", DNSConfig("d", &runtime.DNSConfig{Servers: []string{"dns.example"}}), "d.servers[0]")
	check(t, "dns search newline", DNSConfig("d", &runtime.DNSConfig{Searches: []string{"a\nnameserver 1.2.3.4"}}), "d.searches[0]")
}

func TestProcess(t *testing.T) {
	check(t, "cmd", Command("cmd", []string{"sh", "-c", "echo hi"}, true), "")
	check(t, "cmd empty", Command("cmd", nil, true), "cmd")
	check(t, "cmd optional", Command("command", nil, false), "")
	check(t, "cmd first empty", Command("cmd", []string{""}, true), "cmd[0]")
	check(t, "cmd NUL", Command("cmd", []string{"echo", "a\x00b"}, true), "cmd[1]")
	check(t, "cmd arg too long", Command("cmd", []string{"echo", strings.Repeat("x", 128<<10)}, true), "cmd[1]")
	check(t, "cmd arg at limit", Command("cmd", []string{"echo", strings.Repeat("x", MaxArgLength)}, true), "")
	many := make([]string, 20)
	for i := range many {
		many[i] = strings.Repeat("x", 100<<10)
	}
	check(t, "cmd too big", Command("cmd", many, true), "cmd")
	check(t, "envs", Envs("envs", []*runtime.KeyValue{{Key: "A", Value: []byte("b=c")}}), "")
	check(t, "env key =", Envs("envs", []*runtime.KeyValue{{Key: "A=B"}}), "envs[0].key")
	check(t, "env key empty", Envs("envs", []*runtime.KeyValue{{Value: []byte("x")}}), "envs[0].key")
	check(t, "env NUL", Envs("envs", []*runtime.KeyValue{{Key: "A", Value: []byte{0}}}), "envs[0].value")
	check(t, "timeout", Timeout("timeout", 30), "")
	check(t, "timeout negative", Timeout("timeout", -1), "timeout")
	check(t, "timeout overflow", Timeout("timeout", 1<<62), "timeout")
}

func TestRequest(t *testing.T) {
	pod := func() *runtime.PodSandboxConfig {
		return &runtime.PodSandboxConfig{
			Metadata:     &runtime.PodSandboxMetadata{Name: "web", Namespace: "default", Uid: "u1"},
			Hostname:     "web",
			LogDirectory: "/var/log/pods/default_web_u1",
			Linux: &runtime.LinuxPodSandboxConfig{
				Sysctls:         map[string]string{"net.ipv4.ip_unprivileged_port_start": "0"},
				SecurityContext: &runtime.LinuxSandboxSecurityContext{RunAsUser: &runtime.Int64Value{Value: 1000}},
			},
		}
	}
	ctr := func() *runtime.ContainerConfig {
		return &runtime.ContainerConfig{
			Metadata: &runtime.ContainerMetadata{Name: "app"},
			Image:    &runtime.ImageSpec{Image: "busybox"},
			Command:  []string{"sleep", "1"},
			LogPath:  "app/0.log",
			Linux: &runtime.LinuxContainerConfig{SecurityContext: &runtime.LinuxContainerSecurityContext{
				MaskedPaths: []string{"/proc/kcore"}, SupplementalGroups: []int64{5},
			}},
		}
	}
	hostNetPod := pod()
	hostNetPod.Linux.SecurityContext.NamespaceOptions = &runtime.NamespaceOption{Network: runtime.NamespaceMode_NODE}
	badUser := pod()
	badUser.Linux.SecurityContext.RunAsUser.Value = -5
	badPorts := pod()
	badPorts.PortMappings = []*runtime.PortMapping{{ContainerPort: 70000}}
	badMode := pod()
	badMode.Linux.SecurityContext.NamespaceOptions = &runtime.NamespaceOption{Pid: 42}
	badLog := ctr()
	badLog.LogPath = "../../etc/passwd"
	badGroup := ctr()
	badGroup.Linux.SecurityContext.SupplementalGroups = []int64{1 << 33}
	badMasked := ctr()
	badMasked.Linux.SecurityContext.MaskedPaths = []string{"proc"}
	badWorkdir := ctr()
	badWorkdir.WorkingDir = "tmp"
	noImage := ctr()
	noImage.Image = nil
	cases := []struct {
		name  string
		req   any
		field string
	}{
		{"run pod", &runtime.RunPodSandboxRequest{Config: pod()}, ""},
		{"run pod nil config", &runtime.RunPodSandboxRequest{}, "config"},
		{"run pod host net sysctl", &runtime.RunPodSandboxRequest{Config: hostNetPod}, "config.linux.sysctls[net.ipv4.ip_unprivileged_port_start]"},
		{"run pod bad user", &runtime.RunPodSandboxRequest{Config: badUser}, "config.linux.security_context.run_as_user"},
		{"run pod bad port", &runtime.RunPodSandboxRequest{Config: badPorts}, "config.port_mappings[0].container_port"},
		{"run pod bad ns mode", &runtime.RunPodSandboxRequest{Config: badMode}, "config.linux.security_context.namespace_options.pid"},
		{"create", &runtime.CreateContainerRequest{PodSandboxId: "abc", Config: ctr()}, ""},
		{"create no pod", &runtime.CreateContainerRequest{Config: ctr()}, "pod_sandbox_id"},
		{"create log path", &runtime.CreateContainerRequest{PodSandboxId: "abc", Config: badLog}, "config.log_path"},
		{"create group", &runtime.CreateContainerRequest{PodSandboxId: "abc", Config: badGroup}, "config.linux.security_context.supplemental_groups[0]"},
		{"create masked", &runtime.CreateContainerRequest{PodSandboxId: "abc", Config: badMasked}, "config.linux.security_context.masked_paths[0]"},
		{"create workdir", &runtime.CreateContainerRequest{PodSandboxId: "abc", Config: badWorkdir}, "config.working_dir"},
		{"create no image", &runtime.CreateContainerRequest{PodSandboxId: "abc", Config: noImage}, "config.image.image"},
		{"update", &runtime.UpdateContainerResourcesRequest{ContainerId: "abc", Linux: &runtime.LinuxContainerResources{CpuShares: 512}}, ""},
		{"update no linux", &runtime.UpdateContainerResourcesRequest{ContainerId: "abc"}, "linux"},
		{"update shares", &runtime.UpdateContainerResourcesRequest{ContainerId: "abc", Linux: &runtime.LinuxContainerResources{CpuShares: 1 << 40}}, "linux.cpu_shares"},
		{"exec sync", &runtime.ExecSyncRequest{ContainerId: "abc", Cmd: []string{"true"}, Timeout: 5}, ""},
		{"exec sync huge", &runtime.ExecSyncRequest{ContainerId: "abc", Cmd: []string{"echo", strings.Repeat("x", 5<<20)}}, "cmd[1]"},
		{"exec sync timeout", &runtime.ExecSyncRequest{ContainerId: "abc", Cmd: []string{"true"}, Timeout: -3}, "timeout"},
		{"exec empty", &runtime.ExecRequest{ContainerId: "abc"}, "cmd"},
		{"attach no id", &runtime.AttachRequest{}, "container_id"},
		{"port forward", &runtime.PortForwardRequest{PodSandboxId: "abc", Port: []int32{80}}, ""},
		{"port forward port", &runtime.PortForwardRequest{PodSandboxId: "abc", Port: []int32{0}}, "port[0]"},
		{"stop timeout", &runtime.StopContainerRequest{ContainerId: "abc", Timeout: -1}, "timeout"},
		{"stop pod id", &runtime.StopPodSandboxRequest{PodSandboxId: "a\x00"}, "pod_sandbox_id"},
		{"pod cidr", &runtime.UpdateRuntimeConfigRequest{RuntimeConfig: &runtime.RuntimeConfig{NetworkConfig: &runtime.NetworkConfig{PodCidr: "10.0.0.0/8,x"}}}, "runtime_config.network_config.pod_cidr"},
		{"version", &runtime.VersionRequest{Version: "\x00"}, ""},
		{"nil", nil, ""},
	}
	for _, tc := range cases {
		check(t, tc.name, Request(tc.req, testNode), tc.field)
	}
}

func TestReadNode(t *testing.T) {
	n := ReadNode()
	if !n.Known || n.CPUs == "" || n.Mems == "" || n.HugepageSizes == nil {
		t.Fatalf("ReadNode = %+v, want the machine's CPUs, memory nodes and hugepage sizes", n)
	}
	cpus, err := ParseCPUSet(n.CPUs)
	if err != nil || !cpus[0] {
		t.Errorf("online CPUs %q: %v (CPU 0 should be online)", n.CPUs, err)
	}
	// CPU 0 passes; a CPU past the online ones is refused.
	check(t, "cpu 0", Resources("r", &runtime.LinuxContainerResources{CpusetCpus: "0"}, n), "")
	check(t, "cpu past online", Resources("r", &runtime.LinuxContainerResources{CpusetCpus: "8191"}, n), "r.cpuset_cpus")
}
