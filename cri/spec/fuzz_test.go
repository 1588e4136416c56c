package spec

import (
	"path"
	"strings"
	"testing"

	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/oci"
	"google.golang.org/protobuf/proto"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/validate"
)

// The fuzz targets feed spec generation with configs the front door
// accepts (validate), as podshim does: generation must not panic, must
// fail only with a classified error (InvalidArgument, NotImplemented,
// FailedPrecondition, NotFound: never one the server would answer as
// Unknown), and what it makes must keep the limits runc needs. Their seeds
// under testdata/fuzz are written by TestFuzzCorpus (go generate).

// classified fails t unless err is nil or carries a CRI error class.
func classified(t *testing.T, err error) {
	t.Helper()
	if err != nil && !errdefs.IsInvalidArgument(err) && !errdefs.IsNotImplemented(err) &&
		!errdefs.IsFailedPrecondition(err) && !errdefs.IsNotFound(err) {
		t.Fatalf("unclassified error (the client would see Unknown): %v", err)
	}
}

func FuzzContainerSpec(f *testing.F) {
	root := testRootfs(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := &runtime.ContainerConfig{}
		if proto.Unmarshal(data, cfg) != nil || validate.ContainerConfig("config", cfg, validate.Node{}) != nil {
			return
		}
		for _, m := range cfg.Mounts {
			// Host paths are the host's: keep them to what exists on
			// every host, as the live fuzzer does.
			m.HostPath = "/dev/null"
		}
		for _, d := range cfg.Devices {
			d.HostPath = "/dev/null"
		}
		opts, err := Container("c1", cfg, testSandbox(), testImage(), Options{})
		classified(t, err)
		if err != nil {
			return
		}
		s, err := generate(t, root, "c1", opts)
		classified(t, err)
		if err != nil {
			return
		}
		if s.Process == nil || len(s.Process.Args) == 0 || !path.IsAbs(s.Process.Cwd) {
			t.Fatalf("spec process %+v: want args and an absolute cwd", s.Process)
		}
		for _, a := range append(append([]string{}, s.Process.Args...), s.Process.Env...) {
			if strings.IndexByte(a, 0) >= 0 {
				t.Fatalf("spec has a NUL in %q", a)
			}
		}
		for _, m := range s.Mounts {
			if !path.IsAbs(m.Destination) {
				t.Fatalf("mount destination %q is not absolute", m.Destination)
			}
		}
		if r := s.Linux.Resources; r != nil && r.CPU != nil && r.CPU.Shares != nil && (*r.CPU.Shares < 2 || *r.CPU.Shares > 262144) {
			t.Fatalf("cpu shares %d in the spec", *r.CPU.Shares)
		}
	})
}

func FuzzPauseSpec(f *testing.F) {
	root := testRootfs(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := &runtime.PodSandboxConfig{}
		if proto.Unmarshal(data, cfg) != nil || validate.PodSandboxConfig("config", cfg, validate.Node{}) != nil {
			return
		}
		sb := testSandbox()
		sb.Config, sb.Pid = cfg, 0
		opts, err := Pause(sb, pauseImage(), Options{})
		classified(t, err)
		if err != nil {
			return
		}
		s, err := generate(t, root, sb.ID, opts)
		classified(t, err)
		if err != nil {
			return
		}
		for k := range s.Linux.Sysctl {
			if _, ok := cfg.GetLinux().GetSysctls()[k]; !ok {
				t.Fatalf("sysctl %q in the spec, not in the config", k)
			}
		}
	})
}

func FuzzUpdateResources(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &runtime.LinuxContainerResources{}
		if proto.Unmarshal(data, r) != nil || validate.Resources("linux", r, validate.Node{}) != nil {
			return
		}
		base, err := generate(t, "/", "c1", []oci.SpecOpts{withResources(&runtime.LinuxContainerResources{CpuShares: 512, MemoryLimitInBytes: 64 << 20})})
		if err != nil {
			t.Fatal(err)
		}
		s, err := UpdateResources(base, r)
		classified(t, err)
		if err != nil {
			return
		}
		res := s.Linux.Resources
		if v := r.CpuShares; v != 0 && (res.CPU == nil || res.CPU.Shares == nil || *res.CPU.Shares != uint64(v)) {
			t.Fatalf("cpu_shares %d not in the updated spec %+v", v, res.CPU)
		}
		if v := r.MemoryLimitInBytes; v != 0 && (res.Memory == nil || res.Memory.Limit == nil || *res.Memory.Limit != v) {
			t.Fatalf("memory_limit_in_bytes %d not in the updated spec", v)
		}
		if r.CpuShares == 0 && (res.CPU == nil || res.CPU.Shares == nil || *res.CPU.Shares != 512) {
			t.Fatalf("cpu shares not given, but the old 512 is gone: %+v", res.CPU)
		}
	})
}
