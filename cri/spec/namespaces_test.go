package spec

import (
	"testing"

	"github.com/containerd/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func podNS(in *ctrInput) *runtime.NamespaceOption {
	ssc := in.sb.Config.Linux.SecurityContext
	if ssc.NamespaceOptions == nil {
		ssc.NamespaceOptions = &runtime.NamespaceOption{}
	}
	return ssc.NamespaceOptions
}

func ctrNS(in *ctrInput) *runtime.NamespaceOption {
	if sc(in).NamespaceOptions == nil {
		sc(in).NamespaceOptions = &runtime.NamespaceOption{}
	}
	return sc(in).NamespaceOptions
}

func TestContainerNamespaces(t *testing.T) {
	runContainerCases(t, []ctrCase{
		{
			name: "defaults join the pod: netns file, pause's uts, ipc and pid",
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				wantNS(t, s, specs.NetworkNamespace, true, testNetNS)
				wantNS(t, s, specs.UTSNamespace, true, "/proc/42/ns/uts")
				wantNS(t, s, specs.IPCNamespace, true, "/proc/42/ns/ipc")
				wantNS(t, s, specs.PIDNamespace, true, "/proc/42/ns/pid")
				wantNS(t, s, specs.MountNamespace, true, "")
				wantNS(t, s, specs.UserNamespace, false, "")
			},
		},
		{
			name: "no pinned netns: the pause's",
			mod:  func(in *ctrInput) { in.sb.NetNSPath = "" },
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				wantNS(t, s, specs.NetworkNamespace, true, "/proc/42/ns/net")
			},
		},
		{
			name: "pid CONTAINER: a new pid namespace",
			mod:  func(in *ctrInput) { ctrNS(in).Pid = runtime.NamespaceMode_CONTAINER },
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				wantNS(t, s, specs.PIDNamespace, true, "")
			},
		},
		{
			name: "pid NODE: the host's",
			mod:  func(in *ctrInput) { ctrNS(in).Pid = runtime.NamespaceMode_NODE },
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				wantNS(t, s, specs.PIDNamespace, false, "")
			},
		},
		{
			name: "pid TARGET joins the target container",
			mod: func(in *ctrInput) {
				ctrNS(in).Pid, ctrNS(in).TargetId = runtime.NamespaceMode_TARGET, "other"
				in.sb.TargetPid = 77
			},
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				wantNS(t, s, specs.PIDNamespace, true, "/proc/77/ns/pid")
			},
		},
		{
			name: "pid TARGET without target_id",
			mod:  func(in *ctrInput) { ctrNS(in).Pid = runtime.NamespaceMode_TARGET; in.sb.TargetPid = 77 },
			err:  errdefs.ErrInvalidArgument, msg: "namespace_options.target_id is empty",
		},
		{
			name: "pid TARGET without the target's pid",
			mod:  func(in *ctrInput) { ctrNS(in).Pid, ctrNS(in).TargetId = runtime.NamespaceMode_TARGET, "other" },
			err:  errdefs.ErrFailedPrecondition, msg: `target_id "other"`,
		},
		{
			name: "host network pod: host net and uts",
			mod:  func(in *ctrInput) { podNS(in).Network = runtime.NamespaceMode_NODE; in.sb.NetNSPath = "" },
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				wantNS(t, s, specs.NetworkNamespace, false, "")
				wantNS(t, s, specs.UTSNamespace, false, "")
				wantNS(t, s, specs.IPCNamespace, true, "/proc/42/ns/ipc")
			},
		},
		{
			name: "host IPC pod: host ipc and the host's /dev/shm",
			mod:  func(in *ctrInput) { podNS(in).Ipc = runtime.NamespaceMode_NODE; in.sb.ShmPath = "" },
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				wantNS(t, s, specs.IPCNamespace, false, "")
				if m := mountAt(s, "/dev/shm"); m == nil || m.Source != "/dev/shm" || m.Type != "bind" {
					t.Fatalf("/dev/shm mount %+v", m)
				}
			},
		},
		{
			name: "all host namespaces need no pause",
			mod: func(in *ctrInput) {
				podNS(in).Network, podNS(in).Ipc = runtime.NamespaceMode_NODE, runtime.NamespaceMode_NODE
				ctrNS(in).Pid = runtime.NamespaceMode_NODE
				in.sb.Pid = 0
			},
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				for _, typ := range []specs.LinuxNamespaceType{specs.NetworkNamespace, specs.UTSNamespace, specs.IPCNamespace, specs.PIDNamespace} {
					wantNS(t, s, typ, false, "")
				}
			},
		},
		{
			name: "pause not running",
			mod:  func(in *ctrInput) { in.sb.Pid = 0 },
			err:  errdefs.ErrFailedPrecondition, msg: "no running pause process",
		},
		{
			name: "user namespace POD unsupported",
			mod:  func(in *ctrInput) { ctrNS(in).UsernsOptions = &runtime.UserNamespace{Mode: runtime.NamespaceMode_POD} },
			err:  errdefs.ErrNotImplemented, msg: "userns_options",
		},
		{
			name: "user namespace CONTAINER invalid",
			mod: func(in *ctrInput) {
				ctrNS(in).UsernsOptions = &runtime.UserNamespace{Mode: runtime.NamespaceMode_CONTAINER}
			},
			err: errdefs.ErrInvalidArgument, msg: "userns_options.mode",
		},
		{
			name: "user namespace NODE is the default",
			mod:  func(in *ctrInput) { ctrNS(in).UsernsOptions = &runtime.UserNamespace{Mode: runtime.NamespaceMode_NODE} },
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				wantNS(t, s, specs.UserNamespace, false, "")
			},
		},
	})
}

func TestTargetID(t *testing.T) {
	cfg := testContainerConfig()
	if got := TargetID(cfg); got != "" {
		t.Fatalf("TargetID of a default config %q", got)
	}
	cfg.Linux.SecurityContext.NamespaceOptions = &runtime.NamespaceOption{Pid: runtime.NamespaceMode_TARGET, TargetId: "abc"}
	if got := TargetID(cfg); got != "abc" {
		t.Fatalf("TargetID %q, want abc", got)
	}
	cfg.Linux.SecurityContext.NamespaceOptions.Pid = runtime.NamespaceMode_POD
	if got := TargetID(cfg); got != "" {
		t.Fatalf("TargetID with pid POD %q", got)
	}
}
