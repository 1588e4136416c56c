package validate

import (
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/containerd/errdefs"
	"google.golang.org/protobuf/proto"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// The fuzz targets check properties, not just "no panic": whatever they
// accept meets the limits the runtime relies on, checked here again in
// other words than the validators use, and whatever they refuse is
// InvalidArgument. Their seed corpora under testdata/fuzz are written by
// TestFuzzCorpus (go generate).

// requestKinds are the request types FuzzRequest decodes its bytes into.
var requestKinds = []func() proto.Message{
	func() proto.Message { return &runtime.RunPodSandboxRequest{} },
	func() proto.Message { return &runtime.CreateContainerRequest{} },
	func() proto.Message { return &runtime.UpdateContainerResourcesRequest{} },
	func() proto.Message { return &runtime.ExecSyncRequest{} },
	func() proto.Message { return &runtime.ExecRequest{} },
	func() proto.Message { return &runtime.PortForwardRequest{} },
	func() proto.Message { return &runtime.StopContainerRequest{} },
	func() proto.Message { return &runtime.UpdateRuntimeConfigRequest{} },
}

func mustInvalid(t *testing.T, err error) {
	t.Helper()
	if err != nil && !errdefs.IsInvalidArgument(err) {
		t.Fatalf("error %v is not InvalidArgument", err)
	}
}

func FuzzRequest(f *testing.F) {
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		req := requestKinds[int(kind)%len(requestKinds)]()
		if err := proto.Unmarshal(data, req); err != nil {
			return
		}
		err := Request(req, testNode)
		mustInvalid(t, err)
		if err != nil {
			return
		}
		switch r := req.(type) {
		case *runtime.RunPodSandboxRequest:
			c := r.Config
			if c.Metadata.Name == "" || strings.ContainsAny(c.Metadata.Name+c.Metadata.Namespace+c.Metadata.Uid, "/;= \x00") {
				t.Fatalf("accepted metadata %v", c.Metadata)
			}
			for _, pm := range c.PortMappings {
				if pm.ContainerPort < 1 || pm.ContainerPort > 65535 || pm.HostPort < 0 || pm.HostPort > 65535 {
					t.Fatalf("accepted port mapping %v", pm)
				}
			}
			ns := c.GetLinux().GetSecurityContext().GetNamespaceOptions()
			for k := range c.GetLinux().GetSysctls() {
				checkSysctlAccepted(t, k, ns)
			}
			checkResourcesAccepted(t, c.GetLinux().GetResources())
		case *runtime.CreateContainerRequest:
			c := r.Config
			if lp := c.LogPath; lp != "" {
				dir := "/var/log/pods/x"
				if j := filepath.Join(dir, lp); !strings.HasPrefix(j, dir+"/") {
					t.Fatalf("accepted log_path %q, which leaves the log directory (%s)", lp, j)
				}
			}
			for _, m := range c.Mounts {
				if !path.IsAbs(m.ContainerPath) || strings.Contains(m.ContainerPath, "\x00") {
					t.Fatalf("accepted mount %v", m)
				}
			}
			checkArgsAccepted(t, c.Command)
			checkArgsAccepted(t, c.Args)
			checkResourcesAccepted(t, c.GetLinux().GetResources())
		case *runtime.UpdateContainerResourcesRequest:
			checkResourcesAccepted(t, r.Linux)
		case *runtime.ExecSyncRequest:
			if len(r.Cmd) == 0 || r.Timeout < 0 {
				t.Fatalf("accepted exec %v", r)
			}
			checkArgsAccepted(t, r.Cmd)
		case *runtime.ExecRequest:
			checkArgsAccepted(t, r.Cmd)
		}
	})
}

// checkArgsAccepted checks an accepted command line against the kernel's
// and containerd's limits.
func checkArgsAccepted(t *testing.T, args []string) {
	total := 0
	for _, a := range args {
		if len(a) >= 128<<10 || strings.IndexByte(a, 0) >= 0 {
			t.Fatalf("accepted argument of %d bytes (NUL: %v)", len(a), strings.IndexByte(a, 0) >= 0)
		}
		total += len(a) + 1
	}
	if total > 2<<20 {
		t.Fatalf("accepted a command line of %d bytes", total)
	}
}

// checkSysctlAccepted checks that an accepted sysctl is one of a namespace
// the pod owns.
func checkSysctlAccepted(t *testing.T, name string, ns *runtime.NamespaceOption) {
	n := strings.ReplaceAll(name, "/", ".")
	hostNet := ns.GetNetwork() == runtime.NamespaceMode_NODE
	hostIPC := ns.GetIpc() == runtime.NamespaceMode_NODE
	switch {
	case strings.HasPrefix(n, "net.") && !hostNet:
	case (strings.HasPrefix(n, "kernel.shm") || strings.HasPrefix(n, "kernel.msg") || n == "kernel.sem" || strings.HasPrefix(n, "fs.mqueue.")) && !hostIPC:
	case (n == "kernel.hostname" || n == "kernel.domainname") && !hostNet:
	default:
		t.Fatalf("accepted sysctl %q (host network %v, host IPC %v)", name, hostNet, hostIPC)
	}
	if strings.Contains(n, "..") {
		t.Fatalf("accepted sysctl %q", name)
	}
}

// checkResourcesAccepted checks accepted resources against the kernel's
// ranges.
func checkResourcesAccepted(t *testing.T, r *runtime.LinuxContainerResources) {
	if r == nil {
		return
	}
	bad := func(cond bool, what string) {
		if cond {
			t.Fatalf("accepted %s in %v", what, r)
		}
	}
	bad(r.CpuShares != 0 && (r.CpuShares < 2 || r.CpuShares > 262144), "cpu_shares")
	bad(r.CpuPeriod != 0 && (r.CpuPeriod < 1000 || r.CpuPeriod > 1000000), "cpu_period")
	bad(r.CpuQuota < -1 || (r.CpuQuota > 0 && r.CpuQuota < 1000), "cpu_quota")
	bad(r.MemoryLimitInBytes < 0 || (r.MemoryLimitInBytes > 0 && r.MemoryLimitInBytes < 6<<20), "memory_limit_in_bytes")
	bad(r.MemorySwapLimitInBytes > 0 && r.MemorySwapLimitInBytes < r.MemoryLimitInBytes, "memory_swap_limit_in_bytes")
	bad(r.OomScoreAdj < -1000 || r.OomScoreAdj > 1000, "oom_score_adj")
	for _, set := range []string{r.CpusetCpus, r.CpusetMems} {
		bad(strings.Trim(set, "0123456789,-") != "", "cpuset")
	}
	for _, h := range r.HugepageLimits {
		bad(h.PageSize != "2MB" && h.PageSize != "1GB", "page size "+h.PageSize)
	}
	bad(len(r.Unified) > 0, "unified on cgroup v1")
}

func FuzzResources(f *testing.F) {
	f.Fuzz(func(t *testing.T, shares, period, quota int64, cpus, mems string, mem, swap, oom int64, page string) {
		r := &runtime.LinuxContainerResources{CpuShares: shares, CpuPeriod: period, CpuQuota: quota, CpusetCpus: cpus, CpusetMems: mems,
			MemoryLimitInBytes: mem, MemorySwapLimitInBytes: swap, OomScoreAdj: oom}
		if page != "" {
			r.HugepageLimits = []*runtime.HugepageLimit{{PageSize: page}}
		}
		err := Resources("r", r, testNode)
		mustInvalid(t, err)
		if err == nil {
			checkResourcesAccepted(t, r)
			for _, set := range []string{cpus, mems} {
				if set == "" {
					continue
				}
				ids, perr := ParseCPUSet(set)
				if perr != nil {
					t.Fatalf("accepted cpuset %q that does not parse: %v", set, perr)
				}
				for id := range ids {
					if id > 3 {
						t.Fatalf("accepted cpuset %q naming %d, not on the node", set, id)
					}
				}
			}
		}
	})
}

func FuzzSysctls(f *testing.F) {
	f.Fuzz(func(t *testing.T, name, value string, hostNet, hostIPC bool) {
		ns := &runtime.NamespaceOption{}
		if hostNet {
			ns.Network = runtime.NamespaceMode_NODE
		}
		if hostIPC {
			ns.Ipc = runtime.NamespaceMode_NODE
		}
		err := Sysctls("s", map[string]string{name: value}, ns)
		mustInvalid(t, err)
		if err == nil {
			checkSysctlAccepted(t, name, ns)
			if strings.ContainsAny(value, "\x00\n") {
				t.Fatalf("accepted value %q", value)
			}
		}
	})
}

func FuzzPaths(f *testing.F) {
	f.Fuzz(func(t *testing.T, p string) {
		if err := LogPath("l", p); err == nil && p != "" {
			if path.IsAbs(p) || strings.Contains(p, "\x00") {
				t.Fatalf("accepted log path %q", p)
			}
			if j := filepath.Join("/logs", p); !strings.HasPrefix(j, "/logs/") {
				t.Fatalf("accepted log path %q leaves its directory: %s", p, j)
			}
		} else {
			mustInvalid(t, err)
		}
		if err := AbsPath("a", p, false); err == nil {
			if !path.IsAbs(p) || strings.Contains(p, "\x00") || path.Clean(p) != p && strings.Contains(p, "..") {
				t.Fatalf("accepted absolute path %q", p)
			}
		} else {
			mustInvalid(t, err)
		}
		if err := ID("id", p); err == nil && strings.ContainsAny(p, "/.\x00 ") {
			t.Fatalf("accepted ID %q", p)
		}
		if err := Key("k", p); err == nil && (len(p) > 253+1+63 || strings.Count(p, "/") > 1) {
			t.Fatalf("accepted key %q", p)
		}
	})
}

func FuzzParseCPUSet(f *testing.F) {
	f.Fuzz(func(t *testing.T, list string) {
		ids, err := ParseCPUSet(list)
		if err != nil {
			return
		}
		for id := range ids {
			if id < 0 || id > MaxCPUSetID {
				t.Fatalf("ParseCPUSet(%q) gave %d", list, id)
			}
		}
		if len(ids) == 0 {
			t.Fatalf("ParseCPUSet(%q) gave no CPU", list)
		}
	})
}
