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
			err:  errdefs.ErrFailedPrecondition, msg: "userns_options: mode POD",
		},
		{
			name: "user namespace POD joins the pause's, with idmapped pod files",
			mod: func(in *ctrInput) {
				in.o.Features.UserNamespaces = true
				podNS(in).UsernsOptions = testUserns()
				ctrNS(in).UsernsOptions = testUserns()
			},
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				wantNS(t, s, specs.UserNamespace, true, "/proc/42/ns/user")
				want := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
				if len(s.Linux.UIDMappings) != 1 || s.Linux.UIDMappings[0] != want[0] || len(s.Linux.GIDMappings) != 1 || s.Linux.GIDMappings[0] != want[0] {
					t.Fatalf("mappings %+v %+v", s.Linux.UIDMappings, s.Linux.GIDMappings)
				}
				for _, dst := range []string{"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"} {
					if m := mountAt(s, dst); m == nil || len(m.UIDMappings) != 1 || m.UIDMappings[0] != want[0] || len(m.GIDMappings) != 1 {
						t.Errorf("mount %s not idmapped: %+v", dst, m)
					}
				}
				if m := mountAt(s, "/dev/shm"); m == nil || m.UIDMappings != nil {
					t.Errorf("/dev/shm %+v", m)
				}
			},
		},
		{
			name: "user namespace of the pod when the container gives none",
			mod: func(in *ctrInput) {
				in.o.Features.UserNamespaces = true
				podNS(in).UsernsOptions = testUserns()
			},
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				wantNS(t, s, specs.UserNamespace, true, "/proc/42/ns/user")
			},
		},
		{
			name: "user namespace differs from the pod's",
			mod: func(in *ctrInput) {
				in.o.Features.UserNamespaces = true
				podNS(in).UsernsOptions = testUserns()
				ctrNS(in).UsernsOptions = &runtime.UserNamespace{Mode: runtime.NamespaceMode_NODE}
			},
			err: errdefs.ErrInvalidArgument, msg: "differs from the pod sandbox's",
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

// testUserns is a valid POD user namespace.
func testUserns() *runtime.UserNamespace {
	m := []*runtime.IDMapping{{ContainerId: 0, HostId: 100000, Length: 65536}}
	return &runtime.UserNamespace{Mode: runtime.NamespaceMode_POD, Uids: m, Gids: m}
}

func TestPodUserns(t *testing.T) {
	one := func(c, h, l uint32) []*runtime.IDMapping {
		return []*runtime.IDMapping{{ContainerId: c, HostId: h, Length: l}}
	}
	for _, c := range []struct {
		name    string
		u       *runtime.UserNamespace
		hostNet bool
		off     bool
		err     error
		msg     string
	}{
		{name: "none"},
		{name: "NODE", u: &runtime.UserNamespace{Mode: runtime.NamespaceMode_NODE}},
		{name: "NODE with mappings", u: &runtime.UserNamespace{Mode: runtime.NamespaceMode_NODE, Uids: one(0, 1, 1)},
			err: errdefs.ErrInvalidArgument, msg: "mode NODE takes no"},
		{name: "POD", u: testUserns()},
		{name: "POD off", u: testUserns(), off: true, err: errdefs.ErrFailedPrecondition, msg: "userns_options: mode POD"},
		{name: "CONTAINER", u: &runtime.UserNamespace{Mode: runtime.NamespaceMode_CONTAINER}, off: true,
			err: errdefs.ErrInvalidArgument, msg: "userns_options.mode"},
		{name: "TARGET", u: &runtime.UserNamespace{Mode: runtime.NamespaceMode_TARGET},
			err: errdefs.ErrInvalidArgument, msg: "userns_options.mode"},
		{name: "two mappings", u: &runtime.UserNamespace{Mode: runtime.NamespaceMode_POD,
			Uids: append(one(0, 1000, 10), one(10, 2000, 10)...), Gids: one(0, 1000, 10)},
			err: errdefs.ErrInvalidArgument, msg: "userns_options.uids: want exactly one mapping, got 2"},
		{name: "root not mapped", u: &runtime.UserNamespace{Mode: runtime.NamespaceMode_POD, Uids: one(1, 1000, 10), Gids: one(0, 1000, 10)},
			err: errdefs.ErrInvalidArgument, msg: "uids[0].container_id is 1"},
		{name: "no gids", u: &runtime.UserNamespace{Mode: runtime.NamespaceMode_POD, Uids: one(0, 1000, 10)},
			err: errdefs.ErrInvalidArgument, msg: "gids: want exactly one mapping, got 0"},
		{name: "zero length", u: &runtime.UserNamespace{Mode: runtime.NamespaceMode_POD, Uids: one(0, 1000, 0), Gids: one(0, 1000, 1)},
			err: errdefs.ErrInvalidArgument, msg: "uids[0].length is 0"},
		{name: "overflow", u: &runtime.UserNamespace{Mode: runtime.NamespaceMode_POD, Uids: one(0, 0xffffff00, 0x1000), Gids: one(0, 1, 1)},
			err: errdefs.ErrInvalidArgument, msg: "overflows"},
		{name: "host network", u: testUserns(), hostNet: true, err: errdefs.ErrInvalidArgument, msg: "host's network"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := testSandboxConfig()
			cfg.Linux.SecurityContext.NamespaceOptions = &runtime.NamespaceOption{UsernsOptions: c.u}
			if c.hostNet {
				cfg.Linux.SecurityContext.NamespaceOptions.Network = runtime.NamespaceMode_NODE
			}
			u, err := PodUserns(cfg, !c.off)
			if c.msg != "" {
				checkErr(t, err, c.err, c.msg)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (u != nil) != (c.u != nil && c.u.Mode == runtime.NamespaceMode_POD) {
				t.Fatalf("userns %+v for %v", u, c.u)
			}
		})
	}
}
