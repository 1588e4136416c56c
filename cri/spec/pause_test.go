package spec

import (
	"testing"

	"github.com/containerd/containerd/errdefs"
	imagespec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

type pauseInput struct {
	sb   Sandbox
	img  imagespec.ImageConfig
	o    Options
	root string
}

func pauseImage() imagespec.ImageConfig {
	return imagespec.ImageConfig{Entrypoint: []string{"/pause"}, User: "65535:65535", Env: []string{"PAUSE=1"}}
}

func TestPause(t *testing.T) {
	root := testRootfs(t)
	ssc := func(in *pauseInput) *runtime.LinuxSandboxSecurityContext { return in.sb.Config.Linux.SecurityContext }
	ns := func(in *pauseInput) *runtime.NamespaceOption {
		if ssc(in).NamespaceOptions == nil {
			ssc(in).NamespaceOptions = &runtime.NamespaceOption{}
		}
		return ssc(in).NamespaceOptions
	}
	for _, c := range []struct {
		name  string
		mod   func(in *pauseInput)
		err   error
		msg   string
		check func(t *testing.T, s *specs.Spec, in *pauseInput)
	}{
		{
			name: "defaults",
			check: func(t *testing.T, s *specs.Spec, in *pauseInput) {
				if !equalStrings(s.Process.Args, []string{"/pause"}) {
					t.Errorf("args %q", s.Process.Args)
				}
				if v, _ := envValue(s, "PAUSE"); v != "1" {
					t.Errorf("env %q", s.Process.Env)
				}
				if !s.Root.Readonly || !s.Process.NoNewPrivileges {
					t.Errorf("readonly root %v, no new privs %v", s.Root.Readonly, s.Process.NoNewPrivileges)
				}
				c := s.Process.Capabilities
				if len(c.Bounding)+len(c.Effective)+len(c.Permitted)+len(c.Inheritable)+len(c.Ambient) != 0 {
					t.Errorf("pause has capabilities %+v", c)
				}
				wantNS(t, s, specs.NetworkNamespace, true, testNetNS)
				wantNS(t, s, specs.IPCNamespace, true, "")
				wantNS(t, s, specs.UTSNamespace, true, "")
				wantNS(t, s, specs.PIDNamespace, true, "")
				wantNS(t, s, specs.MountNamespace, true, "")
				if s.Hostname != "web-host" {
					t.Errorf("hostname %q", s.Hostname)
				}
				wantBindPause(t, s, "/dev/shm", in.sb.ShmPath)
				if mountAt(s, "/run") != nil {
					t.Error("/run tmpfs kept")
				}
				if *s.Linux.Resources.CPU.Shares != 2 {
					t.Errorf("cpu shares %d", *s.Linux.Resources.CPU.Shares)
				}
				if *s.Process.OOMScoreAdj != -998 {
					t.Errorf("oom_score_adj %d", *s.Process.OOMScoreAdj)
				}
				if u := s.Process.User; u.UID != 65535 || u.GID != 65535 || !equalGids(u.AdditionalGids, []uint32{65535}) {
					t.Errorf("user %+v", u)
				}
				if s.Linux.Seccomp != nil || s.Process.Rlimits != nil {
					t.Errorf("seccomp %+v rlimits %+v", s.Linux.Seccomp, s.Process.Rlimits)
				}
				if s.Linux.CgroupsPath != "/"+testNamespace+"/sb1" {
					t.Errorf("cgroups path %q", s.Linux.CgroupsPath)
				}
				want := map[string]string{
					"pod-annotation":           "p",
					AnnotationContainerType:    ContainerTypeSandbox,
					AnnotationSandboxID:        "sb1",
					AnnotationSandboxName:      "web",
					AnnotationSandboxNamespace: "default",
					AnnotationSandboxUID:       "uid-1",
					AnnotationSandboxLogDir:    "/var/log/pods/default_web_uid-1",
				}
				for k, v := range want {
					if s.Annotations[k] != v {
						t.Errorf("annotation %s=%q, want %q", k, s.Annotations[k], v)
					}
				}
			},
		},
		{
			name: "minimal config without a linux section",
			mod:  func(in *pauseInput) { in.sb.Config = &runtime.PodSandboxConfig{} },
			check: func(t *testing.T, s *specs.Spec, _ *pauseInput) {
				wantNS(t, s, specs.NetworkNamespace, true, testNetNS)
				if s.Hostname != "" || s.Annotations[AnnotationSandboxID] != "sb1" {
					t.Fatalf("hostname %q annotations %v", s.Hostname, s.Annotations)
				}
			},
		},
		{
			name: "oom_score_adj clamped",
			mod:  func(in *pauseInput) { in.o = Options{RestrictOOMScoreAdj: true, MinOOMScoreAdj: 0} },
			check: func(t *testing.T, s *specs.Spec, _ *pauseInput) {
				if *s.Process.OOMScoreAdj != 0 {
					t.Fatalf("oom_score_adj %d, want 0", *s.Process.OOMScoreAdj)
				}
			},
		},
		{
			name: "host network: host net and uts, no hostname",
			mod: func(in *pauseInput) {
				ns(in).Network = runtime.NamespaceMode_NODE
				in.sb.NetNSPath, in.sb.Config.Hostname = "", ""
			},
			check: func(t *testing.T, s *specs.Spec, _ *pauseInput) {
				wantNS(t, s, specs.NetworkNamespace, false, "")
				wantNS(t, s, specs.UTSNamespace, false, "")
				if s.Hostname != "" {
					t.Fatalf("hostname %q", s.Hostname)
				}
			},
		},
		{
			name: "host ipc and pid",
			mod: func(in *pauseInput) {
				ns(in).Ipc, ns(in).Pid = runtime.NamespaceMode_NODE, runtime.NamespaceMode_NODE
				in.sb.ShmPath = ""
			},
			check: func(t *testing.T, s *specs.Spec, _ *pauseInput) {
				wantNS(t, s, specs.IPCNamespace, false, "")
				wantNS(t, s, specs.PIDNamespace, false, "")
				wantBindPause(t, s, "/dev/shm", "/dev/shm")
			},
		},
		{
			name: "pid CONTAINER still gives the pause its own pid namespace",
			mod:  func(in *pauseInput) { ns(in).Pid = runtime.NamespaceMode_CONTAINER },
			check: func(t *testing.T, s *specs.Spec, _ *pauseInput) {
				wantNS(t, s, specs.PIDNamespace, true, "")
			},
		},
		{
			name: "sysctls",
			mod: func(in *pauseInput) {
				in.sb.Config.Linux.Sysctls = map[string]string{"kernel.shm_rmid_forced": "1", "net.ipv4.ip_forward": "1"}
			},
			check: func(t *testing.T, s *specs.Spec, _ *pauseInput) {
				if s.Linux.Sysctl["kernel.shm_rmid_forced"] != "1" || s.Linux.Sysctl["net.ipv4.ip_forward"] != "1" || len(s.Linux.Sysctl) != 2 {
					t.Fatalf("sysctls %v", s.Linux.Sysctl)
				}
			},
		},
		{
			name: "network sysctl on the host network",
			mod: func(in *pauseInput) {
				ns(in).Network = runtime.NamespaceMode_NODE
				in.sb.Config.Linux.Sysctls = map[string]string{"net.ipv4.ip_forward": "1"}
			},
			err: errdefs.ErrInvalidArgument, msg: `linux.sysctls "net.ipv4.ip_forward"`,
		},
		{
			name: "ipc sysctl in the host IPC namespace",
			mod: func(in *pauseInput) {
				ns(in).Ipc = runtime.NamespaceMode_NODE
				in.sb.Config.Linux.Sysctls = map[string]string{"fs.mqueue.msg_max": "100"}
			},
			err: errdefs.ErrInvalidArgument, msg: `linux.sysctls "fs.mqueue.msg_max"`,
		},
		{
			name: "run_as_user and run_as_group and supplemental groups",
			mod: func(in *pauseInput) {
				ssc(in).RunAsUser, ssc(in).RunAsGroup, ssc(in).SupplementalGroups = i64(1000), i64(3000), []int64{9}
			},
			check: func(t *testing.T, s *specs.Spec, _ *pauseInput) {
				if u := s.Process.User; u.UID != 1000 || u.GID != 3000 || !equalGids(u.AdditionalGids, []uint32{9, 50, 3000, 50000}) {
					t.Fatalf("user %+v", u)
				}
			},
		},
		{
			name: "image USER name resolved",
			mod:  func(in *pauseInput) { in.img.User = "bob" },
			check: func(t *testing.T, s *specs.Spec, _ *pauseInput) {
				if u := s.Process.User; u.UID != 1001 || u.GID != 1002 {
					t.Fatalf("user %+v", u)
				}
			},
		},
		{
			name: "run_as_group without run_as_user",
			mod:  func(in *pauseInput) { ssc(in).RunAsGroup = i64(3000) },
			err:  errdefs.ErrInvalidArgument, msg: "linux.security_context.run_as_group",
		},
		{
			name: "seccomp RuntimeDefault",
			mod: func(in *pauseInput) {
				ssc(in).Seccomp = &runtime.SecurityProfile{ProfileType: runtime.SecurityProfile_RuntimeDefault}
			},
			check: func(t *testing.T, s *specs.Spec, _ *pauseInput) {
				if s.Linux.Seccomp == nil || s.Linux.Seccomp.DefaultAction != specs.ActErrno {
					t.Fatalf("seccomp %+v", s.Linux.Seccomp)
				}
			},
		},
		{
			name: "privileged sandbox: no seccomp",
			mod: func(in *pauseInput) {
				ssc(in).Privileged = true
				ssc(in).SeccompProfilePath = "runtime/default"
			},
			check: func(t *testing.T, s *specs.Spec, _ *pauseInput) {
				if s.Linux.Seccomp != nil {
					t.Fatalf("seccomp %+v", s.Linux.Seccomp)
				}
			},
		},
		{
			name: "bad seccomp path",
			mod:  func(in *pauseInput) { ssc(in).SeccompProfilePath = "localhost/nonexistent/x.json" },
			err:  errdefs.ErrInvalidArgument, msg: "linux.security_context.seccomp_profile_path",
		},
		{
			name: "cgroup parent and pod resources",
			mod: func(in *pauseInput) {
				in.sb.Config.Linux.CgroupParent = "/kubepods/podx"
				in.sb.Config.Linux.Resources = &runtime.LinuxContainerResources{CpuShares: 1024, MemoryLimitInBytes: 1 << 30}
			},
			check: func(t *testing.T, s *specs.Spec, _ *pauseInput) {
				if s.Linux.CgroupsPath != "/kubepods/podx/sb1" {
					t.Fatalf("cgroups path %q", s.Linux.CgroupsPath)
				}
				if s.Annotations[AnnotationSandboxCPUShares] != "1024" || s.Annotations[AnnotationSandboxMemory] != "1073741824" {
					t.Fatalf("annotations %v", s.Annotations)
				}
			},
		},
		{
			name: "image without entrypoint or cmd",
			mod:  func(in *pauseInput) { in.img.Entrypoint = nil },
			err:  errdefs.ErrInvalidArgument, msg: "sandbox image config has no entrypoint or cmd",
		},
		{
			name: "user namespace unsupported",
			mod:  func(in *pauseInput) { ns(in).UsernsOptions = &runtime.UserNamespace{Mode: runtime.NamespaceMode_POD} },
			err:  errdefs.ErrFailedPrecondition, msg: "userns_options: mode POD",
		},
		{
			name: "user namespace without a pinned path",
			mod: func(in *pauseInput) {
				in.o.Features.UserNamespaces = true
				ns(in).UsernsOptions = testUserns()
			},
			err: nil, msg: "no pinned user namespace path",
		},
		{
			name: "user namespace",
			mod: func(in *pauseInput) {
				in.o.Features.UserNamespaces = true
				ns(in).UsernsOptions = testUserns()
				in.sb.UsernsPath = "/run/podshim/sandboxes/sb1/userns"
			},
			check: func(t *testing.T, s *specs.Spec, in *pauseInput) {
				wantNS(t, s, specs.UserNamespace, true, "/run/podshim/sandboxes/sb1/userns")
				wantNS(t, s, specs.NetworkNamespace, true, testNetNS)
				if len(s.Linux.UIDMappings) != 1 || s.Linux.UIDMappings[0].HostID != 100000 || len(s.Linux.GIDMappings) != 1 {
					t.Fatalf("mappings %+v %+v", s.Linux.UIDMappings, s.Linux.GIDMappings)
				}
			},
		},
		{
			name: "user namespace TARGET",
			mod: func(in *pauseInput) {
				ns(in).UsernsOptions = &runtime.UserNamespace{Mode: runtime.NamespaceMode_TARGET}
			},
			err: errdefs.ErrInvalidArgument, msg: "userns_options.mode",
		},
		{
			name: "named AppArmor profile",
			mod: func(in *pauseInput) {
				ssc(in).Apparmor = &runtime.SecurityProfile{ProfileType: runtime.SecurityProfile_Localhost, LocalhostRef: "x"}
			},
			err: errdefs.ErrNotImplemented, msg: "linux.security_context.apparmor",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := &pauseInput{sb: testSandbox(), img: pauseImage(), root: root}
			in.sb.Pid = 0
			if c.mod != nil {
				c.mod(in)
			}
			opts, err := Pause(in.sb, in.img, in.o)
			var s *specs.Spec
			if err == nil {
				s, err = generate(t, in.root, in.sb.ID, opts)
			}
			if c.msg != "" {
				checkErr(t, err, c.err, c.msg)
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			c.check(t, s, in)
		})
	}
}

func wantBindPause(t *testing.T, s *specs.Spec, dst, src string) {
	t.Helper()
	wantBind(t, s, dst, src, "rbind", "ro", "nosuid", "nodev", "noexec")
}
